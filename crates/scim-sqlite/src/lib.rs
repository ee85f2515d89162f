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
        database @ Database::Sqlite { .. } => DieselStore::open(database, registry, config),
        other => Err(OpenError::WrongBackend {
            expected: "SQLite",
            actual: other.backend(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
