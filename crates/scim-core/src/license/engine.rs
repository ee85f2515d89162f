//! The license engine: every license decision of a write, made on what the store read under
//! its locks.
//!
//! A store that writes something licenses depend on (a user, a group's members, a pool's
//! seats, a rule) hands the engine, inside its transaction and through a synchronous
//! interface, the users the write affects ([`LicensedUser`]: their facts and what they
//! hold) and a [`SeatLedger`] over the tenant's pools. The engine plans each user's
//! changes ([`LicenseRules::grants_for`], [`plan_license_changes`]), asks the ledger for
//! the seats of each pool it changes, in sku order (the order every writer locks pools in),
//! decides under the write's [`SeatPolicy`] who gets a seat, who waits and who is refused,
//! tells the ledger the pools' new use, and returns the [`LicenseOutcome`]: the rows to
//! write, the audit entries and the events, in the order they are recorded (revocations,
//! then assignments in the users' order, then `poolExhausted`).
//!
//! The store keeps only what is storage: the transaction, the locks, how it counts seats
//! (the server splits a pool over stripes), and writing the outcome.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::audit::{AuditAction, AuditEntry};
use super::planner::{
    Grants, HeldLicense, LicenseChanges, LicenseRules, LicenseSource, LicenseStatus, Reevaluation,
    UserFacts, plan_license_changes,
};
use super::seating::{PoolDemand, SeatPolicy, Seats, Shortage, took_last_seat};
use crate::context::WriteContext;
use crate::error::StoreError;
use crate::events::ResourceEvent;
use crate::fold::fold_key;

/// A user whose licenses a write may change, as the store read it under its locks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicensedUser<K> {
    /// The store's handle on the user (its row), handed back in the outcome.
    pub key: K,
    /// The user's SCIM id, for events and the audit log.
    pub id: String,
    /// What the rules read; `None` for a user being deleted, who keeps nothing.
    pub facts: Option<UserFacts>,
    /// What it holds now.
    pub held: Vec<HeldLicense>,
}

impl<K> LicensedUser<K> {
    /// A user just created: it holds nothing and is in no group, so its attributes decide.
    pub fn new(key: K, id: impl Into<String>, facts: UserFacts) -> Self {
        Self {
            key,
            id: id.into(),
            facts: Some(facts),
            held: Vec::new(),
        }
    }

    /// A user about to be deleted: everything it holds is revoked.
    pub fn leaving(key: K, id: impl Into<String>, held: Vec<HeldLicense>) -> Self {
        Self {
            key,
            id: id.into(),
            facts: None,
            held,
        }
    }
}

/// The seats of a tenant's pools as a store keeps them, asked by the engine inside the
/// write's transaction; `K` is the store's handle on a user ([`LicensedUser::key`]).
pub trait SeatLedger<K> {
    /// The seats of `demand`'s pool, which stays locked until the write ends. Under
    /// [`SeatPolicy::Strict`] a store may instead take the demand's whole change from a
    /// part of the pool holding [`PoolDemand::one_part_needs`] free seats and answer
    /// [`Seats::TakenFromOnePart`].
    fn seats(&mut self, demand: &PoolDemand, policy: SeatPolicy) -> Result<Seats, StoreError>;

    /// Changes the use of a pool the engine was told the seats of by `change` (taken when
    /// positive, given back when negative); the engine made sure the seats are there.
    fn change_use(&mut self, demand: &PoolDemand, change: i64) -> Result<(), StoreError>;

    /// Up to `limit` of the licenses waiting for a seat of `demand`'s pool, oldest first
    /// (by the time they began to wait, then the users' order), read with the pool locked;
    /// asked only of a pool counted under [`super::PoolPolicy::Pending`]. A store may leave
    /// out a license whose user another write holds locked at that moment: that write is
    /// deciding it.
    fn waiting(
        &mut self,
        demand: &PoolDemand,
        limit: usize,
    ) -> Result<Vec<LicenseChange<K>>, StoreError>;
}

/// One license a user gains, loses or holds from a new source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseChange<K> {
    /// The user's [`LicensedUser::key`].
    pub user: K,
    /// The user's SCIM id.
    pub id: String,
    /// As the pool spells it.
    pub sku: String,
    /// Why it is held (for a revocation: why it was).
    pub source: LicenseSource,
}

