//! An Okta provisioning cycle, with the request shapes Okta documents for SCIM 2.0
//! ("SCIM 2.0 protocol reference" and its test plan): lookup by userName in any case,
//! create with readOnly `groups` and a password, PUT updates, PUT `active: false` to
//! deactivate, group push with PATCH.

use serde_json::{Value, json};

use crate::helpers::{GROUP_SCHEMA, Server, Store, USER_SCHEMA, tenant_with_token};

fn okta_user(active: bool, given: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": "test.user@okta.local",
        "name": {"givenName": given, "familyName": "User"},
        "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
        "displayName": format!("{given} User"),
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": active,
    })
}

fn patch(server: &Server, path: &str, token: &str, operations: &Value) -> Value {
    let reply = server.patch(path, token, operations);
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json
}

fn cycle(store: Store) {
    let token = tenant_with_token(&store, "okta-org");
    let server = Server::start(store);

    let lookup = server.get(
        "/scim/v2/Users?filter=userName%20eq%20%22Test.User%40OKTA.local%22&startIndex=1&count=100",
        &token,
    );
    assert_eq!(lookup.json["totalResults"], 0);
    let created = server.post("/scim/v2/Users", &token, &okta_user(true, "Test"));
    assert_eq!(created.status, 201, "{}", created.text);
    assert!(created.json.get("password").is_none());
    let id = created.json["id"].as_str().expect("id").to_owned();
    let path = format!("/scim/v2/Users/{id}");

    // Okta's lookups differ in case from what it created.
    let found = server.get(
        "/scim/v2/Users?filter=userName%20eq%20%22Test.User%40OKTA.local%22&startIndex=1&count=100",
        &token,
    );
    assert_eq!(found.json["totalResults"], 1);
    assert_eq!(found.json["Resources"][0]["id"], id.as_str());

    let mut updated = okta_user(true, "Another");
    updated["id"] = json!(id);
    updated["groups"] = json!([{"value": "not-a-group", "display": "ignored"}]);
    let put = server.put(&path, &token, &updated);
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(put.json["name"]["givenName"], "Another");
    assert!(
        put.json
            .get("groups")
            .is_none_or(|g| g.as_array().is_some_and(Vec::is_empty)),
        "readOnly groups are ignored: {}",
        put.text
    );

    let deactivated = server.put(&path, &token, &okta_user(false, "Another"));
    assert_eq!(deactivated.status, 200, "{}", deactivated.text);
    assert_eq!(deactivated.json["active"], false);
    // Newer Okta orgs deactivate with a path-less PATCH instead.
    let reactivated = patch(
        &server,
        &path,
        &token,
        &json!([{"op": "replace", "value": {"active": true}}]),
    );
    assert_eq!(reactivated["active"], true);

    // Group push.
    let group = server.post(
        "/scim/v2/Groups",
        &token,
        &json!({"schemas": [GROUP_SCHEMA], "displayName": "Test SCIMv2", "members": []}),
    );
    assert_eq!(group.status, 201, "{}", group.text);
    let group_id = group.json["id"].as_str().expect("id").to_owned();
    let group_path = format!("/scim/v2/Groups/{group_id}");
    let renamed = patch(
        &server,
        &group_path,
        &token,
        &json!([{"op": "replace", "value": {"id": group_id, "displayName": "Test SCIMv2 renamed"}}]),
    );
    assert_eq!(renamed["displayName"], "Test SCIMv2 renamed");
    let with_member = patch(
        &server,
        &group_path,
        &token,
        &json!([{"op": "add", "path": "members", "value": [{"value": id, "display": "test.user@okta.local"}]}]),
    );
    assert_eq!(with_member["members"][0]["value"], id.as_str());
    assert_eq!(with_member["members"][0]["type"], "User");
    assert_eq!(with_member["members"][0]["display"], "test.user@okta.local");
    let user = server.get(&path, &token);
    assert_eq!(
        user.json["groups"],
        json!([{"value": group_id, "display": "Test SCIMv2 renamed", "type": "direct", "$ref": format!("{}/scim/v2/Groups/{group_id}", server.base)}])
    );
    let without = patch(
        &server,
        &group_path,
        &token,
        &json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]),
    );
    assert!(
        without
            .get("members")
            .is_none_or(|m| m.as_array().is_some_and(Vec::is_empty)),
        "{without}"
    );
    assert_eq!(server.delete(&group_path, &token).status, 204);
}

#[test]
fn okta_cycle_on_sqlite() {
    cycle(Store::sqlite());
}

#[test]
fn okta_cycle_on_postgres() {
    if let Some(store) = Store::postgres("e2e okta on postgres") {
        cycle(store);
    }
}
