//! Push delivery (RFC 8935) end to end: receivers written in the test (`receiver.rs`) on
//! loopback get the tenant's SETs, HS256-signed with their secret; a receiver that fails
//! for a while gets everything in order once it recovers; one that never does dead-letters
//! after the bound and is re-driven; an OAuth-protected one is called with a bearer token
//! obtained by client credentials; a SIGKILL loses no committed write's event; two server
//! processes on one PostgreSQL share 10,000 deliveries.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Server, Store, USER_SCHEMA, cli, cli_output, tenant_with_token, user};
use crate::receiver::{self, Answer, CLIENT_ID, CLIENT_SECRET, Receiver, seq, subject};

const CREATE: &str = "urn:ietf:params:scim:event:prov:create:full";
const PATCH: &str = "urn:ietf:params:scim:event:prov:patch:full";
const ASSIGNED: &str = "urn:scim-license:event:license:assigned";

/// Quick retries, so that tests do not wait out production backoffs; short pushes, so a
/// killed process's leases (4 × timeout + 5 s) end soon.
const FAST: [&str; 6] = [
    "--webhook-first-backoff-ms",
    "50",
    "--webhook-max-backoff-seconds",
    "1",
    "--webhook-timeout-seconds",
    "1",
];

/// `webhook add`: the receiver's id and secret (the last line of stdout).
fn add_webhook(store: &Store, url: &str, extra: &[&str]) -> (String, String) {
    let mut args = vec!["webhook", "add", "--tenant", "acme", "--url", url];
    args.extend_from_slice(extra);
    let out = cli(store, &args);
    let last: Value = serde_json::from_str(out.lines().last().expect("a last line")).expect("JSON");
    (
        last["id"].as_str().expect("id").to_owned(),
        last["secret"].as_str().expect("secret").to_owned(),
    )
}

/// `webhook list --json`, by receiver id.
fn figures(store: &Store) -> BTreeMap<String, Value> {
    let out = cli(store, &["webhook", "list", "--tenant", "acme", "--json"]);
    serde_json::from_str::<Value>(out.trim())
        .expect("JSON")
        .as_array()
        .expect("an array")
        .iter()
        .map(|row| {
            (
                row["id"].as_str().unwrap_or_default().to_owned(),
                row.clone(),
            )
        })
        .collect()
}

