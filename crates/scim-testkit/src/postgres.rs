//! Fresh PostgreSQL stores: each test gets its own database, cloned from a migrated template
//! (`CREATE DATABASE … TEMPLATE …`, far faster than migrating) and dropped afterwards.
//!
//! The server is `SCIM_TEST_POSTGRES_URL`, by default `postgres://postgres@127.0.0.1:5432/test`
//! (the database in the URL is only used to administer the others). When it cannot be
//! reached, the tests fail if `CI=true`; otherwise they warn loudly, record the suite in
//! `target/skipped-suites.txt` and pass without running.
//!
//! The template is named after a hash of the PostgreSQL migrations, so it is built once per
//! migration set (under an advisory lock, so parallel test processes build it once between
//! them) and reused by later runs; templates of older migration sets are dropped when a new
//! one is built.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use sha2::{Digest, Sha256};

use crate::fixtures::registry;
use crate::{OpenStore, SqlStoreFactory, TestDatabase, blocking, test_config};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// The advisory lock that serialises building templates across test processes.
const TEMPLATE_LOCK: i64 = 0x5c1a_7e57;
const TEMPLATE_PREFIX: &str = "scim_template_";

/// The PostgreSQL server the tests use, with its template database ready.
#[derive(Debug)]
struct Server {
    admin_url: String,
    template: String,
}

pub struct PostgresFactory {
    server: &'static Server,
}

/// The factory, or `None` (after a loud warning) when PostgreSQL is unreachable outside CI.
/// `suite` names what is skipped in `target/skipped-suites.txt`.
pub async fn factory(suite: &'static str) -> Option<PostgresFactory> {
    static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
    let server = blocking(|| SERVER.get_or_init(Server::prepare).as_ref()).await;
    match server {
        Ok(server) => Some(PostgresFactory { server }),
        Err(reason) => {
            skip(suite, reason);
            None
        }
    }
}

/// Runs SQL statements on the database at `url` (for benchmarks: `ANALYZE` after loading).
pub fn execute(url: &str, sql: &str) {
    let mut connection = PgConnection::establish(url)
        .unwrap_or_else(|error| panic!("cannot connect to {}: {error}", without_password(url)));
    connection
        .batch_execute(sql)
        .unwrap_or_else(|error| panic!("cannot run {sql}: {error}"));
}

impl SqlStoreFactory for PostgresFactory {
    const OPEN: OpenStore = scim_store::open;

    /// A new database cloned from the migrated template.
    async fn database(&self) -> TestDatabase {
        let server = self.server;
        let name = unique_name();
        let created = name.clone();
        blocking(move || {
            let mut admin = server.admin();
            admin
                .batch_execute(&format!(
                    r#"CREATE DATABASE "{created}" TEMPLATE "{}""#,
                    server.template
                ))
                .unwrap_or_else(|error| panic!("cannot create database {created}: {error}"));
        })
        .await;
        let url = with_database(&server.admin_url, &name);
        TestDatabase::new(url, Box::new(DropDatabase { server, name }))
    }
}

