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
    let export = tempfile::tempdir().expect("temp dir");
    let csv = export.path().join("users.csv");
    std::fs::write(&csv, "userName\nann@acme.example\n").expect("csv");
    std::thread::scope(|scope| {
        let waiting = scope.spawn(|| {
            let started = Instant::now();
            (long_poll(&server, &token), started.elapsed())
        });
        // The first poll waits; a second one of the same tenant is refused at once.
        std::thread::sleep(Duration::from_millis(500));
        let second = long_poll(&server, &token);
        second.assert_error(429, None);
        assert!(second.header("retry-after").is_some());
        // Another tenant's poll is not held back by it.
        let theirs = poll(&server, &other, &json!({"returnImmediately": true}));
        assert_eq!(theirs.status, 200, "{}", theirs.text);
        // A user created by another process (the CLI) wakes the waiting poll.
        let imported = Instant::now();
        cli(
            &server.store,
            &["import", "--tenant", "acme", csv.to_str().expect("path")],
        );
        let (reply, waited) = waiting.join().expect("the poll");
        assert_eq!(reply.status, 200, "{}", reply.text);
        let sets = reply.json["sets"].as_object().expect("sets");
        assert!(!sets.is_empty(), "the import's events: {}", reply.text);
        assert!(
            imported.elapsed() < Duration::from_secs(5) && waited < Duration::from_secs(15),
            "woken when the events were recorded, not at the end of the wait ({waited:?})"
        );
    });
    // The slot was given back: the tenant may poll again.
    let again = poll(&server, &token, &json!({"returnImmediately": true}));
    assert_eq!(again.status, 200, "{}", again.text);
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
