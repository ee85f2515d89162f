//! A replay of Okta's SCIM test suites for SCIM 2.0 servers, on both stores:
//!
//! - [GUIDE] "Test your SCIM API", Okta Developer,
//!   <https://developer.okta.com/docs/guides/build-provisioning-integration/test-scim-api/>:
//!   download the "Okta SCIM Spec Test" file and run it on BlazeMeter Runscope.
//! - [SPEC] that file, "Okta SCIM 2.0 SPEC Test" ("Basic tests to see if your SCIM server
//!   will work with Okta"), a Runscope export whose step notes and assertions are replayed in
//!   order below (read from a public copy, `tests/scim_tests/scim_e2e_test.json` of
//!   <https://github.com/BerriAI/litellm>). Its variables (`randomUsername`, `randomEmail`,
//!   `randomUsernameCaps`, `InvalidUserEmail`, `UserIdThatDoesNotExist`…) are filled in by
//!   Runscope; values of our own stand in for them.
//! - [CRUD] "Test your SCIM app" (the Okta SCIM 2.0 CRUD suite),
//!   <https://developer.okta.com/docs/guides/build-provisioning-integration/test-scim-app/>:
//!   13 steps, most acting in an Okta org (create and assign a user, update firstName,
//!   deactivate, reactivate, unassign), each followed by a check on the SCIM server. The
//!   Okta-side steps need an Okta org and its API token and are not reproducible here; the
//!   replay sends what Okta's SCIM client sends for them, as documented in
//! - [REF] "Okta and SCIM Version 2.0", <https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20>:
//!   import pages with `startIndex=1&count=100` (integers in the ListResponse), a `userName eq`
//!   lookup before the POST, 409 with an error body when the user exists, updates as a GET
//!   followed by a PUT of the modified body, (de)activation by PUT for App Integration Wizard
//!   integrations and by `{"op": "replace", "value": {"active": false}}` PATCH for OIN ones,
//!   and never a DELETE: a removed user is deactivated.
//!
//! Not reproducible: the Runscope UI steps of [GUIDE] (import, Test Settings, sharing
//! results), [SPEC]'s 5–10 s pauses between steps, and its `response_time < 600` ms check of
//! the Groups step (timing belongs to the benchmarks, docs/performance.md).

use serde_json::{Value, json};

use crate::helpers::{Reply, Server, Store, USER_SCHEMA, tenant_with_token};

const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// [SPEC]'s request headers, as its steps send them.
const OKTA_HEADERS: [(&str, &str); 3] = [
    ("Accept", "application/scim+json"),
    ("Accept-Charset", "utf-8"),
    ("User-Agent", "OKTA SCIM Integration"),
];

/// An Okta run: the server and the tenant's token.
struct Okta {
    server: Server,
    token: String,
}

impl Okta {
    fn start(store: Store) -> Self {
        let token = tenant_with_token(&store, "okta-org");
        Okta {
            server: Server::start(store),
            token,
        }
    }

    fn get(&self, path: &str) -> Reply {
        let token = Some(self.token.as_str());
        self.server.send("GET", path, token, &OKTA_HEADERS, None)
    }

    /// POST as [SPEC]'s create steps: `Content-Type: application/json`.
    fn post(&self, path: &str, body: &Value) -> Reply {
        let headers = [
            ("Content-Type", "application/json"),
            ("Accept", "application/scim+json; charset=utf-8"),
        ];
        let body = body.to_string();
        let token = Some(self.token.as_str());
        self.server
            .send("POST", path, token, &headers, Some(body.as_bytes()))
    }

    /// `GET /Users?filter=userName eq "…"`, checked as a ListResponse.
    fn by_user_name(&self, user_name: &str) -> Reply {
        let reply = self.get(&user_name_filter(user_name));
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.json["schemas"], json!([LIST]));
        reply
    }
}

/// The path of a `userName eq "…"` lookup, encoded as Runscope sends it.
fn user_name_filter(user_name: &str) -> String {
    let user_name = user_name.replace('@', "%40");
    format!("/scim/v2/Users?filter=userName%20eq%20%22{user_name}%22")
}

/// The user body of [SPEC]'s "Create Okta user with realistic values".
fn okta_user(user_name: &str, email: &str, given: &str, family: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": true, "value": email, "type": "work"}],
        "displayName": format!("{given} {family}"),
        "active": true,
    })
}

/// [SPEC]'s `not_empty` checks on a user: id, name, userName, active, emails[0].value.
fn assert_user_fields(user: &Value) {
    for field in ["/id", "/name/familyName", "/name/givenName", "/userName"] {
        let value = user.pointer(field).and_then(Value::as_str);
        assert!(value.is_some_and(|v| !v.is_empty()), "{field}: {user}");
    }
    assert!(user["active"].is_boolean(), "{user}");
    let email = user["emails"][0]["value"].as_str();
    assert!(email.is_some_and(|e| !e.is_empty()), "{user}");
}

