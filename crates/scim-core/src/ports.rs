//! The ports: what the core needs from the outside world. Adapters implement them;
//! `mockall` mocks them (feature `mock`) for tests of code built on the core.

#![warn(missing_docs)]

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::activity::{ActivityEntry, ActivityQuery, ActivitySummary};
use crate::admin::{AdminSession, Revocation, UsageDay};
use crate::api_key::ApiKey;
use crate::bulk::{BulkJob, BulkOutcome, ClaimedJob, JobStatus, Lease, NewBulkJob};
use crate::compat::Compatibility;
use crate::context::WriteContext;
use crate::error::StoreError;
use crate::events::{
    ClaimedDelivery, DeadLetter, EventHorizon, Push, PushOutcome, Receiver, ReceiverStatus,
    ResourceEvent, Settled, SigningKey, StoredEvent,
};
use crate::idempotency::{IdempotencyRecord, StoredResponse};
use crate::license::{
    AuditEntry, AuditQuery, DueTerm, HeldLicense, LicenseRules, LicensedUser, MappingRule, Pool,
    Reevaluation, UnmappedValue,
};
use crate::portal::{PortalGrant, PortalKind};
use crate::query::{ListPage, ListQuery};
use crate::resource::{Expand, MembershipChange, Resource, ResourceKind};
use crate::schema::TenantAttribute;
use crate::tenant::{PurgeStep, StoredClient, StoredToken, Tenant, TenantId, TokenHash};

/// One write of [`ResourceRepository::write_batch`]: what `insert`, `update` or `delete`
/// would do on its own, with the events a single write carries in its `WriteContext`.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchWrite {
    /// [`ResourceRepository::insert`].
    Insert {
        /// The resource to create.
        resource: Resource,
        /// A new group's members.
        members: Vec<MembershipChange>,
        /// Recorded with the write.
        events: Vec<ResourceEvent>,
    },
    /// [`ResourceRepository::update`].
    Update {
        /// The resource as it is to be stored.
        resource: Resource,
        /// The version it was planned against.
        expected_version: i64,
        /// A group's membership changes.
        members: Vec<MembershipChange>,
        /// Recorded with the write.
        events: Vec<ResourceEvent>,
    },
    /// [`ResourceRepository::delete`].
    Delete {
        /// User or Group.
        kind: ResourceKind,
        /// Its id.
        id: String,
        /// Only at this version, when given.
        expected_version: Option<i64>,
        /// Recorded with the write.
        events: Vec<ResourceEvent>,
    },
}

/// Stores Users and Groups of one tenant at a time.
///
/// Group membership is kept apart from the resources' attributes, as rows: `members` of a
/// group and `groups` of a user are never stored with them (a store drops them from a
/// written resource), they are changed by [`MembershipChange`]s and computed on reads that
/// ask for them with [`Expand`]. Deleting a resource removes it from every group and removes
/// a deleted group's own members.
///
/// Every write also brings the licenses of the users it affects (the user written; the
/// members, direct and nested, of a group whose members or name change) in line with the
/// tenant's rules, in the same transaction (see [`crate::license`]): a write that would need
/// a seat a pool does not have changes nothing and fails with `SeatsExhausted`. The
/// changes are audited with the [`WriteContext`]. Every committed write records, in the same
/// transaction, the events it carries and the license events of what it assigned and
/// revoked (see [`crate::events`]). Reads of users can show the licenses held
/// ([`Expand::licenses`]).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ResourceRepository: Send + Sync {
    /// Inserts a new resource and applies `members` to it (a group's initial members).
    /// `Conflict` when a unique attribute is taken; `InvalidReference` when a member is no
    /// User or Group of the tenant, or is the group itself. Nothing is written on failure.
    /// Returns the licenses a new user holds once written (in sku order, as the license
    /// extension shows them; none for a group), so the answer needs no read.
    async fn insert(
        &self,
        ctx: &WriteContext,
        resource: &Resource,
        members: &[MembershipChange],
    ) -> Result<Vec<HeldLicense>, StoreError>;

    /// Applies several writes in one transaction, in order, each in a savepoint of its own:
    /// a failing write (its own result, the error its single form would give) rolls back
    /// only itself, and later writes see the earlier ones. The outer error is for the
    /// transaction as a whole (the store unreachable), when nothing was written.
    async fn write_batch(
        &self,
        ctx: &WriteContext,
        writes: &[BatchWrite],
    ) -> Result<Vec<Result<(), StoreError>>, StoreError>;

    /// The resource, with the computed attributes `expand` asks for.
    async fn get(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
        expand: Expand,
    ) -> Result<Option<Resource>, StoreError>;

    /// Replaces the stored resource if its version is still `expected_version`
    /// (`VersionMismatch` otherwise, `NotFound` when it is gone), and applies `members` to it
    /// in the same transaction. Each change costs what it names, whatever the group's size.
    async fn update(
        &self,
        ctx: &WriteContext,
        resource: &Resource,
        expected_version: i64,
        members: &[MembershipChange],
    ) -> Result<(), StoreError>;

    /// Deletes a resource, if given only when its version is still `expected_version`, and
    /// its membership rows on both sides (the groups it was a member of get a new version).
    async fn delete(
        &self,
        ctx: &WriteContext,
        kind: ResourceKind,
        id: &str,
        expected_version: Option<i64>,
    ) -> Result<(), StoreError>;

    /// Answers a list query exactly as the core's filter evaluator would over the resources
    /// with both computed attributes, and returns the page with those `expand` asks for.
    async fn list(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        query: &ListQuery,
        expand: Expand,
    ) -> Result<ListPage, StoreError>;
}

