//! Licenses the IdP can discover: Okta Identity Governance's entitlement flow (discovery
//! calls, `?count=1&startIndex=1`, a PUT assigning a pool, the import's read-back) on a
//! tenant of the `okta` profile, and draft-ietf-scim-roles-entitlements' discovery
//! (`RolesAndEntitlements`, `/Entitlements` with seats, `/Roles`, `/Schemas`) on any other.

use serde_json::{Value, json};

use crate::helpers::{Server, Store, USER_SCHEMA, cli, tenant_with_token};
use crate::licensing::skus;

const OKTA_ENTITLEMENT: &str = "urn:okta:scim:schemas:core:1.0:Entitlement";
const OKTA_ROLE: &str = "urn:okta:scim:schemas:core:1.0:Role";
const IETF_ENTITLEMENT: &str = "urn:ietf:params:scim:schemas:core:2.0:Entitlement";
const IETF_ROLE: &str = "urn:ietf:params:scim:schemas:core:2.0:Role";

/// Tenant `acme` (of `profile`) with pools `pro` (Pro, 3 seats) and `basic` (10), the role
/// `Developer` mapped to `pro`, and a second tenant whose pool must never show: the token.
fn sold(store: &Store, profile: &str) -> String {
    let token = tenant_with_token(store, "acme");
    cli(store, &["tenant", "set", "acme", "--profile", profile]);
    let set = |sku: &str, seats: &str, name: &str| {
        let args = [
            "license", "set", "--tenant", "acme", "--sku", sku, "--seats", seats,
        ];
        cli(store, &[&args[..], &["--name", name]].concat());
    };
    set("pro", "3", "Pro");
    set("basic", "10", "Basic");
    let map = [
        "license",
        "map",
        "--tenant",
        "acme",
        "--role",
        "Developer",
        "--sku",
        "pro",
    ];
    cli(store, &map);
    cli(store, &["tenant", "create", "globex"]);
    let other = [
        "license", "set", "--tenant", "globex", "--sku", "secret", "--seats", "1",
    ];
    cli(store, &other);
    token
}

