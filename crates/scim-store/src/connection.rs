//! Connections: one enum over both backends, the per-connection setup that differs between
//! them, and the r2d2 manager that opens them.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::Connection;
#[cfg(feature = "postgres")]
use diesel::PgConnection;
#[cfg(feature = "sqlite")]
use diesel::SqliteConnection;
use diesel::connection::SimpleConnection;
use diesel::r2d2::R2D2Connection;

use crate::database::Database;

/// A connection to either backend. Queries written against it (its backend is the
/// generated [`MultiBackend`]) run on both, so no query is written twice.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    #[cfg(feature = "postgres")]
    Pg(PgConnection),
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteConnection),
}

/// Run on every new SQLite connection. WAL lets readers work while one writer commits (the
/// CLI next to a running server); the busy timeout makes a writer wait for the lock instead
/// of failing; `case_sensitive_like` makes `LIKE` compare as PostgreSQL's does, which the
/// filter translation relies on (the keys it compares are folded already).
#[cfg(feature = "sqlite")]
const SQLITE_SETUP: &str = "PRAGMA busy_timeout = 5000;
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    PRAGMA foreign_keys = ON;
    PRAGMA case_sensitive_like = ON;";

/// Run on every new PostgreSQL connection: no statement holds a pooled connection forever.
#[cfg(feature = "postgres")]
const POSTGRES_SETUP: &str = "SET statement_timeout = '30s';";

/// Why a connection could not be opened. The message carries the driver's own words
/// (r2d2 keeps only the message of the last failure, so it is part of the text).
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL names a backend this build left out (a cargo feature of `scim-store`).
    #[error(
        "this build has no {backend} driver: build with the `{}` feature",
        feature_of(backend)
    )]
    NotBuilt { backend: &'static str },
    #[error("cannot connect to {backend}: {reason}")]
    Establish {
        backend: &'static str,
        reason: diesel::ConnectionError,
    },
    #[error("cannot set up the {backend} connection: {reason}")]
    Setup {
        backend: &'static str,
        reason: diesel::result::Error,
    },
}

/// The cargo feature that builds a backend's driver.
pub(crate) fn feature_of(backend: &str) -> &'static str {
    if backend == "SQLite" {
        "sqlite"
    } else {
        "postgres"
    }
}

/// Opens and checks pooled connections. Unlike the derived `DbConnection::establish`, which
/// tries each backend in turn and reports only the last failure, it opens the backend the
/// URL chose and reports that backend's error.
#[derive(Debug)]
pub struct ConnectionManager {
    database: Database,
    connect_timeout: Duration,
    /// Connections found dead (or suspected) so far, shared with the connections.
    losses: Arc<AtomicU64>,
    /// When connecting last failed, shared with the store (see [`Outage`]).
    outage: Arc<Outage>,
}

/// Whether the database refused a new connection a moment ago. While it does, a request
/// that finds no connection in the pool gives up after [`Outage::WAIT`] instead of the
/// pool's whole connection timeout: during an outage clients get their 503 at once, and
/// blocking threads do not pile up; the first connection that opens ends it.
#[derive(Debug, Default)]
pub struct Outage {
    /// When connecting last failed, in milliseconds after `since`; 0 when the last attempt
    /// succeeded. Read by every unit of work, so an atomic rather than a lock.
    failed_at: AtomicU64,
    since: std::sync::OnceLock<std::time::Instant>,
}

impl Outage {
    /// How long after a failed connect requests wait briefly.
    pub const WINDOW: Duration = Duration::from_secs(2);
    /// How long they wait for a connection meanwhile (enough to open one to a database
    /// that is back).
    pub const WAIT: Duration = Duration::from_millis(250);

