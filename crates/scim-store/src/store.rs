//! The store: a connection pool and the schema registry, and how its work runs off the
//! async runtime.

use std::sync::Arc;
use std::time::Duration;

use diesel::Connection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use scim_core::secrets::SecretKeys;
use scim_core::{SchemaRegistry, StoreError};

use crate::connection::{ConnectError, ConnectionManager, DbConnection, Outage};
use crate::database::{Database, UrlError};
use crate::errors::{from_diesel, from_pool};
use crate::event_watch::EventWatch;
use crate::index_walks::IndexWalks;
use crate::migrations::{self, MigrationError};
use crate::sealing::{self, SealError};

/// How a store connects. The pool opens connections as requests need them (keeping at
/// least one), up to `pool_size`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// The most connections the pool holds (and so the most queries running at once).
    pub pool_size: u32,
    /// How long a request waits for a pooled connection, and a new connection for the
    /// database, before failing with `StoreError::Unavailable`.
    pub connect_timeout: Duration,
    /// The keys secrets at rest are sealed with (see [`crate::sealing`]); every process on
    /// one database needs the same.
    pub secret_keys: SecretKeys,
}

impl Default for StoreConfig {
    /// A fresh random secret key: fine for a database this process alone ever opens.
    fn default() -> Self {
        Self {
            pool_size: 10,
            connect_timeout: Duration::from_secs(5),
            secret_keys: SecretKeys::generate(),
        }
    }
}

/// Why a store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Url(#[from] UrlError),
    /// The URL names a backend this build left out (a cargo feature of `scim-store`).
    #[error(
        "this build has no {backend} driver: build it with the `{}` feature",
        crate::connection::feature_of(backend)
    )]
    NotBuilt { backend: &'static str },
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("cannot apply the {backend} migrations: {reason}")]
    Migrate {
        backend: &'static str,
        reason: MigrationError,
    },
    #[error("cannot build the connection pool: {0}")]
    Pool(#[source] r2d2::Error),
    #[error(transparent)]
    Secrets(#[from] SealError),
    #[error("cannot create the SQLite file {path}: {source}")]
    CreateFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// A snapshot of the connection pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// The most connections the pool may hold.
    pub max_size: u32,
    /// Connections open, in use or idle.
    pub open: u32,
    /// Open connections waiting for work.
    pub idle: u32,
}

/// The diesel store: implements the core's storage ports on SQLite and PostgreSQL alike.
/// Cloning it is cheap and shares the pool.
#[derive(Clone)]
pub struct DieselStore {
    pool: r2d2::Pool<ConnectionManager>,
    pub(crate) registry: Arc<SchemaRegistry>,
    /// Where in-order `startIndex` walks left off (see [`crate::index_walks`]).
    pub(crate) walks: Arc<IndexWalks>,
    /// Whether connecting failed a moment ago: requests then wait briefly.
    outage: Arc<Outage>,
    /// What secrets at rest are sealed with.
    keys: Arc<SecretKeys>,
    /// When each tenant's events were recorded, for long polls.
    pub(crate) event_watch: Arc<EventWatch>,
}

impl std::fmt::Debug for DieselStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DieselStore")
            .field("pool", &self.pool.state())
            .finish_non_exhaustive()
    }
}

impl DieselStore {
    /// Opens the database, applies pending migrations and builds the pool. Blocks; call it
    /// from `spawn_blocking` inside a runtime.
    ///
    /// The first connection is opened directly, so that a failure reports the database's own
    /// error rather than a pool timeout.
    pub fn open(
        database: Database,
        registry: Arc<SchemaRegistry>,
        config: &StoreConfig,
    ) -> Result<Self, OpenError> {
        let backend = database.backend();
        let manager = ConnectionManager::new(database, config.connect_timeout);
        let outage = manager.outage();
        let mut connection = manager.establish()?;
        migrations::run_pending(&mut connection)
            .map_err(|reason| OpenError::Migrate { backend, reason })?;
        sealing::check_and_seal(&mut connection, &config.secret_keys)?;
        drop(connection);
        let pool = r2d2::Pool::builder()
            .max_size(config.pool_size.max(1))
            // No background top-up of idle connections: a short-lived CLI process that
            // exits while r2d2 is still connecting (libpq + OpenSSL on another thread)
            // crashed in OpenSSL's exit handlers (SIGSEGV, seen in the acceptance tests).
            // Connections are opened on demand and kept until their idle timeout.
            .min_idle(Some(0))
            .connection_timeout(config.connect_timeout)
            .error_handler(Box::new(LogPoolErrors))
            .build(manager)
            .map_err(OpenError::Pool)?;
        tracing::debug!(backend, pool_size = config.pool_size, "store opened");
        Ok(Self {
            pool,
            registry,
            walks: Arc::default(),
            outage,
            keys: Arc::new(config.secret_keys.clone()),
            event_watch: Arc::default(),
        })
    }

