//! The /Users lifecycle, on both stores.

use serde_json::{Value, json};

use crate::helpers::{ENTERPRISE, Server, Store, USER_SCHEMA, cli, tenant_with_token, user};

fn lifecycle(store: Store) {
    let token = tenant_with_token(&store, "acme");
    let server = Server::start(store);

    let body = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": "Barbara.Jensen@example.com",
        "externalId": "ext-0001",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "active": "True",
        "password": "t1meMa$heen",
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
        "entitlements": [{"value": "pro"}],
        ENTERPRISE: {"department": "Sales"},
    });
    let created = server.post("/scim/v2/Users", &token, &body);
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(
        created.header("content-type"),
        Some("application/scim+json")
    );
    let id = created.json["id"].as_str().expect("id").to_owned();
    let location = format!("{}/scim/v2/Users/{id}", server.base);
    assert_eq!(created.header("location"), Some(location.as_str()));
    assert_eq!(created.header("etag"), Some("W/\"1\""));
    assert_eq!(created.json["meta"]["location"], location);
    assert_eq!(created.json["meta"]["version"], "W/\"1\"");
    assert_eq!(created.json["meta"]["resourceType"], "User");
    assert_eq!(created.json["schemas"], json!([USER_SCHEMA, ENTERPRISE]));
    assert_eq!(
        created.json["active"], true,
        "Entra's \"True\" is stored as a boolean"
    );
    assert_eq!(created.json["name"]["givenName"], "Barbara");
    assert_eq!(created.json[ENTERPRISE]["department"], "Sales");
    assert!(
        created.json.get("password").is_none(),
        "password is never returned"
    );

    let read = server.get(&format!("/scim/v2/Users/{id}"), &token);
    assert_eq!(read.status, 200);
    assert_eq!(read.json, created.json);

    // Lookups IdPs make before provisioning: userName in another case, externalId.
    let found = server.get(
        "/scim/v2/Users?filter=userName%20eq%20%22barbara.jensen%40EXAMPLE.com%22",
        &token,
    );
    assert_eq!(found.status, 200, "{}", found.text);
    assert_eq!(found.json["totalResults"], 1);
    assert_eq!(found.json["Resources"][0]["id"], id.as_str());
    assert_eq!(
        found.json["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    );
    let by_external = server.get(
        "/scim/v2/Users?filter=externalId%20eq%20%22ext-0001%22",
        &token,
    );
    assert_eq!(by_external.json["totalResults"], 1);
    let wrong_case = server.get(
        "/scim/v2/Users?filter=externalId%20eq%20%22EXT-0001%22",
        &token,
    );
    assert_eq!(
        wrong_case.json["totalResults"], 0,
        "externalId is caseExact"
    );

    let replaced = server.put(
        &format!("/scim/v2/Users/{id}"),
        &token,
        &json!({"schemas": [USER_SCHEMA], "userName": "bjensen", "active": false}),
    );
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    assert_eq!(replaced.json["userName"], "bjensen");
    assert_eq!(replaced.json["active"], false);
    assert_eq!(replaced.json["meta"]["version"], "W/\"2\"");
    assert_eq!(
        replaced.json["meta"]["created"],
        created.json["meta"]["created"]
    );
    assert!(
        replaced.json.get("name").is_none(),
        "PUT replaces: name is gone"
    );
    assert!(replaced.json.get(ENTERPRISE).is_none());

    let deleted = server.delete(&format!("/scim/v2/Users/{id}"), &token);
    assert_eq!(deleted.status, 204);
    assert!(deleted.text.is_empty());
    server
        .get(&format!("/scim/v2/Users/{id}"), &token)
        .assert_error(404, None);
    server
        .delete(&format!("/scim/v2/Users/{id}"), &token)
        .assert_error(404, None);
}

#[test]
fn user_lifecycle_on_sqlite() {
    lifecycle(Store::sqlite());
}

#[test]
fn user_lifecycle_on_postgres() {
    if let Some(store) = Store::postgres("e2e users on postgres") {
        lifecycle(store);
    }
}

fn uniqueness_and_isolation(store: Store) {
    let acme = tenant_with_token(&store, "acme");
    let globex = tenant_with_token(&store, "globex");
    let server = Server::start(store);

    let first = server.post("/scim/v2/Users", &acme, &user("Straße"));
    assert_eq!(first.status, 201, "{}", first.text);
    let id = first.json["id"].as_str().expect("id").to_owned();
    let detail = server
        .post("/scim/v2/Users", &acme, &user("STRASSE"))
        .assert_error(409, Some("uniqueness"));
    assert!(detail.contains("userName"), "{detail}");

    // Another tenant: the same userName is fine, the first tenant's user is invisible.
    assert_eq!(
        server
            .post("/scim/v2/Users", &globex, &user("Straße"))
            .status,
        201
    );
    let foreign = server.get(&format!("/scim/v2/Users/{id}"), &globex);
    let unknown = server.get(
        "/scim/v2/Users/00000000-0000-0000-0000-000000000000",
        &globex,
    );
    foreign.assert_error(404, None);
    unknown.assert_error(404, None);
    assert_eq!(
        foreign.json["detail"]
            .as_str()
            .map(|d| d.replace(&id, "ID")),
        unknown.json["detail"]
            .as_str()
            .map(|d| d.replace("00000000-0000-0000-0000-000000000000", "ID")),
        "a foreign id answers exactly like an unknown one"
    );
    server
        .delete(&format!("/scim/v2/Users/{id}"), &globex)
        .assert_error(404, None);
    let put = server.put(&format!("/scim/v2/Users/{id}"), &globex, &user("x"));
    put.assert_error(404, None);
    let listed = server.get("/scim/v2/Users", &globex);
    assert_eq!(listed.json["totalResults"], 1);
    assert_ne!(listed.json["Resources"][0]["id"], id.as_str());
    assert_eq!(
        server.get(&format!("/scim/v2/Users/{id}"), &acme).status,
        200
    );
}

#[test]
fn uniqueness_and_isolation_on_sqlite() {
    uniqueness_and_isolation(Store::sqlite());
}

#[test]
fn uniqueness_and_isolation_on_postgres() {
    if let Some(store) = Store::postgres("e2e isolation on postgres") {
        uniqueness_and_isolation(store);
    }
}

#[test]
fn listing_sorting_paging_and_projection() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    let server = Server::start(store);
    for name in ["carol", "alice", "Bob", "dave"] {
        let body = json!({
            "schemas": [USER_SCHEMA],
            "userName": name,
            "title": if name == "dave" { None } else { Some("Engineer") },
            "emails": [{"value": format!("{name}@example.com"), "type": "work"}],
        });
        assert_eq!(server.post("/scim/v2/Users", &token, &body).status, 201);
    }
    let names = |path: &str| -> Vec<String> {
        let reply = server.get(path, &token);
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        reply.json["Resources"]
            .as_array()
            .expect("Resources")
            .iter()
            .map(|r| r["userName"].as_str().unwrap_or("-").to_owned())
            .collect()
    };
    assert_eq!(
        names("/scim/v2/Users?sortBy=userName"),
        ["alice", "Bob", "carol", "dave"]
    );
    assert_eq!(
        names("/scim/v2/Users?sortBy=userName&sortOrder=descending"),
        ["dave", "carol", "Bob", "alice"]
    );
    assert_eq!(
        names("/scim/v2/Users?sortBy=userName&startIndex=2&count=2"),
        ["Bob", "carol"]
    );
    assert_eq!(
        names(
            "/scim/v2/Users?filter=title%20pr%20and%20emails%5Btype%20eq%20%22work%22%20and%20value%20sw%20%22c%22%5D"
        ),
        ["carol"]
    );

    let page = server.get("/scim/v2/Users?startIndex=3&count=1", &token);
    assert_eq!(
        (
            page.json["totalResults"].as_u64(),
            page.json["startIndex"].as_u64(),
            page.json["itemsPerPage"].as_u64()
        ),
        (Some(4), Some(3), Some(1))
    );
    let absurd = server.get(
        "/scim/v2/Users?startIndex=-5&count=99999999999999999999999",
        &token,
    );
    assert_eq!(absurd.status, 200);
    assert_eq!(absurd.json["startIndex"], 1);
    assert_eq!(absurd.json["itemsPerPage"], 4);
    let none = server.get("/scim/v2/Users?count=-1", &token);
    assert_eq!(
        (
            none.json["totalResults"].as_u64(),
            none.json["itemsPerPage"].as_u64()
        ),
        (Some(4), Some(0))
    );

    let projected = server.get(
        "/scim/v2/Users?filter=userName%20eq%20%22alice%22&attributes=emails.value",
        &token,
    );
    assert_eq!(
        projected.json["Resources"][0],
        json!({
            "schemas": [USER_SCHEMA],
            "id": projected.json["Resources"][0]["id"],
            "emails": [{"value": "alice@example.com"}],
        })
    );
    let excluded = server.get(
        "/scim/v2/Users?filter=userName%20eq%20%22alice%22&excludedAttributes=emails,meta",
        &token,
    );
    let first = &excluded.json["Resources"][0];
    assert!(first.get("emails").is_none() && first.get("meta").is_none());
    assert_eq!(first["userName"], "alice");

    // POST .search on the endpoint and at the root.
    let search = server.post(
        "/scim/v2/Users/.search",
        &token,
        &json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "userName sw \"B\" or userName eq \"DAVE\"",
            "sortBy": "userName",
            "attributes": ["userName"],
        }),
    );
    assert_eq!(search.status, 200, "{}", search.text);
    let found: Vec<_> = search.json["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .map(|r| r["userName"].clone())
        .collect();
    assert_eq!(found, [json!("Bob"), json!("dave")]);
    let root = server.post(
        "/scim/v2/.search",
        &token,
        &json!({"filter": "userName eq \"alice\""}),
    );
    assert_eq!(root.status, 200, "{}", root.text);
    assert_eq!(root.json["totalResults"], 1);
    assert_eq!(root.json["Resources"][0]["meta"]["resourceType"], "User");
}

