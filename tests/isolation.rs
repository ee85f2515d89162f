//! Tenant isolation as a matrix: for every SCIM route and method, tenant A's credential
//! against tenant B's resources answers exactly what an unknown id answers (404, the same
//! body but for the id), changes nothing of B's, and lists, filters and searches never
//! cross tenants, while the same userName and displayName live in both.

use serde_json::{Value, json};

use crate::helpers::{GROUP_SCHEMA, Reply, Server, Store, cli, tenant_with_token, user};

const UNKNOWN: &str = "00000000-0000-4000-8000-000000000000";

/// A tenant's user and group, named alike in every tenant.
struct Owned {
    token: String,
    user: String,
    group: String,
}

fn populate(server: &Server, token: String) -> Owned {
    let created = server.post("/scim/v2/Users", &token, &user("same.name@example.com"));
    assert_eq!(created.status, 201, "{}", created.text);
    let user_id = created.json["id"].as_str().expect("id").to_owned();
    let group = server.post(
        "/scim/v2/Groups",
        &token,
        &json!({"schemas": [GROUP_SCHEMA], "displayName": "Same Group", "members": [{"value": user_id}]}),
    );
    assert_eq!(group.status, 201, "{}", group.text);
    Owned {
        token,
        user: user_id,
        group: group.json["id"].as_str().expect("id").to_owned(),
    }
}

/// The reply with the ids in its detail replaced, to compare it with another.
fn shape(reply: &Reply, ids: &[&str]) -> (u16, Value) {
    let mut body = reply.json.clone();
    if let Some(detail) = body["detail"].as_str() {
        let mut detail = detail.to_owned();
        for id in ids {
            detail = detail.replace(id, "<id>");
        }
        body["detail"] = json!(detail);
    }
    (reply.status, body)
}

fn matrix(store: Store) {
    let acme_token = tenant_with_token(&store, "acme");
    let globex_token = tenant_with_token(&store, "globex");
    cli(
        &store,
        &[
            "license",
            "set",
            "--tenant",
            "globex",
            "--sku",
            "globex-only",
            "--seats",
            "1",
        ],
    );
    let server = Server::start(store);
    let acme = populate(&server, acme_token);
    let globex = populate(&server, globex_token);
    let before = [
        server
            .get(&format!("/scim/v2/Users/{}", globex.user), &globex.token)
            .json,
        server
            .get(&format!("/scim/v2/Groups/{}", globex.group), &globex.token)
            .json,
    ];

    let user_body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "taken@example.com"});
    let group_body = json!({"schemas": [GROUP_SCHEMA], "displayName": "Taken"});
    let patch = json!([{"op": "replace", "path": "displayName", "value": "Taken"}]);
    let routes = [
        ("Users", &globex.user, &user_body),
        ("Groups", &globex.group, &group_body),
    ];
    for (endpoint, foreign, body) in routes {
        for method in ["GET", "PUT", "PATCH", "DELETE"] {
            let send = |id: &str| {
                let path = format!("/scim/v2/{endpoint}/{id}");
                match method {
                    "GET" => server.get(&path, &acme.token),
                    "PUT" => server.put(&path, &acme.token, body),
                    "PATCH" => server.patch(&path, &acme.token, &patch),
                    _ => server.delete(&path, &acme.token),
                }
            };
            let across = send(foreign);
            across.assert_error(404, None);
            let unknown = send(UNKNOWN);
            assert_eq!(
                shape(&across, &[foreign]),
                shape(&unknown, &[UNKNOWN]),
                "{method} /{endpoint}: a foreign id answers as an unknown one"
            );
        }
    }

    // Lists, filters and searches see only the caller's tenant.
    let filters = [
        (
            "Users",
            "userName eq \"same.name@example.com\"".to_owned(),
            acme.user.as_str(),
        ),
        (
            "Users",
            format!("id eq \"{}\" or id eq \"{}\"", globex.user, acme.user),
            acme.user.as_str(),
        ),
        (
            "Groups",
            "displayName eq \"Same Group\"".to_owned(),
            acme.group.as_str(),
        ),
        (
            "Groups",
            format!(
                "members[value eq \"{}\"] or members[value eq \"{}\"]",
                globex.user, acme.user
            ),
            acme.group.as_str(),
        ),
    ];
    for (endpoint, filter, own) in filters {
        let listed = server.get(
            &format!("/scim/v2/{endpoint}?filter={}", urlencode(&filter)),
            &acme.token,
        );
        assert_eq!(listed.json["totalResults"], 1, "{filter}: {}", listed.text);
        assert_eq!(listed.json["Resources"][0]["id"], own, "{filter}");
        let searched = server.post(
            &format!("/scim/v2/{endpoint}/.search"),
            &acme.token,
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": filter}),
        );
        assert_eq!(
            searched.json["totalResults"], 1,
            "{filter}: {}",
            searched.text
        );
    }
    let everything = server.post(
        "/scim/v2/.search",
        &acme.token,
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}),
    );
    assert_eq!(everything.json["totalResults"], 2, "{}", everything.text);
    // The user's groups show only its own tenant's.
    let groups = server
        .get(&format!("/scim/v2/Users/{}", acme.user), &acme.token)
        .json["groups"]
        .clone();
    assert_eq!(groups.as_array().map(Vec::len), Some(1));
    assert_eq!(groups[0]["value"], acme.group.as_str());

    // References across tenants are refused like unknown ones, and change nothing.
    let adopt = server.patch(
        &format!("/scim/v2/Groups/{}", acme.group),
        &acme.token,
        &json!([{"op": "add", "path": "members", "value": [{"value": globex.user}]}]),
    );
    let detail = adopt.assert_error(400, Some("invalidValue"));
    assert!(
        detail.contains("not a User or Group of this tenant"),
        "{detail}"
    );
    let manager = server.patch(
        &format!("/scim/v2/Users/{}", acme.user),
        &acme.token,
        &json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": globex.user}]),
    );
    assert_eq!(
        manager.status, 200,
        "a manager is a reference the client owns: {}",
        manager.text
    );
    // Another tenant's pools are invisible.
    server
        .get("/scim/v2/Licenses/globex-only", &acme.token)
        .assert_error(404, None);
    assert_eq!(
        server.get("/scim/v2/Licenses", &acme.token).json["totalResults"],
        0
    );

    let after = [
        server
            .get(&format!("/scim/v2/Users/{}", globex.user), &globex.token)
            .json,
        server
            .get(&format!("/scim/v2/Groups/{}", globex.group), &globex.token)
            .json,
    ];
    assert_eq!(before, after, "nothing of globex's changed");
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn tenants_never_cross_on_sqlite() {
    matrix(Store::sqlite());
}

#[test]
fn tenants_never_cross_on_postgres() {
    if let Some(store) = Store::postgres("e2e isolation matrix on postgres") {
        matrix(store);
    }
}