/// Everything a write does to licenses, for the store to write as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseOutcome<K> {
    /// Licenses taken away (each frees a seat).
    pub revoked: Vec<LicenseChange<K>>,
    /// Waiting licenses no longer asked for (no seat moves); removed like revocations.
    pub withdrawn: Vec<LicenseChange<K>>,
    /// Licenses whose pool's term is over, in a pool that waits: each frees its seat and
    /// waits again (status `pending`, with `source` as asked now), keeping its `assigned`
    /// so that a renewal gives the seats back to those who held them, oldest first.
    pub suspended: Vec<LicenseChange<K>>,
    /// Licenses held still whose source changed (no seat moves).
    pub source_changed: Vec<LicenseChange<K>>,
    /// Licenses given (each took a seat), in the users' order.
    pub assigned: Vec<LicenseChange<K>>,
    /// Waiting licenses, of this write's users or any other, given the seat this write
    /// freed (each took a seat), oldest first: their status turns `active`.
    pub promoted: Vec<LicenseChange<K>>,
    /// Licenses written to wait for a seat of a full `pending` pool, in the users' order.
    pub queued: Vec<LicenseChange<K>>,
    /// `(user id, sku)` of assignments left out for want of a seat
    /// ([`SeatPolicy::WhileSeatsLast`], in a pool that does not wait).
    pub waiting: Vec<(String, String)>,
    /// Users refused as a whole, changing nothing ([`SeatPolicy::EachUserWhole`]).
    pub refused: Vec<(K, Shortage)>,
    /// One entry per change, in the order of `events`.
    pub audit: Vec<AuditEntry>,
    /// License events, in the order they are recorded.
    pub events: Vec<ResourceEvent>,
}

impl<K> Default for LicenseOutcome<K> {
    fn default() -> Self {
        Self {
            revoked: Vec::new(),
            withdrawn: Vec::new(),
            suspended: Vec::new(),
            source_changed: Vec::new(),
            assigned: Vec::new(),
            promoted: Vec::new(),
            queued: Vec::new(),
            waiting: Vec::new(),
            refused: Vec::new(),
            audit: Vec::new(),
            events: Vec::new(),
        }
    }
}

impl<K> LicenseOutcome<K> {
    /// The licenses given to `user` `at` the write's time, holding a seat or waiting, as it
    /// holds them, in sku order: for a user just created, everything it holds.
    pub fn assigned_to(&self, user: &K, at: chrono::DateTime<chrono::Utc>) -> Vec<HeldLicense>
    where
        K: PartialEq,
    {
        let mut held: Vec<HeldLicense> = self
            .new_licenses(at)
            .filter(|(change, _)| change.user == *user)
            .map(|(_, license)| license)
            .collect();
        held.sort_by_key(|license| fold_key(&license.sku));
        held
    }

    /// The licenses the write gives, as held from `at` (the write's time): those given a
    /// seat (`assigned`), then those written to wait (`queued`), each with its change.
    pub fn new_licenses(
        &self,
        at: chrono::DateTime<chrono::Utc>,
    ) -> impl Iterator<Item = (&LicenseChange<K>, HeldLicense)> {
        let given = (self.assigned.iter()).map(|change| (change, LicenseStatus::Active));
        let waits = (self.queued.iter()).map(|change| (change, LicenseStatus::Pending));
        given.chain(waits).map(move |(change, status)| {
            let license = HeldLicense {
                status,
                ..HeldLicense::active(change.sku.clone(), change.source, at)
            };
            (change, license)
        })
    }

    /// The outcome of re-evaluating `users` users, as reported to an admin: waiting
    /// licenses given a seat count as assigned, licenses written to wait as waiting, and
    /// suspended ones as both revoked and waiting.
    pub fn report(&self, users: u64) -> Reevaluation {
        let queued = (self.queued.iter())
            .chain(&self.suspended)
            .map(|change| (change.id.clone(), change.sku.clone()));
        Reevaluation {
            users,
            assigned: (self.assigned.len() + self.promoted.len()) as u64,
            revoked: (self.revoked.len() + self.suspended.len()) as u64,
            waiting: self.waiting.iter().cloned().chain(queued).collect(),
        }
    }
}

