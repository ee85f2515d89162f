//! A Microsoft Entra ID provisioning cycle, with the request shapes Microsoft documents for
//! its SCIM client ("Develop and plan provisioning for a SCIM endpoint"): capitalised ops,
//! string booleans, path-less replace with dotted and URN-prefixed keys, `manager` as a
//! plain id, the legacy group schema URI, members added 100 per PATCH and removed by value.

use serde_json::{Value, json};

use crate::helpers::{ENTERPRISE, GROUP_SCHEMA, Server, Store, USER_SCHEMA, tenant_with_token};

const LEGACY_GROUP: &str =
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";

fn entra_user(n: usize) -> Value {
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": format!("0a21f0f2-8d2a-4f8e-bf98-{n:012}"),
        "userName": format!("Test_User_{n}@contoso.onmicrosoft.com"),
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": format!("test.user.{n}@contoso.com")}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": [],
    })
}

fn cycle(store: Store) {
    let token = tenant_with_token(&store, "contoso");
    let server = Server::start(store);

    // Entra first looks the user up, then creates it.
    let lookup = server.get(
        "/scim/v2/Users?filter=userName%20eq%20%22Test_User_1%40contoso.onmicrosoft.com%22",
        &token,
    );
    assert_eq!(lookup.json["totalResults"], 0, "{}", lookup.text);
    let created = server.post("/scim/v2/Users", &token, &entra_user(1));
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_str().expect("id").to_owned();
    let manager = server.post("/scim/v2/Users", &token, &entra_user(2));
    let manager_id = manager.json["id"].as_str().expect("id").to_owned();
    let path = format!("/scim/v2/Users/{id}");

    let updated = server.patch(&path, &token, &json!([
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@contoso.com"},
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
            {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
            {"op": "Replace", "value": {
                "displayName": "Updated Name",
                "name.givenName": "updatedGivenName",
                format!("{ENTERPRISE}:department"): "Sales",
            }},
            {"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": manager_id},
        ]));
    assert_eq!(updated.status, 200, "{}", updated.text);
    let user = &updated.json;
    assert_eq!(
        user["emails"],
        json!([{"primary": true, "type": "work", "value": "updatedEmail@contoso.com"}])
    );
    assert_eq!(user["name"]["familyName"], "updatedFamilyName");
    assert_eq!(user["name"]["givenName"], "updatedGivenName");
    assert_eq!(
        user["phoneNumbers"],
        json!([{"type": "mobile", "value": "+1 555 0100"}])
    );
    assert_eq!(user["displayName"], "Updated Name");
    assert_eq!(user[ENTERPRISE]["department"], "Sales");
    assert_eq!(user[ENTERPRISE]["manager"]["value"], manager_id.as_str());
    assert_eq!(user["meta"]["version"], "W/\"2\"");
    assert_eq!(
        server.get(&path, &token).json,
        updated.json,
        "PATCH answers the stored resource"
    );

    // An empty PATCH changes nothing.
    let empty = server.patch(&path, &token, &json!([]));
    assert_eq!(empty.status, 200, "{}", empty.text);
    assert_eq!(empty.json["meta"]["version"], "W/\"2\"");

    // Groups: the legacy schema URI is accepted; members arrive 100 per PATCH.
    let group = server.post(
        "/scim/v2/Groups",
        &token,
        &json!({
            "schemas": [GROUP_SCHEMA, LEGACY_GROUP],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "Sales Team",
            "meta": {"resourceType": "Group"},
        }),
    );
    assert_eq!(group.status, 201, "{}", group.text);
    let group_id = group.json["id"].as_str().expect("id").to_owned();
    let group_path = format!("/scim/v2/Groups/{group_id}");
    let found = server.get(
        "/scim/v2/Groups?excludedAttributes=members&filter=displayName%20eq%20%22sales%20team%22",
        &token,
    );
    assert_eq!(found.json["totalResults"], 1, "{}", found.text);

    let mut member_ids = vec![id.clone()];
    for n in 3..202 {
        let reply = server.post("/scim/v2/Users", &token, &entra_user(n));
        member_ids.push(reply.json["id"].as_str().expect("id").to_owned());
    }
    for chunk in member_ids.chunks(100) {
        let value: Vec<Value> = chunk
            .iter()
            .map(|m| json!({"$ref": null, "value": m}))
            .collect();
        let reply = server.patch(
            &group_path,
            &token,
            &json!([{"op": "Add", "path": "members", "value": value}]),
        );
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    let full = server.get(&group_path, &token);
    assert_eq!(full.json["members"].as_array().map(Vec::len), Some(200));
    let member_of = server.get(
        &format!(
            "/scim/v2/Groups?filter=members%5Bvalue%20eq%20%22{id}%22%5D&excludedAttributes=members"
        ),
        &token,
    );
    assert_eq!(member_of.json["totalResults"], 1, "{}", member_of.text);
    assert!(member_of.json["Resources"][0].get("members").is_none());

    let removed = server.patch(
        &group_path,
        &token,
        &json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": id}]}]),
    );
    assert_eq!(removed.status, 200, "{}", removed.text);
    let members = server.get(&group_path, &token).json["members"]
        .as_array()
        .cloned()
        .expect("members");
    assert_eq!(members.len(), 199);
    assert!(members.iter().all(|m| m["value"] != id.as_str()));
    let renamed = server.patch(
        &group_path,
        &token,
        &json!([{"op": "Replace", "path": "displayName", "value": "Sales Team EMEA"}]),
    );
    assert_eq!(renamed.json["displayName"], "Sales Team EMEA");

    // Disable with the string boolean of aadOptscim062020-less tenants, then delete.
    let disabled = server.patch(
        &path,
        &token,
        &json!([{"op": "Replace", "path": "active", "value": "False"}]),
    );
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    assert_eq!(disabled.json["active"], false);
    assert_eq!(server.delete(&path, &token).status, 204);
    assert_eq!(server.delete(&group_path, &token).status, 204);
    server.get(&group_path, &token).assert_error(404, None);
}

#[test]
fn entra_cycle_on_sqlite() {
    cycle(Store::sqlite());
}

#[test]
fn entra_cycle_on_postgres() {
    if let Some(store) = Store::postgres("e2e entra on postgres") {
        cycle(store);
    }
}