/// A user PUT as it is stored (Okta sends the whole user at every sync) writes nothing: the
/// version stays, no event is recorded; a PUT that changes something writes as before.
#[test]
fn a_put_that_changes_nothing_writes_nothing() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    let server = Server::start(store);
    let body = json!({"schemas": [USER_SCHEMA], "userName": "same@example.com",
                      "name": {"givenName": "Sam"}, "active": true});
    let created = server.post("/scim/v2/Users", &token, &body);
    assert_eq!(created.status, 201, "{}", created.text);
    let path = format!(
        "/scim/v2/Users/{}",
        created.json["id"].as_str().expect("id")
    );
    let events = || {
        let all: Value = serde_json::from_str(&cli(&server.store, &["events", "--tenant", "acme"]))
            .expect("events JSON");
        all.as_array().expect("events").len()
    };
    let before = events();
    for _ in 0..3 {
        let again = server.put(&path, &token, &body);
        assert_eq!(again.status, 200, "{}", again.text);
        assert_eq!(again.header("etag"), Some("W/\"1\""), "{}", again.text);
        assert_eq!(again.json["name"]["givenName"], "Sam");
    }
    assert_eq!(events(), before, "no event for a PUT that changes nothing");
    let mut changed = body.clone();
    changed["name"]["givenName"] = json!("Samuel");
    let written = server.put(&path, &token, &changed);
    assert_eq!(written.header("etag"), Some("W/\"2\""));
    assert_eq!(events(), before + 1);
}

