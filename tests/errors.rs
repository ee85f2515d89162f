//! Bad input always gets a precise SCIM error, never a 500, a panic or a hang.

use crate::helpers::{Server, Store, USER_SCHEMA, tenant_with_token, user};

#[test]
fn bad_input_gets_precise_scim_errors() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    let server = Server::start(store);
    let post_raw = |body: &[u8], content_type: &str| {
        server.send(
            "POST",
            "/scim/v2/Users",
            Some(&token),
            &[("Content-Type", content_type)],
            Some(body),
        )
    };

    let detail = post_raw(b"{\"schemas\": [", "application/scim+json")
        .assert_error(400, Some("invalidSyntax"));
    assert!(detail.contains("not valid JSON"), "{detail}");
    post_raw(b"", "application/scim+json").assert_error(400, Some("invalidSyntax"));
    post_raw(b"[1,2]", "application/json").assert_error(400, Some("invalidSyntax"));
    post_raw(user("a").to_string().as_bytes(), "text/plain").assert_error(415, None);

    let cases = [
        (
            serde_json::json!({"schemas": [USER_SCHEMA], "userName": 42}),
            "invalidValue",
            "'userName' must be a string",
        ),
        (
            serde_json::json!({"schemas": [USER_SCHEMA]}),
            "invalidValue",
            "'userName' is required",
        ),
        (
            serde_json::json!({"userName": "a"}),
            "invalidSyntax",
            "'schemas' is required",
        ),
        (
            serde_json::json!({"schemas": [USER_SCHEMA], "userName": "a", "favouriteColour": "red"}),
            "invalidSyntax",
            "favouriteColour",
        ),
        (
            serde_json::json!({"schemas": [USER_SCHEMA], "userName": "a", "active": "maybe"}),
            "invalidValue",
            "'active' must be a boolean",
        ),
        (
            serde_json::json!({"schemas": [USER_SCHEMA], "userName": "a", "emails": [{"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}]}),
            "invalidValue",
            "primary",
        ),
    ];
    for (body, scim_type, needle) in cases {
        let detail = server
            .post("/scim/v2/Users", &token, &body)
            .assert_error(400, Some(scim_type));
        assert!(detail.contains(needle), "{body}: {detail}");
    }

    // Over the 1 MiB limit: 413, and nothing was created.
    let mut big = user("big");
    big["displayName"] = serde_json::Value::String("x".repeat(1024 * 1024 + 10));
    server
        .post("/scim/v2/Users", &token, &big)
        .assert_error(413, None);
    assert_eq!(server.get("/scim/v2/Users", &token).json["totalResults"], 0);

    for filter in [
        "userName%20eq",
        "userName%20xx%20%22a%22",
        "nosuch%20eq%20%22a%22",
        "active%20gt%20true",
        "(userName%20eq%20%22a%22",
        "emails%5Btype%20eq%20%22work%22",
    ] {
        let reply = server.get(&format!("/scim/v2/Users?filter={filter}"), &token);
        reply.assert_error(400, Some("invalidFilter"));
    }
    let deep = format!("{}userName pr{}", "(".repeat(5000), ")".repeat(5000));
    let reply = server.post(
        "/scim/v2/Users/.search",
        &token,
        &serde_json::json!({"filter": deep}),
    );
    reply.assert_error(400, Some("invalidFilter"));

    server
        .get("/scim/v2/Users?count=ten", &token)
        .assert_error(400, Some("invalidValue"));
    server
        .get("/scim/v2/Users?startIndex=1.5", &token)
        .assert_error(400, Some("invalidValue"));
    server
        .get("/scim/v2/Users?sortOrder=up", &token)
        .assert_error(400, Some("invalidValue"));
    server
        .get("/scim/v2/Users?sortBy=nosuch", &token)
        .assert_error(400, Some("invalidValue"));

    server.get("/scim/v2/Nope", &token).assert_error(404, None);
    server
        .send("GET", "/elsewhere", None, &[], None)
        .assert_error(404, None);
    server
        .send("DELETE", "/scim/v2/Users", Some(&token), &[], None)
        .assert_error(405, None);
    server
        .send(
            "PUT",
            "/scim/v2/ServiceProviderConfig",
            Some(&token),
            &[],
            None,
        )
        .assert_error(405, None);
}

#[test]
fn credentials_are_required_and_checked() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    let server = Server::start(store);

    let missing = server.send("GET", "/scim/v2/Users", None, &[], None);
    missing.assert_error(401, None);
    assert_eq!(
        missing.header("www-authenticate"),
        Some("Bearer realm=\"scim\"")
    );
    server
        .get("/scim/v2/Users", "scim_not-a-real-token")
        .assert_error(401, None);
    server
        .send(
            "GET",
            "/scim/v2/Users",
            None,
            &[("Authorization", &format!("Basic {token}"))],
            None,
        )
        .assert_error(401, None);
    // Authentication comes before the body is even read.
    server
        .send("POST", "/scim/v2/Users", None, &[], Some(b"not json"))
        .assert_error(401, None);
    assert_eq!(server.get("/scim/v2/Users", &token).status, 200);
}
