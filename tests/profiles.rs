//! Per-tenant compatibility profiles (`scim-server tenant set`): what changes for one
//! tenant's identity provider, and only for it.

use serde_json::{Value, json};

use crate::helpers::{GROUP_SCHEMA, Server, Store, USER_SCHEMA, cli, tenant_with_token, user};

#[test]
fn profiles_change_only_their_tenants_behaviour() {
    let store = Store::sqlite();
    let entra = tenant_with_token(&store, "contoso");
    let strict = tenant_with_token(&store, "globex");
    let standard = tenant_with_token(&store, "acme");
    cli(
        &store,
        &[
            "license", "set", "--tenant", "contoso", "--sku", "pro", "--seats", "5",
        ],
    );
    cli(
        &store,
        &[
            "license", "map", "--tenant", "contoso", "--role", "Admin", "--sku", "pro",
        ],
    );
    let set: Value = serde_json::from_str(
        cli(
            &store,
            &["tenant", "set", "contoso", "--profile", "entra", "--json"],
        )
        .trim(),
    )
    .expect("json");
    assert_eq!(set["compatibility"]["profile"], "entra");
    assert_eq!(
        set["compatibility"]["patchResponse"],
        "no-content-for-groups"
    );
    cli(&store, &["tenant", "set", "globex", "--profile", "strict"]);
    let bad = crate::helpers::cli_output(&store, &["tenant", "set", "acme", "--profile", "ping"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("use one of standard, entra, okta, strict")
    );
    let listed: Value =
        serde_json::from_str(cli(&store, &["tenant", "list", "--json"]).trim()).expect("json");
    let profiles: Vec<(&str, &str)> = listed
        .as_array()
        .expect("list")
        .iter()
        .map(|t| {
            (
                t["slug"].as_str().unwrap_or(""),
                t["profile"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(
        profiles.contains(&("contoso", "entra")) && profiles.contains(&("acme", "standard")),
        "{profiles:?}"
    );
    let server = Server::start(store);

    // Entra without aadOptscim062020: the role arrives as a JSON string, and is parsed —
    // so the role maps to its license.
    let ann = server.post("/scim/v2/Users", &entra, &user("ann@contoso.example"));
    let ann_path = format!("/scim/v2/Users/{}", ann.json["id"].as_str().expect("id"));
    // As Microsoft documents it: the app role's JSON inside the role's value.
    let role = json!([{"op": "Add", "path": "roles", "value": [{"primary": true,
                       "value": "{\"id\":\"06b07648\",\"value\":\"Admin\",\"displayName\":\"Admin\"}"}]}]);
    let patched = server.patch(&ann_path, &entra, &role);
    assert_eq!(
        patched.status, 200,
        "users still answer 200: {}",
        patched.text
    );
    assert_eq!(
        patched.json["roles"][0]["value"], "Admin",
        "{}",
        patched.text
    );
    let licenses = &patched.json["urn:scim-license:schemas:extension:license:2.0:User"]["licenses"];
    assert_eq!(licenses[0]["sku"], "pro", "{}", patched.text);
    let primary = json!([{"op": "Replace", "path": "roles[primary eq \"True\"].display", "value": "Administrator"}]);
    let renamed = server.patch(&ann_path, &entra, &primary);
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.json["roles"][0]["display"], "Administrator");
    // Group PATCHes answer 204, as Microsoft documents.
    let group = server.post(
        "/scim/v2/Groups",
        &entra,
        &json!({"schemas": [GROUP_SCHEMA], "displayName": "Sales"}),
    );
    let group_path = format!("/scim/v2/Groups/{}", group.json["id"].as_str().expect("id"));
    let rename = json!([{"op": "Replace", "path": "displayName", "value": "Sales EMEA"}]);
    let no_content = server.patch(&group_path, &entra, &rename);
    assert_eq!((no_content.status, no_content.text.as_str()), (204, ""));
    assert_eq!(
        server.get(&group_path, &entra).json["displayName"],
        "Sales EMEA"
    );

    // The standard tenant keeps the string as sent, and its group PATCH answers 200.
    let bob = server.post("/scim/v2/Users", &standard, &user("bob@acme.example"));
    let bob_path = format!("/scim/v2/Users/{}", bob.json["id"].as_str().expect("id"));
    let kept = server.patch(&bob_path, &standard, &role);
    assert_eq!(kept.status, 200, "{}", kept.text);
    assert!(
        kept.json["roles"][0]["value"]
            .as_str()
            .is_some_and(|v| v.starts_with("{\"id\"")),
        "{}",
        kept.text
    );
    let group = server.post(
        "/scim/v2/Groups",
        &standard,
        &json!({"schemas": [GROUP_SCHEMA], "displayName": "Ops"}),
    );
    let group_path = format!("/scim/v2/Groups/{}", group.json["id"].as_str().expect("id"));
    let answered = server.patch(&group_path, &standard, &rename);
    assert_eq!(answered.status, 200);
    assert_eq!(answered.json["displayName"], "Sales EMEA");

    // Strict: RFC 7644 spellings only.
    let cy = server.post("/scim/v2/Users", &strict, &user("cy@globex.example"));
    let cy_path = format!("/scim/v2/Users/{}", cy.json["id"].as_str().expect("id"));
    server
        .patch(
            &cy_path,
            &strict,
            &json!([{"op": "Replace", "path": "active", "value": false}]),
        )
        .assert_error(400, Some("invalidSyntax"));
    server
        .patch(
            &cy_path,
            &strict,
            &json!([{"op": "replace", "path": "active", "value": "False"}]),
        )
        .assert_error(400, Some("invalidValue"));
    let strict_ok = server.patch(
        &cy_path,
        &strict,
        &json!([{"op": "replace", "path": "active", "value": false}]),
    );
    assert_eq!(strict_ok.json["active"], false, "{}", strict_ok.text);
    let put = server.put(
        &cy_path,
        &strict,
        &json!({"schemas": [USER_SCHEMA], "userName": "cy@globex.example", "active": "true"}),
    );
    put.assert_error(400, Some("invalidValue"));
    // …while the standard tenant accepts Entra's dialect.
    let lenient = server.patch(
        &bob_path,
        &standard,
        &json!([{"op": "Replace", "path": "active", "value": "False"}]),
    );
    assert_eq!(lenient.json["active"], false, "{}", lenient.text);
}

#[test]
fn deactivation_can_delete_the_user() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    cli(
        &store,
        &[
            "license", "set", "--tenant", "acme", "--sku", "pro", "--seats", "5",
        ],
    );
    cli(
        &store,
        &[
            "tenant",
            "set",
            "acme",
            "--profile",
            "okta",
            "--on-deactivate",
            "delete",
        ],
    );
    let server = Server::start(store);
    let body = json!({"schemas": [USER_SCHEMA], "userName": "dee@acme.example", "entitlements": [{"value": "pro"}]});
    let dee = server.post("/scim/v2/Users", &token, &body);
    assert_eq!(dee.status, 201, "{}", dee.text);
    let path = format!("/scim/v2/Users/{}", dee.json["id"].as_str().expect("id"));
    assert_eq!(server.get("/scim/v2/Licenses/pro", &token).json["used"], 1);
    // Okta deactivates with PUT active=false: the answer shows the user, then it is gone.
    let mut deactivated = body.clone();
    deactivated["active"] = json!(false);
    let put = server.put(&path, &token, &deactivated);
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(put.json["active"], false);
    server.get(&path, &token).assert_error(404, None);
    assert_eq!(server.get("/scim/v2/Licenses/pro", &token).json["used"], 0);
    // An active user stays.
    let eve = server.post("/scim/v2/Users", &token, &user("eve@acme.example"));
    let eve_path = format!("/scim/v2/Users/{}", eve.json["id"].as_str().expect("id"));
    let renamed = server.patch(
        &eve_path,
        &token,
        &json!([{"op": "replace", "path": "displayName", "value": "Eve"}]),
    );
    assert_eq!(renamed.status, 200);
    assert_eq!(server.get(&eve_path, &token).status, 200);
}
