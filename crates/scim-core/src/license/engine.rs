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

use std::collections::BTreeMap;

use super::audit::{AuditAction, AuditEntry};
use super::planner::{
    Grants, HeldLicense, LicenseChanges, LicenseRules, LicenseSource, Reevaluation, UserFacts,
    plan_license_changes,
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
/// write's transaction.
pub trait SeatLedger {
    /// The seats of `demand`'s pool, which stays locked until the write ends. Under
    /// [`SeatPolicy::Strict`] a store may instead take the demand's whole change from a
    /// part of the pool holding [`PoolDemand::one_part_needs`] free seats and answer
    /// [`Seats::TakenFromOnePart`].
    fn seats(&mut self, demand: &PoolDemand, policy: SeatPolicy) -> Result<Seats, StoreError>;

    /// Changes the use of a pool the engine was told the seats of by `change` (taken when
    /// positive, given back when negative); the engine made sure the seats are there.
    fn change_use(&mut self, demand: &PoolDemand, change: i64) -> Result<(), StoreError>;
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
    /// Licenses held still whose source changed (no seat moves).
    pub source_changed: Vec<LicenseChange<K>>,
    /// Licenses given (each took a seat), in the users' order.
    pub assigned: Vec<LicenseChange<K>>,
    /// `(user id, sku)` of assignments left out for want of a seat
    /// ([`SeatPolicy::WhileSeatsLast`]).
    pub waiting: Vec<(String, String)>,
    /// Users refused as a whole, changing nothing ([`SeatPolicy::EachUserWhole`]).
    pub refused: Vec<(K, Shortage)>,
    /// One entry per assignment and revocation, in the order of `events`.
    pub audit: Vec<AuditEntry>,
    /// License events, in the order they are recorded.
    pub events: Vec<ResourceEvent>,
}

impl<K> Default for LicenseOutcome<K> {
    fn default() -> Self {
        Self {
            revoked: Vec::new(),
            source_changed: Vec::new(),
            assigned: Vec::new(),
            waiting: Vec::new(),
            refused: Vec::new(),
            audit: Vec::new(),
            events: Vec::new(),
        }
    }
}

impl<K> LicenseOutcome<K> {
    /// The licenses assigned to `user` `at` the write's time, as it holds them, in sku
    /// order: for a user just created, everything it holds.
    pub fn assigned_to(&self, user: &K, at: chrono::DateTime<chrono::Utc>) -> Vec<HeldLicense>
    where
        K: PartialEq,
    {
        let mut held: Vec<HeldLicense> = self
            .assigned
            .iter()
            .filter(|change| change.user == *user)
            .map(|change| HeldLicense {
                sku: change.sku.clone(),
                source: change.source,
                assigned: at,
            })
            .collect();
        held.sort_by_key(|license| fold_key(&license.sku));
        held
    }

    /// The outcome of re-evaluating `users` users, as reported to an admin.
    pub fn report(&self, users: u64) -> Reevaluation {
        Reevaluation {
            users,
            assigned: self.assigned.len() as u64,
            revoked: self.revoked.len() as u64,
            waiting: self.waiting.clone(),
        }
    }
}

/// The planned license changes of a write's users, before any seat is asked for.
#[derive(Debug, Clone)]
pub struct LicensePlan<K> {
    users: Vec<Planned<K>>,
    policy: SeatPolicy,
}

#[derive(Debug, Clone)]
struct Planned<K> {
    key: K,
    id: String,
    changes: LicenseChanges,
}

impl<K: Clone> LicensePlan<K> {
    /// Plans the users' changes under the tenant's `rules`; the users are served in the
    /// order given (the store's creation order).
    pub fn new(rules: &LicenseRules, users: Vec<LicensedUser<K>>, policy: SeatPolicy) -> Self {
        let users = users
            .into_iter()
            .map(|user| {
                let grants = user
                    .facts
                    .as_ref()
                    .map_or_else(Grants::default, |facts| rules.grants_for(facts));
                Planned {
                    key: user.key,
                    id: user.id,
                    changes: plan_license_changes(&user.held, &grants),
                }
            })
            .collect();
        Self { users, policy }
    }

    /// What the plan asks of each pool, in folded-sku order.
    pub fn demands(&self) -> Vec<PoolDemand> {
        demands(self.users.iter()).into_values().collect()
    }

    /// Asks `ledger` for the seats of every pool (in sku order), decides, tells it the
    /// pools' new use, and says what to write. Under [`SeatPolicy::Strict`] a missing seat
    /// fails the whole plan with `SeatsExhausted` before any use is changed (a store that
    /// took seats from one part of a pool rolls its transaction back).
    pub fn decide(
        self,
        ledger: &mut dyn SeatLedger,
        ctx: &WriteContext,
    ) -> Result<LicenseOutcome<K>, StoreError> {
        let mut outcome = LicenseOutcome::default();
        match self.policy {
            SeatPolicy::EachUserWhole => self.seat_whole_users(ledger, ctx, &mut outcome)?,
            policy => {
                let (seats, exhausted) = seat_pools(ledger, &self.demands(), policy)?;
                record(&self.users, seats, ctx, &mut outcome);
                outcome.events.extend(exhausted);
            }
        }
        Ok(outcome)
    }

    /// [`SeatPolicy::EachUserWhole`]: each user in turn against the pools' running use,
    /// with the outcome (refusals, rows, audit, events and `poolExhausted`) of writing the
    /// users one after the other.
    fn seat_whole_users(
        self,
        ledger: &mut dyn SeatLedger,
        ctx: &WriteContext,
        outcome: &mut LicenseOutcome<K>,
    ) -> Result<(), StoreError> {
        let mut pools: BTreeMap<String, RunningPool> = BTreeMap::new();
        for demand in self.demands() {
            match ledger.seats(&demand, self.policy)? {
                Seats::Counted {
                    seats,
                    used,
                    allowance,
                } => {
                    let running = used;
                    let capacity = seats.saturating_add(allowance);
                    let pool = RunningPool {
                        demand,
                        seats,
                        capacity,
                        used,
                        running,
                    };
                    pools.insert(pool.demand.key.clone(), pool);
                }
                Seats::TakenFromOnePart => return Err(StoreError::corrupt(OnePartMisused)),
            }
        }
        for user in self.users {
            let own = demands(std::iter::once(&user));
            let short = own.iter().find_map(|(key, demand)| {
                let pool = &pools[key];
                (demand.assign > demand.room(pool.capacity, pool.running)).then(|| Shortage {
                    sku: demand.sku.clone(),
                    seats: pool.seats,
                    used: pool.running,
                })
            });
            if let Some(shortage) = short {
                outcome.refused.push((user.key, shortage));
                continue;
            }
            let granted = own.iter().map(|(key, demand)| (key.clone(), demand.assign));
            record(std::slice::from_ref(&user), granted.collect(), ctx, outcome);
            for (key, demand) in own {
                let Some(pool) = pools.get_mut(&key) else {
                    continue;
                };
                let before = pool.running;
                pool.running += demand.change();
                if took_last_seat(pool.capacity, before, pool.running, demand.assign) {
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
    /// In use when counted.
    used: i64,
    /// In use after the users seated so far.
    running: i64,
}

/// Under `Strict` or `WhileSeatsLast`, the seats each pool grants the whole plan. Every
/// pool is decided before any use changes, so a refusal leaves the counts as they were.
fn seat_pools(
    ledger: &mut dyn SeatLedger,
    demands: &[PoolDemand],
    policy: SeatPolicy,
) -> Result<(BTreeMap<String, i64>, Vec<ResourceEvent>), StoreError> {
    let mut granted = BTreeMap::new();
    let mut counted = Vec::new();
    for demand in demands {
        let given = match ledger.seats(demand, policy)? {
            Seats::TakenFromOnePart if policy == SeatPolicy::Strict => demand.assign,
            Seats::TakenFromOnePart => return Err(StoreError::corrupt(OnePartMisused)),
            Seats::Counted {
                seats,
                used,
                allowance,
            } => {
                let capacity = seats.saturating_add(allowance);
                let room = demand.room(capacity, used);
                let given = match policy {
                    SeatPolicy::Strict if demand.assign > room => {
                        let sku = demand.sku.clone();
                        return Err(Shortage { sku, seats, used }.into());
                    }
                    SeatPolicy::Strict => demand.assign,
                    _ => demand.assign.min(room),
                };
                counted.push((demand, seats, capacity, used, given));
                given
            }
        };
        granted.insert(demand.key.clone(), given);
    }
    let mut exhausted = Vec::new();
    for (demand, seats, capacity, used, given) in counted {
        let change = given - demand.revoke;
        ledger.change_use(demand, change)?;
        // The write that takes a pool's last seat (overage included) says so.
        if took_last_seat(capacity, used, used + change, given) {
            exhausted.push(ResourceEvent::pool_exhausted(
                &demand.sku,
                seats,
                used + change,
            ));
        }
    }
    Ok((granted, exhausted))
}

/// Fills the outcome with the kept users' changes: revocations and source changes, then
/// assignments in the users' order while each pool's granted seats last.
fn record<K: Clone>(
    users: &[Planned<K>],
    mut seats: BTreeMap<String, i64>,
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
        for (sku, source) in &user.changes.source_changed {
            outcome
                .source_changed
                .push(change(user, sku.clone(), *source));
        }
    }
    for user in users {
        for (sku, source) in &user.changes.assign {
            let left = seats.get_mut(&fold_key(sku));
            match left {
                Some(left) if *left > 0 => *left -= 1,
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

/// What `users` ask of each pool, by folded sku.
fn demands<'a, K: 'a>(users: impl Iterator<Item = &'a Planned<K>>) -> BTreeMap<String, PoolDemand> {
    let mut demands: BTreeMap<String, PoolDemand> = BTreeMap::new();
    for user in users {
        let wanted = user.changes.assign.iter().map(|(sku, _)| (sku, 1, 0));
        let freed = user.changes.revoke.iter().map(|(sku, _)| (sku, 0, 1));
        for (sku, assign, revoke) in wanted.chain(freed) {
            let key = fold_key(sku);
            let demand = demands.entry(key.clone()).or_insert_with(|| PoolDemand {
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

/// A [`SeatLedger`] over pools held in memory with their use ([`Pool::used`]): for stores
/// that keep their pools in one place, and for tests.
///
/// [`Pool::used`]: super::Pool::used
pub struct PoolSeats<'a>(pub &'a mut [super::Pool]);

impl PoolSeats<'_> {
    fn pool(&mut self, demand: &PoolDemand) -> Result<&mut super::Pool, StoreError> {
        self.0
            .iter_mut()
            .find(|pool| fold_key(&pool.sku) == demand.key)
            .ok_or(StoreError::NotFound)
    }
}

impl SeatLedger for PoolSeats<'_> {
    fn seats(&mut self, demand: &PoolDemand, _: SeatPolicy) -> Result<Seats, StoreError> {
        let pool = self.pool(demand)?;
        Ok(Seats::Counted {
            seats: pool.seats,
            used: pool.used,
            allowance: pool.policy.allowance(),
        })
    }

    fn change_use(&mut self, demand: &PoolDemand, change: i64) -> Result<(), StoreError> {
        self.pool(demand)?.used += change;
        Ok(())
    }
}
