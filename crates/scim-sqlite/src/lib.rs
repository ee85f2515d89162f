//! The embedded SQLite store, the zero-setup default.
//!
//! A thin entry point: the store itself, the connection setup (WAL, busy timeout, foreign
//! keys, case-sensitive `LIKE`) and the SQLite migrations live in `scim-store`, because the
//! connection enum both backends share has to know both (see
//! `docs/adr/0001-store-crates.md`).

use std::sync::Arc;

use scim_core::SchemaRegistry;
use scim_store::Database;
pub use scim_store::{DieselStore, OpenError, StoreConfig};

/// Opens (creating the file when missing) and migrates the SQLite database at
/// `url_or_path`: `sqlite://PATH`, `sqlite:PATH` or a bare path. Blocks; call it from
/// `spawn_blocking` inside a runtime.
pub fn open(
    url_or_path: &str,
    registry: Arc<SchemaRegistry>,
    config: &StoreConfig,
) -> Result<DieselStore, OpenError> {
    match Database::from_url(url_or_path)? {
        database @ Database::Sqlite { .. } => {
            if let Database::Sqlite { path } = &database {
                create_private(path).map_err(|source| OpenError::CreateFile {
                    path: path.clone(),
                    source,
                })?;
            }
            DieselStore::open(database, registry, config)
        }
        other => Err(OpenError::WrongBackend {
            expected: "SQLite",
            actual: other.backend(),
        }),
    }
}

/// Creates the database file, when it does not exist yet, readable and writable by its
/// owner only (mode 0600 on Unix): it holds every tenant's directory and the hashes of
/// every credential. SQLite gives its `-wal` and `-shm` files the same mode. An existing
/// file keeps its mode (the operator's choice).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
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

    #[test]
    fn refuses_postgres_urls() {
        let error = open(
            "postgres://localhost/scim",
            Arc::new(SchemaRegistry::standard()),
            &StoreConfig::default(),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "expected a SQLite database URL, got a PostgreSQL one"
        );
    }
}
