//! The three ways in, end to end: operator-issued bearer tokens, OAuth 2.0 client
//! credentials (`/oauth/token`, driven by the `oauth2` crate as a real client, with Basic
//! and form-field client authentication), and HTTP Basic with the client's id and secret.
//! Revoked and expired credentials get 401 with `WWW-Authenticate` and a SCIM error body.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, RequestTokenError, TokenResponse, TokenUrl};
use serde_json::{Value, json};

use crate::helpers::{
    Reply, Server, Store, cli, create_client, expired_token, tenant_with_token, user,
};

/// A token from `/oauth/token`, or the OAuth error code.
fn fetch_token(
    server: &Server,
    id: &str,
    secret: &str,
    auth: AuthType,
) -> Result<(String, u64), String> {
    let client = BasicClient::new(ClientId::new(id.to_owned()))
        .set_client_secret(ClientSecret::new(secret.to_owned()))
        .set_auth_type(auth)
        .set_token_uri(TokenUrl::new(server.url("/oauth/token")).expect("token url"));
    let http = |request| server.exchange(request);
    match client.exchange_client_credentials().request(&http) {
        Ok(token) => Ok((
            token.access_token().secret().clone(),
            token.expires_in().expect("expires_in").as_secs(),
        )),
        Err(RequestTokenError::ServerResponse(error)) => Err(error.error().to_string()),
        Err(other) => panic!("token request failed: {other:?}"),
    }
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

fn with_basic(
    server: &Server,
    method: &str,
    path: &str,
    id: &str,
    secret: &str,
    body: Option<&Value>,
) -> Reply {
    let auth = basic(id, secret);
    let body = body.map(Value::to_string);
    server.send(
        method,
        path,
        None,
        &[("Authorization", auth.as_str())],
        body.as_deref().map(str::as_bytes),
    )
}

/// A raw form POST to the token endpoint.
fn token_form(server: &Server, headers: &[(&str, &str)], form: &str) -> Reply {
    server.send("POST", "/oauth/token", None, headers, Some(form.as_bytes()))
}

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

fn assert_scim_401(reply: &Reply) {
    reply.assert_error(401, None);
    let challenges: Vec<&str> = reply
        .headers
        .get_all("www-authenticate")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert!(
        challenges.iter().any(|c| c.starts_with("Bearer")),
        "{challenges:?}"
    );
    assert!(
        challenges.iter().any(|c| c.starts_with("Basic")),
        "{challenges:?}"
    );
}

fn ways_in(store: Store) {
    let acme_token = tenant_with_token(&store, "acme");
    let globex_token = tenant_with_token(&store, "globex");
    let (id, secret) = create_client(&store, "acme");
    assert!(secret.starts_with("scim_"), "secrets are recognisable");
    let expired = expired_token(&store, "acme");
    let server = Server::start_caching_credentials_for_a_second(store);

    // Client credentials, client authenticated by the Basic header (Entra ID's way).
    let (access, expires_in) =
        fetch_token(&server, &id, &secret, AuthType::BasicAuth).expect("token");
    assert_eq!(expires_in, 3600);
    let created = server.post("/scim/v2/Users", &access, &user("via-oauth@acme.example"));
    assert_eq!(created.status, 201, "{}", created.text);
    // ... and by form fields.
    let (form_access, _) =
        fetch_token(&server, &id, &secret, AuthType::RequestBody).expect("token");
    assert_ne!(form_access, access);
    let listed = server.get("/scim/v2/Users", &form_access);
    assert_eq!(listed.json["totalResults"], 1, "{}", listed.text);
    // The client's tenant is acme's: the operator's token sees the user, globex's does not.
    assert_eq!(
        server.get("/scim/v2/Users", &acme_token).json["totalResults"],
        1
    );
    assert_eq!(
        server.get("/scim/v2/Users", &globex_token).json["totalResults"],
        0
    );

    // HTTP Basic with the client's id and secret (Okta's "Basic Auth" setting).
    let via_basic = with_basic(
        &server,
        "POST",
        "/scim/v2/Users",
        &id,
        &secret,
        Some(&user("via-basic@acme.example")),
    );
    assert_eq!(via_basic.status, 201, "{}", via_basic.text);
    assert_eq!(
        server.get("/scim/v2/Users", &acme_token).json["totalResults"],
        2
    );

    // Wrong secrets and unknown clients look the same, on both endpoints.
    for (bad_id, bad_secret) in [
        (id.as_str(), "scim_wrong"),
        ("no-such-client", secret.as_str()),
    ] {
        assert_eq!(
            fetch_token(&server, bad_id, bad_secret, AuthType::BasicAuth),
            Err("invalid_client".to_owned())
        );
        let raw = token_form(
            &server,
            &[FORM, ("Authorization", &basic(bad_id, bad_secret))],
            "grant_type=client_credentials",
        );
        assert_eq!(raw.status, 401);
        assert_eq!(raw.header("www-authenticate"), Some("Basic realm=\"scim\""));
        assert_eq!(
            raw.json,
            json!({"error": "invalid_client", "error_description": "client authentication failed"})
        );
        assert_scim_401(&with_basic(
            &server,
            "GET",
            "/scim/v2/Users",
            bad_id,
            bad_secret,
            None,
        ));
    }

    // The token endpoint's own errors (RFC 6749 §5.2), never cached.
    let form = format!("client_id={id}&client_secret={secret}");
    let cases = [
        (
            vec![FORM],
            format!("grant_type=password&{form}"),
            400,
            "unsupported_grant_type",
        ),
        (vec![FORM], form.clone(), 400, "invalid_request"),
        (
            vec![("Content-Type", "application/json")],
            format!("grant_type=client_credentials&{form}"),
            400,
            "invalid_request",
        ),
        (
            vec![FORM],
            format!("grant_type=client_credentials&grant_type=client_credentials&{form}"),
            400,
            "invalid_request",
        ),
        (
            vec![FORM],
            "grant_type=client_credentials".to_owned(),
            401,
            "invalid_client",
        ),
    ];
    for (headers, body, status, error) in cases {
        let reply = token_form(&server, &headers, &body);
        assert_eq!(
            (reply.status, reply.json["error"].as_str()),
            (status, Some(error)),
            "{body}: {}",
            reply.text
        );
        assert_eq!(reply.header("cache-control"), Some("no-store"));
    }
    let both = basic(&id, &secret);
    let reply = token_form(
        &server,
        &[FORM, ("Authorization", both.as_str())],
        &format!("grant_type=client_credentials&{form}"),
    );
    assert_eq!(reply.json["error"], "invalid_request", "{}", reply.text);
    let ok = token_form(
        &server,
        &[FORM],
        &format!("grant_type=client_credentials&{form}&scope=scim"),
    );
    assert_eq!(
        (ok.status, ok.json["token_type"].as_str()),
        (200, Some("Bearer")),
        "{}",
        ok.text
    );

    // No credential, an expired token, and everything of a revoked client: 401.
    assert_scim_401(&server.send("GET", "/scim/v2/Users", None, &[], None));
    assert_scim_401(&server.get("/scim/v2/Users", &expired));
    cli(
        &server.store,
        &["client", "revoke", "--tenant", "acme", &id],
    );
    assert_scim_401(&server.refused_within(
        "/scim/v2/Users",
        &access,
        std::time::Duration::from_secs(5),
    ));
    // HTTP Basic is remembered like a bearer token: refused within the same bound.
    let started = std::time::Instant::now();
    let refused = loop {
        let reply = with_basic(&server, "GET", "/scim/v2/Users", &id, &secret, None);
        if reply.status == 401 || started.elapsed() > std::time::Duration::from_secs(5) {
            break reply;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_scim_401(&refused);
    assert_eq!(
        fetch_token(&server, &id, &secret, AuthType::BasicAuth),
        Err("invalid_client".to_owned())
    );
    // The operator's token still works.
    assert_eq!(server.get("/scim/v2/Users", &acme_token).status, 200);
}

#[test]
fn every_way_in_on_sqlite() {
    ways_in(Store::sqlite());
}

#[test]
fn every_way_in_on_postgres() {
    if let Some(store) = Store::postgres("e2e oauth on postgres") {
        ways_in(store);
    }
}
