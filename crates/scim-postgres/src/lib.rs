//! The PostgreSQL store.
//!
//! A thin entry point: the store itself, the connection setup (`statement_timeout`, libpq's
//! `connect_timeout`) and the PostgreSQL migrations live in `scim-store`, because the
//! connection enum both backends share has to know both (see
//! `docs/adr/0001-store-crates.md`).

use std::sync::Arc;

use scim_core::SchemaRegistry;
use scim_store::Database;
pub use scim_store::{DieselStore, OpenError, StoreConfig};

/// Connects to and migrates the PostgreSQL database at `url` (`postgres://…` or
/// `postgresql://…`). Blocks; call it from `spawn_blocking` inside a runtime.
pub fn open(
    url: &str,
    registry: Arc<SchemaRegistry>,
    config: &StoreConfig,
) -> Result<DieselStore, OpenError> {
    match Database::from_url(url)? {
        database @ Database::Postgres { .. } => DieselStore::open(database, registry, config),
        other => Err(OpenError::WrongBackend {
            expected: "PostgreSQL",
            actual: other.backend(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_sqlite_urls() {
        let error = open(
            "sqlite://scim.db",
            Arc::new(SchemaRegistry::standard()),
            &StoreConfig::default(),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "expected a PostgreSQL database URL, got a SQLite one"
        );
    }
}
