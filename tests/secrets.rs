//! The server's secret keys end to end: what the database keeps of the secrets the server
//! must use is sealed with keys kept outside it (SQLite: a 0600 key file beside the 0600
//! database; PostgreSQL: configured, or nothing runs); passwords of asynchronous `/Bulk`
//! requests are never stored; a rotation re-seals the secrets and refuses the cursors in
//! flight; SET signing keys rotate, the new key published before it signs.

use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::helpers::{
    Server, Store, USER_SCHEMA, add_receiver, cli, cli_output, server_binary, tenant_with_token,
    user,
};

/// The SQLite database's files as bytes: the file and its write-ahead log.
fn database_bytes(store: &Store) -> Vec<u8> {
    let Store::Sqlite(dir) = store else {
        panic!("an SQLite store");
    };
    let mut bytes = Vec::new();
    for name in ["scim.db", "scim.db-wal"] {
        if let Ok(mut read) = std::fs::read(dir.path().join(name)) {
            bytes.append(&mut read);
        }
    }
    assert!(bytes.len() > 4096, "the database is there");
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// The start of a P-256 PKCS#8 private key in base64: what an unsealed signing key shows.
const PKCS8_P256: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49";

#[test]
fn secrets_the_server_uses_are_sealed_outside_the_database() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    let webhook_secret = "webhook-secret-that-must-never-be-stored-in-the-clear";
    let client_secret = "receivers-oauth-client-secret-never-in-the-clear";
    cli(
        &store,
        &[
            "webhook",
            "add",
            "--tenant",
            "acme",
            "--url",
            "https://hooks.acme.example/scim",
            "--secret",
            webhook_secret,
            "--oauth-token-url",
            "https://login.acme.example/token",
            "--oauth-client-id",
            "pusher",
            "--oauth-client-secret",
            client_secret,
        ],
    );
    let server = Server::start(store);
    let password = "bulk-password-that-is-never-stored";
    let bulk = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{"method": "POST", "path": "/Users", "bulkId": "u1",
                        "data": {"schemas": [USER_SCHEMA], "userName": "bulk@acme.example",
                                 "password": password}}],
    });
    let accepted = server.send(
        "POST",
        "/scim/v2/Bulk",
        Some(&token),
        &[("Prefer", "respond-async")],
        Some(bulk.to_string().as_bytes()),
    );
    assert_eq!(accepted.status, 202, "{}", accepted.text);
    let store = server.stop();

    let bytes = database_bytes(&store);
    for secret in [webhook_secret, client_secret, password, PKCS8_P256] {
        assert!(
            !contains(&bytes, secret),
            "'{secret}' is stored in the clear"
        );
    }
    assert!(
        contains(&bytes, "sealed:v1:"),
        "the secrets are there, sealed"
    );
    let Store::Sqlite(dir) = &store else {
        unreachable!()
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |name: &str| {
            std::fs::metadata(dir.path().join(name))
                .expect("the file")
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("scim.db"), 0o600, "the database is its owner's alone");
        assert_eq!(mode("scim.db.key"), 0o600, "so is the key file beside it");
    }
    let key_file = std::fs::read_to_string(dir.path().join("scim.db.key")).expect("key file");
    assert!(
        key_file
            .lines()
            .any(|line| !line.starts_with('#') && line.len() == 44)
    );

    // Other keys do not open the database: refused, naming the key it needs.
    let other = cli(&store, &["secret-key", "generate"]);
    let refused = cli_output(&store, &["--secret-keys", other.trim(), "tenant", "list"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("sealed with secret key(s)"), "{stderr}");
    // The right keys open it, and its secrets are as they were given.
    let status: Value =
        serde_json::from_str(&cli(&store, &["secret-key", "status", "--json"])).expect("JSON");
    assert_eq!(status["keys"][0]["secrets"], 3, "{status}");
    let server = Server::start(store);
    assert_eq!(server.get("/scim/v2/Users", &token).status, 200);
}

#[test]
fn postgres_needs_the_secret_keys() {
    let Some(store) = Store::postgres("e2e secret keys on postgres") else {
        return;
    };
    let output = Command::new(server_binary())
        .args(["--database-url", &store.url(), "tenant", "list"])
        .env_remove("SCIM_SECRET_KEYS")
        .env_remove("SCIM_SECRET_KEY_FILE")
        .output()
        .expect("run scim-server");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("PostgreSQL needs the server's secret keys"),
        "{stderr}"
    );
    // With them it runs.
    cli(&store, &["tenant", "list"]);
}

/// The cursor of the first page of `count=1` users.
fn first_cursor(server: &Server, token: &str) -> String {
    let page = server.get("/scim/v2/Users?count=1&cursor=", token);
    assert_eq!(page.status, 200, "{}", page.text);
    page.json["nextCursor"]
        .as_str()
        .expect("a next cursor")
        .to_owned()
}

