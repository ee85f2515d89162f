//! RFC 8936 polling end to end: a tenant's client drains its event stream with poll
//! requests, acknowledging as it goes; SETs are ES256-signed and verify with the keys at
//! `/.well-known/jwks.json`; unacknowledged SETs come again; a long poll answers when an
//! event arrives; tenants never see each other's events.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use serde_json::{Value, json};

use crate::helpers::{Reply, Server, Store, USER_SCHEMA, cli, tenant_with_token};

const CREATE: &str = "urn:ietf:params:scim:event:prov:create:full";
const ASSIGNED: &str = "urn:scim-license:event:license:assigned";

pub(crate) fn poll(server: &Server, token: &str, body: &Value) -> Reply {
    server.send(
        "POST",
        "/events/poll",
        Some(token),
        &[("Content-Type", "application/json")],
        Some(body.to_string().as_bytes()),
    )
}

/// The answer's SETs, verified against the published keys: `(jti, claims)` in jti order.
fn verified(server: &Server, reply: &Reply) -> Vec<(String, Value)> {
    assert_eq!(reply.status, 200, "{}", reply.text);
    let jwks = server.send("GET", "/.well-known/jwks.json", None, &[], None);
    assert_eq!(jwks.status, 200);
    let mut out = Vec::new();
    for (jti, jwt) in reply.json["sets"].as_object().expect("sets") {
        let parts: Vec<&str> = jwt.as_str().expect("a compact JWS").split('.').collect();
        assert_eq!(parts.len(), 3);
        let decode = |part: &str| -> Value {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
        };
        let header = decode(parts[0]);
        assert_eq!(
            (header["alg"].as_str(), header["typ"].as_str()),
            (Some("ES256"), Some("secevent+jwt"))
        );
        let key = jwks.json["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .find(|key| key["kid"] == header["kid"])
            .expect("the signing key is published");
        let mut point = vec![0x04];
        for coordinate in ["x", "y"] {
            point.extend(
                URL_SAFE_NO_PAD
                    .decode(key[coordinate].as_str().expect("coordinate"))
                    .expect("base64url"),
            );
        }
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).expect("signature");
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .expect("the SET's signature verifies");
        let claims = decode(parts[1]);
        assert_eq!(claims["jti"], jti.as_str());
        assert_eq!(claims["iss"], "https://scim.example.test");
        assert_eq!(claims["aud"], json!(["urn:scim-license:tenant:acme"]));
        assert!(claims.get("sub").is_none(), "RFC 9967 forbids sub");
        out.push((jti.clone(), claims));
    }
    out.sort_by_key(|(jti, _)| jti.trim_start_matches("evt-").parse::<i64>().unwrap_or(0));
    out
}

fn create_user(server: &Server, token: &str, name: &str, entitled: bool) -> String {
    let mut body = json!({"schemas": [USER_SCHEMA], "userName": name});
    if entitled {
        body["entitlements"] = json!([{"value": "pro"}]);
    }
    let reply = server.post("/scim/v2/Users", token, &body);
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json["id"].as_str().expect("id").to_owned()
}

fn drain(store: Store) {
    let token = tenant_with_token(&store, "acme");
    let other = tenant_with_token(&store, "globex");
    cli(
        &store,
        &[
            "license", "set", "--tenant", "acme", "--sku", "pro", "--seats", "5",
        ],
    );
    let server = Server::start_with(
        store,
        &[
            "--poll-wait-seconds",
            "3",
            "--public-url",
            "https://scim.example.test",
        ],
        "warn",
        std::process::Stdio::inherit(),
    );
    let immediately = json!({"returnImmediately": true});
    let alice = create_user(&server, &token, "alice", true);

    let first = verified(&server, &poll(&server, &token, &immediately));
    assert_eq!(first.len(), 2, "{first:?}");
    assert_eq!(
        first[0].1["sub_id"],
        json!({"format": "scim", "uri": format!("/Users/{alice}")})
    );
    assert_eq!(first[0].1["events"][CREATE]["data"]["userName"], "alice");
    assert_eq!(first[1].1["events"][ASSIGNED]["sku"], "pro");
    // Not acknowledged: sent again, with the same jtis.
    let again = verified(&server, &poll(&server, &token, &immediately));
    let jtis =
        |sets: &[(String, Value)]| sets.iter().map(|(jti, _)| jti.clone()).collect::<Vec<_>>();
    assert_eq!(jtis(&again), jtis(&first));
    // Another tenant sees none of it.
    let foreign = poll(&server, &other, &immediately);
    assert_eq!(foreign.json, json!({"sets": {}}), "{}", foreign.text);

    // Acknowledge only (maxEvents 0): nothing comes back, and nothing is left.
    let acked = poll(
        &server,
        &token,
        &json!({"ack": jtis(&first), "maxEvents": 0, "returnImmediately": true}),
    );
    assert_eq!(acked.json, json!({"sets": {}}), "{}", acked.text);
    assert_eq!(
        poll(&server, &token, &immediately).json,
        json!({"sets": {}})
    );

    // More than maxEvents waiting: moreAvailable, then the rest after the ack.
    for name in ["bob", "carol", "dave"] {
        create_user(&server, &token, name, false);
    }
    let page = poll(
        &server,
        &token,
        &json!({"maxEvents": 2, "returnImmediately": true}),
    );
    let page_sets = verified(&server, &page);
    assert_eq!(page_sets.len(), 2);
    assert_eq!(page.json["moreAvailable"], true);
    let rest = poll(
        &server,
        &token,
        &json!({"ack": jtis(&page_sets), "returnImmediately": true}),
    );
    let rest_sets = verified(&server, &rest);
    assert_eq!(rest_sets.len(), 1);
    assert!(rest.json.get("moreAvailable").is_none());
    assert_eq!(rest_sets[0].1["events"][CREATE]["data"]["userName"], "dave");

    // A long poll answers when an event arrives. (setErrs acknowledge too.)
    let errors = json!({rest_sets[0].0.clone(): {"err": "invalid_request", "description": "test"}});
    std::thread::scope(|scope| {
        let waiting = scope.spawn(|| poll(&server, &token, &json!({"setErrs": errors})));
        std::thread::sleep(Duration::from_millis(700));
        create_user(&server, &token, "erin", false);
        let woken = verified(&server, &waiting.join().expect("poller"));
        assert_eq!(woken.len(), 1, "{woken:?}");
        assert_eq!(woken[0].1["events"][CREATE]["data"]["userName"], "erin");
        // Acknowledged; a long poll with nothing to send answers empty after its wait.
        let empty = poll(&server, &token, &json!({"ack": jtis(&woken)}));
        assert_eq!(empty.json, json!({"sets": {}}), "{}", empty.text);
    });

    // Bad requests and missing credentials.
    let bad = poll(&server, &token, &json!({"maxEvents": "ten"}));
    assert_eq!(bad.status, 400, "{}", bad.text);
    let anonymous = server.send(
        "POST",
        "/events/poll",
        None,
        &[("Content-Type", "application/json")],
        Some(b"{}"),
    );
    assert_eq!(anonymous.status, 401);
}

#[test]
fn poll_drains_the_event_stream_on_sqlite() {
    drain(Store::sqlite());
}

#[test]
fn poll_drains_the_event_stream_on_postgres() {
    if let Some(store) = Store::postgres("e2e_poll") {
        drain(store);
    }
}