/// The dashboard's credentials, and the pools' daily usage snapshots.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait AdminRepository: Send + Sync {
    /// Stores the hash of a new login link; `link` says what the session it opens may see
    /// and until when the link works.
    async fn add_login_link(&self, hash: &TokenHash, link: &AdminSession)
    -> Result<(), StoreError>;

    /// In one transaction: removes the login link `link` and, when it was there and
    /// valid at `now`, stores the session `session` (its scope that of the link, its
    /// `created` now). `None` when the link is unknown, used already or expired (then
    /// nothing is stored).
    async fn redeem_login_link(
        &self,
        link: &TokenHash,
        session_secret: &TokenHash,
        session: &AdminSession,
        now: DateTime<Utc>,
    ) -> Result<Option<AdminSession>, StoreError>;

    /// The session `hash` is the secret of, when it is valid at `now`.
    async fn admin_session(
        &self,
        hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<AdminSession>, StoreError>;

    /// The sessions valid at `now`, oldest first (never login links).
    async fn admin_sessions(&self, now: DateTime<Utc>) -> Result<Vec<AdminSession>, StoreError>;

    /// Ends sessions (and, for [`Revocation::All`], login links); how many went.
    async fn revoke_admin_sessions(&self, which: &Revocation) -> Result<u64, StoreError>;

    /// Records every pool's seats and use as `day`'s snapshot (replacing an earlier one of
    /// the same day), and forgets expired admin secrets.
    async fn record_usage(&self, day: NaiveDate, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// The tenant's snapshots from `since` on, by sku then day.
    async fn usage_history(
        &self,
        tenant: &TenantId,
        since: NaiveDate,
    ) -> Result<Vec<UsageDay>, StoreError>;
}

/// Tenants: their directory entry (slug, name) and settings (pinned client certificates,
/// own attributes, compatibility profile).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait TenantDirectory: Send + Sync {
    /// `Conflict { attribute: "slug" }` when the slug is taken.
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;

    /// The tenant with this slug, if any.
    async fn find_tenant(&self, slug: &str) -> Result<Option<Tenant>, StoreError>;

    /// The tenant with this id, if any.
    async fn tenant_by_id(&self, tenant: &TenantId) -> Result<Option<Tenant>, StoreError>;

    /// Tenants by slug: at most `limit` of them, those after the slug `after` when given
    /// (keyset paging: one indexed range read, however many tenants there are).
    async fn list_tenants<'a>(
        &self,
        after: Option<&'a str>,
        limit: usize,
    ) -> Result<Vec<Tenant>, StoreError>;

    /// Replaces the tenant's pinned client-certificate fingerprints.
    async fn set_client_certs(
        &self,
        tenant: &TenantId,
        fingerprints: &[String],
    ) -> Result<(), StoreError>;

    /// Replaces the tenant's own attribute definitions, if they still are `expected` (what
    /// the caller read): `VersionMismatch` when another change got there first, `NotFound`
    /// when there is no such tenant.
    async fn set_custom_attributes(
        &self,
        tenant: &TenantId,
        expected: &[TenantAttribute],
        attributes: &[TenantAttribute],
    ) -> Result<(), StoreError>;

    /// Replaces the tenant's name and compatibility settings in one write (the slug never
    /// changes); `NotFound` when there is no such tenant.
    async fn update_tenant(
        &self,
        tenant: &TenantId,
        name: &str,
        compatibility: &Compatibility,
    ) -> Result<(), StoreError>;

    /// One step of deleting the tenant: removes at most `batch` of its rows, in one
    /// transaction, credentials first (so it stops authenticating with the first step),
    /// then what refers to its users and groups, then those; once nothing else is left,
    /// the tenant itself (then `finished`). A tenant that no longer exists is `finished`
    /// with nothing removed, so a deletion cut short is finished by running it again.
    async fn purge_tenant(&self, tenant: &TenantId, batch: usize) -> Result<PurgeStep, StoreError>;

    /// The tenant of `slug` whose deletion began and has not finished, if any. From its
    /// first step a tenant being deleted is not found by slug, listed, nor authenticated
    /// by any credential; this is how its deletion is found to finish it.
    async fn tenant_being_deleted(&self, slug: &str) -> Result<Option<TenantId>, StoreError>;
}