#[test]
fn a_key_rotation_reseals_secrets_and_refuses_cursors_in_flight() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    add_receiver(&store, "https://hooks.acme.example/scim");
    let old = cli(&store, &["secret-key", "status", "--json"]);
    let old: Value = serde_json::from_str(&old).expect("JSON");
    let old_id = old["keys"][0]["id"].as_str().expect("id").to_owned();
    let Store::Sqlite(dir) = &store else {
        unreachable!()
    };
    let key_file = dir.path().join("scim.db.key");
    let old_key = std::fs::read_to_string(&key_file).expect("key file");
    let server = Server::start(store);
    for n in 0..3 {
        let created = server.post(
            "/scim/v2/Users",
            &token,
            &user(&format!("u{n}@acme.example")),
        );
        assert_eq!(created.status, 201);
    }
    let cursor = first_cursor(&server, &token);
    let store = server.stop();

    // The new key first, the old one after it; every process restarts with both.
    let new_key = cli(&store, &["secret-key", "generate"]);
    std::fs::write(&key_file, format!("{}\n{old_key}", new_key.trim())).expect("key file");
    let server = Server::start(store);
    let refused = server.get(&format!("/scim/v2/Users?count=1&cursor={cursor}"), &token);
    refused.assert_error(400, Some("invalidCursor"));
    let fresh = first_cursor(&server, &token);
    let next = server.get(&format!("/scim/v2/Users?count=1&cursor={fresh}"), &token);
    assert_eq!(next.status, 200, "{}", next.text);
    let store = server.stop();

    // Re-sealed under the new key, the old key can go.
    let resealed: Value =
        serde_json::from_str(&cli(&store, &["secret-key", "reseal", "--json"])).expect("JSON");
    assert_eq!(
        resealed["resealed"], 2,
        "the webhook's secret and the signing key"
    );
    std::fs::write(&key_file, new_key).expect("key file");
    let status: Value =
        serde_json::from_str(&cli(&store, &["secret-key", "status", "--json"])).expect("JSON");
    assert_eq!(status["keys"].as_array().expect("keys").len(), 1);
    assert_eq!(status["keys"][0]["secrets"], 2, "{status}");
    assert_ne!(status["keys"][0]["id"], old_id.as_str());
    let listed = cli(&store, &["webhook", "list", "--tenant", "acme", "--json"]);
    assert!(listed.contains("hooks.acme.example"), "{listed}");
}

/// The `kid` of a compact JWS.
fn kid_of(jwt: &str) -> String {
    let header = jwt.split('.').next().expect("a header");
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("base64url")).expect("JSON");
    header["kid"].as_str().expect("kid").to_owned()
}

fn published(server: &Server) -> Vec<String> {
    let jwks = server.send("GET", "/.well-known/jwks.json", None, &[], None);
    jwks.json["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|key| key["kid"].as_str().expect("kid").to_owned())
        .collect()
}

/// Every SET the tenant's poller has waiting, by `kid`.
fn poll_kids(server: &Server, token: &str) -> Vec<String> {
    let reply = server.send(
        "POST",
        "/events/poll",
        Some(token),
        &[("Content-Type", "application/json")],
        Some(json!({"returnImmediately": true}).to_string().as_bytes()),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json["sets"]
        .as_object()
        .expect("sets")
        .values()
        .map(|jwt| kid_of(jwt.as_str().expect("a JWS")))
        .collect()
}

#[test]
fn a_rotated_signing_key_is_published_before_it_signs() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    let server = Server::start(store);
    assert_eq!(
        server
            .post("/scim/v2/Users", &token, &user("ann@acme.example"))
            .status,
        201
    );
    let first = published(&server);
    assert_eq!(first.len(), 1);
    assert_eq!(poll_kids(&server, &token), first);
    let store = server.stop();

    let rotated: Value = serde_json::from_str(&cli(
        &store,
        &[
            "signing-key",
            "rotate",
            "--activate-in-minutes",
            "10",
            "--json",
        ],
    ))
    .expect("JSON");
    let next = rotated["kid"].as_str().expect("kid").to_owned();
    let listed: Value =
        serde_json::from_str(&cli(&store, &["signing-key", "list", "--json"])).expect("JSON");
    let states: Vec<(String, String)> = listed
        .as_array()
        .expect("keys")
        .iter()
        .map(|key| {
            (
                key["kid"].as_str().expect("kid").to_owned(),
                key["state"].as_str().expect("state").to_owned(),
            )
        })
        .collect();
    assert!(
        states.contains(&(first[0].clone(), "signing".to_owned())),
        "{states:?}"
    );
    assert!(
        states.contains(&(next.clone(), "next".to_owned())),
        "{states:?}"
    );

    // Published at once, not signing for ten minutes.
    let server = Server::start(store);
    let mut keys = published(&server);
    keys.sort();
    let mut expected = vec![first[0].clone(), next];
    expected.sort();
    assert_eq!(keys, expected);
    assert_eq!(poll_kids(&server, &token), first, "the old key still signs");
}