#[test]
fn etags_guard_writes_and_answer_conditional_reads() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    let server = Server::start(store);
    let created = server.post("/scim/v2/Users", &token, &user("alice"));
    let path = format!(
        "/scim/v2/Users/{}",
        created.json["id"].as_str().expect("id")
    );
    let body = user("alice2").to_string();

    let stale = server.send(
        "PUT",
        &path,
        Some(&token),
        &[("If-Match", "W/\"7\"")],
        Some(body.as_bytes()),
    );
    stale.assert_error(412, None);
    let fresh = server.send(
        "PUT",
        &path,
        Some(&token),
        &[("If-Match", "W/\"1\"")],
        Some(body.as_bytes()),
    );
    assert_eq!(fresh.status, 200, "{}", fresh.text);
    assert_eq!(fresh.header("etag"), Some("W/\"2\""));

    let unchanged = server.send(
        "GET",
        &path,
        Some(&token),
        &[("If-None-Match", "W/\"2\"")],
        None,
    );
    assert_eq!(unchanged.status, 304);
    let changed = server.send(
        "GET",
        &path,
        Some(&token),
        &[("If-None-Match", "W/\"1\"")],
        None,
    );
    assert_eq!(changed.status, 200);

    server
        .send(
            "DELETE",
            &path,
            Some(&token),
            &[("If-Match", "W/\"1\"")],
            None,
        )
        .assert_error(412, None);
    assert_eq!(
        server
            .send(
                "DELETE",
                &path,
                Some(&token),
                &[("If-Match", "W/\"2\"")],
                None
            )
            .status,
        204
    );
}