/// The credentials IdPs authenticate with: bearer tokens, OAuth clients and the access
/// tokens they obtain. Only hashes are kept.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// Stores a bearer token (its hash); `NotFound` when the tenant does not exist.
    async fn insert_token(&self, token: &StoredToken) -> Result<(), StoreError>;

    /// The tenant's bearer tokens, oldest first.
    async fn list_tokens(&self, tenant: &TenantId) -> Result<Vec<StoredToken>, StoreError>;

    /// Revokes (deletes) a token of the tenant; `NotFound` when there is none with that id.
    async fn revoke_token(&self, tenant: &TenantId, token_id: &str) -> Result<(), StoreError>;

    /// `NotFound` when the tenant does not exist.
    async fn insert_client(&self, client: &StoredClient) -> Result<(), StoreError>;

    /// The client with this id and its tenant, if any.
    async fn find_client(
        &self,
        client_id: &str,
    ) -> Result<Option<(StoredClient, Tenant)>, StoreError>;

    /// The tenant's clients, oldest first.
    async fn list_clients(&self, tenant: &TenantId) -> Result<Vec<StoredClient>, StoreError>;

    /// Deletes a client of the tenant and every access token it obtained; `NotFound` when
    /// there is none with that id.
    async fn revoke_client(&self, tenant: &TenantId, client_id: &str) -> Result<(), StoreError>;

    /// Stores an access token a client obtained, and deletes that client's tokens that
    /// expired before `now`.
    async fn insert_client_token(
        &self,
        token: &StoredToken,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The token with this hash and its tenant, if any.
    async fn find_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<(StoredToken, Tenant)>, StoreError>;
}

/// The vendor's API keys (see [`crate::api_key`]). Only hashes are kept.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ApiKeys: Send + Sync {
    /// Stores a key (its hash).
    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;

    /// Every key, oldest first.
    async fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError>;

    /// Revokes (deletes) a key; `NotFound` when there is none with that id.
    async fn revoke_api_key(&self, id: &str) -> Result<(), StoreError>;

    /// The key with this hash, if any (expired or not).
    async fn find_api_key(&self, hash: &TokenHash) -> Result<Option<ApiKey>, StoreError>;

    /// Records that the key opened a request at `at`. A key revoked meanwhile is left
    /// revoked (no error).
    async fn touch_api_key(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
}