fn dead_letters(store: &Store, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["webhook", "deadletters", "--tenant", "acme", "--json"];
    args.extend_from_slice(extra);
    let out = cli(store, &args);
    let json_line = out
        .lines()
        .find(|line| line.starts_with('['))
        .expect("JSON");
    serde_json::from_str::<Value>(json_line)
        .expect("JSON")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn licensed_user(name: &str) -> Value {
    json!({"schemas": [USER_SCHEMA], "userName": name, "externalId": format!("ext-{name}"),
           "entitlements": [{"value": "pro"}]})
}

fn event_uris(claims: &Value) -> Vec<String> {
    claims["events"]
        .as_object()
        .map(|events| events.keys().cloned().collect())
        .unwrap_or_default()
}

/// Asserts that per subject the SETs arrived in `seq` order, each once.
fn assert_in_order_per_subject(claims: &[Value]) {
    let mut last: BTreeMap<String, i64> = BTreeMap::new();
    for set in claims {
        let (subject, seq) = (subject(set), seq(set));
        if let Some(previous) = last.insert(subject.clone(), seq) {
            assert!(
                previous < seq,
                "{subject}: SET {seq} arrived after {previous}"
            );
        }
    }
}

fn licensed_tenant(store: &Store, seats: u32) -> String {
    let token = tenant_with_token(store, "acme");
    cli(
        store,
        &[
            "license",
            "set",
            "--tenant",
            "acme",
            "--sku",
            "pro",
            "--seats",
            &seats.to_string(),
        ],
    );
    token
}

#[test]
fn a_licensed_user_delivers_create_and_license_sets_signed_with_the_secret() {
    let store = Store::sqlite();
    let token = licensed_tenant(&store, 10);
    let receiver = Receiver::start(Answer::Accept);
    let (id, secret) = add_webhook(&store, &receiver.url(), &[]);
    assert!(secret.len() >= 32, "a generated HS256 secret of 256 bits");
    let server = Server::start_with(
        store,
        &["--public-url", "https://scim.example.com"],
        "warn",
        std::process::Stdio::inherit(),
    );
    let created = server.post("/scim/v2/Users", &token, &licensed_user("alice"));
    assert_eq!(created.status, 201, "{}", created.text);
    let user_id = created.json["id"].as_str().unwrap().to_owned();

    let claims = receiver.wait_for(&secret, Duration::from_secs(30), "two SETs", |c| {
        c.len() >= 2
    });
    assert_eq!(claims.len(), 2, "exactly the create and the assignment");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(receiver.accepted().len(), 2, "and nothing more arrives");
    let subject_uri = format!("/Users/{user_id}");
    for set in &claims {
        assert_eq!(set["iss"], "https://scim.example.com");
        assert_eq!(set["aud"], json!(["urn:scim-license:tenant:acme"]));
        assert_eq!(set["sub_id"]["format"], "scim");
        assert_eq!(set["sub_id"]["uri"], subject_uri.as_str());
        assert!(set["iat"].as_i64().unwrap() >= set["toe"].as_i64().unwrap());
    }
    assert_eq!(claims[0]["sub_id"]["externalId"], "ext-alice");
    assert_eq!(event_uris(&claims[0]), [CREATE]);
    let data = &claims[0]["events"][CREATE]["data"];
    assert_eq!(data["userName"], "alice");
    assert_eq!(data["id"], user_id.as_str());
    assert_eq!(event_uris(&claims[1]), [ASSIGNED]);
    assert_eq!(claims[1]["events"][ASSIGNED]["sku"], "pro");
    assert!(seq(&claims[0]) < seq(&claims[1]));
    for arrival in receiver.arrivals() {
        assert_eq!(
            arrival.content_type.as_deref(),
            Some("application/secevent+jwt")
        );
        assert_eq!(arrival.authorization, None);
    }
    // The same events as the outbox holds, under the same jti as the poll feed uses.
    let outbox = cli(&server.store, &["events", "--tenant", "acme"]);
    let outbox: Value = serde_json::from_str(outbox.trim()).unwrap();
    assert_eq!(
        outbox
            .as_array()
            .unwrap()
            .iter()
            .map(|e| format!("evt-{}", e["seq"]))
            .collect::<Vec<_>>(),
        claims
            .iter()
            .map(|c| c["jti"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    );
    let figures = &figures(&server.store)[&id];
    assert_eq!(
        (
            &figures["delivered"],
            &figures["retried"],
            &figures["pending"],
            &figures["deadLettered"]
        ),
        (&json!(2), &json!(0), &json!(0), &json!(0))
    );
    assert_eq!(figures["url"], receiver.url().as_str());
    assert!(
        !cli(&server.store, &["webhook", "list", "--tenant", "acme"]).contains(&secret),
        "the secret is shown only once"
    );
}

#[test]
fn a_receiver_that_fails_for_a_while_gets_every_event_in_order_per_resource() {
    let Some(store) = Store::postgres("webhook_recovery") else {
        return;
    };
    let token = tenant_with_token(&store, "acme");
    let receiver = Receiver::start(Answer::FailFirst(8));
    let (id, secret) = add_webhook(&store, &receiver.url(), &[]);
    let server = Server::start_flags(store, &FAST);
    let mut ids = Vec::new();
    for i in 0..5 {
        let created = server.post(
            "/scim/v2/Users",
            &token,
            &json!({"schemas": [USER_SCHEMA], "userName": format!("user{i}")}),
        );
        assert_eq!(created.status, 201);
        ids.push(created.json["id"].as_str().unwrap().to_owned());
    }
    for round in 0..2 {
        for id in &ids {
            let patched = server.patch(
                &format!("/scim/v2/Users/{id}"),
                &token,
                &json!([{"op": "replace", "path": "displayName", "value": format!("Round {round}")}]),
            );
            assert_eq!(patched.status, 200, "{}", patched.text);
        }
    }
    let claims = receiver.wait_for(&secret, Duration::from_secs(60), "15 SETs", |c| {
        c.len() >= 15
    });
    assert_eq!(claims.len(), 15, "each event accepted once");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(receiver.accepted().len(), 15, "and nothing more arrives");
    assert_in_order_per_subject(&claims);
    for id in &ids {
        let mine: Vec<Value> = claims
            .iter()
            .filter(|c| subject(c) == format!("/Users/{id}"))
            .cloned()
            .collect();
        let uris: Vec<Vec<String>> = mine.iter().map(event_uris).collect();
        assert_eq!(
            uris,
            [
                vec![CREATE.to_owned()],
                vec![PATCH.to_owned()],
                vec![PATCH.to_owned()]
            ]
        );
        let versions: Vec<&str> = mine
            .iter()
            .zip([CREATE, PATCH, PATCH])
            .map(|(c, uri)| c["events"][uri]["version"].as_str().unwrap())
            .collect();
        assert_eq!(versions, ["W/\"1\"", "W/\"2\"", "W/\"3\""]);
    }
    let failed = receiver
        .arrivals()
        .iter()
        .filter(|a| a.status == 500)
        .count();
    assert_eq!(failed, 8);
    let figures = &figures(&server.store)[&id];
    assert_eq!(figures["delivered"], 15);
    assert_eq!(figures["retried"], 8);
    assert_eq!(figures["deadLettered"], 0);
}

#[test]
fn a_receiver_that_never_recovers_dead_letters_after_the_bound_and_is_redriven() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    let failing = Receiver::start(Answer::Fail);
    let rejecting = Receiver::start(Answer::Reject);
    let (failing_id, failing_secret) = add_webhook(&store, &failing.url(), &[]);
    let (rejecting_id, _) = add_webhook(&store, &rejecting.url(), &[]);
    let mut flags = FAST.to_vec();
    flags.extend(["--webhook-max-attempts", "3"]);
    let server = Server::start_flags(store, &flags);
    for name in ["alice", "bob"] {
        let created = server.post(
            "/scim/v2/Users",
            &token,
            &json!({"schemas": [USER_SCHEMA], "userName": name}),
        );
        assert_eq!(created.status, 201);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let dead = loop {
        let dead = dead_letters(&server.store, &[]);
        if dead.len() == 4 {
            break dead;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "dead letters: {dead:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let of = |receiver: &str| -> Vec<&Value> {
        dead.iter().filter(|d| d["receiver"] == receiver).collect()
    };
    for letter in of(&failing_id) {
        assert_eq!(letter["attempts"], 3, "{letter}");
        assert_eq!(letter["error"], "HTTP 500");
    }
    // A 400 with an RFC 8935 error is final at once.
    for letter in of(&rejecting_id) {
        assert_eq!(letter["attempts"], 1, "{letter}");
        assert_eq!(
            letter["error"],
            "HTTP 400 invalid_key: Key ID 12 has been revoked"
        );
    }
    assert_eq!(failing.arrivals().len(), 6, "3 attempts of each SET");
    assert_eq!(rejecting.arrivals().len(), 2);
    assert_eq!(of(&failing_id).len(), 2);

    // The receiver recovers; its dead letters are re-driven, the other's stay.
    failing.answer(Answer::Accept);
    let out = cli(
        &server.store,
        &[
            "webhook",
            "deadletters",
            "--tenant",
            "acme",
            "--receiver",
            &failing_id,
            "--redrive",
        ],
    );
    assert!(out.contains("HTTP 500"), "{out}");
    let claims = failing.wait_for(&failing_secret, Duration::from_secs(30), "2 SETs", |c| {
        c.len() >= 2
    });
    assert_eq!(claims.len(), 2);
    assert_in_order_per_subject(&claims);
    let remaining = dead_letters(&server.store, &[]);
    assert_eq!(remaining.len(), 2);
    assert!(
        remaining
            .iter()
            .all(|d| d["receiver"] == rejecting_id.as_str())
    );
    let all = figures(&server.store);
    assert_eq!(
        (
            &all[&failing_id]["delivered"],
            &all[&failing_id]["deadLettered"]
        ),
        (&json!(2), &json!(2))
    );
    assert_eq!(all[&rejecting_id]["deadLettered"], 2);

    // Removing the receiver ends its deliveries and its dead letters.
    cli(
        &server.store,
        &["webhook", "remove", "--tenant", "acme", &rejecting_id],
    );
    assert!(dead_letters(&server.store, &[]).is_empty());
    assert!(!figures(&server.store).contains_key(&rejecting_id));
}

#[test]
fn an_oauth_protected_receiver_gets_a_bearer_token_by_client_credentials() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    let receiver = Receiver::start(Answer::RequireToken);
    let token_url = format!("{}/token", receiver.base);
    let (_, secret) = add_webhook(
        &store,
        &receiver.url(),
        &[
            "--oauth-token-url",
            &token_url,
            "--oauth-client-id",
            CLIENT_ID,
            "--oauth-client-secret",
            CLIENT_SECRET,
            "--oauth-scope",
            "events.write",
        ],
    );
    let server = Server::start_flags(store, &FAST);
    // The first SET's token is revoked by the receiver (400 authentication_failed): the
    // server drops it, gets a new one, and delivers the SET again.
    receiver.revoke_token_once();
    for i in 0..3 {
        let created = server.post(
            "/scim/v2/Users",
            &token,
            &json!({"schemas": [USER_SCHEMA], "userName": format!("user{i}")}),
        );
        assert_eq!(created.status, 201);
    }
    let claims = receiver.wait_for(&secret, Duration::from_secs(30), "3 SETs", |c| c.len() >= 3);
    assert_eq!(claims.len(), 3);
    // The revoked token's SETs (the refused one, and those in flight with it: 401) come
    // again with the new one.
    let arrivals: Vec<(u16, Option<String>)> = receiver
        .arrivals()
        .into_iter()
        .map(|a| (a.status, a.authorization))
        .collect();
    let old = Some("Bearer tok-1".to_owned());
    let new = Some("Bearer tok-2".to_owned());
    assert_eq!(arrivals[0], (400, old.clone()), "{arrivals:?}");
    assert!(
        arrivals.iter().all(|(status, auth)| match status {
            202 => *auth == new,
            400 | 401 => *auth == old,
            _ => false,
        }),
        "{arrivals:?}"
    );
    assert_eq!(arrivals.iter().filter(|(s, _)| *s == 202).count(), 3);
    let requests = receiver.token_requests();
    assert_eq!(
        requests.len(),
        2,
        "a token is kept until refused (or expired): one refusal, one renewal"
    );
    let (_, form) = &requests[0];
    assert!(form.contains("grant_type=client_credentials"), "{form}");
    assert!(form.contains("scope=events.write"), "{form}");
    // The client secret never reaches the CLI's output.
    let listed = cli(
        &server.store,
        &["webhook", "list", "--tenant", "acme", "--json"],
    );
    assert!(!listed.contains(CLIENT_SECRET) && listed.contains("\"oauth\":true"));
}

/// Creates users as fast as one client can until the server is gone: the ids of the
/// acknowledged (201) creates. Every tenth create repeats a userName and is refused (409).
fn create_until_gone(base: &str, token: &str, first: usize) -> (Vec<String>, usize) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let (mut acknowledged, mut refused) = (Vec::new(), 0);
    for i in first.. {
        let name = if i % 10 == 9 { i - 1 } else { i };
        let body = json!({"schemas": [USER_SCHEMA], "userName": format!("user{name}")});
        let Ok(mut reply) = agent
            .post(format!("{base}/scim/v2/Users"))
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", "application/scim+json")
            .send(body.to_string())
        else {
            return (acknowledged, refused);
        };
        let text = reply.body_mut().read_to_string().unwrap_or_default();
        match reply.status().as_u16() {
            201 => {
                let created: Value = serde_json::from_str(&text).unwrap();
                acknowledged.push(created["id"].as_str().unwrap().to_owned());
            }
            409 => refused += 1,
            other => panic!("unexpected {other}: {text}"),
        }
    }
    unreachable!()
}

/// SIGKILL while a client streams creates; after a restart, the receiver gets a SET for
/// every user the store holds (each acknowledged one among them, and the one in flight if
/// it committed), and none for a create that was refused or did not commit.
fn sigkill_in_a_stream_of_writes(store: Store) {
    let token = tenant_with_token(&store, "acme");
    let receiver = Receiver::start(Answer::Accept);
    let (_, secret) = add_webhook(&store, &receiver.url(), &[]);
    let mut server = Server::start_flags(store, &FAST);
    let writer = {
        let (base, token) = (server.base.clone(), token.clone());
        std::thread::spawn(move || create_until_gone(&base, &token, 0))
    };
    // Kill once the stream is well under way (and deliveries with it).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while receiver.arrivals().len() < 100 {
        assert!(
            std::time::Instant::now() < deadline,
            "no deliveries under way"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    server.kill_and_restart(&FAST);
    let (mut acknowledged, refused_before) = writer.join().unwrap();
    assert!(acknowledged.len() >= 100, "{}", acknowledged.len());
    // More writes after the restart.
    let mut refused_after = 0;
    for i in 0..50 {
        let name = 1_000_000 + i;
        let reply = server.post(
            "/scim/v2/Users",
            &token,
            &json!({"schemas": [USER_SCHEMA], "userName": format!("user{name}")}),
        );
        assert_eq!(reply.status, 201, "{}", reply.text);
        acknowledged.push(reply.json["id"].as_str().unwrap().to_owned());
        let again = server.post(
            "/scim/v2/Users",
            &token,
            &json!({"schemas": [USER_SCHEMA], "userName": format!("user{name}")}),
        );
        again.assert_error(409, Some("uniqueness"));
        refused_after += 1;
    }
    assert!(refused_before > 0 && refused_after == 50);
    let stored = server.get("/scim/v2/Users?count=10000&attributes=id", &token);
    let stored: BTreeSet<String> = stored.json["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(stored.len() >= acknowledged.len() && stored.len() <= acknowledged.len() + 1);
    receiver.wait_for(&secret, Duration::from_secs(90), "a SET per user", |c| {
        c.iter().map(subject).collect::<BTreeSet<_>>().len() >= stored.len()
    });
    // Give a stray SET (for a write that did not commit) the chance to show.
    std::thread::sleep(Duration::from_millis(500));
    let claims: Vec<Value> = receiver
        .accepted()
        .iter()
        .map(|jwt| receiver::verify(jwt, &secret))
        .collect();
    let delivered: BTreeSet<String> = claims
        .iter()
        .map(|c| subject(c).trim_start_matches("/Users/").to_owned())
        .collect();
    assert_eq!(
        delivered, stored,
        "a SET for every stored user, none for others"
    );
    assert!(acknowledged.iter().all(|id| delivered.contains(id)));
    assert!(claims.iter().all(|c| event_uris(c) == [CREATE]));
    let jtis: BTreeSet<&str> = claims.iter().filter_map(|c| c["jti"].as_str()).collect();
    assert_eq!(jtis.len(), stored.len());
    println!(
        "after SIGKILL: {} users, {} SETs accepted ({} redelivered)",
        stored.len(),
        claims.len(),
        claims.len() - jtis.len()
    );
}

#[test]
fn sigkill_in_a_stream_of_writes_loses_no_event_on_sqlite() {
    sigkill_in_a_stream_of_writes(Store::sqlite());
}

#[test]
fn sigkill_in_a_stream_of_writes_loses_no_event_on_postgres() {
    if let Some(store) = Store::postgres("webhook_sigkill") {
        sigkill_in_a_stream_of_writes(store);
    }
}

#[test]
fn two_processes_on_one_postgres_deliver_10000_events_between_them() {
    let Some(store) = Store::postgres("webhook_replicas") else {
        return;
    };
    let token = licensed_tenant(&store, 6_000);
    let receiver = Receiver::start(Answer::Accept);
    let (_, secret) = add_webhook(&store, &receiver.url(), &[]);
    let server = Server::start_flags(store, &[]);
    let replica = server.replica(&[]);
    let started = std::time::Instant::now();
    // 5,000 licensed users: a create and an assignment each, half through each process.
    for request in 0..5 {
        let operations: Vec<Value> = (0..1_000)
            .map(|i| {
                json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"),
                       "data": licensed_user(&format!("user-{request}-{i}"))})
            })
            .collect();
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                          "Operations": operations});
        let base = if request % 2 == 0 {
            server.base.clone()
        } else {
            replica.base.clone()
        };
        let reply = server.post_at(&base, "/scim/v2/Bulk", &token, &body);
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert!(
            reply.json["Operations"]
                .as_array()
                .unwrap()
                .iter()
                .all(|op| op["status"] == "201")
        );
    }
    let written = started.elapsed();
    let claims = receiver.wait_for(&secret, Duration::from_secs(300), "10,000 SETs", |c| {
        c.len() >= 10_000
    });
    println!(
        "10,000 events written in {:.1} s; all delivered {:.1} s after the first write \
         (debug build)",
        written.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    let jtis: BTreeSet<&str> = claims.iter().filter_map(|c| c["jti"].as_str()).collect();
    let duplicates = claims.len() - jtis.len();
    println!(
        "two processes delivered {} SETs: {} distinct, {duplicates} duplicates",
        claims.len(),
        jtis.len()
    );
    assert_eq!(jtis.len(), 10_000, "no event missing");
    assert_eq!(
        duplicates, 0,
        "each event delivered once between the processes"
    );
    assert_in_order_per_subject(&claims);
    let creates = claims.iter().filter(|c| event_uris(c) == [CREATE]).count();
    assert_eq!(creates, 5_000);
    drop(replica);
}

/// Receivers that answer slowly (8 s a SET) or fail every time take nothing from the SCIM
/// endpoints: pushes run on their own tasks, after the writes committed.
#[test]
fn slow_and_failing_receivers_never_slow_the_scim_endpoints() {
    let store = Store::sqlite();
    let token = licensed_tenant(&store, 100);
    let slow = Receiver::start(Answer::Slow(8000));
    let failing = Receiver::start(Answer::Fail);
    add_webhook(&store, &slow.url(), &[]);
    add_webhook(&store, &failing.url(), &[]);
    let server = Server::start_with(
        store,
        &["--webhook-first-backoff-ms", "10"],
        "warn",
        std::process::Stdio::inherit(),
    );
    // Once the failing receiver has been tried, a delivery round is under way, and the
    // slow receiver's pushes (8 s each) with it.
    let first = server.post("/scim/v2/Users", &token, &licensed_user("first"));
    assert_eq!(first.status, 201, "{}", first.text);
    let waiting = std::time::Instant::now();
    while failing.arrivals().is_empty() {
        assert!(
            waiting.elapsed() < Duration::from_secs(10),
            "no delivery round"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut slowest = Duration::ZERO;
    for i in 0..40 {
        let started = std::time::Instant::now();
        let reply = server.post("/scim/v2/Users", &token, &licensed_user(&format!("u{i}")));
        assert_eq!(reply.status, 201, "{}", reply.text);
        slowest = slowest.max(started.elapsed());
    }
    assert!(
        slow.accepted().is_empty(),
        "the slow receiver was still busy with the first round"
    );
    assert!(
        slowest < Duration::from_secs(1),
        "a create waited for a receiver: {slowest:?}"
    );
}

/// The server never calls into its own network on a tenant's behalf unless the operator
/// allows it: receiver and token URLs naming loopback, private or link-local addresses are
/// refused when registered, and a name that resolves to one is refused when pushed to,
/// by the address it resolved to (the receiver never hears of it).
#[test]
fn receivers_on_private_networks_are_refused_unless_allowed() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    let strict = |args: &[&str]| {
        let mut all = vec!["--allow-private-webhooks", "false", "webhook", "add"];
        all.extend_from_slice(&["--tenant", "acme"]);
        all.extend_from_slice(args);
        cli_output(&store, &all)
    };
    for url in [
        "http://127.0.0.1:9/events",
        "https://127.0.0.1/events",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/events",
        "https://[::1]/events",
        "https://[::ffff:192.168.0.1]/events",
        "http://localhost:8080/events",
        "http://hooks.acme.example/events",
    ] {
        let refused = strict(&["--url", url]);
        assert!(!refused.status.success(), "{url} was accepted");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            stderr.contains("is not a usable receiver URL"),
            "{url}: {stderr}"
        );
    }
    let private_token_url = strict(&[
        "--url",
        "https://hooks.acme.example/events",
        "--oauth-token-url",
        "https://192.168.1.10/token",
        "--oauth-client-id",
        "c",
        "--oauth-client-secret",
        "s",
    ]);
    assert!(!private_token_url.status.success());
    let public = strict(&["--url", "https://hooks.acme.example/events", "--json"]);
    assert!(public.status.success(), "{public:?}");
    let public: Value =
        serde_json::from_str(String::from_utf8_lossy(&public.stdout).trim()).expect("JSON");
    cli(
        &store,
        &[
            "webhook",
            "remove",
            "--tenant",
            "acme",
            public["id"].as_str().expect("id"),
        ],
    );

    // Registered while allowed, pushed while not: `localhost` resolves to 127.0.0.1.
    let receiver = Receiver::start(Answer::Accept);
    let url = receiver.url().replace("127.0.0.1", "localhost");
    add_webhook(&store, &url, &[]);
    let mut flags = FAST.to_vec();
    flags.extend([
        "--webhook-max-attempts",
        "1",
        "--allow-private-webhooks",
        "false",
    ]);
    let server = Server::start_flags(store, &flags);
    let created = server.post("/scim/v2/Users", &token, &user("ann@acme.example"));
    assert_eq!(created.status, 201);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let dead = loop {
        let dead = dead_letters(&server.store, &[]);
        if !dead.is_empty() {
            break dead;
        }
        assert!(std::time::Instant::now() < deadline, "never dead-lettered");
        std::thread::sleep(Duration::from_millis(100));
    };
    let error = dead[0]["error"].as_str().expect("error");
    assert!(error.contains("resolves to"), "{error}");
    assert!(receiver.arrivals().is_empty(), "the push never left");
}
