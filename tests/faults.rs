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

/// A full disk (SQLite's files may not grow: the server runs under a file size limit):
/// writes answer a SCIM 503 and change nothing, reads go on, the process lives; once there
/// is room again the same database takes writes, with every acknowledged user, its seat
/// and its events intact.
#[test]
fn a_full_disk_refuses_writes_cleanly_and_corrupts_nothing() {
    let store = Store::sqlite();
    let token = crate::helpers::tenant_with_token(&store, "acme");
    crate::helpers::cli(
        &store,
        &[
            "license", "set", "--tenant", "acme", "--sku", "pro", "--seats", "100000",
        ],
    );
    let mut server = Server::start_with_file_size_limit(store, 2048);
    let padding = "x".repeat(4_000);
    let mut acknowledged = Vec::new();
    let mut refused = None;
    for i in 0..2_000 {
        let name = format!("user-{i}");
        let body = serde_json::json!({
            "schemas": [crate::helpers::USER_SCHEMA], "userName": name, "title": padding,
            "entitlements": [{"value": "pro"}],
        });
        let reply = server.post("/scim/v2/Users", &token, &body);
        if reply.status == 201 {
            acknowledged.push(name);
        } else {
            refused = Some(reply);
            break;
        }
    }
    let refused = refused.expect("the disk filled up within 2,000 users of 4 kB");
    let detail = refused.assert_error(503, None);
    eprintln!(
        "full disk: {} users fitted, then 503: {detail}",
        acknowledged.len()
    );
    assert!(
        acknowledged.len() >= 10,
        "{} users fitted",
        acknowledged.len()
    );
    // Reads go on.
    let page = server.get("/scim/v2/Users?count=1", &token);
    assert_eq!(page.status, 200, "{}", page.text);

    // Room again: the same database, every acknowledged user with its seat and event.
    server.kill_and_restart(&[]);
    let total = server.get("/scim/v2/Users?count=0", &token);
    let stored = total.json["totalResults"].as_u64().expect("totalResults");
    assert!(
        stored == acknowledged.len() as u64 || stored == acknowledged.len() as u64 + 1,
        "{stored} stored, {} acknowledged",
        acknowledged.len()
    );
    let last = &acknowledged[acknowledged.len() - 1];
    let found = server.get(
        &format!("/scim/v2/Users?filter=userName%20eq%20%22{last}%22"),
        &token,
    );
    assert_eq!(found.json["totalResults"], 1, "{}", found.text);
    let pool = server.get("/scim/v2/Licenses/pro", &token).json;
    assert_eq!(pool["used"].as_u64(), Some(stored), "{pool}");
    let after = serde_json::json!({"schemas": [crate::helpers::USER_SCHEMA], "userName": "after"});
    assert_eq!(server.post("/scim/v2/Users", &token, &after).status, 201);
    let creates = crate::helpers::create_events(&server.store) as u64;
    assert_eq!(creates, stored + 1, "one create event per stored user");
}

/// The SQLite files turned read-only under a running server (`chattr +i`, which binds root
/// too, on the database and its WAL and shared-memory files, as a filesystem remounted
/// read-only does): writes answer a SCIM 503 and change nothing, reads go on, the log says
/// why, and once the files are writable again the same server takes writes without a
/// restart and holds exactly the acknowledged users, seats and events.
#[test]
fn a_read_only_database_file_refuses_writes_and_recovers() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    crate::helpers::cli(
        &store,
        &[
            "license", "set", "--tenant", "acme", "--sku", "pro", "--seats", "10",
        ],
    );
    let database = store.url().trim_start_matches("sqlite://").to_owned();
    let logs = tempfile::NamedTempFile::new().expect("log file");
    let server = Server::start_with(
        store,
        &["--log-format", "json"],
        "warn",
        std::process::Stdio::from(logs.reopen().expect("log file")),
    );
    let user = |name: &str| {
        serde_json::json!({"schemas": [crate::helpers::USER_SCHEMA], "userName": name,
                           "entitlements": [{"value": "pro"}]})
    };
    let before = server.post("/scim/v2/Users", &token, &user("before"));
    assert_eq!(before.status, 201, "{}", before.text);
    let id = before.json["id"].as_str().expect("id").to_owned();
    // The last write before the file turns read-only is a DELETE, which reads nothing
    // back: the next transaction must still fail with 503, not kill the server (SQLite
    // writing a WAL read mark into the mapped -shm file is a SIGBUS on an unwritable file).
    let gone = server.post("/scim/v2/Users", &token, &user("gone"));
    assert_eq!(gone.status, 201, "{}", gone.text);
    let gone = gone.json["id"].as_str().expect("id").to_owned();
    let deleted = server.delete(&format!("/scim/v2/Users/{gone}"), &token);
    assert_eq!(deleted.status, 204, "{}", deleted.text);

    let immutable = Immutable::set(&database);
    let refused = server.post("/scim/v2/Users", &token, &user("refused"));
    let detail = refused.assert_error(503, None);
    assert!(detail.contains("unavailable"), "{detail}");
    let rename = serde_json::json!([{"op": "replace", "path": "displayName", "value": "X"}]);
    server
        .patch(&format!("/scim/v2/Users/{id}"), &token, &rename)
        .assert_error(503, None);
    server
        .delete(&format!("/scim/v2/Users/{id}"), &token)
        .assert_error(503, None);
    // Reads go on, and show nothing of the refused writes.
    let read = server.get(&format!("/scim/v2/Users/{id}"), &token);
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.json["userName"], "before");
    assert!(read.json.get("displayName").is_none(), "{}", read.text);
    let log = std::fs::read_to_string(logs.path()).expect("log");
    assert!(
        log.lines()
            .any(|line| line.contains("disk I/O error") && line.contains("request_id")),
        "no log line of a request names the cause:\n{log}"
    );

    drop(immutable);
    let after = server.post("/scim/v2/Users", &token, &user("after"));
    assert_eq!(
        after.status, 201,
        "writable again, without a restart: {}",
        after.text
    );
    let names = server.get("/scim/v2/Users?attributes=userName", &token);
    let mut names: Vec<&str> = names.json["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .filter_map(|user| user["userName"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["after", "before"]);
    let pool = server.get("/scim/v2/Licenses/pro", &token).json;
    assert_eq!(pool["used"], 2, "{pool}");
    // before, gone and after: the refused create recorded nothing.
    assert_eq!(crate::helpers::create_events(&server.store), 3);
}

/// `chattr +i` on a SQLite database and its companion files, undone when dropped (also
/// when the test fails, so that its directory can be removed).
struct Immutable(Vec<String>);

impl Immutable {
    fn set(database: &str) -> Self {
        let files: Vec<String> = ["", "-wal", "-shm"]
            .iter()
            .map(|suffix| format!("{database}{suffix}"))
            .filter(|file| std::path::Path::new(file).exists())
            .collect();
        let status = Command::new("chattr")
            .arg("+i")
            .args(&files)
            .status()
            .expect("chattr (e2fsprogs)");
        assert!(
            status.success(),
            "chattr +i failed: this test needs root with CAP_LINUX_IMMUTABLE on a filesystem \
             with the immutable attribute (ext4, xfs, btrfs)"
        );
        Immutable(files)
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").args(&self.0).status();
    }
}