fn run_spec_test(store: Store) {
    let okta = Okta::start(store);
    // [SPEC] starts against a server that already holds users (its first step needs one).
    for n in 1..=2 {
        let body = okta_user(
            &format!("existing{n}@atko.example"),
            &format!("existing{n}@atko.example"),
            "Existing",
            &format!("User{n}"),
        );
        assert_eq!(okta.post("/scim/v2/Users", &body).status, 201);
    }

    // "Required Test: Test Users endpoint": GET /Users?count=1&startIndex=1.
    let page = okta.get("/scim/v2/Users?count=1&startIndex=1");
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.json["schemas"], json!([LIST]));
    assert_eq!(page.json["totalResults"], 2);
    assert_eq!(page.json["startIndex"], 1);
    assert_eq!(page.json["itemsPerPage"], 1);
    assert_eq!(page.json["Resources"].as_array().map(Vec::len), Some(1));
    assert_user_fields(&page.json["Resources"][0]);
    let isv_user_id = page.json["Resources"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // The next page holds the other user (RFC 7644 §3.4.2.4).
    let next = okta.get("/scim/v2/Users?count=1&startIndex=2");
    assert_eq!(next.json["startIndex"], 2);
    assert_ne!(next.json["Resources"][0]["id"], isv_user_id.as_str());

    // Okta's import [REF]: GET /Users?startIndex=1&count=100, integers, every user.
    let import = okta.get("/scim/v2/Users?startIndex=1&count=100");
    assert_eq!(import.status, 200, "{}", import.text);
    assert_eq!(import.json["schemas"], json!([LIST]));
    for (field, value) in [("totalResults", 2), ("itemsPerPage", 2), ("startIndex", 1)] {
        assert_eq!(
            import.json[field].as_u64(),
            Some(value),
            "{field} is an integer"
        );
    }

    // "Required Test: Get Users/{{id}}".
    let user = okta.get(&format!("/scim/v2/Users/{isv_user_id}"));
    assert_eq!(user.status, 200, "{}", user.text);
    assert_user_fields(&user.json);
    assert_eq!(user.json["id"], isv_user_id.as_str());
    assert_eq!(user.json, page.json["Resources"][0]);

    // "Required Test: Test invalid User by username": an empty ListResponse.
    let invalid = okta.by_user_name("invalid-user@atko.example");
    assert_eq!(invalid.json["totalResults"], 0);
    assert_eq!(invalid.json["Resources"], json!([]));

    // "Required Test: Test invalid User by ID": 404 with a SCIM error and a detail.
    let missing = okta.get("/scim/v2/Users/010101010101010101");
    missing.assert_error(404, None);
    assert_eq!(missing.json["schemas"], json!([ERROR]));

    // "Required Test: Make sure random user doesn't exist".
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let user_name = format!("Runscope{suffix}@atko.example");
    let email = format!("runscope.{suffix}@atko.example");
    assert_eq!(okta.by_user_name(&email).json["totalResults"], 0);

    // "Required Test: Create Okta user with realistic values".
    let body = okta_user(&user_name, &email, "Ada", &format!("Lovelace{suffix}"));
    let created = okta.post("/scim/v2/Users", &body);
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["active"], true);
    let schemas = created.json["schemas"].as_array().expect("schemas");
    assert!(schemas.contains(&json!(USER_SCHEMA)), "{schemas:?}");
    assert_eq!(created.json["userName"], user_name.as_str());
    assert_eq!(created.json["name"], body["name"]);
    assert_eq!(created.json["emails"], body["emails"]);
    let id_user_one = created.json["id"].as_str().expect("id").to_owned();
    assert!(!id_user_one.is_empty());

    // "Required Test: Verify that user was created".
    let verified = okta.get(&format!("/scim/v2/Users/{id_user_one}"));
    assert_eq!(verified.status, 200, "{}", verified.text);
    assert_eq!(verified.json["userName"], user_name.as_str());
    assert_eq!(verified.json["name"], body["name"]);
    assert_eq!(verified.json, created.json);

    // "Required Test: Expect failure when recreating user with same values" (its body has
    // the userName as the email): 409, with scimType uniqueness (RFC 7644 §3.3).
    let again = okta_user(&user_name, &user_name, "Ada", &format!("Lovelace{suffix}"));
    okta.post("/scim/v2/Users", &again)
        .assert_error(409, Some("uniqueness"));

    // "Required Test: Username Case Sensitivity Check": `userName eq` the upper-cased name.
    // [SPEC] checks only the 200; userName is caseExact=false (RFC 7643 §4.1.1), so the
    // server must also find the user.
    let caps = okta.by_user_name(&user_name.to_uppercase());
    assert_eq!(caps.json["totalResults"], 1, "{}", caps.text);
    assert_eq!(caps.json["Resources"][0]["id"], id_user_one.as_str());

    // "Optional Test: Verify Groups endpoint": 200; its script accepts no groups
    // (totalResults 0) or a Resources array.
    let groups = okta.get("/scim/v2/Groups");
    assert_eq!(groups.status, 200, "{}", groups.text);
    assert_eq!(groups.json["totalResults"], 0);
    assert_eq!(groups.json["Resources"], json!([]));

    // "Required Test: Check status 401": an Authorization header that is no credential.
    let path = user_name_filter(&user_name.to_uppercase());
    let mut headers = OKTA_HEADERS.to_vec();
    headers.push(("Authorization", "non-token"));
    let refused = okta.server.send("GET", &path, None, &headers, None);
    refused.assert_error(401, None);

    // "Required Test: Check status 404": a made-up numeric id.
    let not_found = okta.get("/scim/v2/Users/00919288221112222");
    not_found.assert_error(404, None);
}

