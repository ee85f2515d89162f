//! `/Bulk` end to end (RFC 7644 §3.7): cross references in any order, a failure in the
//! middle that stops nothing else, failOnErrors, circular group references resolved, seat
//! exhaustion failing only the operations that needed a seat, and the limits.

use serde_json::{Value, json};

use crate::helpers::{GROUP_SCHEMA, Server, Store, USER_SCHEMA, cli, tenant_with_token};

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

fn bulk(operations: Value) -> Value {
    let mut body = json!({"schemas": [BULK]});
    body["Operations"] = operations;
    body
}

fn post_user(bulk_id: &str, entitlements: &[&str]) -> Value {
    let entitlements: Vec<Value> = entitlements.iter().map(|e| json!({"value": e})).collect();
    json!({"method": "POST", "path": "/Users", "bulkId": bulk_id,
        "data": {"schemas": [USER_SCHEMA], "userName": format!("{bulk_id}@example.com"), "entitlements": entitlements}})
}

fn post_group(bulk_id: &str, members: &[String]) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    json!({"method": "POST", "path": "/Groups", "bulkId": bulk_id,
        "data": {"schemas": [GROUP_SCHEMA], "displayName": bulk_id, "members": members}})
}

/// The response's operations by bulkId (or by method and path for those without one).
fn statuses(reply: &Value) -> Vec<(String, String)> {
    reply["Operations"]
        .as_array()
        .expect("Operations")
        .iter()
        .map(|op| {
            (
                op["bulkId"]
                    .as_str()
                    .unwrap_or_else(|| op["method"].as_str().unwrap_or_default())
                    .to_owned(),
                op["status"]
                    .as_str()
                    .expect("status is a string")
                    .to_owned(),
            )
        })
        .collect()
}

fn id_of(reply: &Value, bulk_id: &str) -> String {
    let op = reply["Operations"]
        .as_array()
        .expect("Operations")
        .iter()
        .find(|op| op["bulkId"] == bulk_id)
        .unwrap_or_else(|| panic!("no outcome for {bulk_id}"));
    op["location"]
        .as_str()
        .expect("location")
        .rsplit('/')
        .next()
        .expect("id")
        .to_owned()
}

fn thousand_operations_with_cross_references(store: Store) {
    let token = tenant_with_token(&store, "acme");
    let server = Server::start(store);
    // A group first, naming 997 users created after it; in the middle, a user the schema
    // refuses and one whose userName is taken (the store refuses it inside its batch).
    let members: Vec<String> = (0..997).map(|n| format!("bulkId:u{n}")).collect();
    let mut operations = vec![post_group("everyone", &members)];
    for n in 0..997 {
        operations.push(post_user(&format!("u{n}"), &[]));
        if n == 500 {
            operations.push(
                json!({"method": "POST", "path": "/Users", "bulkId": "broken",
                "data": {"schemas": [USER_SCHEMA], "userName": 42}}),
            );
            operations.push(json!({"method": "POST", "path": "/Users", "bulkId": "twin",
                "data": {"schemas": [USER_SCHEMA], "userName": "U500@EXAMPLE.COM"}}));
        }
    }
    assert_eq!(operations.len(), 1000);
    let reply = server.post("/scim/v2/Bulk", &token, &bulk(Value::Array(operations)));
    assert_eq!(reply.status, 200, "{}", reply.text);
    let outcomes = statuses(&reply.json);
    assert_eq!(outcomes.len(), 1000);
    let outcome = |bulk_id: &str| {
        reply.json["Operations"]
            .as_array()
            .expect("ops")
            .iter()
            .find(|op| op["bulkId"] == bulk_id)
            .unwrap_or_else(|| panic!("{bulk_id}"))
            .clone()
    };
    let broken = outcome("broken");
    assert_eq!(broken["status"], "400");
    assert_eq!(broken["response"]["scimType"], "invalidValue");
    assert!(broken.get("location").is_none());
    let twin = outcome("twin");
    assert_eq!(twin["status"], "409", "{twin}");
    assert_eq!(twin["response"]["scimType"], "uniqueness");
    assert_eq!(outcomes.iter().filter(|(_, s)| s == "201").count(), 998);
    assert_eq!(
        outcome("u501")["status"],
        "201",
        "the batch went on after the conflict"
    );
    let group = server.get(
        &format!("/scim/v2/Groups/{}", id_of(&reply.json, "everyone")),
        &token,
    );
    assert_eq!(group.json["members"].as_array().map(Vec::len), Some(997));
    assert_eq!(
        server.get("/scim/v2/Users?count=1", &token).json["totalResults"],
        997
    );
}