/// The planned license changes of a write's users, before any seat is asked for.
#[derive(Debug, Clone)]
pub struct LicensePlan<K> {
    users: Vec<Planned<K>>,
    policy: SeatPolicy,
    /// The pools that keep licenses waiting, as the rules say: their skus as they spell
    /// them, by folded sku.
    waiting_pools: BTreeMap<String, String>,
    /// The pools outside their term at the write's time, by folded sku: they grant no seat.
    dormant: BTreeSet<String>,
}

#[derive(Debug, Clone)]
struct Planned<K> {
    key: K,
    id: String,
    changes: LicenseChanges,
}

impl<K: Clone + PartialEq> LicensePlan<K> {
    /// Plans the users' changes under the tenant's `rules` `at` the write's time; the users
    /// are served in the order given (the store's creation order). A license waiting in a
    /// pool that no longer keeps a waiting list (its policy changed) is asked for again,
    /// under the pool's policy. A pool outside its [term](super::Term) grants nothing: its
    /// licenses are revoked, or, in a pool that waits, wait again.
    pub fn new(
        rules: &LicenseRules,
        users: Vec<LicensedUser<K>>,
        policy: SeatPolicy,
        at: DateTime<Utc>,
    ) -> Self {
        let waiting_pools: BTreeMap<String, String> = rules
            .pools
            .iter()
            .filter(|pool| pool.policy.waits())
            .map(|pool| (fold_key(&pool.sku), pool.sku.clone()))
            .collect();
        let dormant: BTreeSet<String> = (rules.pools.iter())
            .filter(|pool| !pool.term.holds(at))
            .map(|pool| fold_key(&pool.sku))
            .collect();
        let users = users
            .into_iter()
            .map(|user| {
                let mut grants = user
                    .facts
                    .as_ref()
                    .map_or_else(Grants::default, |facts| rules.grants_for(facts));
                grants
                    .skus
                    .retain(|key, _| !dormant.contains(key) || waiting_pools.contains_key(key));
                let mut changes = plan_license_changes(&user.held, &grants);
                for license in &user.held {
                    let key = fold_key(&license.sku);
                    let Some((sku, source)) = grants.skus.get(&key) else {
                        continue;
                    };
                    let waits = waiting_pools.contains_key(&key);
                    match license.status {
                        LicenseStatus::Pending if !waits => {
                            changes.withdraw.push((license.sku.clone(), license.source));
                            changes.assign.push((sku.clone(), *source));
                        }
                        LicenseStatus::Active if dormant.contains(&key) => {
                            changes.suspend.push((license.sku.clone(), *source));
                        }
                        _ => continue,
                    }
                    changes
                        .source_changed
                        .retain(|(held, _)| fold_key(held) != key);
                }
                changes.assign.sort_by_key(|(sku, _)| fold_key(sku));
                Planned {
                    key: user.key,
                    id: user.id,
                    changes,
                }
            })
            .collect();
        Self {
            users,
            policy,
            waiting_pools,
            dormant,
        }
    }

    /// What the plan asks of each pool, in folded-sku order. An admin's change
    /// ([`SeatPolicy::WhileSeatsLast`]) asks every pool that waits, even for nothing, so
    /// that seats it added go to the licenses waiting.
    pub fn demands(&self) -> Vec<PoolDemand> {
        let mut demands = demands(self.users.iter(), &self.waiting_pools);
        if self.policy == SeatPolicy::WhileSeatsLast {
            for (key, sku) in &self.waiting_pools {
                demands.entry(key.clone()).or_insert_with(|| PoolDemand {
                    key: key.clone(),
                    sku: sku.clone(),
                    assign: 0,
                    revoke: 0,
                    waits: true,
                });
            }
        }
        demands.into_values().collect()
    }

