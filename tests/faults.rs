//! The server against a failing database.

use std::process::Command;

use crate::helpers::{Server, Store, tenant_with_token};

/// Every connection the server holds to PostgreSQL is cut, as a database restart or a
/// failover does. Connections used within the last second are handed out without a ping
/// (it would cost a quarter of a GET), so at most one request meets a dead connection: it
/// fails fast with a SCIM 503, and every connection is checked before its next use, so the
/// requests after it all succeed.
#[test]
fn cut_connections_cost_at_most_one_request() {
    let Some(store) = Store::postgres("e2e connections cut") else {
        return;
    };
    let token = tenant_with_token(&store, "acme");
    let server = Server::start_with(
        store,
        &["--credential-cache-seconds", "0"],
        "warn",
        std::process::Stdio::inherit(),
    );
    // Several connections in the pool: concurrent requests.
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..10 {
                    assert_eq!(server.get("/scim/v2/Users", &token).status, 200);
                }
            });
        }
    });
    let cut = Command::new("psql")
        .arg(server.store.url())
        .args([
            "-Atc",
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        ])
        .output()
        .expect("psql runs");
    assert!(
        cut.status.success(),
        "{}",
        String::from_utf8_lossy(&cut.stderr)
    );
    let cut: u32 = String::from_utf8_lossy(&cut.stdout).trim().parse().unwrap();
    assert!(cut >= 1, "the server held connections");
    let replies: Vec<_> = (0..20)
        .map(|_| server.get("/scim/v2/Users", &token))
        .collect();
    let failed: Vec<_> = replies.iter().filter(|reply| reply.status != 200).collect();
    assert!(
        failed.len() <= 1,
        "{} requests failed, the first with {}: {}",
        failed.len(),
        failed[0].status,
        failed[0].text
    );
    for reply in failed {
        reply.assert_error(503, None);
    }
    assert_eq!(replies.last().map(|reply| reply.status), Some(200));
}
