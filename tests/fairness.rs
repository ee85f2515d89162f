//! One tenant cannot degrade the others: a filter no index answers is bounded (400
//! `tooMany` past `--max-filter-scan`, never the tenant's whole set in memory); long polls
//! wait on the events being recorded (by any process) instead of re-reading the store, at
//! most `--polls-per-tenant` per tenant; asynchronous `/Bulk` jobs take turns between
//! tenants, so a small job is not stuck behind another tenant's large one.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{Server, Store, USER_SCHEMA, cli, tenant_with_token};

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

#[test]
fn filters_no_index_answers_are_bounded() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    let server = Server::start_with(
        store,
        &["--max-filter-scan", "3"],
        "warn",
        std::process::Stdio::inherit(),
    );
    for n in 0..5 {
        let body =
            json!({"schemas": [USER_SCHEMA], "userName": format!("u{n}"), "title": "Engineer"});
        assert_eq!(server.post("/scim/v2/Users", &token, &body).status, 201);
    }
    let scan = server.get("/scim/v2/Users?filter=title%20eq%20%22Engineer%22", &token);
    let detail = scan.assert_error(400, Some("tooMany"));
    assert!(detail.contains("more than 3 Users"), "{detail}");
    assert!(
        detail.contains("userName"),
        "the detail says what to filter on: {detail}"
    );
    let sorted = server.get("/scim/v2/Users?sortBy=title", &token);
    sorted.assert_error(400, Some("tooMany"));
    // What the indexes answer is not bounded; nor is a narrow prefilter.
    let lookup = server.get("/scim/v2/Users?filter=userName%20eq%20%22u4%22", &token);
    assert_eq!(lookup.json["totalResults"], 1, "{}", lookup.text);
    let all = server.get("/scim/v2/Users", &token);
    assert_eq!(all.json["totalResults"], 5);
    let narrow = server.get(
        "/scim/v2/Users?filter=userName%20sw%20%22u1%22%20and%20title%20eq%20%22Engineer%22",
        &token,
    );
    assert_eq!(narrow.json["totalResults"], 1, "{}", narrow.text);
}

fn poll(server: &Server, token: &str, body: &Value) -> crate::helpers::Reply {
    server.send(
        "POST",
        "/events/poll",
        Some(token),
        &[("Content-Type", "application/json")],
        Some(body.to_string().as_bytes()),
    )
}

fn long_poll(server: &Server, token: &str) -> crate::helpers::Reply {
    poll(server, token, &json!({"maxEvents": 10}))
}

/// An import of one user for `tenant` from another process (the CLI).
fn import_user(server: &Server, tenant: &str, user_name: &str) {
    let export = tempfile::tempdir().expect("temp dir");
    let csv = export.path().join("users.csv");
    std::fs::write(&csv, format!("userName\n{user_name}\n")).expect("csv");
    cli(
        &server.store,
        &["import", "--tenant", tenant, csv.to_str().expect("path")],
    );
}

/// The `jti`s of a poll's answer.
fn jtis(reply: &crate::helpers::Reply) -> Vec<String> {
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json["sets"]
        .as_object()
        .expect("sets")
        .keys()
        .cloned()
        .collect()
}

#[test]
fn long_polls_wake_on_events_from_any_process_and_are_capped_per_tenant() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    let other = tenant_with_token(&store, "globex");
    let server = Server::start_with(
        store,
        &["--polls-per-tenant", "1", "--poll-wait-seconds", "20"],
        "warn",
        std::process::Stdio::inherit(),
    );
    let seen = std::thread::scope(|scope| {
        let waiting = scope.spawn(|| {
            let started = Instant::now();
            (long_poll(&server, &token), started.elapsed())
        });
        // The other tenant's long poll waits beside it: not held back by acme's slot.
        let theirs = scope.spawn(|| long_poll(&server, &other));
        std::thread::sleep(Duration::from_millis(500));
        // A second poll of acme is refused at once: acme holds its one slot.
        let second = long_poll(&server, &token);
        second.assert_error(429, None);
        assert!(second.header("retry-after").is_some());
        // Users created by another process (the CLI) wake the waiting polls.
        import_user(&server, "acme", "ann@acme.example");
        import_user(&server, "globex", "bob@globex.example");
        let (reply, waited) = waiting.join().expect("the poll");
        let seen = jtis(&reply);
        assert!(!seen.is_empty(), "the import's events: {}", reply.text);
        assert!(
            waited < Duration::from_secs(15),
            "woken when the events were recorded, not at the end of the wait ({waited:?})"
        );
        assert!(!jtis(&theirs.join().expect("their poll")).is_empty());
        seen
    });
    // The slot was given back: acme's next long poll (acknowledging what it got, so it
    // must wait) is let in, and woken by the next event.
    std::thread::scope(|scope| {
        let next = scope.spawn(|| poll(&server, &token, &json!({"ack": seen, "maxEvents": 10})));
        std::thread::sleep(Duration::from_millis(500));
        import_user(&server, "acme", "cid@acme.example");
        let next = next.join().expect("the next poll");
        assert!(!jtis(&next).is_empty(), "{}", next.text);
    });
}

fn submit(server: &Server, token: &str, body: &Value) -> String {
    let reply = server.send(
        "POST",
        "/scim/v2/Bulk",
        Some(token),
        &[("Prefer", "respond-async")],
        Some(body.to_string().as_bytes()),
    );
    assert_eq!(reply.status, 202, "{}", reply.text);
    let location = reply.header("location").expect("Location").to_owned();
    location[location.find("/scim/v2/").expect("a job URL")..].to_owned()
}

fn users(prefix: &str, count: usize) -> Value {
    let operations: Vec<Value> = (0..count)
        .map(|n| {
            json!({"method": "POST", "path": "/Users", "bulkId": format!("{prefix}{n}"),
                   "data": {"schemas": [USER_SCHEMA], "userName": format!("{prefix}{n}@example.com")}})
        })
        .collect();
    json!({"schemas": [BULK], "Operations": operations})
}

#[test]
fn bulk_jobs_take_turns_between_tenants() {
    let store = Store::sqlite();
    let big = tenant_with_token(&store, "big");
    let small = tenant_with_token(&store, "small");
    let server = Server::start_with(
        store,
        &["--bulk-max-operations", "4000"],
        "warn",
        std::process::Stdio::inherit(),
    );
    let large = submit(&server, &big, &users("b", 4000));
    std::thread::sleep(Duration::from_millis(200));
    let quick = submit(&server, &small, &users("s", 5));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let job = server.get(&quick, &small).json;
        if job["status"] == "completed" {
            break;
        }
        assert!(Instant::now() < deadline, "the small job never ran: {job}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let other = server.get(&large, &big).json;
    assert_ne!(
        other["status"], "completed",
        "the small job finished while the large one still ran: {other}"
    );
    // And the large job finishes all the same.
    loop {
        let job = server.get(&large, &big).json;
        if job["status"] == "completed" {
            assert_eq!(job["done"], 4000);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the large job never finished: {job}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
