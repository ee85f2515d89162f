//! Retention end to end: events past `--event-retention-days` are pruned when a server
//! starts (and every ten minutes after); an RFC 8936 poll feed that had not acknowledged
//! them is told once with a 410, then reads on; a Management API cursor or `events --after`
//! older than what is kept is refused with a clear error, never answered with a hole;
//! `/metrics` counts what was pruned.

use serde_json::json;

use crate::helpers::{METRICS_TOKEN, Server, Store, USER_SCHEMA, cli_output, tenant_with_token};
use crate::management::{api_key, call};
use crate::poll::poll;

/// Moves every recorded event of the store 40 days into the past.
fn age_every_event(store: &Store) {
    let forty_days_ago = chrono::Utc::now() - chrono::Duration::days(40);
    let sql = format!(
        "UPDATE outbox SET at = {}",
        forty_days_ago.timestamp_micros()
    );
    assert!(crate::helpers::execute_sql(store, &sql) > 0);
}

fn events_past_retention_are_pruned_and_readers_told(store: Store) {
    let token = tenant_with_token(&store, "acme");
    let flags = [
        "--metrics-token",
        METRICS_TOKEN,
        "--event-retention-days",
        "30",
    ];
    let mut server = Server::start_flags(store, &flags);
    for n in 0..4 {
        let user = json!({"schemas": [USER_SCHEMA], "userName": format!("u{n}@acme.test")});
        assert_eq!(server.post("/scim/v2/Users", &token, &user).status, 201);
    }
    // The poll feed is read: the first event acknowledged.
    let first = poll(
        &server,
        &token,
        &json!({"returnImmediately": true, "maxEvents": 1}),
    );
    assert_eq!(first.status, 200, "{}", first.text);
    let jti = first.json["sets"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let acked = poll(
        &server,
        &token,
        &json!({"returnImmediately": true, "maxEvents": 0, "ack": [jti]}),
    );
    assert_eq!(acked.status, 200, "{}", acked.text);
    // A cursor after the first event, kept by a Management API reader.
    let key = api_key(&server, &["events:read"]);
    let page = call(&server, "GET", "/tenants/acme/events?limit=1", &key, None);
    assert_eq!(page.status, 200, "{}", page.text);
    let cursor = page.json["next_cursor"].as_str().unwrap().to_owned();

    // Forty days pass; the server starts again and prunes what is past 30 days.
    age_every_event(&server.store);
    server.kill_and_restart(&flags);
    let later = json!({"schemas": [USER_SCHEMA], "userName": "late@acme.test"});
    assert_eq!(server.post("/scim/v2/Users", &token, &later).status, 201);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let told = loop {
        let reply = poll(&server, &token, &json!({"returnImmediately": true}));
        if reply.status == 410 {
            break reply;
        }
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert!(
            std::time::Instant::now() < deadline,
            "never pruned: {}",
            reply.text
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(told.json["err"], "events_removed", "{}", told.text);
    let description = told.json["description"].as_str().unwrap();
    assert!(
        description.starts_with("3 events were removed"),
        "{description}"
    );
    // Said once: the feed reads on from what is kept, the late user's event.
    let next = poll(&server, &token, &json!({"returnImmediately": true}));
    assert_eq!(next.status, 200, "{}", next.text);
    assert_eq!(
        next.json["sets"].as_object().unwrap().len(),
        1,
        "{}",
        next.text
    );
    // The old cursor: refused, with what to do.
    let gone = call(
        &server,
        "GET",
        &format!("/tenants/acme/events?cursor={cursor}"),
        &key,
        None,
    );
    assert_eq!(gone.status, 410, "{}", gone.text);
    assert_eq!(gone.json["type"], "urn:scim-license:problem:gone");
    assert!(
        gone.json["detail"]
            .as_str()
            .unwrap()
            .contains("past the retention period")
    );
    let fresh = call(&server, "GET", "/tenants/acme/events", &key, None);
    assert_eq!(
        fresh.json["data"].as_array().unwrap().len(),
        1,
        "{}",
        fresh.text
    );
    let cli = cli_output(
        &server.store,
        &["events", "--tenant", "acme", "--after", "1"],
    );
    assert!(!cli.status.success());
    assert!(String::from_utf8_lossy(&cli.stderr).contains("past the retention period"));
    let metrics = server.get("/metrics", METRICS_TOKEN).text;
    assert!(
        metrics.contains("scim_retention_pruned_rows_total{history=\"events\"} 4"),
        "{metrics}"
    );
}

#[test]
fn events_past_retention_are_pruned_and_readers_told_on_sqlite() {
    events_past_retention_are_pruned_and_readers_told(Store::sqlite());
}

#[test]
fn events_past_retention_are_pruned_and_readers_told_on_postgres() {
    if let Some(store) = Store::postgres("retention") {
        events_past_retention_are_pruned_and_readers_told(store);
    }
}
