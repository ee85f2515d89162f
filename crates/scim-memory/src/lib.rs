//! The reference store: every storage port of `scim-core` kept in memory, one module per
//! port ([`resources`], [`ledger`], [`outbox`], [`tenants`], [`admin`], [`api_keys`],
//! [`idempotency`], [`jobs`], [`webhooks`]).
//!
//! It is what the contract suite (`scim-testkit`) holds every store to, next to SQLite and
//! PostgreSQL; the store of the in-process HTTP tests; and the model a Rust service that
//! brings its own storage reads first. It holds **no license logic**: a write hands the
//! users it affects to the core's engine ([`scim_core::license::LicensePlan`]) over the
//! pools in memory ([`scim_core::license::PoolSeats`]) and keeps what the engine decided
//! ([`licenses`]).
//!
//! A write is one transaction: it runs on a copy of its tenant's data, under the lock, and
//! the copy replaces the data only when the whole write succeeded. That gives what the
//! ports ask of a store: nothing of a failed write is kept, the version check and the seat
//! check see no concurrent writer, and a write's events and license changes commit with
//! it. (Copying a tenant per write suits tests and small services; a database store uses
//! its database's transactions.) The data lives as long as the `MemoryStore` and its
//! clones: a clone is a second handle on the same data, as a second connection pool on one
//! database.
//!
//! ```
//! use std::sync::Arc;
//! use scim_core::SchemaRegistry;
//! use scim_core::ports::{StoreHealth, TenantDirectory};
//! use scim_core::tenant::{Tenant, TenantId};
//! use scim_memory::MemoryStore;
//!
//! # tokio_test();
//! # fn tokio_test() {
//! # let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! # runtime.block_on(async {
//! let store = MemoryStore::new(Arc::new(SchemaRegistry::standard()));
//! let acme = Tenant::new(TenantId("t1".into()), "acme", "Acme", chrono::Utc::now());
//! store.create_tenant(&acme).await.unwrap();
//! assert_eq!(store.find_tenant("acme").await.unwrap().unwrap().name, "Acme");
//! store.ping().await.unwrap();
//! # });
//! # }
//! ```

pub mod activity;
pub mod admin;
pub mod api_keys;
pub mod idempotency;
pub mod jobs;
pub mod ledger;
mod licenses;
pub mod outbox;
pub mod portal;
pub mod resources;
pub mod tenants;
pub mod webhooks;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, NaiveDate, Utc};
use scim_core::admin::UsageDay;
use scim_core::events::{ResourceEvent, SigningKey, StoredEvent};
use scim_core::license::{AuditEntry, HeldLicense, MappingRule, Pool};
use scim_core::tenant::{StoredClient, StoredToken, Tenant, TenantId};
use scim_core::{Resource, ResourceKind, SchemaRegistry, StoreError};
use tokio::sync::Notify;

use crate::admin::AdminSecret;
use crate::jobs::StoredJob;
use crate::webhooks::{Delivery, StoredReceiver};

/// Every tenant's data, in memory. Cloning it gives another handle on the same data.
#[derive(Clone)]
pub struct MemoryStore {
    /// Lists are evaluated with the core's own evaluator, against these schemas.
    registry: Arc<SchemaRegistry>,
    state: Arc<Mutex<State>>,
    /// Woken whenever a write records events (what long polls wait on).
    recorded: Arc<Notify>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    tenants: HashMap<TenantId, TenantData>,
    /// The last `seq` given to an event, in any tenant (seqs are unique store-wide, as a
    /// database's sequence makes them).
    last_seq: i64,
    /// SET signing keys (shared by all tenants).
    signing_keys: Vec<SigningKey>,
    /// The dashboard's login links and sessions.
    admin: Vec<AdminSecret>,
    /// The vendor's API keys.
    api_keys: Vec<scim_core::api_key::ApiKey>,
    /// The Management API's Idempotency-Keys, by owner and key.
    idempotency: HashMap<(String, String), scim_core::idempotency::IdempotencyRecord>,
    /// Every tenant's provisioning activity, oldest first, and the last `seq` given.
    activity: Vec<scim_core::activity::ActivityEntry>,
    last_activity: i64,
    /// The same, counted per tenant and hour.
    activity_hours: BTreeMap<(TenantId, i64), scim_core::activity::ActivitySummary>,
    /// The customer's portal's setup links and sessions, by secret hash.
    portal: Vec<(scim_core::tenant::TokenHash, scim_core::portal::PortalGrant)>,
}

