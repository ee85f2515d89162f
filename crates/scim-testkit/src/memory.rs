//! Fresh reference stores ([`scim_memory::MemoryStore`]): the contract suite run on them
//! says what any store must do, with no database in the way.

use std::sync::Arc;

use scim_memory::MemoryStore;

use crate::fixtures::registry;
use crate::{StoreFactory, TestStore};

pub struct MemoryFactory;

/// Always available.
pub async fn factory() -> Option<MemoryFactory> {
    Some(MemoryFactory)
}

impl StoreFactory for MemoryFactory {
    type Store = MemoryStore;

    async fn open(&self) -> TestStore<MemoryStore> {
        let store = MemoryStore::new(registry());
        // A second handle on the same data, as a second pool on one database.
        let same = store.clone();
        TestStore::new(store, Arc::new(move || same.clone()))
    }
}
