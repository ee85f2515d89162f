//! Fresh SQLite databases: a file in a temporary directory each (the directory takes the
//! WAL and shared-memory files with it).

use crate::{OpenStore, SqlStoreFactory, TestDatabase};

pub struct SqliteFactory;

/// Always available.
pub async fn factory() -> Option<SqliteFactory> {
    Some(SqliteFactory)
}

impl SqlStoreFactory for SqliteFactory {
    const OPEN: OpenStore = scim_store::open;

    async fn database(&self) -> TestDatabase {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", directory.path().join("scim.db").display());
        TestDatabase::new(url, Box::new(directory))
    }
}
