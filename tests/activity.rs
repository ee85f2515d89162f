//! The provisioning activity end to end: every SCIM request of a tenant is in its log
//! (read from the Management API), with the IdP its User-Agent names and, for a refusal,
//! the reason in words its admin can act on; never a body, a secret, another tenant's
//! request, or a request whose credential was refused.

use serde_json::{Value, json};

use crate::helpers::{Reply, Server, Store, USER_SCHEMA, cli, tenant_with_token};
use crate::management::{api_key, call};

const OKTA: &str = "Okta SCIM Client 1.0.0";

fn post_user(server: &Server, token: &str, body: &Value) -> Reply {
    server.scim_as(OKTA, "POST", "/scim/v2/Users", token, Some(body))
}

fn requests_are_logged_with_their_reasons(store: Store) {
    let server = Server::start(store);
    let token = tenant_with_token(&server.store, "acme");
    let other = tenant_with_token(&server.store, "globex");
    cli(
        &server.store,
        &[
            "license", "set", "--tenant", "acme", "--sku", "pro", "--seats", "1",
        ],
    );
    let key = api_key(&server, &[]);
    let licensed = |name: &str| {
        json!({"schemas": [USER_SCHEMA], "userName": name, "password": "Hunter2-secret!",
               "entitlements": [{"value": "pro"}]})
    };
    let ada = post_user(&server, &token, &licensed("ada@acme.example"));
    assert_eq!(ada.status, 201, "{}", ada.text);
    let bob = post_user(&server, &token, &licensed("bob@acme.example"));
    assert_eq!(bob.status, 400, "{}", bob.text);
    let ada_id = ada.json["id"].as_str().expect("id");
    assert_eq!(
        server
            .get(&format!("/scim/v2/Users/{ada_id}"), &token)
            .status,
        200
    );
    // Not the tenant's: another tenant's request, and one whose credential was refused.
    assert_eq!(
        post_user(&server, &other, &licensed("zed@globex.example")).status,
        201
    );
    assert_eq!(server.get("/scim/v2/Users", "scim_not-a-token").status, 401);

    let log = call(&server, "GET", "/tenants/acme/activity", &key, None);
    assert_eq!(log.status, 200, "{}", log.text);
    let entries = log.json["data"].as_array().expect("entries");
    let summary: Vec<(String, u16, Option<String>)> = entries
        .iter()
        .map(|entry| {
            (
                entry["method"].as_str().unwrap_or_default().to_owned(),
                u16::try_from(entry["status"].as_u64().unwrap_or_default()).unwrap_or_default(),
                entry["resourceName"].as_str().map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("GET".to_owned(), 200, Some("ada@acme.example".to_owned())),
            ("POST".to_owned(), 400, Some("bob@acme.example".to_owned())),
            ("POST".to_owned(), 201, Some("ada@acme.example".to_owned())),
        ],
        "{}",
        log.text
    );
    let refused = &entries[1];
    assert_eq!(refused["outcome"], "failure");
    assert_eq!(refused["client"], "Okta");
    assert_eq!(refused["resourceType"], "User");
    assert_eq!(refused["scimType"], "invalidValue");
    assert_eq!(
        refused["detail"],
        "license pool 'pro' has no free seat: 1 of 1 seats are assigned"
    );
    assert!(
        refused["credential"]
            .as_str()
            .is_some_and(|c| c.starts_with("token:")),
        "{refused}"
    );
    assert_eq!(entries[2]["resourceId"], ada_id);
    assert_eq!(entries[0]["client"], "ureq", "the test client's own agent");
    assert!(
        !log.text.contains("Hunter2"),
        "no body is kept: {}",
        log.text
    );
    assert!(!log.text.contains("globex"), "{}", log.text);
    assert!(!log.text.contains(&token), "{}", log.text);

    // Filtered and paged.
    let failures = call(
        &server,
        "GET",
        "/tenants/acme/activity?outcome=failure",
        &key,
        None,
    );
    assert_eq!(failures.json["data"].as_array().map(Vec::len), Some(1));
    let first = call(&server, "GET", "/tenants/acme/activity?limit=2", &key, None);
    let cursor = first.json["next_cursor"].as_str().expect("a next page");
    let rest = call(
        &server,
        "GET",
        &format!("/tenants/acme/activity?limit=2&cursor={cursor}"),
        &key,
        None,
    );
    assert_eq!(rest.json["data"][0]["status"], 201, "{}", rest.text);
    assert_eq!(rest.json["next_cursor"], Value::Null);
    let bad = call(
        &server,
        "GET",
        "/tenants/acme/activity?outcome=maybe",
        &key,
        None,
    );
    assert_eq!(bad.status, 400, "{}", bad.text);
}

#[test]
fn requests_are_logged_with_their_reasons_on_sqlite() {
    requests_are_logged_with_their_reasons(Store::sqlite());
}

#[test]
fn requests_are_logged_with_their_reasons_on_postgres() {
    if let Some(store) = Store::postgres("activity") {
        requests_are_logged_with_their_reasons(store);
    }
}
