//! PostgreSQL going away under load, as a restart or a network partition does: the server
//! reaches the database through a TCP proxy the test cuts (every connection dropped, new
//! ones closed at once) and restores. Requests during the outage fail fast with a SCIM 503,
//! the server recovers by itself, and no acknowledged write is lost or doubled; seats and
//! events stay consistent with the users stored.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{Server, Store, USER_SCHEMA, cli, create_events, tenant_with_token};

/// How long the database is away: longer than the pool's 5 s connection timeout, so a
/// request that waited for the database instead of failing fast would show.
const OUTAGE: Duration = Duration::from_secs(9);

/// A TCP proxy to PostgreSQL that can be cut and restored.
struct Proxy {
    port: u16,
    open: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy port");
        let port = listener.local_addr().expect("address").port();
        let open = Arc::new(AtomicBool::new(true));
        let streams = Arc::new(Mutex::new(Vec::new()));
        let (accepting, tracked) = (Arc::clone(&open), Arc::clone(&streams));
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                if !accepting.load(Ordering::SeqCst) {
                    // Closed at once: the database "is down".
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let mut tracked = tracked.lock().expect("streams");
                for stream in [&client, &server] {
                    if let Ok(copy) = stream.try_clone() {
                        tracked.push(copy);
                    }
                }
                pipe(&client, &server);
                pipe(&server, &client);
            }
        });
        Proxy {
            port,
            open,
            streams,
        }
    }

    /// Drops every connection and refuses new ones.
    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for stream in self.streams.lock().expect("streams").drain(..) {
            stream.shutdown(Shutdown::Both).ok();
        }
    }

    fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

/// Copies `from` to `to` until either closes.
fn pipe(from: &TcpStream, to: &TcpStream) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    std::thread::spawn(move || {
        let mut buffer = [0u8; 16 * 1024];
        while let Ok(n) = from.read(&mut buffer) {
            if n == 0 || to.write_all(&buffer[..n]).is_err() {
                break;
            }
        }
        from.shutdown(Shutdown::Both).ok();
        to.shutdown(Shutdown::Both).ok();
    });
}

/// What one create got.
struct Outcome {
    user_name: String,
    status: u16,
    took: Duration,
}

#[test]
fn a_database_outage_fails_fast_recovers_and_loses_no_acknowledged_write() {
    let Some(store) = Store::postgres("e2e database outage") else {
        return;
    };
    let token = tenant_with_token(&store, "acme");
    cli(
        &store,
        &[
            "license", "set", "--tenant", "acme", "--sku", "pro", "--seats", "100000",
        ],
    );
    let url = store.url();
    let (authority, database) = url
        .strip_prefix("postgres://postgres@")
        .and_then(|rest| rest.split_once('/'))
        .expect("postgres://postgres@HOST:PORT/DB");
    let proxy = Proxy::start(authority.to_owned());
    let through_proxy = format!("postgres://postgres@127.0.0.1:{}/{database}", proxy.port);
    // Tokens looked up on every request, so authentication meets the outage too.
    let server = Server::start_at(store, &through_proxy, &["--credential-cache-seconds", "0"]);

    let started = Instant::now();
    let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..4)
            .map(|writer| {
                let (server, token) = (&server, &token);
                scope.spawn(move || {
                    let mut outcomes = Vec::new();
                    let mut i = 0;
                    while started.elapsed() < Duration::from_secs(14) {
                        i += 1;
                        let user_name = format!("w{writer}-{i}");
                        let body = json!({"schemas": [USER_SCHEMA], "userName": user_name,
                                          "entitlements": [{"value": "pro"}]});
                        let sent = Instant::now();
                        let reply = server.post("/scim/v2/Users", token, &body);
                        if reply.status != 201 {
                            // Not acknowledged: a SCIM 503, nothing else.
                            reply.assert_error(503, None);
                            std::thread::sleep(Duration::from_millis(50));
                        }
                        outcomes.push(Outcome {
                            user_name,
                            status: reply.status,
                            took: sent.elapsed(),
                        });
                    }
                    outcomes
                })
            })
            .collect();
        std::thread::sleep(Duration::from_secs(2));
        // Longer than the pool's 5 s bound, so that requests must give up before it ends.
        proxy.cut();
        std::thread::sleep(OUTAGE);
        proxy.restore();
        writers
            .into_iter()
            .flat_map(|writer| writer.join().expect("writer"))
            .collect()
    });

    let failed = outcomes.iter().filter(|o| o.status != 201).count();
    let slowest = outcomes.iter().map(|o| o.took).max().expect("outcomes");
    eprintln!(
        "outage: {} creates, {failed} refused with 503, the slowest answered in {slowest:?}",
        outcomes.len()
    );
    assert!(failed >= 1, "the outage was seen");
    // Once a connection attempt has failed, requests give up within a quarter second
    // instead of the pool's 5 s: most refusals are quick.
    let mut refused: Vec<Duration> = outcomes
        .iter()
        .filter(|o| o.status != 201)
        .map(|o| o.took)
        .collect();
    refused.sort_unstable();
    let median = refused[refused.len() / 2];
    assert!(
        failed >= 8 && median < Duration::from_millis(1500),
        "{failed} refusals, median {median:?}: requests during the outage fail fast"
    );
    assert!(
        slowest < Duration::from_secs(7),
        "every request answered within the pool's 5 s bound (the outage lasted {OUTAGE:?}), \
         the slowest took {slowest:?}"
    );
    // Recovered by itself: the last second's requests all succeeded.
    let last: Vec<&Outcome> = outcomes.iter().rev().take(8).collect();
    assert!(
        last.iter().all(|o| o.status == 201),
        "{:?}",
        last.iter().map(|o| o.status).collect::<Vec<_>>()
    );

    // What is stored: every acknowledged user, and unacknowledged ones only wholly.
    let acknowledged: BTreeSet<&str> = outcomes
        .iter()
        .filter(|o| o.status == 201)
        .map(|o| o.user_name.as_str())
        .collect();
    let attempted: BTreeSet<&str> = outcomes.iter().map(|o| o.user_name.as_str()).collect();
    let mut stored = BTreeSet::new();
    let mut start = 1;
    loop {
        let page = server.get(
            &format!("/scim/v2/Users?startIndex={start}&count=500&attributes=userName"),
            &token,
        );
        assert_eq!(page.status, 200, "{}", page.text);
        let resources = page.json["Resources"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if resources.is_empty() {
            break;
        }
        for user in &resources {
            stored.insert(user["userName"].as_str().expect("userName").to_owned());
        }
        start += resources.len();
    }
    let stored: BTreeSet<&str> = stored.iter().map(String::as_str).collect();
    assert!(
        acknowledged.is_subset(&stored),
        "lost: {:?}",
        acknowledged.difference(&stored).collect::<Vec<_>>()
    );
    assert!(stored.is_subset(&attempted), "only users that were sent");
    // Seats: one per stored user (each asked for pro), none for users that are not there.
    let pool = server.get("/scim/v2/Licenses/pro", &token).json;
    assert_eq!(pool["used"], json!(stored.len()), "{pool}");
    // Events: one create event per stored user.
    let created = create_events(&server.store);
    assert_eq!(created, stored.len());
}
