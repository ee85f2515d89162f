//! Abuse and secrecy: a tenant over its rate limit gets 429 with `Retry-After` while other
//! tenants carry on; and no credential, secret or password ever reaches the logs, even at
//! the most verbose level.

use std::fs::File;
use std::process::Stdio;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use crate::helpers::{Server, Store, USER_SCHEMA, create_client, tenant_with_token};

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
    let (id, secret) = create_client(&store, "acme");
    let dir = tempfile::tempdir().expect("temp dir");
    let log_path = dir.path().join("server.log");
    let logs = File::create(&log_path).expect("log file");
    let server = Server::start_with(store, &["--log-format", "json"], "trace", Stdio::from(logs));

    let password = "Hunter2-is-not-a-password";
    let body = json!({"schemas": [USER_SCHEMA], "userName": "secret.keeper@example.com", "password": password});
    assert_eq!(server.post("/scim/v2/Users", &token, &body).status, 201);
    let basic = format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
    let form = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
    let issued = server.token_form(&form);
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

/// What a caller without a working credential can make the server do is bounded per
/// client address: malformed credentials never reach the store, a refused one is
/// remembered, an address whose refusals exhaust `--auth-rate-burst` is held back (429)
/// from further lookups and token requests, while a credential that worked is never held
/// back, even when nothing remembers its acceptance (`--credential-cache-seconds 0`: an
/// IdP's egress address serves many tenants, one of which may send bad credentials).
#[test]
fn unauthenticated_work_is_limited_per_client_address() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    let (client_id, client_secret) = create_client(&store, "acme");
    let server = Server::start_with(
        store,
        &[
            "--auth-rate-limit",
            "1",
            "--auth-rate-burst",
            "3",
            "--credential-cache-seconds",
            "0",
        ],
        "warn",
        Stdio::inherit(),
    );
    // Accepted: known good from now on.
    assert_eq!(server.get("/scim/v2/Users", &token).status, 200);
    let token_request = |secret: &str| {
        let form =
            format!("grant_type=client_credentials&client_id={client_id}&client_secret={secret}");
        server.token_form(&form)
    };
    // An access token issued now, first used once the address is held back.
    let first_issued = std::time::Instant::now();
    let issued = token_request(&client_secret);
    assert_eq!(issued.status, 200, "{}", issued.text);
    let access_token = issued.json["access_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    // Malformed credentials are refused without a lookup, and do not count.
    let malformed_basic = format!("Basic {}", STANDARD.encode("not a client:x"));
    for _ in 0..10 {
        for bad in ["garbage", "scim_short", &"a".repeat(5000)] {
            server.get("/scim/v2/Users", bad).assert_error(401, None);
        }
        let reply = server.send(
            "GET",
            "/scim/v2/Users",
            None,
            &[("Authorization", malformed_basic.as_str())],
            None,
        );
        reply.assert_error(401, None);
    }
    // One unknown token, sent again and again, is looked up once (and counted once).
    let unknown = |n: usize| format!("scim_{n:_>43}");
    for _ in 0..10 {
        server
            .get("/scim/v2/Users", &unknown(0))
            .assert_error(401, None);
    }
    // Distinct unknown tokens: each a refused lookup, until the burst is spent.
    let mut refused = 1;
    let limited = loop {
        let reply = server.get("/scim/v2/Users", &unknown(refused));
        if reply.status == 429 {
            break reply;
        }
        reply.assert_error(401, None);
        refused += 1;
        assert!(refused < 20, "never held back");
    };
    assert!(refused >= 3, "the burst of 3 refusals passes: {refused}");
    assert!(limited.assert_error(429, None).contains("retry after"));
    assert!(limited.header("retry-after").is_some());
    // The working credential is not held back, though nothing caches its acceptance.
    assert_eq!(server.get("/scim/v2/Users", &token).status, 200);
    // Nor is an access token issued to a working client, at its first use.
    assert_eq!(server.get("/scim/v2/Users", &access_token).status, 200);
    // A token request with an unknown secret is a lookup too: held back.
    let issued = token_request(&unknown(99));
    assert_eq!(issued.status, 429, "{}", issued.text);
    assert_eq!(issued.json["error"], "slow_down");
    assert!(issued.header("retry-after").is_some());
    // The working client still gets tokens, up to its own issuance burst (20, the one above
    // included; the issuance that empties the bucket is the last), which no wrong secret
    // for its id ever spends. The bucket refills one a second.
    let mut issued_count = 1;
    let refused = loop {
        let issued = token_request(&client_secret);
        if issued.status != 200 {
            break issued;
        }
        issued_count += 1;
        assert!(issued_count <= 100, "no issuance limit");
    };
    let refilled = first_issued.elapsed().as_secs() + 1;
    assert!(
        (21..=21 + refilled).contains(&issued_count),
        "{issued_count} issued: {}",
        refused.text
    );
    assert_eq!(refused.status, 429);
    assert_eq!(refused.json["error"], "slow_down");
    assert!(
        refused.json["error_description"]
            .as_str()
            .is_some_and(|text| text.contains("too many access tokens")),
        "{}",
        refused.text
    );
    // Health checks are not held back (a load balancer probes from the same address as
    // its traffic); they cost the store one ping a second at most.
    let health = server.send("GET", "/healthz", None, &[], None);
    assert_eq!(health.status, 200, "{}", health.text);
}

/// Every response, success or error, tells browsers not to sniff its type and nobody to
/// store it (the JWK Set alone may be cached).
#[test]
fn responses_are_never_sniffed_nor_stored() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    let server = Server::start(store);
    let replies = [
        server.get("/scim/v2/Users", &token),
        server.get("/scim/v2/Users/nope", &token),
        server.send("GET", "/scim/v2/Users", None, &[], None),
        server.send("GET", "/healthz", None, &[], None),
        server.send("GET", "/admin", None, &[], None),
        server.send("GET", "/no/such/path", None, &[], None),
    ];
    for reply in &replies {
        assert_eq!(
            reply.header("x-content-type-options"),
            Some("nosniff"),
            "{}",
            reply.text
        );
        assert_eq!(
            reply.header("cache-control"),
            Some("no-store"),
            "{}",
            reply.text
        );
        assert!(
            reply.header("strict-transport-security").is_none(),
            "no HSTS over plain HTTP"
        );
    }
    let jwks = server.send("GET", "/.well-known/jwks.json", None, &[], None);
    assert_eq!(jwks.header("cache-control"), Some("public, max-age=300"));
    assert_eq!(jwks.header("x-content-type-options"), Some("nosniff"));
}
