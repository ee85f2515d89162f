//! Opening a store: the URL read once, the backend it names (when this build has it), the
//! SQLite file created private to its owner.

use std::sync::Arc;

use scim_core::SchemaRegistry;

use crate::database::Database;
use crate::store::{DieselStore, OpenError, StoreConfig};

/// Connects to and migrates the database `url` names: `postgres://…` or `postgresql://…`
/// (PostgreSQL), `sqlite://PATH`, `sqlite:PATH` or a bare path (SQLite, the file created
/// when missing). A backend this build left out is refused by name. Blocks; call it from
/// `spawn_blocking` inside a runtime.
pub fn open(
    url: &str,
    registry: Arc<SchemaRegistry>,
    config: &StoreConfig,
) -> Result<DieselStore, OpenError> {
    open_database(Database::from_url(url)?, registry, config)
}

/// [`open`], for a URL read already.
pub fn open_database(
    database: Database,
    registry: Arc<SchemaRegistry>,
    config: &StoreConfig,
) -> Result<DieselStore, OpenError> {
    match &database {
        #[cfg(feature = "sqlite")]
        Database::Sqlite { path } => {
            create_private(path).map_err(|source| OpenError::CreateFile {
                path: path.clone(),
                source,
            })?;
        }
        #[cfg(feature = "postgres")]
        Database::Postgres { .. } => {}
        #[allow(unreachable_patterns, reason = "reached in a build without a driver")]
        other => {
            return Err(OpenError::NotBuilt {
                backend: other.backend(),
            });
        }
    }
    DieselStore::open(database, registry, config)
}

/// Creates the database file, when it does not exist yet, readable and writable by its
/// owner only (mode 0600 on Unix): it holds every tenant's directory and the hashes of
/// every credential. SQLite gives its `-wal` and `-shm` files the same mode. An existing
/// file keeps its mode (the operator's choice).
#[cfg(feature = "sqlite")]
fn create_private(path: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

#[cfg(all(test, feature = "sqlite", unix))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_new_database_and_its_journal_are_private_to_their_owner() {
        use std::os::unix::fs::PermissionsExt;

        use scim_core::ports::StoreHealth;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scim.db");
        let store = open(
            path.to_str().unwrap(),
            Arc::new(SchemaRegistry::standard()),
            &StoreConfig::default(),
        )
        .unwrap();
        let mode = |name: &str| {
            std::fs::metadata(dir.path().join(name))
                .map(|m| m.permissions().mode() & 0o777)
                .ok()
        };
        // A pooled connection keeps the -wal and -shm files of WAL mode while it is open.
        store.ping().await.unwrap();
        assert_eq!(mode("scim.db"), Some(0o600));
        assert_eq!(mode("scim.db-wal"), Some(0o600));
        assert_eq!(mode("scim.db-shm"), Some(0o600));
        drop(store);
    }
}