/// The customer's portal's secrets (see [`crate::portal`]): setup links and the
/// sessions they open, kept as hashes.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait PortalAccess: Send + Sync {
    /// Stores the hash of a new link or session.
    async fn add_portal_grant(
        &self,
        hash: &TokenHash,
        grant: &PortalGrant,
    ) -> Result<(), StoreError>;

    /// The link or session (as `kind` says) `hash` is the secret of, when it works at
    /// `now` (a revoked link's sessions are gone with it).
    async fn portal_grant(
        &self,
        hash: &TokenHash,
        kind: PortalKind,
        now: DateTime<Utc>,
    ) -> Result<Option<PortalGrant>, StoreError>;

    /// The tenant's links that work at `now`, oldest first.
    async fn portal_links(
        &self,
        tenant: &TenantId,
        now: DateTime<Utc>,
    ) -> Result<Vec<PortalGrant>, StoreError>;

    /// Removes the tenant's link `id` and the sessions it opened; `NotFound` when the
    /// tenant has no such link.
    async fn revoke_portal_link(&self, tenant: &TenantId, id: &str) -> Result<(), StoreError>;

    /// Removes the session `hash` is the secret of (a logout); nothing when there is none.
    async fn end_portal_session(&self, hash: &TokenHash) -> Result<(), StoreError>;

    /// Removes links and sessions expired at `now`: how many.
    async fn prune_portal(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// The tenants' provisioning activity (see [`crate::activity`]): one entry per SCIM
/// request, written in batches, read newest first, pruned by age.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ActivityLog: Send + Sync {
    /// Stores `entries` (their `seq` is given by the store, in the order given).
    async fn record_activity(&self, entries: &[ActivityEntry]) -> Result<(), StoreError>;

    /// The tenant's entries the query asks for, newest (highest `seq`) first.
    async fn activity(
        &self,
        tenant: &TenantId,
        query: &ActivityQuery,
    ) -> Result<Vec<ActivityEntry>, StoreError>;

    /// Removes at most `limit` entries older than `before`, of any tenant (and their hourly
    /// counts): how many entries.
    async fn prune_activity(&self, before: DateTime<Utc>, limit: u64) -> Result<u64, StoreError>;

    /// The tenant's requests counted from the hour `since` is in: how many, how many
    /// refused, and when the last was answered (kept per hour with the entries).
    async fn activity_summary(
        &self,
        tenant: &TenantId,
        since: DateTime<Utc>,
    ) -> Result<ActivitySummary, StoreError>;
}