    /// Milliseconds since the tracker's first use, at least 1 (0 means "no failure").
    fn now(&self) -> u64 {
        let since = self.since.get_or_init(std::time::Instant::now);
        u64::try_from(since.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    fn record(&self, connected: bool) {
        let at = if connected { 0 } else { self.now() };
        self.failed_at.store(at, Ordering::Release);
    }

    /// How long a request may wait for a connection, given the pool's usual `timeout`.
    pub fn wait(&self, timeout: Duration) -> Duration {
        let failed_at = self.failed_at.load(Ordering::Acquire);
        let window = u64::try_from(Self::WINDOW.as_millis()).unwrap_or(u64::MAX);
        if failed_at != 0 && self.now().saturating_sub(failed_at) < window {
            timeout.min(Self::WAIT)
        } else {
            timeout
        }
    }
}

impl ConnectionManager {
    pub fn new(database: Database, connect_timeout: Duration) -> Self {
        Self {
            database,
            connect_timeout,
            losses: Arc::default(),
            outage: Arc::default(),
        }
    }

    /// The outage tracker the pool's connects report to.
    pub fn outage(&self) -> Arc<Outage> {
        Arc::clone(&self.outage)
    }

    /// Opens one connection and sets it up for use.
    pub fn establish(&self) -> Result<DbConnection, ConnectError> {
        let backend = self.database.backend();
        let established = match &self.database {
            #[cfg(feature = "sqlite")]
            Database::Sqlite { path } => {
                SqliteConnection::establish(path).map(DbConnection::Sqlite)
            }
            #[cfg(feature = "postgres")]
            Database::Postgres { url } => {
                PgConnection::establish(&with_connect_timeout(url, self.connect_timeout))
                    .map(DbConnection::Pg)
            }
            #[allow(unreachable_patterns, reason = "reached in a build without a driver")]
            _ => return Err(ConnectError::NotBuilt { backend }),
        };
        let mut connection =
            established.map_err(|reason| ConnectError::Establish { backend, reason })?;
        let setup = match connection {
            #[cfg(feature = "sqlite")]
            DbConnection::Sqlite(_) => SQLITE_SETUP,
            #[cfg(feature = "postgres")]
            DbConnection::Pg(_) => POSTGRES_SETUP,
        };
        connection
            .batch_execute(setup)
            .map_err(|reason| ConnectError::Setup { backend, reason })?;
        Ok(connection)
    }
}

/// A pooled connection, when a statement last succeeded on it, and the pool's
/// [`ConnectionManager::losses`] count when it was last checked.
///
/// The pool checks a connection before handing it out, but one that worked less than
/// [`TRUSTED_FOR`] ago is handed out without the round trip of a ping: under load every
/// checkout would otherwise pay one (a quarter of a GET's time on PostgreSQL). Once any
/// connection is found dead (a statement failed on it and diesel marked it broken), the
/// others are all pinged again before their next use: after a database restart or a
/// failover, one request fails (503) and the pool replaces the dead connections before
/// they fail others.
pub struct Pooled {
    pub(crate) connection: DbConnection,
    /// When a statement last succeeded on it; `None` once one failed as if the database
    /// had gone, so that it is pinged before its next use.
    last_ok: Option<Instant>,
    losses: u64,
    pool_losses: Arc<AtomicU64>,
}

impl Pooled {
    /// Records how a unit of work on this connection ended. A failure that may mean the
    /// database went away makes the pool ping this connection and every other one before
    /// their next use: diesel only marks a connection broken when a transaction broke, so
    /// a dead connection that failed a plain read would otherwise be trusted again.
    pub(crate) fn record(&mut self, unavailable: bool) {
        if unavailable {
            self.last_ok = None;
            self.pool_losses.fetch_add(1, Ordering::AcqRel);
        } else {
            self.last_ok = Some(Instant::now());
        }
    }
}

/// How long after a successful statement a connection is trusted without a ping.
const TRUSTED_FOR: Duration = Duration::from_secs(1);

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = Pooled;
    type Error = ConnectError;

    fn connect(&self) -> Result<Pooled, ConnectError> {
        let established = self.establish();
        self.outage.record(established.is_ok());
        Ok(Pooled {
            connection: established?,
            last_ok: Some(Instant::now()),
            losses: self.losses.load(Ordering::Acquire),
            pool_losses: Arc::clone(&self.losses),
        })
    }

    fn is_valid(&self, pooled: &mut Pooled) -> Result<(), ConnectError> {
        let losses = self.losses.load(Ordering::Acquire);
        if pooled.losses == losses && pooled.last_ok.is_some_and(|t| t.elapsed() < TRUSTED_FOR) {
            return Ok(());
        }
        pooled
            .connection
            .ping()
            .map_err(|reason| ConnectError::Setup {
                backend: self.database.backend(),
                reason,
            })?;
        pooled.last_ok = Some(Instant::now());
        pooled.losses = losses;
        Ok(())
    }

    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        let broken = pooled.connection.is_broken();
        if broken {
            self.losses.fetch_add(1, Ordering::AcqRel);
        }
        broken
    }
}