/// One tenant's data: what a write copies, changes and puts back.
#[derive(Debug, Clone)]
struct TenantData {
    /// Its directory entry and settings.
    tenant: Tenant,
    /// Whether its deletion began: it is then not found, listed nor authenticated.
    deleting: bool,
    /// Users and groups, in creation order (the default order of lists).
    resources: Vec<Resource>,
    /// Each resource's key in that order (never reused): what cursor pages (RFC 9865,
    /// [`scim_core::query::Keyset`]) and re-evaluation positions name.
    keys: Vec<i64>,
    last_key: i64,
    /// Group membership, as rows: never stored in the resources' attributes.
    members: Vec<Membership>,
    /// The licenses each user holds, by user id, in sku order.
    licenses: HashMap<String, Vec<HeldLicense>>,
    /// By folded sku.
    pools: Vec<Pool>,
    /// The next bound of each pool's term still to settle, and until when a claim on it
    /// holds, by folded sku.
    terms_due: BTreeMap<String, (DateTime<Utc>, Option<DateTime<Utc>>)>,
    rules: Vec<MappingRule>,
    audit: Vec<AuditEntry>,
    /// Audit entries removed by retention (the first entry's seq is one more).
    audit_pruned: i64,
    /// Daily snapshots of the pools, by folded sku and day.
    usage: BTreeMap<(String, NaiveDate), UsageDay>,
    /// The events committed writes recorded, oldest first.
    outbox: Vec<StoredEvent>,
    /// What retention removed of them.
    horizon: Horizon,
    acknowledged: BTreeSet<i64>,
    /// Events the write under way records; numbered and queued when it commits.
    recording: Vec<(DateTime<Utc>, ResourceEvent)>,
    tokens: Vec<StoredToken>,
    clients: Vec<StoredClient>,
    jobs: Vec<StoredJob>,
    receivers: Vec<StoredReceiver>,
    /// The push queue: each event for each receiver.
    deliveries: Vec<Delivery>,
}

/// What retention removed of a tenant's events: the newest seq, whether its poll feed was
/// ever acknowledged, the events it lost (pruned unacknowledged) and how many a poll told.
#[derive(Debug, Clone, Copy, Default)]
struct Horizon {
    pruned_through: i64,
    polled: bool,
    lost: u64,
    told: u64,
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
    /// An empty store; list filters are checked against `registry` (a tenant's own
    /// attributes come with its queries).
    pub fn new(registry: Arc<SchemaRegistry>) -> Self {
        Self {
            registry,
            state: Arc::default(),
            recorded: Arc::default(),
        }
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
    /// data only when `write` succeeds. `NotFound` when there is no such tenant.
    fn write<T>(
        &self,
        tenant: &TenantId,
        write: impl FnOnce(&mut TenantData) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut state = self.lock();
        let State {
            tenants, last_seq, ..
        } = &mut *state;
        let data = tenants.get_mut(tenant).ok_or(StoreError::NotFound)?;
        let mut copy = data.clone();
        let out = write(&mut copy)?;
        let recorded = copy.commit_events(last_seq);
        *data = copy;
        drop(state);
        if recorded {
            self.recorded.notify_waiters();
        }
        Ok(out)
    }

    /// Runs `write` in the tenant that holds the first thing `holds` finds (a job, a
    /// receiver: ports that name only its id). `NotFound` when no tenant does.
    fn write_where<T>(
        &self,
        holds: impl Fn(&TenantData) -> bool,
        write: impl FnOnce(&mut TenantData) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tenant = self
            .lock()
            .tenants
            .iter()
            .find(|(_, data)| holds(data))
            .map(|(id, _)| id.clone())
            .ok_or(StoreError::NotFound)?;
        self.write(&tenant, write)
    }
}

impl TenantData {
    fn new(tenant: Tenant) -> Self {
        Self {
            tenant,
            deleting: false,
            resources: Vec::new(),
            keys: Vec::new(),
            last_key: 0,
            members: Vec::new(),
            licenses: HashMap::new(),
            pools: Vec::new(),
            rules: Vec::new(),
            audit: Vec::new(),
            usage: BTreeMap::new(),
            outbox: Vec::new(),
            acknowledged: BTreeSet::new(),
            recording: Vec::new(),
            tokens: Vec::new(),
            clients: Vec::new(),
            jobs: Vec::new(),
            receivers: Vec::new(),
            deliveries: Vec::new(),
            terms_due: BTreeMap::new(),
            horizon: Horizon::default(),
            audit_pruned: 0,
        }
    }

    /// Records events in the outbox, in the write's transaction like everything else (an
    /// event that says nothing is not kept).
    fn record(&mut self, at: DateTime<Utc>, events: impl IntoIterator<Item = ResourceEvent>) {
        let said = events.into_iter().filter(|event| !event.events.is_empty());
        self.recording.extend(said.map(|event| (at, event)));
    }

    /// At commit: numbers the recorded events and queues each for every receiver of the
    /// tenant. Whether there were any.
    fn commit_events(&mut self, last_seq: &mut i64) -> bool {
        let recorded = !self.recording.is_empty();
        for (at, event) in std::mem::take(&mut self.recording) {
            *last_seq += 1;
            let stored = StoredEvent {
                seq: *last_seq,
                at,
                event,
            };
            self.enqueue(&stored);
            self.outbox.push(stored);
        }
        recorded
    }
}
