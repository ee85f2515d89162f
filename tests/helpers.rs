//! Starting the real `scim-server` binary on a random port and talking HTTP to it.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// The `scim-server` binary cargo built for these tests.
pub(crate) fn server_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_scim-server"))
}

/// Where a test's data lives; dropped (deleted) with the test.
pub(crate) enum Store {
    Sqlite(tempfile::TempDir),
    Postgres(scim_testkit::TestDatabase),
}

impl Store {
    pub(crate) fn sqlite() -> Self {
        Store::Sqlite(tempfile::tempdir().expect("temp dir"))
    }

    /// A fresh PostgreSQL database, or `None` (after a loud note) when PostgreSQL is not
    /// reachable outside CI. In CI it panics instead.
    pub(crate) fn postgres(suite: &'static str) -> Option<Self> {
        use scim_testkit::SqlStoreFactory;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let factory = runtime.block_on(scim_testkit::postgres::factory(suite))?;
        Some(Store::Postgres(runtime.block_on(factory.database())))
    }

    pub(crate) fn url(&self) -> String {
        match self {
            Store::Sqlite(dir) => format!("sqlite://{}", dir.path().join("scim.db").display()),
            Store::Postgres(db) => db.url().to_owned(),
        }
    }
}

/// Runs a CLI command against the store and returns its output; panics on failure.
pub(crate) fn cli(store: &Store, args: &[&str]) -> String {
    let output = cli_output(store, args);
    assert!(
        output.status.success(),
        "scim-server {args:?} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 stdout")
}

pub(crate) fn cli_output(store: &Store, args: &[&str]) -> Output {
    cli_command(store, args).output().expect("run scim-server")
}

/// The CLI command `args` against the store, as every test process runs it.
fn cli_command(store: &Store, args: &[&str]) -> Command {
    let mut command = Command::new(server_binary());
    with_test_environment(&mut command, &store.url());
    command
        .arg("--database-url")
        .arg(store.url())
        .args(args)
        .env("RUST_LOG", "warn");
    command
}

/// Starts a CLI command against the store without waiting for it (to kill it midway).
pub(crate) fn cli_child(store: &Store, args: &[&str]) -> Child {
    cli_command(store, args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start scim-server")
}

/// What every process of the tests shares: on a PostgreSQL database the same secret keys
/// (an SQLite one finds them in the key file beside it); and webhook receivers on this
/// machine are allowed, explicitly, since the tests' receivers listen on 127.0.0.1 (the
/// tests of the refusal turn it off again).
fn with_test_environment(command: &mut Command, database_url: &str) {
    command.env("SCIM_ALLOW_PRIVATE_WEBHOOKS", "true");
    if matches!(
        scim_store::Database::from_url(database_url),
        Ok(scim_store::Database::Postgres { .. })
    ) {
        command.env("SCIM_SECRET_KEYS", scim_testkit::TEST_SECRET_KEY);
    }
}

/// How many `prov:create:full` events tenant `acme` has recorded (`events` from the CLI).
pub(crate) fn create_events(store: &Store) -> usize {
    let events: Value = serde_json::from_str(&cli(
        store,
        &["events", "--tenant", "acme", "--limit", "100000000"],
    ))
    .expect("events JSON");
    events
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| {
            e["events"]
                .as_object()
                .is_some_and(|events| events.keys().any(|uri| uri.ends_with(":prov:create:full")))
        })
        .count()
}

/// A receiver URL nobody listens on: SETs for it wait, retried (a lag to observe).
pub(crate) const UNREACHABLE_RECEIVER: &str = "http://127.0.0.1:9/events";

/// Registers a webhook receiver of tenant `acme` at `url`.
pub(crate) fn add_receiver(store: &Store, url: &str) {
    cli(store, &["webhook", "add", "--tenant", "acme", "--url", url]);
}

/// Creates a tenant and returns a fresh token for it.
pub(crate) fn tenant_with_token(store: &Store, slug: &str) -> String {
    cli(store, &["tenant", "create", slug]);
    issue_token(store, slug)
}

pub(crate) fn issue_token(store: &Store, slug: &str) -> String {
    let out = cli(store, &["token", "issue", "--tenant", slug]);
    out.lines().last().expect("token line").trim().to_owned()
}