impl Server {
    /// Connects (an error here means unreachable) and makes sure the template exists.
    fn prepare() -> Result<Self, String> {
        let admin_url =
            std::env::var("SCIM_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.into());
        let mut admin = PgConnection::establish(&with_param(&admin_url, "connect_timeout=3"))
            .map_err(|error| {
                let shown = without_password(&admin_url);
                format!("PostgreSQL at {shown} is unreachable: {error}")
            })?;
        let template = format!("{TEMPLATE_PREFIX}{}", migrations_fingerprint());
        let server = Self {
            admin_url,
            template,
        };
        diesel::sql_query("SELECT pg_advisory_lock($1)")
            .bind::<BigInt, _>(TEMPLATE_LOCK)
            .execute(&mut admin)
            .expect("the template lock");
        if !database_exists(&mut admin, &server.template) {
            server.build_template(&mut admin);
        }
        diesel::sql_query("SELECT pg_advisory_unlock($1)")
            .bind::<BigInt, _>(TEMPLATE_LOCK)
            .execute(&mut admin)
            .expect("the template lock released");
        Ok(server)
    }

    /// Migrates a new database by opening a store on it, then renames it to the template's
    /// name, so that a half-built template never carries the name.
    fn build_template(&self, admin: &mut PgConnection) {
        let building = format!("{}_building", self.template);
        drop_database(admin, &building, true);
        admin
            .batch_execute(&format!(r#"CREATE DATABASE "{building}""#))
            .expect("the template database is created");
        let store = scim_store::open(
            &with_database(&self.admin_url, &building),
            registry(),
            &test_config(),
        )
        .unwrap_or_else(|error| panic!("cannot migrate the template database: {error}"));
        drop(store);
        // The pool closes its connections on drop; make sure none lingers for the rename.
        diesel::sql_query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind::<Text, _>(&building)
        .execute(admin)
        .expect("connections to the template are closed");
        admin
            .batch_execute(&format!(
                r#"ALTER DATABASE "{building}" RENAME TO "{}""#,
                self.template
            ))
            .expect("the template database is renamed");
        for old in template_databases(admin) {
            if old != self.template {
                // Without FORCE: a template another process is cloning right now stays.
                drop_database(admin, &old, false);
            }
        }
    }

    fn admin(&self) -> PgConnection {
        PgConnection::establish(&self.admin_url)
            .unwrap_or_else(|error| panic!("cannot connect to {}: {error}", self.admin_url))
    }
}

/// Drops its database, connections and all, when dropped.
struct DropDatabase {
    server: &'static Server,
    name: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        match PgConnection::establish(&self.server.admin_url) {
            Ok(mut admin) => drop_database(&mut admin, &self.name, true),
            Err(error) => eprintln!("warning: cannot drop test database {}: {error}", self.name),
        }
    }
}

/// `DROP DATABASE IF EXISTS`, reporting (never panicking on) failure: it runs in `Drop`.
fn drop_database(admin: &mut PgConnection, name: &str, force: bool) {
    let force = if force { " WITH (FORCE)" } else { "" };
    if let Err(error) = admin.batch_execute(&format!(r#"DROP DATABASE IF EXISTS "{name}"{force}"#))
    {
        eprintln!("warning: cannot drop database {name}: {error}");
    }
}

#[derive(QueryableByName)]
struct DatabaseName {
    #[diesel(sql_type = Text)]
    datname: String,
}

fn database_exists(admin: &mut PgConnection, name: &str) -> bool {
    diesel::sql_query("SELECT datname::text AS datname FROM pg_database WHERE datname = $1")
        .bind::<Text, _>(name)
        .load::<DatabaseName>(admin)
        .expect("pg_database is readable")
        .len()
        == 1
}

fn template_databases(admin: &mut PgConnection) -> Vec<String> {
    diesel::sql_query(
        "SELECT datname::text AS datname FROM pg_database WHERE starts_with(datname::text, $1)",
    )
    .bind::<Text, _>(TEMPLATE_PREFIX)
    .load::<DatabaseName>(admin)
    .expect("pg_database is readable")
    .into_iter()
    .map(|row| row.datname)
    .collect()
}

/// A hash of every PostgreSQL migration file (path and content).
fn migrations_fingerprint() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/postgres");
    let mut files = Vec::new();
    collect_files(&root, &mut files);
    files.sort();
    let mut hash = Sha256::new();
    for file in files {
        hash.update(
            file.strip_prefix(&root)
                .unwrap_or(&file)
                .to_string_lossy()
                .as_bytes(),
        );
        hash.update(std::fs::read(&file).expect("a readable migration file"));
    }
    hash.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            collect_files(&path, files);
        } else {
            files.push(path);
        }
    }
}

/// A database name no other test (of this or another process) uses.
fn unique_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_micros() % 1_000_000_000_000);
    format!(
        "scim_test_{}_{started}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (location, query) = match rest.split_once('?') {
        Some((location, query)) => (location, Some(query)),
        None => (rest, None),
    };
    let authority = location
        .split_once('/')
        .map_or(location, |(authority, _)| authority);
    match query {
        Some(query) => format!("{scheme}://{authority}/{name}?{query}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

/// `url` without the password of its user, for messages.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((user_info, host)) => {
            let user = user_info
                .split_once(':')
                .map_or(user_info, |(user, _)| user);
            format!("{scheme}://{user}@{host}")
        }
        None => url.to_owned(),
    }
}

/// `url` with one more query parameter.
fn with_param(url: &str, param: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{param}")
}

/// PostgreSQL is unreachable: fail under CI, else warn and record the skipped suite.
fn skip(suite: &str, reason: &str) {
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("{reason}\nCI=true, so the {suite} suite fails instead of being skipped.");
    }
    static WARNED: OnceLock<()> = OnceLock::new();
    WARNED.get_or_init(|| {
        let file = skipped_suites_file();
        let recorded = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&file)
            .and_then(|mut out| writeln!(out, "{suite}"));
        let recorded = match recorded {
            Ok(()) => format!("Recorded in {}.", file.display()),
            Err(error) => format!("Could not record it in {}: {error}", file.display()),
        };
        let bar = "!".repeat(78);
        let warning = format!(
            "\n{bar}\nWARNING: SKIPPING the {suite} suite: {reason}\n\
             Start PostgreSQL or set SCIM_TEST_POSTGRES_URL (CI=true makes this a failure).\n\
             {recorded}\n{bar}\n\n"
        );
        // Straight to the process's stderr: the test harness captures `eprintln!` of
        // passing tests, and this must not go unseen.
        let _ = std::io::stderr().write_all(warning.as_bytes());
    });
}

/// `$CARGO_TARGET_DIR/skipped-suites.txt`, else the workspace's `target/skipped-suites.txt`.
fn skipped_suites_file() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let workspace = workspace.canonicalize().unwrap_or(workspace);
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    };
    target.join("skipped-suites.txt")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_of_a_url() {
        let cases = [
            (
                "postgres://postgres@127.0.0.1:5432/test",
                "postgres://postgres@127.0.0.1:5432/x",
            ),
            (
                "postgresql://u:p@h/test?sslmode=disable",
                "postgresql://u:p@h/x?sslmode=disable",
            ),
            ("postgres://h", "postgres://h/x"),
            (
                "postgres://h?sslmode=disable",
                "postgres://h/x?sslmode=disable",
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(with_database(url, "x"), expected);
        }
    }

    #[test]
    fn hides_passwords_in_messages() {
        let cases = [
            ("postgres://u:secret@h/db", "postgres://u@h/db"),
            ("postgres://u@h/db", "postgres://u@h/db"),
            ("postgres://h/db", "postgres://h/db"),
        ];
        for (url, shown) in cases {
            assert_eq!(without_password(url), shown);
        }
    }

    #[test]
    fn names_are_unique_and_valid_identifiers() {
        let (a, b) = (unique_name(), unique_name());
        assert_ne!(a, b);
        assert!(
            a.len() < 63 && a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'),
            "{a}"
        );
        let template = format!("{TEMPLATE_PREFIX}{}_building", migrations_fingerprint());
        assert!(template.len() < 63, "{template}");
    }
}