/// The Management API's `Idempotency-Key`s (see [`crate::idempotency`]): what each key's
/// first request was and answered. Stores keep responses sealed: they may hold a secret.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Records a key unless the owner has a record of it: whether it did.
    async fn insert_idempotency(&self, record: &IdempotencyRecord) -> Result<bool, StoreError>;

    /// The owner's record of `key`, if any. A response that no longer opens (sealed under
    /// a key since removed) reads as none.
    async fn idempotency(
        &self,
        owner: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;

    /// Keeps the response of the request that recorded `key` at `created`; nothing when the
    /// record is another request's by now.
    async fn finish_idempotency(
        &self,
        owner: &str,
        key: &str,
        created: DateTime<Utc>,
        response: &StoredResponse,
    ) -> Result<(), StoreError>;

    /// Forgets the record made at `created` (its request failed, or it no longer counts);
    /// nothing when the record is another request's by now.
    async fn forget_idempotency(
        &self,
        owner: &str,
        key: &str,
        created: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Forgets every record made before `before`; how many.
    async fn prune_idempotency(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// Whether the store can serve requests.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait StoreHealth: Send + Sync {
    /// Whether the store answers (and its migrations are applied).
    async fn ping(&self) -> Result<(), StoreError>;
}

/// A tenant's license pools, mapping rules and audit log (see [`crate::license`]).
///
/// Changing a pool's seats or the rules re-evaluates the tenant's users *while seats last*
/// (in batches, each its own transaction, in the users' creation order): users that would
/// need a missing seat are reported as waiting, and nobody loses a seat because seats were
/// lowered below their use.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait LicenseLedger: Send + Sync {
    /// Creates the pool for `pool.sku` (matched case-insensitively) or changes its name and
    /// seats; its `used` is the store's and is ignored. The users are re-evaluated
    /// afterwards ([`LicenseLedger::reconcile_users`], by the license service).
    async fn set_pool(&self, ctx: &WriteContext, pool: &Pool) -> Result<(), StoreError>;

    /// The tenant's pools, by sku.
    async fn pools(&self, tenant: &TenantId) -> Result<Vec<Pool>, StoreError>;

    /// Claims, until `until`, the pool whose term started or ended longest ago by `now`
    /// and whose tenant was not re-evaluated since ([`LicenseLedger::set_pool`] makes the
    /// next bound of the pool's term due); `None` when there is none. Two processes never
    /// hold a claim on the same pool at once; a claim not settled by `until` (its process
    /// died) may be taken again.
    async fn claim_due_term(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<DueTerm>, StoreError>;

    /// Settles a claimed bound once the tenant was re-evaluated: `next` is the pool's next
    /// bound due (`None`: none). Changes nothing when the pool was set since its claim.
    async fn settle_due_term(
        &self,
        due: &DueTerm,
        next: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;

    /// Adds a mapping rule; `false` when it exists (same source, value and sku, compared
    /// case-insensitively) and nothing changed. `NotFound` when the sku has no pool.
    async fn add_rule(&self, ctx: &WriteContext, rule: &MappingRule) -> Result<bool, StoreError>;

    /// Removes a mapping rule (compared case-insensitively); `NotFound` when there is none.
    async fn remove_rule(&self, ctx: &WriteContext, rule: &MappingRule) -> Result<(), StoreError>;

    /// The tenant's mapping rules, by source, value and sku.
    async fn rules(&self, tenant: &TenantId) -> Result<Vec<MappingRule>, StoreError>;

    /// Re-evaluates, while seats last and in one transaction, the next users of the tenant
    /// (at most `limit`, in creation order) after position `after` (0: from the first).
    /// Returns what changed and the position to go on from, or `None` when no user was
    /// left. The store hands the users, read under lock, to the core's engine
    /// ([`crate::license::LicensePlan`], [`crate::license::SeatPolicy::WhileSeatsLast`]).
    async fn reconcile_users(
        &self,
        ctx: &WriteContext,
        after: i64,
        limit: usize,
    ) -> Result<(Reevaluation, Option<i64>), StoreError>;

    /// The next users of the tenant (at most `limit`, in creation order) after position
    /// `after` (0: from the first), as the license engine reads them — their facts, with
    /// the displayNames of their groups, direct and nested, and what they hold — read
    /// without locking anything: what a [preview](crate::license::PreviewRun) runs the
    /// engine on. Returns them, keyed by position, and the position to go on from, or
    /// `None` when no user was left.
    async fn licensed_users(
        &self,
        tenant: &TenantId,
        after: i64,
        limit: usize,
    ) -> Result<(Vec<LicensedUser<i64>>, Option<i64>), StoreError>;

    /// The entitlement and role values of the tenant's users that grant no sku under
    /// `rules` (see [`crate::license::LicenseRules::grants_for`]), each with the number of
    /// users carrying it, by value. Reads every user once.
    async fn unmapped_values(
        &self,
        tenant: &TenantId,
        rules: &LicenseRules,
    ) -> Result<Vec<UnmappedValue>, StoreError>;

    /// Removes, oldest first and in one transaction, at most `limit` audit entries (every
    /// tenant's) made before `before`; how many.
    async fn prune_audit(&self, before: DateTime<Utc>, limit: u64) -> Result<u64, StoreError>;

    /// The audit log, oldest first.
    async fn audit(
        &self,
        tenant: &TenantId,
        query: &AuditQuery,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}

/// Asynchronous bulk jobs (see [`crate::bulk::BulkJob`]): stored with their request, claimed
/// by one process at a time under a lease, checkpointed with the outcomes of every step.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait BulkJobRepository: Send + Sync {
    /// Stores a new (pending) job.
    async fn create_job(&self, job: &NewBulkJob) -> Result<(), StoreError>;

    /// The tenant's job with this id, if any.
    async fn get_job(&self, tenant: &TenantId, id: &str) -> Result<Option<BulkJob>, StoreError>;

    /// The job's checkpointed outcomes, in processing order.
    async fn job_outcomes(&self, id: &str) -> Result<Vec<BulkOutcome>, StoreError>;

    /// Claims the oldest job that is pending, or running under a lease that has expired at
    /// `lease.now` (its process died): it becomes running under `lease`, its attempts
    /// counted. Two processes never claim the same job under live leases.
    async fn claim_job(&self, lease: &Lease) -> Result<Option<ClaimedJob>, StoreError>;

    /// Checkpoints a job: stores `outcomes` (processed after the `first` already stored),
    /// sets `done`, renews the lease to `lease.until` and records `ctx.events` (their
    /// asynchronous-completion events), in one transaction. `NotFound` when the job is no
    /// longer held under `lease.owner` (another process took it over).
    async fn checkpoint_job(
        &self,
        ctx: &WriteContext,
        id: &str,
        lease: &Lease,
        first: usize,
        outcomes: &[BulkOutcome],
    ) -> Result<(), StoreError>;

    /// Ends a job held under `lease.owner` with `status`, forgetting its request (it may
    /// hold passwords); `NotFound` when it is not held.
    async fn finish_job(
        &self,
        id: &str,
        lease: &Lease,
        status: JobStatus,
    ) -> Result<(), StoreError>;

    /// Hands a job held under `lease.owner` back, still running, for any process to claim
    /// at once (its lease ends at `lease.now`); the claim that took it is not counted as an
    /// attempt. `NotFound` when it is not held.
    async fn release_job(&self, id: &str, lease: &Lease) -> Result<(), StoreError>;

    /// Removes at most `limit` jobs (every tenant's) that ended (completed or failed) before
    /// `before`, with their outcomes; how many.
    async fn prune_jobs(&self, before: DateTime<Utc>, limit: u64) -> Result<u64, StoreError>;

    /// Whether a tenant other than `tenant` has a job a claim at `now` could take.
    async fn others_waiting(
        &self,
        tenant: &TenantId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

/// The outbox: the events committed writes recorded (see [`crate::events`]).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait EventLog: Send + Sync {
    /// The tenant's events recorded after `after` (a `seq`), oldest first, at most `limit`.
    async fn events_after(
        &self,
        tenant: &TenantId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// The tenant's poll feed (RFC 8936): its events not acknowledged yet, oldest first, at
    /// most `limit`.
    async fn unacknowledged(
        &self,
        tenant: &TenantId,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// Acknowledges events of the tenant's poll feed by `seq`, `at` that time; another
    /// tenant's or an unknown `seq`, or one acknowledged before, changes nothing.
    async fn acknowledge(
        &self,
        tenant: &TenantId,
        seqs: &[i64],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// A number that moves whenever events are recorded for the tenant, by any process on
    /// the store, from this call on: what a long poll (RFC 8936) reads before it looks for
    /// events, and then waits on ([`events_recorded`](Self::events_recorded)) instead of
    /// reading the store again and again.
    async fn events_generation(&self, tenant: &TenantId) -> Result<u64, StoreError>;

    /// Waits until the tenant's [`events_generation`](Self::events_generation) is no
    /// longer `seen`, or `timeout` passes; whether it moved.
    async fn events_recorded(&self, tenant: &TenantId, seen: u64, timeout: Duration) -> bool;

    /// Removes, oldest first and in one transaction, at most `limit` of the events (every
    /// tenant's) recorded before `before`, with their acknowledgements and deliveries, and
    /// records each tenant's [`EventHorizon`]: the newest `seq` removed and, once its poll
    /// feed was acknowledged at least once, the events removed before they were. How many
    /// were removed (fewer than `limit`: none older is left).
    async fn prune_events(&self, before: DateTime<Utc>, limit: u64) -> Result<u64, StoreError>;

    /// What retention removed of the tenant's events.
    async fn horizon(&self, tenant: &TenantId) -> Result<EventHorizon, StoreError>;

    /// The events the tenant's poll feed lost that no poll was told of yet, now counted as
    /// told: a poll says so once.
    async fn take_lost(&self, tenant: &TenantId) -> Result<u64, StoreError>;
}

/// The keys SETs are signed with, shared by every process on the store (see
/// [`crate::events::key_schedule`] for when each signs and is published).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait SigningKeys: Send + Sync {
    /// The keys, newest first.
    async fn signing_keys(&self) -> Result<Vec<SigningKey>, StoreError>;

    /// Stores a new signing key; `Conflict` when its `kid` exists.
    async fn add_signing_key(&self, key: &SigningKey) -> Result<(), StoreError>;

    /// Forgets the signing keys of these `kid`s (retired keys no longer published).
    async fn forget_signing_keys(&self, kids: &[String]) -> Result<(), StoreError>;
}

/// Push delivery's receivers and queue (see [`crate::events::Receiver`]).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Webhooks: Send + Sync {
    /// Registers a receiver: from now on every event of its tenant is queued for it.
    async fn add_receiver(&self, receiver: &Receiver) -> Result<(), StoreError>;

    /// The tenant's receivers with their delivery figures, oldest first.
    async fn receivers(&self, tenant: &TenantId) -> Result<Vec<ReceiverStatus>, StoreError>;

    /// Removes a receiver of the tenant and its queue; `NotFound` when it has none by `id`.
    async fn remove_receiver(&self, tenant: &TenantId, id: &str) -> Result<(), StoreError>;

    /// Takes up to `limit` deliveries due at `now`, oldest first, each the earliest
    /// waiting one of its subject for its receiver, and makes them due again only at
    /// `lease_until` (no other process takes them meanwhile; a dead process's come back).
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<ClaimedDelivery>, StoreError>;

    /// Records how attempts ended: delivered ones leave the queue, retried ones become
    /// due again, dead ones wait for a re-drive; the receivers' figures follow.
    async fn settle_deliveries(&self, settled: &[Settled]) -> Result<(), StoreError>;

    /// The tenant's dead letters (of one receiver when `receiver` is given), oldest first.
    async fn dead_letters(
        &self,
        tenant: &TenantId,
        receiver: Option<String>,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, StoreError>;

    /// Queues the tenant's dead letters (of one receiver when given) again, due at `now`
    /// with their attempts reset; returns how many.
    async fn redrive(
        &self,
        tenant: &TenantId,
        receiver: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
}

/// Sends SETs to receivers (RFC 8935): signs each with its receiver's secret, POSTs it,
/// and reports what the receiver said, in the order given. Sends in parallel as it sees
/// fit; never fails as a whole.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait SetPusher: Send + Sync {
    /// Signs and sends each push; what each receiver answered, in order.
    async fn push(&self, pushes: Vec<Push>) -> Vec<PushOutcome>;
}

/// Checks the signature of a JWT assertion (RFC 7523) with its issuer's published keys:
/// the key its header's `kid` names in the JWKS at `jwks_url` (fetched, and cached as the
/// adapter sees fit), by the asymmetric algorithm its header names and the key allows.
/// Its claims are returned unjudged: [`Federation::check`](crate::federation::Federation::check)
/// judges them.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait AssertionVerifier: Send + Sync {
    /// The claims of `assertion` when its signature verifies.
    async fn verify(
        &self,
        jwks_url: &str,
        assertion: &str,
    ) -> Result<serde_json::Map<String, serde_json::Value>, AssertionError>;
}

/// Why an assertion's signature could not be verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    /// It is not a JWS, or no key of the issuer verifies it: it never will.
    #[error("{0}")]
    Refused(String),
    /// The issuer's keys could not be had (and none cached verifies it): it may pass
    /// after `retry_after` seconds.
    #[error("{reason}")]
    Unreachable {
        /// What failed.
        reason: String,
        /// When the keys are asked for again.
        retry_after: u64,
    },
}

/// No assertion is verified (the default where no adapter was given): federated clients
/// are refused.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAssertions;

#[async_trait]
impl AssertionVerifier for NoAssertions {
    async fn verify(
        &self,
        _jwks_url: &str,
        _assertion: &str,
    ) -> Result<serde_json::Map<String, serde_json::Value>, AssertionError> {
        Err(AssertionError::Refused(
            "this server verifies no client assertions".into(),
        ))
    }
}

/// The time. The core never reads the system clock itself.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait Clock: Send + Sync {
    /// The time now.
    fn now(&self) -> DateTime<Utc>;
}

/// New secrets: tokens and client secrets, `scim_` and at least 256 random bits.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait SecretGenerator: Send + Sync {
    /// A new secret, unguessable.
    fn new_secret(&self) -> String;
}

/// New resource ids.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait IdGenerator: Send + Sync {
    /// A new id, unique per tenant and kind.
    fn new_id(&self) -> String;
}

/// Every storage port: what a store implements to serve every use case (see
/// [`crate::service::Services::on`]). Implemented for any type that has them all.
pub trait Storage:
    ResourceRepository
    + LicenseLedger
    + EventLog
    + SigningKeys
    + TenantDirectory
    + CredentialStore
    + ApiKeys
    + IdempotencyStore
    + ActivityLog
    + PortalAccess
    + StoreHealth
    + AdminRepository
    + BulkJobRepository
    + Webhooks
    + 'static
{
}

impl<T> Storage for T where
    T: ResourceRepository
        + LicenseLedger
        + EventLog
        + SigningKeys
        + TenantDirectory
        + CredentialStore
        + ApiKeys
        + IdempotencyStore
        + ActivityLog
        + PortalAccess
        + StoreHealth
        + AdminRepository
        + BulkJobRepository
        + Webhooks
        + 'static
{
}