    /// Asks `ledger` for the seats of every pool (in sku order), decides, tells it the
    /// pools' new use, and says what to write. Under [`SeatPolicy::Strict`] a missing seat
    /// of a pool that does not wait fails the whole plan with `SeatsExhausted` before any
    /// use is changed (a store that took seats from one part of a pool rolls its
    /// transaction back). In a pool that waits, a freed seat goes to the oldest waiting
    /// license first, and a license without a seat is written to wait.
    pub fn decide(
        self,
        ledger: &mut dyn SeatLedger<K>,
        ctx: &WriteContext,
    ) -> Result<LicenseOutcome<K>, StoreError> {
        let mut outcome = LicenseOutcome::default();
        match self.policy {
            SeatPolicy::EachUserWhole => self.seat_whole_users(ledger, ctx, &mut outcome)?,
            policy => {
                let demands = self.demands();
                let seated = seat_pools(
                    ledger,
                    &demands,
                    (policy, &self.dormant),
                    &self.withdrawals(),
                )?;
                record_leaving(&self.users, ctx, &mut outcome);
                let (mut granted, mut exhausted) = (BTreeMap::new(), Vec::new());
                for (key, pool) in seated {
                    record_promoted(pool.promoted, ctx, &mut outcome);
                    granted.insert(key, (pool.granted, pool.waits));
                    exhausted.extend(pool.exhausted);
                }
                record_assigned(&self.users, granted, ctx, &mut outcome);
                outcome.events.extend(exhausted);
            }
        }
        Ok(outcome)
    }

    /// Per folded sku, the users of this write whose waiting license is withdrawn: they
    /// are not given a seat of it.
    fn withdrawals(&self) -> BTreeMap<String, Vec<K>> {
        let mut out: BTreeMap<String, Vec<K>> = BTreeMap::new();
        for user in &self.users {
            for (sku, _) in &user.changes.withdraw {
                out.entry(fold_key(sku)).or_default().push(user.key.clone());
            }
        }
        out
    }

    /// [`SeatPolicy::EachUserWhole`]: each user in turn against the pools' running use,
    /// with the outcome (refusals, rows, audit, events and `poolExhausted`) of writing the
    /// users one after the other. A pool that waits first gives its free seats to the
    /// licenses already waiting, and never refuses: a license it has no seat for waits.
    fn seat_whole_users(
        self,
        ledger: &mut dyn SeatLedger<K>,
        ctx: &WriteContext,
        outcome: &mut LicenseOutcome<K>,
    ) -> Result<(), StoreError> {
        let mut pools: BTreeMap<String, RunningPool> = BTreeMap::new();
        let withdrawals = self.withdrawals();
        for demand in self.demands() {
            match ledger.seats(&demand, self.policy)? {
                Seats::Counted {
                    seats,
                    used,
                    policy,
                } => {
                    let capacity = capacity(&self.dormant, &demand.key, seats, policy);
                    let mut running = used;
                    if policy.waits() {
                        let free = (capacity - used).max(0);
                        let skip = withdrawals.get(&demand.key).map_or(&[][..], Vec::as_slice);
                        let promoted = oldest_waiting(ledger, &demand, free, skip)?;
                        running += promoted.len() as i64;
                        record_promoted(promoted, ctx, outcome);
                    }
                    let pool = RunningPool {
                        demand,
                        seats,
                        capacity,
                        waits: policy.waits(),
                        used,
                        running,
                    };
                    pools.insert(pool.demand.key.clone(), pool);
                }
                Seats::TakenFromOnePart => return Err(StoreError::corrupt(OnePartMisused)),
            }
        }
        for user in self.users {
            let own = demands(std::iter::once(&user), &self.waiting_pools);
            let short = own.iter().find_map(|(key, demand)| {
                let pool = &pools[key];
                let room = demand.room(pool.capacity, pool.running);
                (!pool.waits && demand.assign > room).then(|| Shortage {
                    sku: demand.sku.clone(),
                    seats: pool.seats,
                    used: pool.running,
                })
            });
            if let Some(shortage) = short {
                outcome.refused.push((user.key, shortage));
                continue;
            }
            let granted = own.iter().map(|(key, demand)| {
                let pool = &pools[key];
                let given = demand.assign.min(demand.room(pool.capacity, pool.running));
                (key.clone(), (given, pool.waits))
            });
            let granted: BTreeMap<String, (i64, bool)> = granted.collect();
            record_leaving(std::slice::from_ref(&user), ctx, outcome);
            record_assigned(std::slice::from_ref(&user), granted.clone(), ctx, outcome);
            for (key, demand) in own {
                let Some(pool) = pools.get_mut(&key) else {
                    continue;
                };
                let given = granted[&key].0;
                let before = pool.running;
                pool.running += given - demand.revoke;
                if took_last_seat(pool.capacity, before, pool.running, given) {
                    let event =
                        ResourceEvent::pool_exhausted(&demand.sku, pool.seats, pool.running);
                    outcome.events.push(event);
                }
            }
        }
        for pool in pools.into_values() {
            ledger.change_use(&pool.demand, pool.running - pool.used)?;
        }
        Ok(())
    }
}

