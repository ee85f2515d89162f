//! Abuse and secrecy: a tenant over its rate limit gets 429 with `Retry-After` while other
//! tenants carry on; and no credential, secret or password ever reaches the logs, even at
//! the most verbose level.

use std::fs::File;
use std::process::Stdio;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::helpers::{Server, Store, USER_SCHEMA, cli, tenant_with_token};

#[test]
fn tenants_over_their_rate_limit_get_429_with_retry_after() {
    let store = Store::sqlite();
    let busy = tenant_with_token(&store, "busy");
    let calm = tenant_with_token(&store, "calm");
    let server = Server::start_with(
        store,
        &["--rate-limit", "1", "--rate-burst", "5"],
        "warn",
        Stdio::inherit(),
    );
    let statuses: Vec<u16> = (0..8)
        .map(|_| server.get("/scim/v2/Users", &busy).status)
        .collect();
    assert_eq!(&statuses[..5], [200; 5], "the burst passes: {statuses:?}");
    let limited = server.get("/scim/v2/Users", &busy);
    let detail = limited.assert_error(429, None);
    assert!(detail.contains("retry after"), "{detail}");
    let wait: u64 = limited
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("whole seconds");
    assert!((1..=2).contains(&wait), "{wait}");
    // Another tenant is not slowed down by it.
    assert_eq!(server.get("/scim/v2/Users", &calm).status, 200);
    // Discovery needs no credential and is not counted against a tenant.
    assert_eq!(
        server
            .send("GET", "/scim/v2/ServiceProviderConfig", None, &[], None)
            .status,
        200
    );
}

#[test]
fn no_secret_reaches_the_logs() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    let client = cli(&store, &["client", "create", "--tenant", "acme"]);
    let client: Value = serde_json::from_str(client.lines().last().expect("json")).expect("json");
    let (id, secret) = (
        client["client_id"].as_str().expect("id").to_owned(),
        client["client_secret"].as_str().expect("secret").to_owned(),
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let log_path = dir.path().join("server.log");
    let logs = File::create(&log_path).expect("log file");
    let server = Server::start_with(store, &["--log-format", "json"], "trace", Stdio::from(logs));

    let password = "Hunter2-is-not-a-password";
    let body = json!({"schemas": [USER_SCHEMA], "userName": "secret.keeper@example.com", "password": password});
    assert_eq!(server.post("/scim/v2/Users", &token, &body).status, 201);
    let basic = format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
    let form = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
    let issued = server.send(
        "POST",
        "/oauth/token",
        None,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(form.as_bytes()),
    );
    let access = issued.json["access_token"]
        .as_str()
        .expect("access token")
        .to_owned();
    assert_eq!(server.get("/scim/v2/Users", &access).status, 200);
    let via_basic = server.send(
        "GET",
        "/scim/v2/Users",
        None,
        &[("Authorization", basic.as_str())],
        None,
    );
    assert_eq!(via_basic.status, 200);
    // Failures log too: a wrong token, a wrong secret.
    assert_eq!(
        server
            .get("/scim/v2/Users", "scim_not-a-real-token-but-secret-looking")
            .status,
        401
    );
    let wrong = format!(
        "Basic {}",
        STANDARD.encode(format!("{id}:scim_wrong-secret-value"))
    );
    assert_eq!(
        server
            .send(
                "GET",
                "/scim/v2/Users",
                None,
                &[("Authorization", wrong.as_str())],
                None
            )
            .status,
        401
    );
    drop(server);

    let written = std::fs::read_to_string(&log_path).expect("logs");
    assert!(written.lines().count() > 5, "the server logged: {written}");
    assert!(
        written.contains("request_id"),
        "request lines are there: {written}"
    );
    let base64_basic = basic.trim_start_matches("Basic ");
    for needle in [
        token.as_str(),
        &token[..20],
        secret.as_str(),
        &secret[..20],
        access.as_str(),
        &access[..20],
        password,
        base64_basic,
        "scim_not-a-real-token",
        "scim_wrong-secret-value",
    ] {
        assert!(!written.contains(needle), "'{needle}' leaked into the logs");
    }
}

#[test]
fn deeply_nested_json_is_refused_precisely() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    let server = Server::start(store);
    let depth = 10_000;
    let body = format!(
        "{{\"schemas\":[\"{USER_SCHEMA}\"],\"userName\":\"deep\",\"x\":{}{}}}",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let reply = server.send(
        "POST",
        "/scim/v2/Users",
        Some(&token),
        &[],
        Some(body.as_bytes()),
    );
    let detail = reply.assert_error(400, Some("invalidSyntax"));
    assert!(detail.contains("recursion limit"), "{detail}");
    // The server is still there.
    assert_eq!(server.get("/scim/v2/Users", &token).json["totalResults"], 0);
}
