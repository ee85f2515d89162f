//! Asynchronous `/Bulk` jobs end to end (`Prefer: respond-async`): 202 with the job's URL at
//! once, the job's progress and final BulkResponse there, tenants kept apart, and a job of
//! 20,000 users that survives SIGKILL of its server: after a restart it finishes with every
//! user created exactly once and every seat counted once.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{GROUP_SCHEMA, Reply, Server, Store, USER_SCHEMA, cli, tenant_with_token};

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const JOB: &str = "urn:scim-license:schemas:core:2.0:BulkJob";

fn submit(server: &Server, token: &str, body: &Value) -> Reply {
    server.send(
        "POST",
        "/scim/v2/Bulk",
        Some(token),
        &[("Prefer", "respond-async")],
        Some(body.to_string().as_bytes()),
    )
}

/// The job's path, from the 202's `Location` (RFC 9967 §2.5.1.1: no body, `Set-Txn`),
/// checked against the job resource found there.
fn accepted_job(server: &Server, token: &str, reply: &Reply) -> String {
    assert_eq!(reply.status, 202, "{}", reply.text);
    assert_eq!(reply.text, "", "a 202 has no body");
    let header = |name: &str| {
        reply
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{name} header"))
            .to_owned()
    };
    assert_eq!(header("preference-applied"), "respond-async");
    let location = header("location");
    let path = location
        .find("/scim/v2/")
        .map(|at| location[at..].to_owned())
        .expect("job URL under /scim/v2");
    assert!(path.starts_with("/scim/v2/BulkJobs/"), "{path}");
    let job = server.get(&path, token);
    assert_eq!(job.status, 200, "{}", job.text);
    assert_eq!(job.json["schemas"], json!([JOB]));
    assert_eq!(job.json["id"], header("set-txn").as_str());
    assert_eq!(job.json["meta"]["location"], location.as_str());
    assert_eq!(job.json["meta"]["resourceType"], "BulkJob");
    assert!(
        matches!(
            job.json["status"].as_str(),
            Some("pending" | "running" | "completed")
        ),
        "{}",
        job.text
    );
    path
}

/// Polls the job until it has completed (or `ready` says stop) and returns its last state.
fn poll(server: &Server, token: &str, path: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let reply = server.get(path, token);
        assert_eq!(reply.status, 200, "{}", reply.text);
        let job = reply.json;
        assert!(job["status"] != "failed", "{job}");
        assert!(job["done"].as_u64() <= job["total"].as_u64(), "{job}");
        if job["status"] == "completed" || ready(&job) {
            return job;
        }
        assert!(Instant::now() < deadline, "job did not finish: {job}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn job_basics(store: Store) {
    let token = tenant_with_token(&store, "acme");
    let other = tenant_with_token(&store, "globex");
    let server = Server::start(store);
    let body = json!({"schemas": [BULK], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "a",
            "data": {"schemas": [USER_SCHEMA], "userName": "alice"}},
        {"method": "POST", "path": "/Users", "bulkId": "b",
            "data": {"schemas": [USER_SCHEMA], "userName": "ALICE"}},
        {"method": "POST", "path": "/Groups", "bulkId": "g",
            "data": {"schemas": [GROUP_SCHEMA], "displayName": "Admins",
                "members": [{"value": "bulkId:a"}]}},
        {"method": "DELETE", "path": "/Users/no-such-user"},
    ]});
    let path = accepted_job(&server, &token, &submit(&server, &token, &body));
    let job = poll(&server, &token, &path, |_| false);
    assert_eq!(
        (job["done"].as_u64(), job["total"].as_u64()),
        (Some(4), Some(4))
    );
    let operations = job["response"]["Operations"].as_array().expect("response");
    let summary: Vec<(&str, &str)> = operations
        .iter()
        .map(|op| {
            (
                op["bulkId"]
                    .as_str()
                    .unwrap_or(op["method"].as_str().unwrap_or_default()),
                op["status"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [("a", "201"), ("b", "409"), ("g", "201"), ("DELETE", "404")]
    );
    assert_eq!(operations[1]["response"]["scimType"], "uniqueness");
    // What the job created is there, with the member the bulkId named.
    let group = operations[2]["location"].as_str().expect("location");
    let group = server.get(&group[group.find("/scim/v2/").unwrap_or(0)..], &token);
    let alice = operations[0]["location"].as_str().expect("location");
    assert_eq!(
        group.json["members"][0]["value"].as_str(),
        alice.rsplit('/').next()
    );
    // Each operation's completion is an RFC 9967 asyncresp event, txn `<Set-Txn>:<index>`.
    let job_id = path.rsplit('/').next().unwrap();
    let events = cli(&server.store, &["events", "--tenant", "acme"]);
    let completions: Vec<(String, String, String)> = serde_json::from_str::<Value>(events.trim())
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            let payload = e["events"].get("urn:ietf:params:scim:event:misc:asyncresp")?;
            Some((
                e["txn"].as_str().unwrap_or_default().to_owned(),
                e["sub_id"]["uri"].as_str().unwrap_or_default().to_owned(),
                payload["status"].as_str().unwrap_or_default().to_owned(),
            ))
        })
        .collect();
    let alice_path = format!("/Users/{}", alice.rsplit('/').next().unwrap());
    assert_eq!(
        completions
            .iter()
            .map(|(txn, _, status)| (txn.clone(), status.as_str()))
            .collect::<Vec<_>>(),
        [
            (format!("{job_id}:0"), "201"),
            (format!("{job_id}:1"), "409"),
            (format!("{job_id}:2"), "201"),
            (format!("{job_id}:3"), "404"),
        ]
    );
    assert_eq!(completions[0].1, alice_path);
    assert_eq!(completions[1].1, format!("/BulkJobs/{job_id}"));
    // Another tenant's job is not found, exactly as an unknown one.
    let foreign = server.get(&path, &other);
    assert_eq!(foreign.status, 404, "{}", foreign.text);
    let unknown = server.get("/scim/v2/BulkJobs/no-such-job", &token);
    assert_eq!(
        (unknown.status, unknown.json["status"].as_str()),
        (404, Some("404"))
    );
    // A request that is wrong as a whole is refused at once, with no job.
    let refused = submit(&server, &token, &json!({"schemas": [BULK]}));
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert_eq!(refused.json["scimType"], "invalidSyntax");
}