/// A pool's counts while [`SeatPolicy::EachUserWhole`] seats users one after the other.
struct RunningPool {
    /// What the whole plan asks of it.
    demand: PoolDemand,
    seats: i64,
    /// Seats it may grant: those bought and its overage allowance.
    capacity: i64,
    /// Whether licenses without a seat wait.
    waits: bool,
    /// In use when counted.
    used: i64,
    /// In use after the users seated so far.
    running: i64,
}

/// What a pool gives the plan, decided under its lock.
struct Seated<K> {
    /// Seats for the plan's own assignments.
    granted: i64,
    /// Whether the plan's assignments without a seat wait.
    waits: bool,
    /// Waiting licenses given a freed seat, oldest first.
    promoted: Vec<LicenseChange<K>>,
    /// The `poolExhausted` event, when the plan took the pool's last seat.
    exhausted: Option<ResourceEvent>,
}

/// Under `Strict` or `WhileSeatsLast`, what each pool gives the whole plan. Every pool is
/// decided before any use changes, so a refusal leaves the counts as they were. A pool
/// that waits serves its oldest waiting licenses before the plan's assignments.
fn seat_pools<K: Clone + PartialEq>(
    ledger: &mut dyn SeatLedger<K>,
    demands: &[PoolDemand],
    (policy, dormant): (SeatPolicy, &BTreeSet<String>),
    withdrawals: &BTreeMap<String, Vec<K>>,
) -> Result<BTreeMap<String, Seated<K>>, StoreError> {
    let mut seated = BTreeMap::new();
    let mut counted = Vec::new();
    for demand in demands {
        match ledger.seats(demand, policy)? {
            Seats::TakenFromOnePart if policy == SeatPolicy::Strict => {
                let pool = Seated {
                    granted: demand.assign,
                    waits: false,
                    promoted: Vec::new(),
                    exhausted: None,
                };
                seated.insert(demand.key.clone(), pool);
            }
            Seats::TakenFromOnePart => return Err(StoreError::corrupt(OnePartMisused)),
            Seats::Counted {
                seats,
                used,
                policy: pool_policy,
            } => {
                let capacity = capacity(dormant, &demand.key, seats, pool_policy);
                let room = demand.room(capacity, used);
                let promoted = if pool_policy.waits() {
                    let skip = withdrawals.get(&demand.key).map_or(&[][..], Vec::as_slice);
                    oldest_waiting(ledger, demand, room, skip)?
                } else {
                    Vec::new()
                };
                let room = room - promoted.len() as i64;
                let granted = match policy {
                    _ if pool_policy.waits() => demand.assign.min(room),
                    SeatPolicy::Strict if demand.assign > room => {
                        let sku = demand.sku.clone();
                        return Err(Shortage { sku, seats, used }.into());
                    }
                    SeatPolicy::Strict => demand.assign,
                    _ => demand.assign.min(room),
                };
                let pool = Seated {
                    granted,
                    waits: pool_policy.waits(),
                    promoted,
                    exhausted: None,
                };
                counted.push((demand, seats, capacity, used, pool));
            }
        }
    }
    for (demand, seats, capacity, used, mut pool) in counted {
        let given = pool.granted + pool.promoted.len() as i64;
        let change = given - demand.revoke;
        ledger.change_use(demand, change)?;
        // The write that takes a pool's last seat (overage included) says so.
        if took_last_seat(capacity, used, used + change, given) {
            let event = ResourceEvent::pool_exhausted(&demand.sku, seats, used + change);
            pool.exhausted = Some(event);
        }
        seated.insert(demand.key.clone(), pool);
    }
    Ok(seated)
}

/// The most seats the pool of folded sku `key` may grant, counted with `seats` and
/// `policy`: none outside its term (`dormant`).
fn capacity(dormant: &BTreeSet<String>, key: &str, seats: i64, policy: super::PoolPolicy) -> i64 {
    if dormant.contains(key) {
        0
    } else {
        seats.saturating_add(policy.allowance())
    }
}