/// Issues a token of tenant `slug` and back-dates its expiry into the past (no command
/// issues a token that has already expired): the token.
pub(crate) fn expired_token(store: &Store, slug: &str) -> String {
    let out = cli(store, &["token", "issue", "--tenant", slug, "--json"]);
    let issued: Value =
        serde_json::from_str(out.lines().last().expect("a last line")).expect("JSON");
    back_date(store, "tokens", issued["id"].as_str().expect("id"));
    issued["token"].as_str().expect("token").to_owned()
}

/// Moves the expiry of the row `id` of `table` (tokens, portal grants…) into the past: no
/// command makes what has expired already.
pub(crate) fn back_date(store: &Store, table: &str, id: &str) {
    assert!(
        id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
        "{id}"
    );
    let updated = execute_sql(
        store,
        &format!("UPDATE {table} SET expires = 1 WHERE id = '{id}'"),
    );
    assert_eq!(updated, 1, "one {table} row back-dated");
}

/// Runs a statement on the store's database directly (to forge what no command makes):
/// the rows it changed.
pub(crate) fn execute_sql(store: &Store, sql: &str) -> usize {
    use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
    let statement = diesel::sql_query(sql);
    match store {
        Store::Sqlite(dir) => {
            let path = dir.path().join("scim.db");
            let mut db = SqliteConnection::establish(&path.display().to_string()).expect("sqlite");
            statement.execute(&mut db)
        }
        Store::Postgres(db) => {
            statement.execute(&mut PgConnection::establish(db.url()).expect("pg"))
        }
    }
    .unwrap_or_else(|error| panic!("{sql}: {error}"))
}

/// Creates an OAuth client of tenant `slug` (`client create` prints it as JSON on its last
/// line): its id and secret.
pub(crate) fn create_client(store: &Store, slug: &str) -> (String, String) {
    let out = cli(store, &["client", "create", "--tenant", slug]);
    let last: Value = serde_json::from_str(out.lines().last().expect("a last line")).expect("JSON");
    (
        last["client_id"].as_str().expect("client_id").to_owned(),
        last["client_secret"]
            .as_str()
            .expect("client_secret")
            .to_owned(),
    )
}

/// Starts `scim-server serve` on a free port: the process and its base URL.
fn spawn(database_url: &str, flags: &[&str], log_level: &str, logs: Stdio) -> (Child, String) {
    spawn_limited(database_url, flags, log_level, logs, None)
}