/// Adds libpq's `connect_timeout` to a PostgreSQL URL that has none, so that an unreachable
/// host fails within the pool's timeout instead of hanging on TCP.
fn with_connect_timeout(url: &str, timeout: Duration) -> Cow<'_, str> {
    if url.contains("connect_timeout=") {
        return Cow::Borrowed(url);
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    let seconds = timeout.as_secs().max(1);
    Cow::Owned(format!("{url}{separator}connect_timeout={seconds}"))
}

/// Executes a statement the multi-backend connection cannot run portably (a multi-row
/// `INSERT`) on the backend's own connection.
/// `sql`, written with PostgreSQL's placeholders (`$1`), with the connection's (SQLite's
/// are `?1`).
pub(crate) fn placeholders(connection: &DbConnection, sql: &str) -> String {
    match connection {
        #[cfg(feature = "postgres")]
        DbConnection::Pg(_) => sql.to_owned(),
        #[cfg(feature = "sqlite")]
        DbConnection::Sqlite(_) => sql.replace('$', "?"),
    }
}

macro_rules! execute_per_backend {
    ($connection:expr, $statement:expr) => {
        match $connection {
            #[cfg(feature = "postgres")]
            $crate::connection::DbConnection::Pg(connection) => $statement.execute(connection),
            #[cfg(feature = "sqlite")]
            $crate::connection::DbConnection::Sqlite(connection) => $statement.execute(connection),
        }
    };
}
pub(crate) use execute_per_backend;

/// Loads a query's rows on the backend's own connection. Through the multi-backend
/// connection, `eq_any` renders as `IN ($1, $2, …)`, a statement that differs with the
/// number of values and so is parsed and planned anew each time; on PostgreSQL's own
/// connection it renders as `= ANY($1)`, one prepared statement whatever the count. Used
/// for the reads every request makes (a user's licenses and groups, a group's members).
macro_rules! load_per_backend {
    ($connection:expr, $query:expr) => {
        match $connection {
            #[cfg(feature = "postgres")]
            $crate::connection::DbConnection::Pg(connection) => $query.load(connection),
            #[cfg(feature = "sqlite")]
            $crate::connection::DbConnection::Sqlite(connection) => $query.load(connection),
        }
    };
}
pub(crate) use load_per_backend;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_a_connect_timeout_unless_given() {
        let cases = [
            ("postgres://h/db", "postgres://h/db?connect_timeout=5"),
            (
                "postgres://h/db?sslmode=disable",
                "postgres://h/db?sslmode=disable&connect_timeout=5",
            ),
            (
                "postgres://h/db?connect_timeout=1",
                "postgres://h/db?connect_timeout=1",
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(with_connect_timeout(url, Duration::from_secs(5)), expected);
        }
    }

    #[test]
    fn reports_the_real_sqlite_error() {
        let manager = ConnectionManager::new(
            Database::Sqlite {
                path: "/nonexistent-dir/for/sure/scim.db".into(),
            },
            Duration::from_secs(1),
        );
        let error = manager.establish().err().unwrap().to_string();
        assert!(error.starts_with("cannot connect to SQLite: "), "{error}");
        assert!(error.contains("unable to open"), "{error}");
    }
}
