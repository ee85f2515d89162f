//! Entra ID's three app-role expressions, replayed as Entra sends them, each ending in the
//! right seats (docs/idp-setup.md says which to pick):
//! - `SingleAppRoleAssignment` → `roles[primary eq "True"].value`: one role, replaced in
//!   place;
//! - `AppRoleAssignmentsComplex` → PATCH `Add` of `roles`: adds only, never removes (a role
//!   taken away in Entra keeps its seat here until the user is deactivated);
//! - `AssertiveAppRoleAssignmentsComplex` → PATCH `Replace` of the whole set: removals
//!   revoke.

use serde_json::{Value, json};

use crate::helpers::{Server, Store, USER_SCHEMA, cli, tenant_with_token};
use crate::licensing::{held, skus};

const ROLE_TYPE: &str = "WindowsAzureActiveDirectoryRole";

fn role(value: &str) -> Value {
    json!({"primary": false, "type": ROLE_TYPE, "value": value})
}

/// The skus `id` holds now, read back as Entra's next cycle would.
fn holds(server: &Server, token: &str, id: &str) -> Vec<(String, String)> {
    let read = server.get(&format!("/scim/v2/Users/{id}"), token);
    assert_eq!(read.status, 200, "{}", read.text);
    skus(&read.json)
}

fn create(server: &Server, token: &str, name: &str, roles: &Value) -> String {
    let body = json!({"schemas": [USER_SCHEMA], "userName": name, "active": true,
                      "externalId": name, "roles": roles});
    let made = server.post("/scim/v2/Users", token, &body);
    assert_eq!(made.status, 201, "{}", made.text);
    made.json["id"].as_str().expect("an id").to_owned()
}

fn patch(server: &Server, token: &str, id: &str, operations: &Value) {
    let path = format!("/scim/v2/Users/{id}");
    let patched = server.patch(&path, token, operations);
    assert!(
        patched.status == 200 || patched.status == 204,
        "{operations}: {} {}",
        patched.status,
        patched.text
    );
}

fn expressions(store: Store) {
    let token = tenant_with_token(&store, "contoso");
    cli(&store, &["tenant", "set", "contoso", "--profile", "entra"]);
    for (sku, seats) in [("pro", "2"), ("team", "5")] {
        cli(
            &store,
            &[
                "license", "set", "--tenant", "contoso", "--sku", sku, "--seats", seats,
            ],
        );
    }
    // An app role whose value is not a sku, mapped by a rule.
    cli(
        &store,
        &[
            "license",
            "map",
            "--tenant",
            "contoso",
            "--role",
            "Developer",
            "--sku",
            "team",
        ],
    );
    let server = Server::start(store);

    // SingleAppRoleAssignment: one role, sent with primary "True", replaced in place.
    let single = json!([{"primary": "True", "value": "pro"}]);
    let ann = create(&server, &token, "ann@contoso.example", &single);
    assert_eq!(holds(&server, &token, &ann), held(&[("pro", "direct")]));
    let swap = json!([{"op": "Replace", "path": "roles[primary eq \"True\"].value", "value": "Developer"}]);
    patch(&server, &token, &ann, &swap);
    assert_eq!(holds(&server, &token, &ann), held(&[("team", "direct")]));

    // AppRoleAssignmentsComplex: Add only, the value sometimes a JSON-encoded string.
    let bob = create(
        &server,
        &token,
        "bob@contoso.example",
        &json!([role("pro")]),
    );
    let add = json!([{"op": "Add", "path": "roles", "value": [role("team")]}]);
    patch(&server, &token, &bob, &add);
    assert_eq!(
        holds(&server, &token, &bob),
        held(&[("pro", "direct"), ("team", "direct")])
    );
    let encoded = json!([role("Developer")]).to_string();
    let add_encoded = json!([{"op": "Add", "path": "roles", "value": encoded}]);
    patch(&server, &token, &bob, &add_encoded);
    let read = server.get(&format!("/scim/v2/Users/{bob}"), &token);
    let values: Vec<&str> = read.json["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .filter_map(|role| role["value"].as_str())
        .collect();
    assert_eq!(
        values,
        ["pro", "team", "Developer"],
        "the encoded role was decoded"
    );
    // pro's role taken away in Entra sends nothing under this expression: the seat stays.
    patch(&server, &token, &bob, &add);
    assert_eq!(
        holds(&server, &token, &bob),
        held(&[("pro", "direct"), ("team", "direct")])
    );

    // AssertiveAppRoleAssignmentsComplex: Replace of the whole set; removals revoke.
    let cy = create(
        &server,
        &token,
        "cy@contoso.example",
        &json!([role("pro"), role("team")]),
    );
    let pool_full = create(
        &server,
        &token,
        "dee@contoso.example",
        &json!([role("team")]),
    );
    let full = server.post(
        "/scim/v2/Users",
        &token,
        &json!({"schemas": [USER_SCHEMA], "userName": "eve@contoso.example", "roles": [role("pro")]}),
    );
    let detail = full.assert_error(400, Some("invalidValue"));
    assert!(
        detail.contains("'pro'") && detail.contains("2 of 2"),
        "{detail}"
    );
    let assertive = json!([{"op": "Replace", "path": "roles", "value": [role("team")]}]);
    patch(&server, &token, &cy, &assertive);
    assert_eq!(holds(&server, &token, &cy), held(&[("team", "direct")]));
    // The freed seat of pro serves the next user who needs it.
    let eve = create(
        &server,
        &token,
        "eve@contoso.example",
        &json!([role("pro")]),
    );
    assert_eq!(holds(&server, &token, &eve), held(&[("pro", "direct")]));
    let none = json!([{"op": "Replace", "path": "roles", "value": []}]);
    patch(&server, &token, &pool_full, &none);
    assert!(holds(&server, &token, &pool_full).is_empty());

    // Out of scope: Entra deactivates, every seat is freed.
    let off = json!([{"op": "Replace", "path": "active", "value": "False"}]);
    patch(&server, &token, &bob, &off);
    assert!(holds(&server, &token, &bob).is_empty());
    let licenses = server.get("/scim/v2/Licenses", &token);
    let used: Vec<(String, i64)> = licenses.json["Resources"]
        .as_array()
        .expect("pools")
        .iter()
        .map(|pool| {
            let sku = pool["sku"].as_str().unwrap_or_default().to_owned();
            (sku, pool["used"].as_i64().unwrap_or(-1))
        })
        .collect();
    // pro: eve; team: ann and cy.
    assert_eq!(used, [("pro".to_owned(), 1), ("team".to_owned(), 2)]);
}

#[test]
fn entra_app_role_expressions_end_in_the_right_seats_on_sqlite() {
    expressions(Store::sqlite());
}

#[test]
fn entra_app_role_expressions_end_in_the_right_seats_on_postgres() {
    if let Some(store) = Store::postgres("e2e entra app roles on postgres") {
        expressions(store);
    }
}