/// Up to `free` of the pool's oldest waiting licenses, leaving out those of `skip` (this
/// write withdraws them).
fn oldest_waiting<K: PartialEq>(
    ledger: &mut dyn SeatLedger<K>,
    demand: &PoolDemand,
    free: i64,
    skip: &[K],
) -> Result<Vec<LicenseChange<K>>, StoreError> {
    let free = usize::try_from(free).unwrap_or(0);
    if free == 0 {
        return Ok(Vec::new());
    }
    let mut waiting = ledger.waiting(demand, free + skip.len())?;
    waiting.retain(|license| !skip.contains(&license.user));
    waiting.truncate(free);
    Ok(waiting)
}

/// Records the kept users' revocations, withdrawals, suspensions and source changes.
fn record_leaving<K: Clone>(
    users: &[Planned<K>],
    ctx: &WriteContext,
    outcome: &mut LicenseOutcome<K>,
) {
    for user in users {
        for (sku, source) in &user.changes.revoke {
            outcome
                .audit
                .push(entry(ctx, &user.id, sku, AuditAction::Revoked, None));
            outcome
                .events
                .push(ResourceEvent::license(&user.id, sku, false, None));
            outcome.revoked.push(change(user, sku.clone(), *source));
        }
        for (sku, source) in &user.changes.withdraw {
            outcome
                .audit
                .push(entry(ctx, &user.id, sku, AuditAction::Withdrawn, None));
            outcome
                .events
                .push(ResourceEvent::license_withdrawn(&user.id, sku));
            outcome.withdrawn.push(change(user, sku.clone(), *source));
        }
        // The seat goes (`revoked`), the license waits (`pending`): read so by the true-up,
        // by event consumers and in the audit log.
        for (sku, source) in &user.changes.suspend {
            let (id, kind) = (&user.id, source.as_str());
            outcome
                .audit
                .push(entry(ctx, id, sku, AuditAction::Revoked, None));
            outcome
                .audit
                .push(entry(ctx, id, sku, AuditAction::Pending, Some(*source)));
            outcome
                .events
                .push(ResourceEvent::license(id, sku, false, None));
            outcome
                .events
                .push(ResourceEvent::license_pending(id, sku, kind));
            outcome.suspended.push(change(user, sku.clone(), *source));
        }
        for (sku, source) in &user.changes.source_changed {
            outcome
                .source_changed
                .push(change(user, sku.clone(), *source));
        }
    }
}

/// Records the waiting licenses a pool gave a freed seat, oldest first.
fn record_promoted<K>(
    promoted: Vec<LicenseChange<K>>,
    ctx: &WriteContext,
    outcome: &mut LicenseOutcome<K>,
) {
    for license in promoted {
        let (id, sku, source) = (&license.id, &license.sku, license.source);
        let action = AuditAction::Assigned;
        outcome
            .audit
            .push(entry(ctx, id, sku, action, Some(source)));
        let event = ResourceEvent::license(id, sku, true, Some(source.as_str()));
        outcome.events.push(event);
        outcome.promoted.push(license);
    }
}

/// Records the users' assignments in their order while each pool's granted seats last
/// (`granted`: seats, and whether the rest wait, by folded sku); the rest wait, written
/// to (a pool that waits) or reported (one that does not).
fn record_assigned<K: Clone>(
    users: &[Planned<K>],
    mut granted: BTreeMap<String, (i64, bool)>,
    ctx: &WriteContext,
    outcome: &mut LicenseOutcome<K>,
) {
    for user in users {
        for (sku, source) in &user.changes.assign {
            let (left, waits) = granted
                .get_mut(&fold_key(sku))
                .map_or((None, false), |(left, waits)| (Some(left), *waits));
            match left {
                Some(left) if *left > 0 => *left -= 1,
                _ if waits => {
                    let action = AuditAction::Pending;
                    let (id, kind) = (&user.id, source.as_str());
                    outcome
                        .audit
                        .push(entry(ctx, id, sku, action, Some(*source)));
                    let event = ResourceEvent::license_pending(id, sku, kind);
                    outcome.events.push(event);
                    outcome.queued.push(change(user, sku.clone(), *source));
                    continue;
                }
                _ => {
                    outcome.waiting.push((user.id.clone(), sku.clone()));
                    continue;
                }
            }
            let action = AuditAction::Assigned;
            outcome
                .audit
                .push(entry(ctx, &user.id, sku, action, Some(*source)));
            let event = ResourceEvent::license(&user.id, sku, true, Some(source.as_str()));
            outcome.events.push(event);
            outcome.assigned.push(change(user, sku.clone(), *source));
        }
    }
}