/// [`spawn`], the process allowed to write files of at most `file_size_kib` when given (a
/// full disk, as far as the process can tell: writes past it fail with EFBIG, and SIGXFSZ
/// is ignored, as a server's would be).
fn spawn_limited(
    database_url: &str,
    flags: &[&str],
    log_level: &str,
    logs: Stdio,
    file_size_kib: Option<u64>,
) -> (Child, String) {
    let mut command = match file_size_kib {
        Some(kib) => {
            let mut shell = Command::new("bash");
            shell
                .arg("-c")
                .arg(format!("trap '' XFSZ; ulimit -f {kib}; exec \"$0\" \"$@\""))
                .arg(server_binary());
            shell
        }
        None => Command::new(server_binary()),
    };
    with_test_environment(&mut command, database_url);
    let mut child = command
        .arg("--database-url")
        .arg(database_url)
        .args(["serve", "--listen", "127.0.0.1:0", "--workers", "2"])
        .args(flags)
        .env("RUST_LOG", log_level)
        .stdout(Stdio::piped())
        .stderr(logs)
        .spawn()
        .expect("start scim-server");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("listening on ") {
                tx.send(addr.to_owned()).ok();
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("server did not start");
    (child, addr)
}

/// A running server; killed when dropped.
pub(crate) struct Server {
    child: Child,
    pub(crate) base: String,
    pub(crate) store: Store,
    agent: ureq::Agent,
}

impl Server {
    pub(crate) fn start(store: Store) -> Self {
        Self::start_with(store, &[], "warn", Stdio::inherit())
    }

    /// Starts the server remembering accepted tokens for one second, for the tests that
    /// revoke credentials from the CLI (another process) and wait out that bound.
    pub(crate) fn start_caching_credentials_for_a_second(store: Store) -> Self {
        Self::start_with(
            store,
            &["--credential-cache-seconds", "1"],
            "warn",
            Stdio::inherit(),
        )
    }

    /// Polls `path` with `token` until it answers 401: a credential revoked from another
    /// process stops working once this server's credential cache let go of it (1 s here).
    pub(crate) fn refused_within(
        &self,
        path: &str,
        token: &str,
        bound: std::time::Duration,
    ) -> Reply {
        let started = std::time::Instant::now();
        loop {
            let reply = self.get(path, token);
            if reply.status == 401 {
                return reply;
            }
            assert!(
                started.elapsed() < bound,
                "still {} after {bound:?}: {}",
                reply.status,
                reply.text
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// Starts the server with more `serve` flags.
    pub(crate) fn start_flags(store: Store, flags: &[&str]) -> Self {
        Self::start_with(store, flags, "warn", Stdio::inherit())
    }

    /// Starts the server with more `serve` flags, a `RUST_LOG` level, and its log output
    /// (stderr) sent to `logs`.
    pub(crate) fn start_with(store: Store, flags: &[&str], log_level: &str, logs: Stdio) -> Self {
        let url = store.url();
        Self::launch(store, &url, flags, log_level, logs)
    }

    /// Starts the server on `store` reached at `database_url` (e.g. through a proxy that a
    /// test can cut).
    pub(crate) fn start_at(store: Store, database_url: &str, flags: &[&str]) -> Self {
        Self::launch(store, database_url, flags, "warn", Stdio::inherit())
    }

    /// Starts the server allowed to write files of at most `kib` KiB: a full disk.
    pub(crate) fn start_with_file_size_limit(store: Store, kib: u64) -> Self {
        let url = store.url();
        let (child, base) = spawn_limited(&url, &[], "warn", Stdio::inherit(), Some(kib));
        Self::around(child, base, store)
    }

    fn launch(
        store: Store,
        database_url: &str,
        flags: &[&str],
        log_level: &str,
        logs: Stdio,
    ) -> Self {
        let (child, base) = spawn(database_url, flags, log_level, logs);
        Self::around(child, base, store)
    }

    fn around(child: Child, base: String, store: Store) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Server {
            child,
            base,
            store,
            agent,
        }
    }

    /// Kills the server with SIGKILL (no shutdown of any kind) and starts a new one on the
    /// same store with `flags`; `base` is the new server's.
    pub(crate) fn kill_and_restart(&mut self, flags: &[&str]) {
        self.child.kill().expect("SIGKILL the server");
        self.child.wait().expect("reap the server");
        let (child, base) = spawn(&self.store.url(), flags, "warn", Stdio::inherit());
        self.child = child;
        self.base = base;
    }

    /// Stops the server (SIGKILL) and hands its store back, to look at or serve again.
    pub(crate) fn stop(mut self) -> Store {
        self.child.kill().ok();
        self.child.wait().ok();
        std::mem::replace(&mut self.store, Store::sqlite())
    }

    /// Sends SIGTERM (a graceful stop) and waits for the process to exit.
    pub(crate) fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "SIGTERM to {pid}");
        self.child.wait().expect("reap the server")
    }

    /// Performs a request built elsewhere (the `oauth2` crate's), answering with the
    /// whole body.
    pub(crate) fn exchange(
        &self,
        request: ureq::http::Request<Vec<u8>>,
    ) -> Result<ureq::http::Response<Vec<u8>>, ureq::Error> {
        let (parts, mut body) = self.agent.run(request)?.into_parts();
        Ok(ureq::http::Response::from_parts(parts, body.read_to_vec()?))
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POSTs an `application/x-www-form-urlencoded` body to `/oauth/token`, as an IdP
    /// does.
    pub(crate) fn token_form(&self, form: &str) -> Reply {
        self.send(
            "POST",
            "/oauth/token",
            None,
            &[("Content-Type", "application/x-www-form-urlencoded")],
            Some(form.as_bytes()),
        )
    }

    /// A SCIM request as the IdP whose `User-Agent` is `agent` sends it, with a JSON body.
    pub(crate) fn scim_as(
        &self,
        agent: &str,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Reply {
        let text = body.map(Value::to_string);
        self.send(
            method,
            path,
            Some(token),
            &[
                ("Content-Type", "application/scim+json"),
                ("User-Agent", agent),
            ],
            text.as_deref().map(str::as_bytes),
        )
    }

    /// Sends a request; `token` may be `None` for anonymous calls.
    pub(crate) fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Reply {
        self.send_at(&self.base, method, path, token, headers, body)
    }

    /// Starts another server process on the same store (a replica); killed when dropped.
    pub(crate) fn replica(&self, flags: &[&str]) -> Replica {
        let (child, base) = spawn(&self.store.url(), flags, "warn", Stdio::inherit());
        Replica { child, base }
    }

    /// POSTs JSON to another process serving the same store (`base`, a replica's).
    pub(crate) fn post_at(&self, base: &str, path: &str, token: &str, body: &Value) -> Reply {
        let body = body.to_string();
        self.send_at(base, "POST", path, Some(token), &[], Some(body.as_bytes()))
    }

    /// GETs from another process serving the same store (a replica's `base`).
    pub(crate) fn get_at(&self, base: &str, path: &str, token: &str) -> Reply {
        self.send_at(base, "GET", path, Some(token), &[], None)
    }

    /// PATCHes `operations` on another process serving the same store (a replica's `base`).
    pub(crate) fn patch_at(
        &self,
        base: &str,
        path: &str,
        token: &str,
        operations: &Value,
    ) -> Reply {
        let body = serde_json::json!({"schemas": [PATCH_OP], "Operations": operations});
        let body = body.to_string();
        self.send_at(base, "PATCH", path, Some(token), &[], Some(body.as_bytes()))
    }

    fn send_at(
        &self,
        base: &str,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Reply {
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{base}{path}"));
        if let Some(token) = token {
            req = req.header("Authorization", format!("Bearer {token}"));
        }
        let has_type = headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
        if body.is_some() && !has_type {
            req = req.header("Content-Type", "application/scim+json");
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let response = match body {
            Some(bytes) => self.agent.run(req.body(bytes.to_vec()).expect("request")),
            None => self.agent.run(req.body(()).expect("request")),
        }
        .expect("HTTP exchange");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.into_body().read_to_string().unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            text,
            json,
        }
    }

    pub(crate) fn get(&self, path: &str, token: &str) -> Reply {
        self.send("GET", path, Some(token), &[], None)
    }

    pub(crate) fn post(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.send(
            "POST",
            path,
            Some(token),
            &[],
            Some(body.to_string().as_bytes()),
        )
    }

    pub(crate) fn put(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.send(
            "PUT",
            path,
            Some(token),
            &[],
            Some(body.to_string().as_bytes()),
        )
    }

    /// PATCH with a PatchOp body holding `operations`.
    pub(crate) fn patch(&self, path: &str, token: &str, operations: &Value) -> Reply {
        let body = serde_json::json!({"schemas": [PATCH_OP], "Operations": operations});
        self.send(
            "PATCH",
            path,
            Some(token),
            &[],
            Some(body.to_string().as_bytes()),
        )
    }

    pub(crate) fn delete(&self, path: &str, token: &str) -> Reply {
        self.send("DELETE", path, Some(token), &[], None)
    }
}

/// A second server process on a [`Server`]'s store.
pub(crate) struct Replica {
    child: Child,
    pub(crate) base: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: ureq::http::HeaderMap,
    pub(crate) text: String,
    pub(crate) json: Value,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a SCIM error body with this status and scimType, returning its detail.
    #[track_caller]
    pub(crate) fn assert_error(&self, status: u16, scim_type: Option<&str>) -> String {
        assert_eq!(self.status, status, "body: {}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/scim+json"),
            "error content type, body: {}",
            self.text
        );
        assert_eq!(
            self.json["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        assert_eq!(
            self.json["status"],
            status.to_string(),
            "status is a string"
        );
        assert_eq!(
            self.json["scimType"].as_str(),
            scim_type,
            "body: {}",
            self.text
        );
        let detail = self.json["detail"].as_str().expect("detail").to_owned();
        assert!(!detail.is_empty());
        detail
    }
}

/// The `--metrics-token` of tests that scrape `/metrics`.
pub(crate) const METRICS_TOKEN: &str = "metrics-token-of-the-acceptance-tests-0123456789";

pub(crate) const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub(crate) const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub(crate) const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub(crate) const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A minimal valid user body.
pub(crate) fn user(user_name: &str) -> Value {
    serde_json::json!({"schemas": [USER_SCHEMA], "userName": user_name})
}

/// Serves the routes `config` sets up on a loopback port, from a thread of its own (a
/// fake receiver or issuer); its address.
pub(crate) fn serve_on_loopback(
    workers: usize,
    config: impl Fn(&mut actix_web::web::ServiceConfig) + Clone + Send + 'static,
) -> std::net::SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server =
                actix_web::HttpServer::new(move || actix_web::App::new().configure(config.clone()))
                    .workers(workers)
                    .disable_signals()
                    .bind("127.0.0.1:0")
                    .expect("bind a loopback port");
            tx.send(server.addrs()[0]).expect("report the address");
            server.run().await
        })
    });
    rx.recv_timeout(std::time::Duration::from_secs(10))
        .expect("the loopback server started")
}
