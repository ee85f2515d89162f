//! Workload identity federation (RFC 7523) end to end, as Entra ID's provisioning does it:
//! the vendor's product makes a federated client with the issuer, JWKS URL, subject and
//! audience the customer's Entra shows; the IdP exchanges an assertion its issuer signed
//! for an access token at `/oauth/token` and provisions with it. The issuer and its JWKS
//! are the tests' own, on loopback.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::helpers::{Reply, Server, Store};
use crate::issuer::{Issuer, SigningKey};
use crate::management::{api_key, call};

const SUBJECT: &str = "7f0e2a61-workload-object-id";
const AUDIENCE: &str = "api://b5ba7a93-app-id";
const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

fn now() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).expect("time");
    i64::try_from(since.as_secs()).expect("seconds")
}

/// The claims Entra's assertion carries, `change` applied (a null removes a claim).
fn claims(issuer: &Issuer, change: &Value) -> Value {
    let mut claims = json!({
        "iss": issuer.issuer(), "sub": SUBJECT, "aud": AUDIENCE,
        "iat": now() - 5, "nbf": now() - 5, "exp": now() + 3_600,
        "tid": "ce5f061f-tenant", "ver": "2.0",
    });
    for (name, value) in change.as_object().expect("an object") {
        if value.is_null() {
            claims.as_object_mut().expect("an object").remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

/// `POST /oauth/token` with a form of `pairs`, as an IdP sends it.
fn token_request(server: &Server, pairs: &[(&str, &str)]) -> Reply {
    server.token_form(&form_body(pairs))
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={}", url_escape(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes all but unreserved characters (RFC 3986 §2.3).
fn url_escape(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What Entra sends (RFC 7523 §2.2: the assertion authenticates the client of a client
/// credentials grant).
fn entra_exchange(server: &Server, client_id: &str, assertion: &str) -> Reply {
    token_request(
        server,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_assertion_type", CLIENT_ASSERTION_TYPE),
            ("client_assertion", assertion),
            ("scope", "scim"),
        ],
    )
}

/// Asserts an OAuth error (RFC 6749 §5.2) of `status` and `code`, returning its
/// description.
#[track_caller]
fn assert_oauth_error(reply: &Reply, status: u16, code: &str) -> String {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(reply.json["error"], code, "{}", reply.text);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    reply.json["error_description"]
        .as_str()
        .expect("a description")
        .to_owned()
}

/// A server that may call loopback (and fetches one JWKS at most once a second), an
/// admin API key, and a tenant `acme` with a federated client trusting `issuer`; the
/// client's id.
fn federated_tenant(store: Store, issuer: &Issuer) -> (Server, String, String) {
    let server = Server::start_flags(
        store,
        &["--allow-private-webhooks", "--jwks-refetch-seconds", "1"],
    );
    let key = api_key(&server, &[]);
    let made = call(
        &server,
        "POST",
        "/tenants",
        &key,
        Some(&json!({"slug": "acme", "name": "Acme"})),
    );
    assert_eq!(made.status, 201, "{}", made.text);
    let client = call(
        &server,
        "POST",
        "/tenants/acme/clients",
        &key,
        Some(&json!({"federation": {
            "issuer": issuer.issuer(), "jwksUrl": issuer.jwks_url(),
            // As Entra's connectivity page shows it: a scope, /.default and all.
            "subject": SUBJECT, "audience": format!("{AUDIENCE}/.default"),
        }})),
    );
    assert_eq!(client.status, 201, "{}", client.text);
    assert_eq!(client.json["authentication"], "federation");
    assert_eq!(client.json["federation"]["issuer"], issuer.issuer());
    assert_eq!(client.json["federation"]["subject"], SUBJECT);
    assert_eq!(
        client.json.get("client_secret"),
        None,
        "a federated client has no secret"
    );
    assert_eq!(client.json["expiresAt"], Value::Null);
    let id = client.json["client_id"].as_str().expect("an id").to_owned();
    (server, key, id)
}

/// The access token of a successful exchange, after checking that it opens the tenant's
/// SCIM endpoints.
#[track_caller]
fn provisions_with(server: &Server, reply: &Reply) -> String {
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["token_type"], "Bearer");
    assert_eq!(reply.json["expires_in"], 3_600);
    let token = reply.json["access_token"].as_str().expect("a token");
    let created = server.post(
        "/scim/v2/Users",
        token,
        &crate::helpers::user("federated.hire@acme.example"),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let found = server.get(
        "/scim/v2/Users?filter=userName%20eq%20%22federated.hire@acme.example%22",
        token,
    );
    assert_eq!(found.json["totalResults"], 1, "{}", found.text);
    server.delete(
        &format!(
            "/scim/v2/Users/{}",
            created.json["id"].as_str().expect("id")
        ),
        token,
    );
    token.to_owned()
}

fn entra_logs_in_with_its_assertion(store: Store) {
    let key = SigningKey::generate("key-1");
    let issuer = Issuer::start(&[&key]);
    let (server, api, client_id) = federated_tenant(store, &issuer);

    // A valid assertion, as Entra sends it, and as the jwt-bearer grant (§2.1).
    let valid = key.sign(&claims(&issuer, &json!({})));
    let token = provisions_with(&server, &entra_exchange(&server, &client_id, &valid));
    let grant = token_request(
        &server,
        &[
            ("grant_type", JWT_BEARER),
            ("client_id", &client_id),
            ("assertion", &valid),
        ],
    );
    provisions_with(&server, &grant);

    // Expired, wrongly signed, from a foreign issuer: each refused, saying why.
    let expired = key.sign(&claims(
        &issuer,
        &json!({"exp": now() - 600, "iat": now() - 4_000, "nbf": now() - 4_000}),
    ));
    let told = assert_oauth_error(
        &entra_exchange(&server, &client_id, &expired),
        401,
        "invalid_client",
    );
    assert_eq!(told, "the assertion has expired");
    let impostor = SigningKey::generate("key-1");
    let forged = impostor.sign(&claims(&issuer, &json!({})));
    let told = assert_oauth_error(
        &entra_exchange(&server, &client_id, &forged),
        401,
        "invalid_client",
    );
    assert!(told.contains("signature does not verify"), "{told}");
    let foreign_key = SigningKey::generate("foreign-1");
    let foreign = Issuer::start(&[&foreign_key]);
    let theirs = foreign_key.sign(&claims(&foreign, &json!({})));
    let told = assert_oauth_error(
        &entra_exchange(&server, &client_id, &theirs),
        401,
        "invalid_client",
    );
    assert!(
        told.contains("no signing key of the assertion's kid"),
        "{told}"
    );
    assert!(
        !told.contains("foreign-1"),
        "the caller's kid is not echoed: {told}"
    );
    // Signed by our issuer's key but claiming another issuer, subject or audience.
    for (change, why) in [
        (json!({"iss": foreign.issuer()}), "issuer (iss)"),
        (json!({"sub": "another-workload"}), "subject (sub)"),
        (json!({"aud": "api://another-app"}), "audience (aud)"),
    ] {
        let assertion = key.sign(&claims(&issuer, &change));
        let told = assert_oauth_error(
            &entra_exchange(&server, &client_id, &assertion),
            401,
            "invalid_client",
        );
        assert!(told.contains(why), "{change}: {told}");
    }
    // As the grant, a refused assertion is invalid_grant (RFC 7521 §5.2).
    let refused = token_request(
        &server,
        &[
            ("grant_type", JWT_BEARER),
            ("client_id", &client_id),
            ("assertion", &expired),
        ],
    );
    assert_eq!(
        assert_oauth_error(&refused, 400, "invalid_grant"),
        "the assertion has expired"
    );

    // The assertion is the client's only credential; an unknown client learns nothing.
    let with_secret = token_request(
        &server,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", "scim_guess"),
            ("client_assertion_type", CLIENT_ASSERTION_TYPE),
            ("client_assertion", &valid),
        ],
    );
    assert_oauth_error(&with_secret, 400, "invalid_request");
    let unknown = entra_exchange(&server, "00000000-0000-4000-8000-000000000000", &valid);
    assert_eq!(
        assert_oauth_error(&unknown, 401, "invalid_client"),
        "client authentication failed"
    );
    let no_id = token_request(
        &server,
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", CLIENT_ASSERTION_TYPE),
            ("client_assertion", &valid),
        ],
    );
    assert!(assert_oauth_error(&no_id, 400, "invalid_request").contains("client_id"));

    // Listed as federated; revoking it ends the trust and the tokens it obtained.
    let listed = call(&server, "GET", "/tenants/acme/clients", &api, None);
    assert_eq!(listed.json["data"][0]["authentication"], "federation");
    assert_eq!(
        listed.json["data"][0]["federation"]["audience"],
        format!("{AUDIENCE}/.default")
    );
    let revoked = call(
        &server,
        "DELETE",
        &format!("/tenants/acme/clients/{client_id}"),
        &api,
        None,
    );
    assert_eq!(revoked.status, 204, "{}", revoked.text);
    assert_eq!(server.get("/scim/v2/Users", &token).status, 401);
    assert_oauth_error(
        &entra_exchange(&server, &client_id, &valid),
        401,
        "invalid_client",
    );
}

#[test]
fn entra_logs_in_with_its_assertion_on_sqlite() {
    entra_logs_in_with_its_assertion(Store::sqlite());
}

#[test]
fn entra_logs_in_with_its_assertion_on_postgres() {
    let Some(store) = Store::postgres("federation") else {
        return;
    };
    entra_logs_in_with_its_assertion(store);
}

/// Keys rotate at the issuer's will: a new `kid` makes the server fetch the set again,
/// made-up kids make it fetch no more than once per interval (1 s here, 30 s by default),
/// an issuer that is down answers 503 with Retry-After (a later attempt may pass), and
/// the keys already fetched keep verifying while it is down.
#[test]
fn issuer_keys_rotate_and_the_issuer_may_be_down() {
    let first = SigningKey::generate("key-1");
    let issuer = Issuer::start(&[&first]);
    issuer.set_down(true);
    let (server, _, client_id) = federated_tenant(Store::sqlite(), &issuer);
    let valid = |key: &SigningKey| key.sign(&claims(&issuer, &json!({})));
    let interval = std::time::Duration::from_millis(1_100);

    let down = entra_exchange(&server, &client_id, &valid(&first));
    let told = assert_oauth_error(&down, 503, "temporarily_unavailable");
    assert_eq!(
        told, "the issuer's signing keys could not be fetched; retry later",
        "what failed is for the operator's log, not the caller"
    );
    assert_eq!(down.header("retry-after"), Some("1"));
    // Within the interval it is not asked again, and the answer stays "unavailable".
    let again = entra_exchange(&server, &client_id, &valid(&first));
    assert_oauth_error(&again, 503, "temporarily_unavailable");
    assert_eq!(issuer.fetches(), 1);

    issuer.set_down(false);
    std::thread::sleep(interval);
    provisions_with(
        &server,
        &entra_exchange(&server, &client_id, &valid(&first)),
    );
    assert_eq!(issuer.fetches(), 2);

    // A rotation: the new key is fetched when an assertion names it.
    let second = SigningKey::generate("key-2");
    issuer.publish(&[&first, &second]);
    std::thread::sleep(interval);
    provisions_with(
        &server,
        &entra_exchange(&server, &client_id, &valid(&second)),
    );
    provisions_with(
        &server,
        &entra_exchange(&server, &client_id, &valid(&first)),
    );
    assert_eq!(issuer.fetches(), 3, "known keys are not fetched again");

    // Made-up kids: refused, without a fetch each.
    std::thread::sleep(interval);
    for n in 0..5 {
        let made_up = first.sign_as(&format!("made-up-{n}"), &claims(&issuer, &json!({})));
        let told = assert_oauth_error(
            &entra_exchange(&server, &client_id, &made_up),
            401,
            "invalid_client",
        );
        assert!(
            told.contains("no signing key of the assertion's kid"),
            "{told}"
        );
    }
    assert_eq!(issuer.fetches(), 4, "one fetch for five unknown kids");

    // The issuer goes down: the keys fetched (within the hour) still verify, unasked.
    issuer.set_down(true);
    std::thread::sleep(interval);
    provisions_with(
        &server,
        &entra_exchange(&server, &client_id, &valid(&second)),
    );
    assert_eq!(issuer.fetches(), 4);
}

/// The values of a federation are checked before anything is written, and the CLI makes
/// the same client the API does.
#[test]
fn a_federation_is_made_only_of_valid_values() {
    let server = Server::start_flags(Store::sqlite(), &["--allow-private-webhooks", "false"]);
    let key = api_key(&server, &[]);
    let made = call(
        &server,
        "POST",
        "/tenants",
        &key,
        Some(&json!({"slug": "acme"})),
    );
    assert_eq!(made.status, 201, "{}", made.text);
    let trust = |jwks: &str, subject: &str| {
        json!({"federation": {"issuer": "https://login.example.com/t/v2.0", "jwksUrl": jwks,
                              "subject": subject, "audience": AUDIENCE}})
    };
    for (body, why) in [
        // Private networks are not called unless the operator allows them.
        (trust("http://127.0.0.1:9/keys", SUBJECT), "JWKS URL"),
        (trust("https://login.example.com/keys", ""), "subject"),
        (
            json!({"federation": {"issuer": "i", "jwksUrl": "https://login.example.com/k"}}),
            "subject",
        ),
    ] {
        let refused = call(&server, "POST", "/tenants/acme/clients", &key, Some(&body));
        assert_eq!(refused.status, 400, "{}", refused.text);
        let detail = refused.json["detail"].as_str().expect("detail");
        assert!(detail.contains(why), "{body}: {detail}");
    }
    let listed = call(&server, "GET", "/tenants/acme/clients", &key, None);
    assert_eq!(listed.json["data"], json!([]), "nothing was written");

    let out = crate::helpers::cli(
        &server.store,
        &[
            "client",
            "federate",
            "--tenant",
            "acme",
            "--issuer",
            "https://login.example.com/t/v2.0",
            "--jwks-url",
            "https://login.example.com/t/keys",
            "--subject",
            SUBJECT,
            "--audience",
            AUDIENCE,
        ],
    );
    let made: Value = serde_json::from_str(out.lines().last().expect("a last line")).expect("JSON");
    assert_eq!(made["authentication"], "federation", "{out}");
    assert_eq!(
        made["federation"]["jwksUrl"],
        "https://login.example.com/t/keys"
    );
    let listed = call(&server, "GET", "/tenants/acme/clients", &key, None);
    assert_eq!(listed.json["data"][0]["client_id"], made["client_id"]);
}