fn change<K: Clone>(user: &Planned<K>, sku: String, source: LicenseSource) -> LicenseChange<K> {
    LicenseChange {
        user: user.key.clone(),
        id: user.id.clone(),
        sku,
        source,
    }
}

fn entry(
    ctx: &WriteContext,
    user: &str,
    sku: &str,
    action: AuditAction,
    source: Option<LicenseSource>,
) -> AuditEntry {
    AuditEntry {
        at: ctx.at,
        user: user.to_owned(),
        sku: sku.to_owned(),
        action,
        source,
        cause: ctx.cause.clone(),
        actor: ctx.actor.clone(),
        seq: None,
    }
}

/// What `users` ask of each pool, by folded sku (`waiting_pools`: the pools that wait).
fn demands<'a, K: 'a>(
    users: impl Iterator<Item = &'a Planned<K>>,
    waiting_pools: &BTreeMap<String, String>,
) -> BTreeMap<String, PoolDemand> {
    let mut demands: BTreeMap<String, PoolDemand> = BTreeMap::new();
    for user in users {
        let wanted = user.changes.assign.iter().map(|(sku, _)| (sku, 1, 0));
        let freed = (user.changes.revoke.iter())
            .chain(&user.changes.suspend)
            .map(|(sku, _)| (sku, 0, 1));
        for (sku, assign, revoke) in wanted.chain(freed) {
            let key = fold_key(sku);
            let demand = demands.entry(key.clone()).or_insert_with(|| PoolDemand {
                waits: waiting_pools.contains_key(&key),
                key,
                sku: sku.clone(),
                assign: 0,
                revoke: 0,
            });
            demand.assign += assign;
            demand.revoke += revoke;
        }
    }
    demands
}

/// A ledger that answered [`Seats::TakenFromOnePart`] where the policy needs the counts:
/// a bug of the store.
#[derive(Debug, thiserror::Error)]
#[error("the seat ledger took seats from one part of a pool under a policy that needs its counts")]
struct OnePartMisused;

/// A [`SeatLedger`] over pools held in memory with their use ([`Pool::used`]) and, for
/// pools that wait, the tenant's waiting licenses: for stores that keep their pools in one
/// place, and for tests.
///
/// [`Pool::used`]: super::Pool::used
pub struct PoolSeats<'a, K> {
    pools: &'a mut [super::Pool],
    waiting: Vec<LicenseChange<K>>,
}

impl<'a, K> PoolSeats<'a, K> {
    /// The ledger over `pools`, no license waiting.
    pub fn new(pools: &'a mut [super::Pool]) -> Self {
        Self {
            pools,
            waiting: Vec::new(),
        }
    }

    /// The ledger with the tenant's waiting licenses, oldest first.
    pub fn with_waiting(self, waiting: Vec<LicenseChange<K>>) -> Self {
        Self { waiting, ..self }
    }

    fn pool(&mut self, demand: &PoolDemand) -> Result<&mut super::Pool, StoreError> {
        self.pools
            .iter_mut()
            .find(|pool| fold_key(&pool.sku) == demand.key)
            .ok_or(StoreError::NotFound)
    }
}

impl<K: Clone> SeatLedger<K> for PoolSeats<'_, K> {
    fn seats(&mut self, demand: &PoolDemand, _: SeatPolicy) -> Result<Seats, StoreError> {
        let pool = self.pool(demand)?;
        Ok(Seats::Counted {
            seats: pool.seats,
            used: pool.used,
            policy: pool.policy,
        })
    }

    fn change_use(&mut self, demand: &PoolDemand, change: i64) -> Result<(), StoreError> {
        self.pool(demand)?.used += change;
        Ok(())
    }

    fn waiting(
        &mut self,
        demand: &PoolDemand,
        limit: usize,
    ) -> Result<Vec<LicenseChange<K>>, StoreError> {
        Ok(self
            .waiting
            .iter()
            .filter(|license| fold_key(&license.sku) == demand.key)
            .take(limit)
            .cloned()
            .collect())
    }
}