    /// The keys secrets at rest are sealed with.
    pub(crate) fn keys(&self) -> Arc<SecretKeys> {
        Arc::clone(&self.keys)
    }

    /// The pool's connections now: for the operator's metrics.
    pub fn pool_stats(&self) -> PoolStats {
        let state = self.pool.state();
        PoolStats {
            max_size: self.pool.max_size(),
            open: state.connections,
            idle: state.idle_connections,
        }
    }

    /// Runs one unit of work on a pooled connection, off the async runtime. The connection
    /// goes back to the pool before the future completes; none is ever held across an
    /// `.await`.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let wait = self.outage.wait(self.pool.connection_timeout());
        let task = tokio::task::spawn_blocking(move || {
            let mut pooled = pool.get_timeout(wait).map_err(from_pool)?;
            let done = work(&mut pooled.connection);
            pooled.record(matches!(done, Err(StoreError::Unavailable(_))));
            done
        });
        let result = match task.await {
            Ok(result) => result,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(error) => Err(StoreError::unavailable(error)),
        };
        // The client gets a bare 503; the operator gets the cause, on the request's span
        // (a full disk, a read-only file, a database that went away).
        match &result {
            Err(StoreError::Unavailable(cause)) => {
                tracing::warn!(error = %cause, "the database failed a unit of work");
            }
            // Retrying cannot heal it: the operator must look.
            Err(StoreError::Corrupt(cause)) => {
                tracing::error!(error = %cause, "stored data the store cannot read");
            }
            _ => {}
        }
        result
    }

    /// Runs a unit of work that writes, in one transaction on a pooled connection: it
    /// commits when `work` succeeds and rolls back when it fails.
    ///
    /// On SQLite the transaction is `BEGIN IMMEDIATE`: it takes the write lock first (waiting
    /// up to the busy timeout), so a unit that reads before it writes cannot fail on
    /// upgrading a stale read snapshot to a write (`SQLITE_BUSY_SNAPSHOT`, which no busy
    /// timeout waits out).
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.run(|connection| {
            match connection {
                #[cfg(feature = "sqlite")]
                DbConnection::Sqlite(sqlite) => {
                    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")
                }
                #[cfg(feature = "postgres")]
                DbConnection::Pg(pg) => AnsiTransactionManager::begin_transaction(pg),
            }
            .map_err(from_diesel)?;
            match work(connection) {
                Ok(value) => {
                    <DbConnection as Connection>::TransactionManager::commit_transaction(
                        connection,
                    )
                    .map_err(from_diesel)?;
                    #[cfg(feature = "sqlite")]
                    if let DbConnection::Sqlite(sqlite) = connection {
                        refresh_read_mark(sqlite);
                    }
                    Ok(value)
                }
                Err(error) => {
                    // A failed rollback leaves the connection marked broken; the pool
                    // then discards it.
                    if let Err(rollback) =
                        <DbConnection as Connection>::TransactionManager::rollback_transaction(
                            connection,
                        )
                    {
                        tracing::warn!(error = %rollback, "rollback failed");
                    }
                    Err(error)
                }
            }
        })
        .await
    }
}

/// Reads once after a commit on SQLite, so that the connection's WAL read mark is current.
///
/// A commit moves the WAL's end past every read mark; the connection's next transaction
/// then writes a new mark into the memory-mapped `-shm` file. Should that file have become
/// unwritable meanwhile (a filesystem remounted read-only, an immutable file), that write
/// to the mapping kills the whole process with `SIGBUS` instead of failing one request with
/// an I/O error. Reading right after the commit, while the file is still writable, sets
/// the mark, so the next transaction needs no write to the mapping to begin and fails, if
/// it must, with a 503 (`faults::a_read_only_database_file_refuses_writes_and_recovers`).
/// It costs one in-process statement per write.
#[cfg(feature = "sqlite")]
fn refresh_read_mark(connection: &mut diesel::SqliteConnection) {
    use diesel::connection::SimpleConnection;
    if let Err(error) = connection.batch_execute("SELECT 1 FROM sqlite_schema LIMIT 1") {
        tracing::warn!(%error, "reading after a commit failed");
    }
}

/// Sends the pool's connection failures to the log (r2d2's default writes them nowhere).
#[derive(Debug)]
struct LogPoolErrors;

impl r2d2::HandleError<ConnectError> for LogPoolErrors {
    fn handle_error(&self, error: ConnectError) {
        tracing::warn!(%error, "database connection failed");
    }
}