/// 20,000 users (each with an entitlement to a licensed sku) and 200 groups naming 100 of
/// them each by bulkId, as one job. The server is SIGKILLed mid-job and restarted.
fn job_survives_sigkill(store: Store) {
    const USERS: usize = 20_000;
    const GROUP_EVERY: usize = 100;
    let token = tenant_with_token(&store, "acme");
    cli(
        &store,
        &[
            "license", "set", "--tenant", "acme", "--sku", "pro", "--seats", "30000",
        ],
    );
    let flags = [
        "--job-lease-seconds",
        "2",
        "--bulk-max-operations",
        "25000",
        "--bulk-max-payload-bytes",
        "16777216",
    ];
    let mut server = Server::start_flags(store, &flags);
    let mut operations = Vec::new();
    for n in 0..USERS {
        operations.push(
            json!({"method": "POST", "path": "/Users", "bulkId": format!("u{n}"),
            "data": {"schemas": [USER_SCHEMA], "userName": format!("user{n}@example.com"),
                "entitlements": [{"value": "pro"}]}}),
        );
        if (n + 1) % GROUP_EVERY == 0 {
            let members: Vec<Value> = (n + 1 - GROUP_EVERY..=n)
                .map(|m| json!({"value": format!("bulkId:u{m}")}))
                .collect();
            operations.push(json!({"method": "POST", "path": "/Groups",
                "bulkId": format!("g{n}"),
                "data": {"schemas": [GROUP_SCHEMA], "displayName": format!("team {n}"),
                    "members": members}}));
        }
    }
    let total = operations.len();
    let submitted = submit(
        &server,
        &token,
        &json!({"schemas": [BULK], "Operations": operations}),
    );
    let path = accepted_job(&server, &token, &submitted);
    let before = poll(&server, &token, &path, |job| {
        job["done"].as_u64().unwrap_or(0) >= 2_000
    });
    assert_eq!(
        before["status"], "running",
        "the kill must come mid-job: {before}"
    );
    server.kill_and_restart(&flags);
    let job = poll(&server, &token, &path, |_| false);
    assert_eq!(
        job["done"].as_u64(),
        Some(total as u64),
        "{}",
        job["status"]
    );

    // Every operation has exactly one outcome, all created, each at its own resource.
    let outcomes = job["response"]["Operations"].as_array().expect("response");
    assert_eq!(outcomes.len(), total);
    let mut locations = std::collections::HashSet::new();
    for outcome in outcomes {
        assert_eq!(outcome["status"], "201", "{outcome}");
        assert!(locations.insert(outcome["location"].as_str().expect("location")));
    }
    // No user or group lost or doubled; every member in place; one seat per user.
    let users = server.get("/scim/v2/Users?count=0", &token);
    assert_eq!(users.json["totalResults"].as_u64(), Some(USERS as u64));
    let groups = server.get("/scim/v2/Groups?count=0", &token);
    assert_eq!(
        groups.json["totalResults"].as_u64(),
        Some((USERS / GROUP_EVERY) as u64)
    );
    let last_group = outcomes
        .last()
        .and_then(|o| o["location"].as_str())
        .expect("group");
    let last_group = server.get(
        &last_group[last_group.find("/scim/v2/").unwrap_or(0)..],
        &token,
    );
    assert_eq!(
        last_group.json["members"].as_array().map(Vec::len),
        Some(GROUP_EVERY)
    );
    let pool = server.get("/scim/v2/Licenses/pro", &token);
    assert_eq!(
        pool.json["used"].as_u64(),
        Some(USERS as u64),
        "{}",
        pool.text
    );
}

#[test]
fn async_job_basics_on_sqlite() {
    job_basics(Store::sqlite());
}

#[test]
fn async_job_basics_on_postgres() {
    if let Some(store) = Store::postgres("e2e_async_job_basics") {
        job_basics(store);
    }
}

#[test]
fn async_job_of_20000_users_survives_sigkill_on_sqlite() {
    job_survives_sigkill(Store::sqlite());
}

#[test]
fn async_job_of_20000_users_survives_sigkill_on_postgres() {
    if let Some(store) = Store::postgres("e2e_async_job_sigkill") {
        job_survives_sigkill(store);
    }
}