/// A re-sync of 300 existing users (PATCH, PUT, DELETE, committed 100 per transaction) with
/// failures in the middle: each fails alone, and each success is what its single request
/// would have done.
fn updates_in_batches_fail_one_by_one(store: Store) {
    let token = tenant_with_token(&store, "acme");
    let server = Server::start(store);
    let created = server.post(
        "/scim/v2/Bulk",
        &token,
        &bulk(Value::Array(
            (0..300).map(|n| post_user(&format!("u{n}"), &[])).collect(),
        )),
    );
    assert_eq!(created.status, 200, "{}", created.text);
    let ids: Vec<String> = (0..300)
        .map(|n| id_of(&created.json, &format!("u{n}")))
        .collect();
    let patch = |id: &str, path: &str, value: &str| {
        json!({"method": "PATCH", "path": format!("/Users/{id}"), "data": {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": path, "value": value}]}})
    };
    let mut operations: Vec<Value> = Vec::new();
    for (n, id) in ids.iter().enumerate() {
        operations.push(match n {
            150 => patch(id, "name.nosuch", "x"),
            151 => json!({"method": "PUT", "path": format!("/Users/{id}"), "version": "W/\"99\"",
                "data": {"schemas": [USER_SCHEMA], "userName": "stale@example.com"}}),
            152 => json!({"method": "DELETE", "path": format!("/Users/{id}")}),
            153 => patch(&ids[152], "displayName", "too late"),
            154 => json!({"method": "PUT", "path": format!("/Users/{id}"),
                "data": {"schemas": [USER_SCHEMA], "userName": "renamed@example.com"}}),
            _ => patch(id, "displayName", &format!("User {n}")),
        });
    }
    let reply = server.post("/scim/v2/Bulk", &token, &bulk(Value::Array(operations)));
    assert_eq!(reply.status, 200, "{}", reply.text);
    let outcomes = reply.json["Operations"].as_array().expect("Operations");
    assert_eq!(outcomes.len(), 300);
    let status = |n: usize| {
        outcomes[n]["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        (
            status(150),
            status(151),
            status(152),
            status(153),
            status(154)
        ),
        (
            "400".into(),
            "412".into(),
            "204".into(),
            "404".into(),
            "200".into()
        ),
        "{}",
        reply.text
    );
    assert_eq!(outcomes[150]["response"]["scimType"], "invalidPath");
    for n in (0..300).filter(|n| !(150..=154).contains(n)) {
        assert_eq!(status(n), "200", "{}", outcomes[n]);
    }
    // Each success is in the store as its outcome says; each failure changed nothing.
    let user = |n: usize| server.get(&format!("/scim/v2/Users/{}", ids[n]), &token);
    let first = user(0);
    assert_eq!(first.json["displayName"], "User 0");
    assert_eq!(
        first.json["meta"]["version"], outcomes[0]["version"],
        "the outcome's version is the stored one"
    );
    assert_eq!(user(299).json["displayName"], "User 299");
    assert!(user(150).json.get("displayName").is_none());
    assert_eq!(user(151).json["userName"], "u151@example.com");
    assert_eq!(user(152).status, 404);
    assert_eq!(user(154).json["userName"], "renamed@example.com");
    assert_eq!(
        server.get("/scim/v2/Users?count=0", &token).json["totalResults"],
        299
    );
}

fn references_failures_and_cycles(store: Store) {
    let token = tenant_with_token(&store, "acme");
    cli(
        &store,
        &[
            "license", "set", "--tenant", "acme", "--sku", "pro", "--seats", "2",
        ],
    );
    let server = Server::start(store);
    let reply = server.post(
        "/scim/v2/Bulk",
        &token,
        &bulk(json!([
            {"method": "PATCH", "path": "/Users/bulkId:alice", "data": {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "displayName", "value": "Alice A"}]}},
            post_user("alice", &["pro"]),
            post_user("bob", &["pro"]),
            post_user("carol", &["pro"]),
            post_group("x", &["bulkId:y".to_owned(), "bulkId:alice".to_owned()]),
            post_group("y", &["bulkId:x".to_owned()]),
            {"method": "DELETE", "path": "/Users/bulkId:carol"},
            {"method": "DELETE", "path": "/Users/bulkId:nobody"},
        ])),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    let outcomes = statuses(&reply.json);
    let status = |key: &str| {
        outcomes
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, s)| s.as_str())
            .collect::<Vec<_>>()
    };
    // Seats: alice and bob take the two; carol fails alone, and her DELETE with her.
    assert_eq!(status("alice"), ["201"]);
    assert_eq!(status("bob"), ["201"]);
    assert_eq!(status("carol"), ["400"]);
    let carol = reply.json["Operations"]
        .as_array()
        .expect("ops")
        .iter()
        .find(|o| o["bulkId"] == "carol")
        .expect("carol")
        .clone();
    assert!(
        carol["response"]["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("no free seat"),
        "{carol}"
    );
    assert_eq!(
        status("DELETE"),
        ["400", "400"],
        "deletes of a failed and an undefined bulkId"
    );
    // The PATCH waited for alice's POST.
    assert_eq!(status("PATCH"), ["200"]);
    let alice = server.get(
        &format!("/scim/v2/Users/{}", id_of(&reply.json, "alice")),
        &token,
    );
    assert_eq!(alice.json["displayName"], "Alice A");
    // The circular groups exist and name each other.
    let (x, y) = (id_of(&reply.json, "x"), id_of(&reply.json, "y"));
    let x_members: Vec<String> =
        server.get(&format!("/scim/v2/Groups/{x}"), &token).json["members"]
            .as_array()
            .expect("members")
            .iter()
            .map(|m| m["value"].as_str().unwrap_or_default().to_owned())
            .collect();
    assert!(
        x_members.contains(&y) && x_members.contains(&id_of(&reply.json, "alice")),
        "{x_members:?}"
    );
    let y_members = server.get(&format!("/scim/v2/Groups/{y}"), &token).json["members"].clone();
    assert_eq!(y_members[0]["value"], x.as_str());

    // failOnErrors stops after that many failures.
    let stopped = server.post(
        "/scim/v2/Bulk",
        &token,
        &json!({"schemas": [BULK], "failOnErrors": 2, "Operations": [
            {"method": "DELETE", "path": "/Users/no-such-1"},
            post_user("dave", &[]),
            {"method": "DELETE", "path": "/Users/no-such-2"},
            post_user("erin", &[]),
        ]}),
    );
    assert_eq!(
        statuses(&stopped.json),
        [
            ("DELETE".to_owned(), "404".to_owned()),
            ("dave".to_owned(), "201".to_owned()),
            ("DELETE".to_owned(), "404".to_owned()),
        ]
    );

    // Limits: more than maxOperations is a 413 for the whole request.
    let too_many: Vec<Value> = (0..1001)
        .map(|n| post_user(&format!("t{n}"), &[]))
        .collect();
    let refused = server.post("/scim/v2/Bulk", &token, &bulk(Value::Array(too_many)));
    refused.assert_error(413, None);
    let config = server.get("/scim/v2/ServiceProviderConfig", &token);
    assert_eq!(config.json["bulk"]["supported"], true);
    assert_eq!(config.json["bulk"]["maxOperations"], 1000);
}

fn upsert_users_by_user_name(store: Store) {
    let token = tenant_with_token(&store, "acme");
    let server = Server::start(store);
    let existing = server.post(
        "/scim/v2/Users",
        &token,
        &json!({"schemas": [USER_SCHEMA], "userName": "Known@Example.com", "title": "old"}),
    );
    let existing_id = existing.json["id"].as_str().expect("id").to_owned();
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "Resources": [
            {"schemas": [USER_SCHEMA], "userName": "new.one@example.com"},
            {"schemas": [USER_SCHEMA], "userName": "known@example.com", "title": "new"},
            {"schemas": [USER_SCHEMA], "title": "no userName"},
        ],
    });
    let reply = server.post("/scim/v2/Users?bulk=true", &token, &body);
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.json["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
    );
    let ops = reply.json["Operations"].as_array().expect("Operations");
    let summary: Vec<(&str, &str)> = ops
        .iter()
        .map(|op| {
            (
                op["method"].as_str().unwrap_or_default(),
                op["status"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(summary, [("POST", "201"), ("PUT", "200"), ("POST", "400")]);
    assert!(
        ops[1]["location"]
            .as_str()
            .unwrap_or_default()
            .ends_with(&existing_id)
    );
    let known = server.get(&format!("/scim/v2/Users/{existing_id}"), &token);
    assert_eq!(known.json["title"], "new");
    assert_eq!(
        server.get("/scim/v2/Users?count=0", &token).json["totalResults"],
        2
    );
    // Not a ListResponse shape: a precise 400.
    server
        .post(
            "/scim/v2/Users?bulk=true",
            &token,
            &json!({"schemas": [USER_SCHEMA], "userName": "x"}),
        )
        .assert_error(400, Some("invalidSyntax"));
}

#[test]
fn upsert_by_user_name_on_sqlite() {
    upsert_users_by_user_name(Store::sqlite());
}

#[test]
fn upsert_by_user_name_on_postgres() {
    if let Some(store) = Store::postgres("e2e bulk upsert on postgres") {
        upsert_users_by_user_name(store);
    }
}

#[test]
fn bulk_updates_in_batches_on_sqlite() {
    updates_in_batches_fail_one_by_one(Store::sqlite());
}

#[test]
fn bulk_updates_in_batches_on_postgres() {
    if let Some(store) = Store::postgres("e2e_bulk_updates") {
        updates_in_batches_fail_one_by_one(store);
    }
}

#[test]
fn bulk_of_a_thousand_on_sqlite() {
    thousand_operations_with_cross_references(Store::sqlite());
}

#[test]
fn bulk_of_a_thousand_on_postgres() {
    if let Some(store) = Store::postgres("e2e bulk on postgres") {
        thousand_operations_with_cross_references(store);
    }
}

#[test]
fn bulk_references_failures_and_cycles_on_sqlite() {
    references_failures_and_cycles(Store::sqlite());
}

#[test]
fn bulk_references_failures_and_cycles_on_postgres() {
    if let Some(store) = Store::postgres("e2e bulk cycles on postgres") {
        references_failures_and_cycles(store);
    }
}