/// Okta's update [REF]: GET the user, change the body it answered, PUT it back.
fn put_update(okta: &Okta, path: &str, change: impl FnOnce(&mut Value)) -> Value {
    let mut body = okta.get(path).json;
    change(&mut body);
    let reply = okta.server.put(path, &okta.token, &body);
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        okta.get(path).json,
        reply.json,
        "PUT answers the stored user"
    );
    reply.json
}

/// An OIN integration's (de)activation [REF]: a path-less PATCH (200 or 204).
fn patch_active(okta: &Okta, path: &str, active: bool) -> Value {
    let operations = json!([{"op": "replace", "value": {"active": active}}]);
    let reply = okta.server.patch(path, &okta.token, &operations);
    assert!(matches!(reply.status, 200 | 204), "{}", reply.text);
    okta.get(path).json
}

fn run_crud_test(store: Store) {
    let okta = Okta::start(store);
    let user_name = "crud.user@atko.example";
    // 1. "Checks that the app exists in your Okta org": Okta-side only.

    // 2-4. A random user assigned to the app: Okta looks the userName up, then creates it;
    // "Verifies that the user was created on your SCIM server".
    assert_eq!(okta.by_user_name(user_name).json["totalResults"], 0);
    let body = okta_user(user_name, user_name, "Crud", "User");
    let created = okta.post("/scim/v2/Users", &body);
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_str().expect("id").to_owned();
    let path = format!("/scim/v2/Users/{id}");
    let found = okta.by_user_name("CRUD.User@atko.example");
    assert_eq!(found.json["Resources"][0]["id"], id.as_str());
    assert_eq!(found.json["Resources"][0]["name"], body["name"]);

    // 5-6. firstName updated in Okta: GET then PUT [REF]; the body sent back carries the
    // readOnly `id` and `meta` it was given, which are ignored.
    let updated = put_update(&okta, &path, |user| {
        user["name"]["givenName"] = json!("Updated");
    });
    assert_eq!(updated["name"]["givenName"], "Updated");
    assert_eq!(updated["meta"]["version"], "W/\"2\"");
    assert_eq!(updated["emails"], body["emails"]);

    // 7-8. Deactivated in Okta, an AIW integration: the PUT carries `active: false` [REF].
    // The user stays, inactive, by id and by userName.
    let deactivated = put_update(&okta, &path, |user| user["active"] = json!(false));
    assert_eq!(deactivated["active"], false);
    assert_eq!(
        deactivated["name"]["givenName"], "Updated",
        "nothing else changed"
    );
    let by_name = okta.by_user_name(user_name);
    assert_eq!(
        by_name.json["Resources"][0]["active"], false,
        "{}",
        by_name.text
    );

    // 9-11. Reactivated and reassigned, an OIN integration: PATCH `active: true` [REF].
    let reactivated = patch_active(&okta, &path, true);
    assert_eq!(reactivated["active"], true);
    assert_eq!(reactivated["name"]["givenName"], "Updated");

    // 12-13. The app removed from the user: deactivation by PATCH, never a DELETE [REF];
    // the user is still there, inactive, and still found by userName.
    let removed = patch_active(&okta, &path, false);
    assert_eq!(removed["active"], false);
    assert_eq!(removed["userName"], user_name);
    let by_name = okta.by_user_name(user_name);
    assert_eq!(by_name.json["totalResults"], 1);
    assert_eq!(by_name.json["Resources"][0]["active"], false);
}

#[test]
fn okta_spec_test_on_sqlite() {
    run_spec_test(Store::sqlite());
}

#[test]
fn okta_spec_test_on_postgres() {
    if let Some(store) = Store::postgres("e2e okta spec test on postgres") {
        run_spec_test(store);
    }
}

#[test]
fn okta_crud_test_on_sqlite() {
    run_crud_test(Store::sqlite());
}

#[test]
fn okta_crud_test_on_postgres() {
    if let Some(store) = Store::postgres("e2e okta crud test on postgres") {
        run_crud_test(store);
    }
}