/// The Resources of a list, asserting a 200.
fn resources(reply: &crate::helpers::Reply) -> Vec<Value> {
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json["Resources"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn okta_discovers_and_assigns_licenses(store: Store) {
    let token = sold(&store, "okta");
    let server = Server::start(store);
    // Okta reads /ResourceTypes and calls every type under its schemas.
    let types = resources(&server.get("/scim/v2/ResourceTypes", &token));
    let oktas: Vec<(String, String, String)> = (types.iter())
        .filter(|t| t["schema"] == OKTA_ENTITLEMENT || t["schema"] == OKTA_ROLE)
        .map(|t| {
            let text = |name: &str| t[name].as_str().unwrap().to_owned();
            (text("name"), text("endpoint"), text("schema"))
        })
        .collect();
    let expected = [
        ("License", "/Licenses", OKTA_ENTITLEMENT),
        ("Role", "/Roles", OKTA_ROLE),
    ];
    let expected: Vec<(String, String, String)> = (expected.iter())
        .map(|(a, b, c)| ((*a).into(), (*b).into(), (*c).into()))
        .collect();
    assert_eq!(oktas, expected);
    // The OIN test's page of one: one item, the true total; then Okta reads on.
    let first = server.get("/scim/v2/Licenses?count=1&startIndex=1", &token);
    let page = resources(&first);
    assert_eq!(
        (
            first.json["itemsPerPage"].clone(),
            first.json["totalResults"].clone()
        ),
        (json!(1), json!(2))
    );
    let second = resources(&server.get("/scim/v2/Licenses?count=1&startIndex=2", &token));
    let items: Vec<Value> = page.into_iter().chain(second).collect();
    let shown: Vec<(Value, Value, Value)> = (items.iter())
        .map(|item| {
            (
                item["id"].clone(),
                item["displayName"].clone(),
                item["type"].clone(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (json!("basic"), json!("Basic"), json!("License")),
            (json!("pro"), json!("Pro"), json!("License"))
        ]
    );
    assert!(
        items
            .iter()
            .all(|item| item["schemas"][0] == OKTA_ENTITLEMENT)
    );
    assert!(items.iter().all(|item| {
        item["description"]
            .as_str()
            .is_some_and(|d| d.len() <= 1000)
    }));
    let roles = server.get("/scim/v2/Roles?count=1&startIndex=1", &token);
    let role = resources(&roles);
    assert_eq!(roles.json["totalResults"], 1);
    assert_eq!(
        (role[0]["id"].clone(), role[0]["displayName"].clone()),
        (json!("Developer"), json!("Developer"))
    );
    assert_eq!(role[0]["schemas"], json!([OKTA_ROLE]));

    // Okta creates the user, then assigns the entitlement with a PUT of the whole user.
    let mut user = json!({"schemas": [USER_SCHEMA], "userName": "ada@acme.test",
                          "name": {"givenName": "Ada", "familyName": "Lovelace"},
                          "emails": [{"primary": true, "value": "ada@acme.test", "type": "work"}],
                          "active": true, "groups": []});
    let created = server.post("/scim/v2/Users", &token, &user);
    assert_eq!(created.status, 201, "{}", created.text);
    assert!(skus(&created.json).is_empty());
    let id = created.json["id"].as_str().unwrap().to_owned();
    let assigned = json!([{"value": "pro", "display": "Pro", "type": "License"}]);
    user["entitlements"] = assigned.clone();
    let put = server.put(&format!("/scim/v2/Users/{id}"), &token, &user);
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(skus(&put.json), [("pro".into(), "direct".into())]);
    // The import reads the user back with exactly what was assigned.
    let import = server.get(
        "/scim/v2/Users?filter=userName%20eq%20%22ADA@acme.test%22",
        &token,
    );
    let found = resources(&import);
    assert_eq!(found[0]["entitlements"], assigned);
    assert_eq!(skus(&found[0]), [("pro".into(), "direct".into())]);
    let pro = server.get("/scim/v2/Licenses/pro", &token);
    assert_eq!(pro.json["used"], 1, "{}", pro.text);
    // The role assigned instead: still `pro`, from the role; both gone: revoked.
    user["entitlements"] = json!([]);
    user["roles"] = json!([{"value": "Developer", "display": "Developer"}]);
    let put = server.put(&format!("/scim/v2/Users/{id}"), &token, &user);
    assert_eq!(
        skus(&put.json),
        [("pro".into(), "direct".into())],
        "{}",
        put.text
    );
    assert_eq!(put.json["roles"], user["roles"]);
    user["roles"] = json!([]);
    let put = server.put(&format!("/scim/v2/Users/{id}"), &token, &user);
    assert!(skus(&put.json).is_empty(), "{}", put.text);
    assert_eq!(server.get("/scim/v2/Licenses/pro", &token).json["used"], 0);
}

#[test]
fn okta_discovers_licenses_and_assigns_them_by_put_on_sqlite() {
    okta_discovers_and_assigns_licenses(Store::sqlite());
}

#[test]
fn okta_discovers_licenses_and_assigns_them_by_put_on_postgres() {
    if let Some(store) = Store::postgres("okta_entitlements") {
        okta_discovers_and_assigns_licenses(store);
    }
}

fn draft_ietf_discovery(store: Store) {
    let token = sold(&store, "standard");
    let strict = tenant_with_token(&store, "initech");
    cli(&store, &["tenant", "set", "initech", "--profile", "strict"]);
    let server = Server::start(store);
    let config = server.get("/scim/v2/ServiceProviderConfig", &token).json;
    let block = &config["RolesAndEntitlements"];
    assert_eq!(
        (
            block["roles"]["supported"].clone(),
            block["entitlements"]["supported"].clone()
        ),
        (json!(true), json!(true))
    );
    assert_eq!(block["entitlements"]["types"], json!(["License"]));
    assert_eq!(block["roles"]["primarySupported"], true);
    let types = resources(&server.get("/scim/v2/ResourceTypes", &token));
    let schema_of = |name: &str| {
        let found = types.iter().find(|t| t["name"] == name);
        found.map(|t| (t["endpoint"].clone(), t["schema"].clone()))
    };
    assert_eq!(
        schema_of("Entitlement"),
        Some((json!("/Entitlements"), json!(IETF_ENTITLEMENT)))
    );
    assert_eq!(schema_of("Role"), Some((json!("/Roles"), json!(IETF_ROLE))));
    assert_eq!(
        schema_of("License").unwrap().1,
        "urn:scim-license:schemas:core:2.0:License"
    );
    // SailPoint reads the types' schemas from /Schemas; every item has an id.
    for schema in [IETF_ENTITLEMENT, IETF_ROLE] {
        let described = server.get(&format!("/scim/v2/Schemas/{schema}"), &token);
        assert_eq!(described.status, 200, "{}", described.text);
        let names: Vec<&str> = (described.json["attributes"].as_array().unwrap().iter())
            .filter_map(|a| a["name"].as_str())
            .collect();
        assert!(
            names.contains(&"value") && names.contains(&"display"),
            "{names:?}"
        );
    }
    // A user holding `pro`, and one carrying a value that names no pool.
    for (name, value) in [("ada", "pro"), ("bob", "ghost")] {
        let user = json!({"schemas": [USER_SCHEMA], "userName": format!("{name}@acme.test"),
                          "entitlements": [{"value": value}]});
        let created = server.post("/scim/v2/Users", &token, &user);
        assert_eq!(created.status, 201, "{}", created.text);
    }
    let list = server.get("/scim/v2/Entitlements", &token);
    let items = resources(&list);
    let seats: Vec<(Value, Value, Value, Value)> = (items.iter())
        .map(|item| {
            let field = |name: &str| item[name].clone();
            (
                field("value"),
                field("display"),
                field("totalAssignmentsPermitted"),
                field("totalAssignmentsUsed"),
            )
        })
        .collect();
    assert_eq!(
        seats,
        [
            (json!("basic"), json!("Basic"), json!(10), json!(0)),
            (json!("pro"), json!("Pro"), json!(3), json!(1))
        ],
        "only the tenant's pools, with their seats: {}",
        list.text
    );
    assert!(
        items
            .iter()
            .all(|item| item["id"] == item["value"] && item["supported"] == true)
    );
    assert!(
        items
            .iter()
            .all(|item| item["schemas"] == json!([IETF_ENTITLEMENT]))
    );
    let one = server.get("/scim/v2/Entitlements/PRO", &token);
    assert_eq!(
        (one.status, one.json["value"].clone()),
        (200, json!("pro")),
        "{}",
        one.text
    );
    server
        .get("/scim/v2/Entitlements/ghost", &token)
        .assert_error(404, None);
    let filtered = server.get(
        "/scim/v2/Entitlements?filter=value%20eq%20%22pro%22",
        &token,
    );
    filtered.assert_error(400, Some("invalidFilter"));
    let posted = server.post("/scim/v2/Entitlements", &token, &json!({"value": "free"}));
    assert_eq!(posted.status, 405, "{}", posted.text);
    let roles = resources(&server.get("/scim/v2/Roles", &token));
    assert_eq!(roles.len(), 1);
    assert_eq!(
        (roles[0]["value"].clone(), roles[0]["schemas"].clone()),
        (json!("Developer"), json!([IETF_ROLE]))
    );
    assert_eq!(
        server.get("/scim/v2/Roles/developer", &token).json["id"],
        "Developer"
    );
    // A value naming no pool is reported as before, not listed.
    let usage = cli(
        &server.store,
        &["license", "usage", "--tenant", "acme", "--json"],
    );
    let usage: Value = serde_json::from_str(usage.trim()).unwrap();
    assert_eq!(usage["unmapped"][0]["value"], "ghost", "{usage}");
    // A tenant of the strict profile (RFC 7644 only) is not told of the draft.
    let strict = server.get("/scim/v2/ServiceProviderConfig", &strict);
    assert!(
        strict.json.get("RolesAndEntitlements").is_none(),
        "{}",
        strict.text
    );
    assert_eq!(strict.json["patch"]["supported"], true);
}

#[test]
fn draft_ietf_discovery_counts_every_pools_seats_on_sqlite() {
    draft_ietf_discovery(Store::sqlite());
}

#[test]
fn draft_ietf_discovery_counts_every_pools_seats_on_postgres() {
    if let Some(store) = Store::postgres("draft_entitlements") {
        draft_ietf_discovery(store);
    }
}
