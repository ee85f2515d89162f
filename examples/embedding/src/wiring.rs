//! The ports that are not storage, and the core's services wired on a store.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use scim_core::SchemaRegistry;
use scim_core::ports::{Clock, IdGenerator};
use scim_core::service::{LicenseService, ResourceService};

use scim_memory::MemoryStore;

/// The system clock. The core never reads the time itself; tests give it a fixed one.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Random (v4) UUIDs as resource ids.
#[derive(Debug, Clone, Copy, Default)]
pub struct UuidIds;

impl IdGenerator for UuidIds {
    fn new_id(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

/// The use cases this service offers, all on one store.
#[derive(Clone)]
pub struct Scim {
    pub registry: Arc<SchemaRegistry>,
    pub store: Arc<MemoryStore>,
    /// Users and Groups: create, get, replace, PATCH, delete, list.
    pub resources: ResourceService,
    /// Pools and mapping rules: `set_pool`, `map`, `unmap`, `usage`, `audit`.
    pub licenses: LicenseService,
}

impl Scim {
    /// Wires the services on a new, empty store with the standard schemas (User, Enterprise
    /// User, Group, the license extension).
    pub fn new(clock: Arc<dyn Clock>, ids: Arc<dyn IdGenerator>) -> Self {
        let registry = Arc::new(SchemaRegistry::standard());
        let store = Arc::new(MemoryStore::new(Arc::clone(&registry)));
        let resources = ResourceService::new(
            Arc::clone(&store) as _,
            Arc::clone(&registry),
            Arc::clone(&clock),
            ids,
        );
        let licenses = LicenseService::new(Arc::clone(&store) as _, clock);
        Self {
            registry,
            store,
            resources,
            licenses,
        }
    }
}
