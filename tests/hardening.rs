//! What real IdP traffic sends that a server must take (issue 19), on both stores:
//! concurrent PATCHes of one group without `If-Match`, text no database can hold, `null`
//! values in PATCH, and group members shown with who they are.

use serde_json::{Value, json};

use crate::helpers::{GROUP_SCHEMA, PATCH_OP, Server, Store, USER_SCHEMA, tenant_with_token, user};

/// How many PATCHes add a member to one group at once (Okta sends up to 75 requests at
/// once; Entra pushes memberships in parallel, never with `If-Match`).
const CONCURRENT_PATCHES: usize = 24;

/// PATCHes adding one member each, all at once, through `replicas` server processes on
/// one store: every one succeeds and no member is lost.
fn concurrent_group_patches_all_succeed(store: Store, replicas: usize) {
    let token = tenant_with_token(&store, "acme");
    let server = Server::start(store);
    let others: Vec<_> = (1..replicas).map(|_| server.replica(&[])).collect();
    let bases: Vec<&str> = std::iter::once(server.base.as_str())
        .chain(others.iter().map(|r| r.base.as_str()))
        .collect();
    let group = server.post(
        "/scim/v2/Groups",
        &token,
        &json!({"schemas": [GROUP_SCHEMA], "displayName": "Everyone"}),
    );
    assert_eq!(group.status, 201, "{}", group.text);
    let group_path = format!("/scim/v2/Groups/{}", group.json["id"].as_str().unwrap());
    let users: Vec<String> = (0..CONCURRENT_PATCHES)
        .map(|n| {
            let created = server.post(
                "/scim/v2/Users",
                &token,
                &user(&format!("u{n}@acme.example")),
            );
            assert_eq!(created.status, 201, "{}", created.text);
            created.json["id"].as_str().unwrap().to_owned()
        })
        .collect();
    let statuses: Vec<(u16, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = users
            .iter()
            .enumerate()
            .map(|(n, id)| {
                let (server, token, path) = (&server, &token, &group_path);
                let base = bases[n % bases.len()];
                scope.spawn(move || {
                    let reply = server.patch_at(
                        base,
                        path,
                        token,
                        &json!([{"op": "Add", "path": "members", "value": [{"value": id}]}]),
                    );
                    (reply.status, reply.text)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (status, text) in &statuses {
        assert_eq!(*status, 200, "every concurrent PATCH succeeds: {text}");
    }
    let read = server.get(&group_path, &token);
    let mut members: Vec<&str> = read.json["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    members.sort_unstable();
    let mut expected: Vec<&str> = users.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(members, expected, "no member is lost");
    assert_eq!(
        read.json["meta"]["version"],
        format!("W/\"{}\"", CONCURRENT_PATCHES + 1),
        "one version per PATCH"
    );
    // With If-Match, a stale version still answers 412.
    let stale = server.send(
        "PATCH",
        &group_path,
        Some(&token),
        &[("If-Match", "W/\"1\"")],
        Some(
            json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "All"}]})
                .to_string()
                .as_bytes(),
        ),
    );
    stale.assert_error(412, None);
}

#[test]
fn concurrent_group_patches_all_succeed_on_sqlite() {
    concurrent_group_patches_all_succeed(Store::sqlite(), 1);
}

/// Two replicas on one database: writers of different processes race on the version.
#[test]
fn concurrent_group_patches_all_succeed_on_postgres_replicas() {
    let Some(store) = Store::postgres("e2e concurrent group patches") else {
        return;
    };
    concurrent_group_patches_all_succeed(store, 2);
}

/// Text no store can hold answers 400 `invalidValue` naming the attribute, the same on both
/// stores, and never 503 (which an IdP retries forever); the store keeps serving.
fn unrepresentable_text_is_refused_up_front(store: Store) {
    let token = tenant_with_token(&store, "acme");
    let server = Server::start(store);
    let raw = |method: &str, path: &str, body: &str| {
        server.send(method, path, Some(&token), &[], Some(body.as_bytes()))
    };
    let long = "a".repeat(3000);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "NUL in userName",
            format!(r#"{{"schemas":["{USER_SCHEMA}"],"userName":"nul\u0000byte"}}"#),
            "'userName' holds U+0000",
        ),
        (
            "NUL in a sub-attribute",
            format!(
                r#"{{"schemas":["{USER_SCHEMA}"],"userName":"n1","name":{{"givenName":"\u0000"}}}}"#
            ),
            "'name.givenName' holds U+0000",
        ),
        (
            "a lone high surrogate",
            format!(r#"{{"schemas":["{USER_SCHEMA}"],"userName":"x\ud800"}}"#),
            "'userName' holds the unpaired UTF-16 surrogate",
        ),
        (
            "a lone low surrogate",
            format!(r#"{{"schemas":["{USER_SCHEMA}"],"userName":"s1","displayName":"\udc00"}}"#),
            "'displayName' holds the unpaired UTF-16 surrogate",
        ),
        (
            "a userName longer than an index entry holds",
            format!(r#"{{"schemas":["{USER_SCHEMA}"],"userName":"{long}"}}"#),
            "'userName' is too long",
        ),
        (
            "an externalId longer than an index entry holds",
            format!(r#"{{"schemas":["{USER_SCHEMA}"],"userName":"l1","externalId":"{long}"}}"#),
            "'externalId' is too long",
        ),
    ];
    for (name, body, detail) in &cases {
        let reply = raw("POST", "/scim/v2/Users", body);
        let got = reply.assert_error(400, Some("invalidValue"));
        assert!(got.contains(detail), "{name}: {got}");
    }
    let group = raw(
        "POST",
        "/scim/v2/Groups",
        &format!(r#"{{"schemas":["{GROUP_SCHEMA}"],"displayName":"{long}"}}"#),
    );
    let got = group.assert_error(400, Some("invalidValue"));
    assert!(got.contains("'displayName' is too long"), "{got}");

    // The same through PATCH and PUT of an existing user, and through /Bulk.
    let created = server.post("/scim/v2/Users", &token, &user("kept@acme.example"));
    let path = format!("/scim/v2/Users/{}", created.json["id"].as_str().unwrap());
    let patched = raw(
        "PATCH",
        &path,
        &format!(
            r#"{{"schemas":["{PATCH_OP}"],"Operations":[{{"op":"replace","path":"title","value":"t\u0000"}}]}}"#
        ),
    );
    assert!(
        patched
            .assert_error(400, Some("invalidValue"))
            .contains("'title' holds U+0000")
    );
    let put = raw(
        "PUT",
        &path,
        &format!(r#"{{"schemas":["{USER_SCHEMA}"],"userName":"{long}"}}"#),
    );
    assert!(
        put.assert_error(400, Some("invalidValue"))
            .contains("'userName' is too long")
    );
    let bulk = raw(
        "POST",
        "/scim/v2/Bulk",
        &format!(
            r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[{{"method":"POST","path":"/Users","bulkId":"b1","data":{{"schemas":["{USER_SCHEMA}"],"userName":"b\u0000"}}}}]}}"#
        ),
    );
    assert_eq!(bulk.status, 200, "{}", bulk.text);
    let outcome = &bulk.json["Operations"][0];
    assert_eq!(outcome["status"], "400", "{outcome}");
    assert_eq!(outcome["response"]["scimType"], "invalidValue", "{outcome}");

    // An upsert list (`POST /Users?bulk=true`) looks its userNames up first: not this one.
    let upsert = raw(
        "POST",
        "/scim/v2/Users?bulk=true",
        &format!(
            r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"Resources":[{{"schemas":["{USER_SCHEMA}"],"userName":"up\u0000sert"}}]}}"#
        ),
    );
    assert_eq!(upsert.status, 200, "{}", upsert.text);
    let outcome = &upsert.json["Operations"][0];
    assert_eq!(outcome["status"], "400", "{outcome}");
    assert_eq!(outcome["response"]["scimType"], "invalidValue", "{outcome}");

    // Lookups by values no store holds find nothing or are refused, never 503.
    assert_eq!(server.get("/scim/v2/Users/a%00b", &token).status, 404);
    let filtered = server.get(
        "/scim/v2/Users?filter=userName%20eq%20%22a%5Cu0000%22",
        &token,
    );
    assert!(
        filtered
            .assert_error(400, Some("invalidFilter"))
            .contains("U+0000")
    );
    let unchanged = server.get(&path, &token);
    assert_eq!(unchanged.json["userName"], "kept@acme.example");
    assert!(unchanged.json.get("title").is_none());
    let listed = server.get("/scim/v2/Users", &token);
    assert_eq!(listed.json["totalResults"], 1, "nothing else was written");
}

#[test]
fn unrepresentable_text_is_refused_up_front_on_sqlite() {
    unrepresentable_text_is_refused_up_front(Store::sqlite());
}

#[test]
fn unrepresentable_text_is_refused_up_front_on_postgres() {
    let Some(store) = Store::postgres("e2e unrepresentable text") else {
        return;
    };
    unrepresentable_text_is_refused_up_front(store);
}

/// `"value": null` clears an attribute (RFC 7643 §2.5), as Microsoft's validator sends it;
/// group members show who they are when the IdP sent no `display`.
fn nulls_clear_and_members_show_who_they_are(store: Store) {
    let token = tenant_with_token(&store, "acme");
    let server = Server::start(store);
    let body = json!({
        "schemas": [USER_SCHEMA, crate::helpers::ENTERPRISE],
        "userName": "ann@acme.example",
        "displayName": "Ann Lee",
        "title": "Engineer",
        "name": {"givenName": "Ann", "familyName": "Lee"},
        crate::helpers::ENTERPRISE: {"department": "R&D"},
    });
    let ann = server.post("/scim/v2/Users", &token, &body);
    assert_eq!(ann.status, 201, "{}", ann.text);
    let ann_id = ann.json["id"].as_str().unwrap().to_owned();
    let path = format!("/scim/v2/Users/{ann_id}");
    let ext_department = format!("{}:department", crate::helpers::ENTERPRISE);
    let patched = server.patch(
        &path,
        &token,
        &json!([
            {"op": "Replace", "path": "title", "value": null},
            {"op": "Add", "path": "name.givenName", "value": null},
            {"op": "replace", "path": ext_department, "value": null},
            {"op": "replace", "path": "nickName", "value": null},
        ]),
    );
    assert_eq!(patched.status, 200, "{}", patched.text);
    let read = server.get(&path, &token);
    assert!(read.json.get("title").is_none(), "{}", read.text);
    assert_eq!(read.json["name"], json!({"familyName": "Lee"}));
    assert!(
        read.json.get(crate::helpers::ENTERPRISE).is_none(),
        "{}",
        read.text
    );
    assert_eq!(read.json["displayName"], "Ann Lee");

    let bob = server.post("/scim/v2/Users", &token, &user("bob@acme.example"));
    let bob_id = bob.json["id"].as_str().unwrap().to_owned();
    let group = server.post(
        "/scim/v2/Groups",
        &token,
        &json!({"schemas": [GROUP_SCHEMA], "displayName": "Team", "members": [{"value": ann_id}]}),
    );
    assert_eq!(group.status, 201, "{}", group.text);
    let group_path = format!("/scim/v2/Groups/{}", group.json["id"].as_str().unwrap());
    let added = server.patch(
        &group_path,
        &token,
        &json!([{"op": "add", "path": "members", "value": [{"value": bob_id}]}]),
    );
    assert_eq!(added.status, 200, "{}", added.text);
    let read = server.get(&group_path, &token);
    let shown: Vec<(&str, &str)> = read.json["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["value"].as_str().unwrap(),
                m["display"].as_str().unwrap_or("<none>"),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (ann_id.as_str(), "Ann Lee"),
            (bob_id.as_str(), "bob@acme.example")
        ],
        "displayName, else userName"
    );
    let filtered: Value = server
        .get(
            "/scim/v2/Groups?filter=members.display%20eq%20%22ann%20lee%22",
            &token,
        )
        .json;
    assert_eq!(filtered["totalResults"], 1, "{filtered}");
}

#[test]
fn nulls_clear_and_members_show_who_they_are_on_sqlite() {
    nulls_clear_and_members_show_who_they_are(Store::sqlite());
}

#[test]
fn nulls_clear_and_members_show_who_they_are_on_postgres() {
    let Some(store) = Store::postgres("e2e nulls and member display") else {
        return;
    };
    nulls_clear_and_members_show_who_they_are(store);
}
