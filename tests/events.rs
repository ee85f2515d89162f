//! Events end to end: what the server records in its outbox for each committed change made
//! over SCIM (single requests and /Bulk), read back with `scim-server events`, and nothing
//! for requests that failed.

use serde_json::{Value, json};

use crate::helpers::{Server, Store, USER_SCHEMA, cli, tenant_with_token};

const CREATE: &str = "urn:ietf:params:scim:event:prov:create:full";
const PATCH: &str = "urn:ietf:params:scim:event:prov:patch:full";
const DEACTIVATE: &str = "urn:ietf:params:scim:event:prov:deactivate";
const DELETE: &str = "urn:ietf:params:scim:event:prov:delete";
const ASSIGNED: &str = "urn:scim-license:event:license:assigned";
const REVOKED: &str = "urn:scim-license:event:license:revoked";

fn events(server: &Server, after: i64) -> Vec<Value> {
    let out = cli(
        &server.store,
        &["events", "--tenant", "acme", "--after", &after.to_string()],
    );
    serde_json::from_str::<Value>(out.trim())
        .expect("events prints a JSON array")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// `(subject, event URIs)` of each recorded change.
fn summary(events: &[Value]) -> Vec<(String, Vec<String>)> {
    events
        .iter()
        .map(|event| {
            (
                event["sub_id"]["uri"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                event["events"]
                    .as_object()
                    .map(|events| events.keys().cloned().collect())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

fn owned(subject: &str, uris: &[&str]) -> (String, Vec<String>) {
    (
        subject.to_owned(),
        uris.iter().map(|&uri| uri.to_owned()).collect(),
    )
}

fn lifecycle(store: Store) {
    let token = tenant_with_token(&store, "acme");
    cli(
        &store,
        &[
            "license", "set", "--tenant", "acme", "--sku", "pro", "--seats", "5",
        ],
    );
    let server = Server::start(store);
    let created = server.post(
        "/scim/v2/Users",
        &token,
        &json!({"schemas": [USER_SCHEMA], "userName": "alice@example.com",
            "externalId": "ext-alice", "entitlements": [{"value": "pro"}]}),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_str().expect("id").to_owned();
    let user = format!("/Users/{id}");
    // A refused request records nothing.
    let twin = server.post(
        "/scim/v2/Users",
        &token,
        &json!({"schemas": [USER_SCHEMA], "userName": "ALICE@example.com"}),
    );
    assert_eq!(twin.status, 409);
    let deactivate = json!([{"op": "Replace", "path": "active", "value": "False"}]);
    assert_eq!(
        server
            .patch(&format!("/scim/v2{user}"), &token, &deactivate)
            .status,
        200
    );
    assert_eq!(
        server.delete(&format!("/scim/v2{user}"), &token).status,
        204
    );

    let recorded = events(&server, 0);
    assert_eq!(
        summary(&recorded),
        [
            owned(&user, &[CREATE]),
            owned(&user, &[ASSIGNED]),
            owned(&user, &[PATCH, DEACTIVATE]),
            owned(&user, &[REVOKED]),
            owned(&user, &[DELETE]),
        ]
    );
    let create = &recorded[0];
    assert_eq!(create["sub_id"]["externalId"], "ext-alice");
    assert_eq!(
        create["events"][CREATE]["data"]["userName"],
        "alice@example.com"
    );
    assert_eq!(create["events"][CREATE]["data"]["id"], id.as_str());
    assert_eq!(
        create["events"][CREATE]["version"],
        created.json["meta"]["version"]
    );
    assert_eq!(recorded[1]["events"][ASSIGNED]["sku"], "pro");
    assert_eq!(
        recorded[2]["events"][PATCH]["data"]["Operations"][0]["path"],
        "active"
    );
    assert_eq!(recorded[4]["sub_id"]["externalId"], "ext-alice");

    // Through /Bulk: the created user's events; none for the operation that failed.
    let after = recorded.last().and_then(|e| e["seq"].as_i64()).unwrap_or(0);
    let bulk = server.post(
        "/scim/v2/Bulk",
        &token,
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "b",
                "data": {"schemas": [USER_SCHEMA], "userName": "bob@example.com"}},
            {"method": "POST", "path": "/Users", "bulkId": "b2",
                "data": {"schemas": [USER_SCHEMA], "userName": "BOB@example.com"}},
        ]}),
    );
    assert_eq!(bulk.status, 200, "{}", bulk.text);
    let bob = bulk.json["Operations"][0]["location"]
        .as_str()
        .and_then(|location| location.rsplit('/').next())
        .expect("bob's id")
        .to_owned();
    assert_eq!(
        summary(&events(&server, after)),
        [owned(&format!("/Users/{bob}"), &[CREATE])]
    );
}

#[test]
fn events_of_a_user_lifecycle_on_sqlite() {
    lifecycle(Store::sqlite());
}

#[test]
fn events_of_a_user_lifecycle_on_postgres() {
    if let Some(store) = Store::postgres("e2e_events_lifecycle") {
        lifecycle(store);
    }
}
