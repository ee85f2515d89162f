//! The service's own storage: every tenant's data in a `Mutex<HashMap>`, behind the core's
//! storage ports (one file each: [`resources`], [`ledger`], [`outbox`]).
//!
//! A write is one transaction: it runs on a copy of its tenant's data, under the lock, and
//! the copy replaces the data only when the whole write succeeded. That gives what the
//! ports ask of a store: nothing of a failed write is kept, the version check and the seat
//! check see no concurrent writer, and a write's events and license changes commit with it.
//! (Copying a tenant per write is fine for an example; a real store uses its database's
//! transactions.)

mod ledger;
mod licenses;
mod outbox;
mod resources;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use scim_core::events::{ResourceEvent, SigningKey, StoredEvent};
use scim_core::license::{AuditEntry, HeldLicense, MappingRule, Pool};
use scim_core::tenant::TenantId;
use scim_core::{Resource, ResourceKind, SchemaRegistry, StoreError};

/// Users, groups, licenses and events of every tenant, in memory.
pub struct MemoryStore {
    /// Lists are evaluated with the core's own evaluator, against these schemas.
    registry: Arc<SchemaRegistry>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    tenants: HashMap<TenantId, TenantData>,
    /// SET signing keys, newest first (shared by all tenants).
    signing_keys: Vec<SigningKey>,
}

/// One tenant's data: what a write copies, changes and puts back.
#[derive(Debug, Clone, Default)]
struct TenantData {
    /// Users and groups, in creation order (the default order of lists).
    resources: Vec<Resource>,
    /// Each resource's key in that order (never reused): what cursor pages (RFC 9865,
    /// [`scim_core::query::Keyset`]) name.
    keys: Vec<i64>,
    last_key: i64,
    /// Group membership, as rows: never stored in the resources' attributes.
    members: Vec<Membership>,
    /// The licenses each user holds, by user id, in sku order.
    licenses: HashMap<String, Vec<HeldLicense>>,
    /// By folded sku.
    pools: Vec<Pool>,
    rules: Vec<MappingRule>,
    audit: Vec<AuditEntry>,
    /// The events committed writes recorded, `seq` 1, 2, …
    outbox: Vec<StoredEvent>,
    acknowledged: BTreeSet<i64>,
}

/// `member` (a User or a Group) is in `group`, labelled `display` by the client.
#[derive(Debug, Clone)]
struct Membership {
    group: String,
    member: String,
    kind: ResourceKind,
    display: Option<String>,
}

impl MemoryStore {
    pub fn new(registry: Arc<SchemaRegistry>) -> Self {
        Self {
            registry,
            state: Mutex::new(State::default()),
        }
    }

    /// Opens a tenant. (The server keeps tenants behind the `TenantDirectory, CredentialStore, StoreHealth` port, with
    /// their credentials; a service that authenticates callers itself needs only this.)
    /// Writes in a tenant that was never added fail with `NotFound`.
    pub fn add_tenant(&self, tenant: &TenantId) {
        self.lock().tenants.entry(tenant.clone()).or_default();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic inside a write leaves the data as it was (the copy is dropped).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads a tenant's data; `None` when there is no such tenant.
    fn read<T>(&self, tenant: &TenantId, read: impl FnOnce(&TenantData) -> T) -> Option<T> {
        self.lock().tenants.get(tenant).map(read)
    }

    /// Runs `write` as one transaction on the tenant's data: on a copy that replaces the
    /// data only when `write` succeeds.
    fn write<T>(
        &self,
        tenant: &TenantId,
        write: impl FnOnce(&mut TenantData) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut state = self.lock();
        let data = state.tenants.get_mut(tenant).ok_or(StoreError::NotFound)?;
        let mut copy = data.clone();
        let out = write(&mut copy)?;
        *data = copy;
        Ok(out)
    }
}

impl TenantData {
    /// Records events in the outbox (in the write's transaction, like everything else).
    fn record(&mut self, at: DateTime<Utc>, events: impl IntoIterator<Item = ResourceEvent>) {
        for event in events {
            let seq = self.outbox.len() as i64 + 1;
            self.outbox.push(StoredEvent { seq, at, event });
        }
    }
}
