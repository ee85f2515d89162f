//! Seat accounting: a pool's seats are split over [`STRIPES`] rows, so that writers taking
//! seats of one pool at the same time lock different rows, and none ever over-assigns.
//!
//! Per pool, the stripes' `used` add up to the pool's assignments (one stripe's may go
//! below zero: a seat taken on one stripe may be given back on another) and their `free`
//! to `seats - used`; while an admin's lowering of `seats` leaves the pool over them, every
//! stripe's `free` is [`CLOSED`]. A write changes them in one of two ways, inside its own
//! transaction, after it locked its users' rows:
//! - **one stripe** (PostgreSQL, a transaction writing one resource): take seats from a
//!   stripe that keeps at least one free seat afterwards, or give seats back to any open
//!   stripe, the stripe found with `FOR UPDATE SKIP LOCKED`, so
//!   concurrent writers spread over the stripes instead of queueing on one row. Such a
//!   change can neither exhaust nor over-fill the pool, so it needs no totals.
//! - **every stripe**, locked in stripe order: exact totals, for everything else: the
//!   pool's last seats, a pool over its seats, an admin's change of seats or rules, SQLite
//!   (whose writer is alone anyway), and transactions that write several resources (a
//!   /Bulk batch), which must not wait for stripes while holding one taken out of order.
//!
//! Waits are ordered (users, then pools by sku, then a pool's stripes in order; a
//! one-stripe change never waits), so writers of one pool cannot deadlock on its stripes.
//!
//! This is storage only: [`StripeLedger`] is the core engine's [`SeatLedger`]; whether a
//! write may have its seats, who waits and when a pool is exhausted is the engine's call
//! (`scim_core::license::LicensePlan`).

use std::collections::HashMap;

use diesel::prelude::*;
use scim_core::StoreError;
use scim_core::license::{
    LicenseChange, LicenseSource, PoolDemand, PoolPolicy, SeatLedger, SeatPolicy, Seats,
};

use crate::connection::DbConnection;
use crate::errors::from_diesel;
use crate::schema::{license_assignments, license_pools, resources, seat_stripes};

/// Stripes per pool.
pub(crate) const STRIPES: i32 = 16;

/// The `free` of every stripe of a pool that holds more assignments than seats.
const CLOSED: i64 = -1;

/// How a write takes seats: the engine's policy, and how the store locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seating {
    pub(crate) policy: SeatPolicy,
    pub(crate) locking: Locking,
}

impl Seating {
    /// A SCIM write of one resource in its own transaction.
    pub(crate) const SINGLE: Self = Self {
        policy: SeatPolicy::Strict,
        locking: Locking::OneStripe,
    };
    /// One of several SCIM writes sharing a transaction (a /Bulk batch).
    pub(crate) const BATCHED: Self = Self {
        policy: SeatPolicy::Strict,
        locking: Locking::AllStripes,
    };
    /// A run of new users of a /Bulk batch, written together.
    pub(crate) const NEW_USERS: Self = Self {
        policy: SeatPolicy::EachUserWhole,
        locking: Locking::AllStripes,
    };
    /// An admin's change of rules or seats.
    pub(crate) const WHILE_SEATS_LAST: Self = Self {
        policy: SeatPolicy::WhileSeatsLast,
        locking: Locking::AllStripes,
    };
}

/// How a transaction may change a pool's stripes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Locking {
    /// One stripe where that suffices: a transaction that writes one resource.
    OneStripe,
    /// Always every stripe, in order: a transaction that writes several.
    AllStripes,
}

/// The engine's [`SeatLedger`] over the stripes, inside a write's transaction: it takes a
/// strict one-resource change from one stripe where it can, and otherwise locks every
/// stripe of the pool, counts them for the engine and writes the use it decided.
pub(crate) struct StripeLedger<'a> {
    connection: &'a mut DbConnection,
    tenant: &'a str,
    locking: Locking,
    /// Spreads writers over the stripes (a user's `seq`).
    hint: i64,
    /// The pools counted, with their stripes as read and their capacity, by sku key.
    counted: HashMap<String, (Vec<Stripe>, i64)>,
}

impl<'a> StripeLedger<'a> {
    pub(crate) fn new(
        connection: &'a mut DbConnection,
        tenant: &'a str,
        locking: Locking,
        hint: i64,
    ) -> Self {
        Self {
            connection,
            tenant,
            locking,
            hint,
            counted: HashMap::new(),
        }
    }
}

impl SeatLedger<i64> for StripeLedger<'_> {
    fn seats(&mut self, demand: &PoolDemand, policy: SeatPolicy) -> Result<Seats, StoreError> {
        #[cfg(feature = "postgres")]
        if self.locking == Locking::OneStripe
            && let Some(free_at_least) = demand.one_part_needs(policy)
            && let DbConnection::Pg(pg) = &mut *self.connection
            && one_stripe(
                pg,
                self.tenant,
                &demand.key,
                demand.change(),
                free_at_least,
                self.hint,
            )?
        {
            return Ok(Seats::TakenFromOnePart);
        }
        let (stripes, Capacity { seats, policy }) =
            lock_all(self.connection, self.tenant, &demand.key)?;
        let used = total_used(&stripes);
        let capacity = seats.saturating_add(policy.allowance());
        self.counted.insert(demand.key.clone(), (stripes, capacity));
        Ok(Seats::Counted {
            seats,
            used,
            policy,
        })
    }

    fn waiting(
        &mut self,
        demand: &PoolDemand,
        limit: usize,
    ) -> Result<Vec<LicenseChange<i64>>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let query = license_assignments::table
            .inner_join(resources::table.on(resources::seq.eq(license_assignments::user_seq)))
            .filter(license_assignments::tenant_id.eq(self.tenant))
            .filter(license_assignments::sku_key.eq(&demand.key))
            .filter(waiting_rows())
            .order((license_assignments::assigned, license_assignments::user_seq))
            .limit(limit)
            .select((
                license_assignments::user_seq,
                resources::id,
                license_assignments::source,
            ));
        // A waiting user another write holds locked is being decided by it: left out.
        let rows: Vec<(i64, String, String)> = match &mut *self.connection {
            #[cfg(feature = "postgres")]
            DbConnection::Pg(connection) => query.for_update().skip_locked().load(connection),
            #[cfg(feature = "sqlite")]
            DbConnection::Sqlite(connection) => query.load(connection),
        }
        .map_err(from_diesel)?;
        rows.into_iter()
            .map(|(user, id, source)| {
                let source = LicenseSource::parse(&source)
                    .ok_or_else(|| StoreError::corrupt(UnknownValue(source)))?;
                Ok(LicenseChange {
                    user,
                    id,
                    sku: demand.sku.clone(),
                    source,
                })
            })
            .collect()
    }

    fn change_use(&mut self, demand: &PoolDemand, change: i64) -> Result<(), StoreError> {
        let (stripes, capacity) = self
            .counted
            .remove(&demand.key)
            .ok_or_else(|| StoreError::corrupt(NotCounted(demand.key.clone())))?;
        let next = charge(&stripes, capacity, change);
        write_changed(self.connection, self.tenant, &demand.key, &stripes, &next)
    }
}

/// The condition of the partial index of waiting licenses, written out rather than bound,
/// so that the planner can use that index for a prepared (generic) plan too.
pub(crate) fn waiting_rows() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql("license_assignments.status = 'pending'")
}

/// A stored license source or pool policy the core does not know: only a corrupted row.
#[derive(Debug, thiserror::Error)]
#[error("license row with unknown value '{0}'")]
struct UnknownValue(String);

/// A change of a pool the engine was not told the seats of: a bug of the engine.
#[derive(Debug, thiserror::Error)]
#[error("pool '{0}' changed without being counted")]
struct NotCounted(String);

/// Creates a new pool's stripes, its `capacity` (seats and overage allowance) spread
/// evenly.
pub(crate) fn open(
    connection: &mut DbConnection,
    tenant: &str,
    key: &str,
    capacity: i64,
) -> Result<(), StoreError> {
    let rows: Vec<_> = (0..STRIPES)
        .map(|stripe| {
            (
                seat_stripes::tenant_id.eq(tenant),
                seat_stripes::sku_key.eq(key),
                seat_stripes::stripe.eq(stripe),
                seat_stripes::used.eq(0_i64),
                seat_stripes::free.eq(share(capacity, stripe)),
            )
        })
        .collect();
    crate::connection::execute_per_backend!(
        connection,
        diesel::insert_into(seat_stripes::table).values(&rows)
    )
    .map_err(from_diesel)?;
    Ok(())
}

/// Spreads a pool's free seats evenly over its stripes again, after its `seats` or its
/// overage allowance changed (with every stripe locked, so no writer is taking seats
/// meanwhile).
pub(crate) fn rebalance(
    connection: &mut DbConnection,
    tenant: &str,
    key: &str,
) -> Result<(), StoreError> {
    let (stripes, Capacity { seats, policy }) = lock_all(connection, tenant, key)?;
    let used = total_used(&stripes);
    let next = spread(&stripes, seats.saturating_add(policy.allowance()) - used);
    write_changed(connection, tenant, key, &stripes, &next)
}

/// The seats assigned per pool of the tenant, by sku key.
pub(crate) fn used_by_pool(
    connection: &mut DbConnection,
    tenant: &str,
) -> Result<HashMap<String, i64>, StoreError> {
    let rows: Vec<(String, i64)> = seat_stripes::table
        .filter(seat_stripes::tenant_id.eq(tenant))
        .select((seat_stripes::sku_key, seat_stripes::used))
        .load(connection)
        .map_err(from_diesel)?;
    let mut used = HashMap::new();
    for (key, count) in rows {
        *used.entry(key).or_insert(0) += count;
    }
    Ok(used)
}

/// Stripe `stripe`'s part of `free` seats spread evenly.
fn share(free: i64, stripe: i32) -> i64 {
    let stripes = i64::from(STRIPES);
    free / stripes + i64::from(i64::from(stripe) < free % stripes)
}

#[cfg(feature = "postgres")]
/// Changes one stripe by `change` seats (taken when positive) if one can take it without
/// the pool's totals, found without waiting. `false`: none could, count them all.
///
/// The attempt runs in a savepoint that is rolled back when it finds no stripe: a
/// `FOR UPDATE SKIP LOCKED` query keeps the lock of a row it locked but then dropped
/// because a concurrent writer had changed it (PostgreSQL rechecks the condition after
/// locking, and does not unlock), and a writer that went on to lock every stripe in order
/// while holding that one could deadlock with another doing the same.
fn one_stripe(
    connection: &mut diesel::PgConnection,
    tenant: &str,
    key: &str,
    change: i64,
    free_at_least: i64,
    hint: i64,
) -> Result<bool, StoreError> {
    let attempt = connection.transaction(|connection| {
        if take_one(connection, tenant, key, (change, free_at_least), hint)? {
            Ok(())
        } else {
            Err(Attempt::NoStripe)
        }
    });
    match attempt {
        Ok(()) => Ok(true),
        Err(Attempt::NoStripe) => Ok(false),
        Err(Attempt::Failed(error)) => Err(from_diesel(error)),
    }
}

/// How an attempt at one stripe ended, when it did not change one.
enum Attempt {
    NoStripe,
    Failed(diesel::result::Error),
}

impl From<diesel::result::Error> for Attempt {
    fn from(error: diesel::result::Error) -> Self {
        Self::Failed(error)
    }
}

#[cfg(feature = "postgres")]
/// [`one_stripe`]'s statements: find a stripe with `free_at_least` free seats without
/// waiting, change it by `change`.
fn take_one(
    connection: &mut diesel::PgConnection,
    tenant: &str,
    key: &str,
    (change, free_at_least): (i64, i64),
    hint: i64,
) -> Result<bool, diesel::result::Error> {
    let start = i32::try_from(hint.rem_euclid(i64::from(STRIPES))).unwrap_or(0);
    for (from, to) in [(start, STRIPES), (0, start)] {
        let stripe = seat_stripes::table
            .filter(seat_stripes::tenant_id.eq(tenant))
            .filter(seat_stripes::sku_key.eq(key))
            .filter(
                seat_stripes::stripe
                    .ge(from)
                    .and(seat_stripes::stripe.lt(to)),
            )
            .filter(seat_stripes::free.ge(free_at_least))
            .order(seat_stripes::stripe)
            .select(seat_stripes::stripe)
            .limit(1)
            .for_update()
            .skip_locked()
            .first::<i32>(connection)
            .optional()?;
        if let Some(stripe) = stripe {
            diesel::update(
                seat_stripes::table
                    .filter(seat_stripes::tenant_id.eq(tenant))
                    .filter(seat_stripes::sku_key.eq(key))
                    .filter(seat_stripes::stripe.eq(stripe)),
            )
            .set((
                seat_stripes::free.eq(seat_stripes::free - change),
                seat_stripes::used.eq(seat_stripes::used + change),
            ))
            .execute(connection)?;
            return Ok(true);
        }
    }
    Ok(false)
}

/// A stripe's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable)]
struct Stripe {
    stripe: i32,
    used: i64,
    free: i64,
}

/// The assignments the stripes hold between them.
fn total_used(stripes: &[Stripe]) -> i64 {
    stripes.iter().map(|stripe| stripe.used).sum()
}

/// A pool's seats bought and the overage allowance beyond them: the stripes hold both.
struct Capacity {
    seats: i64,
    policy: PoolPolicy,
}

/// Locks the pool's stripes in order and reads its seats.
fn lock_all(
    connection: &mut DbConnection,
    tenant: &str,
    key: &str,
) -> Result<(Vec<Stripe>, Capacity), StoreError> {
    let query = seat_stripes::table
        .filter(seat_stripes::tenant_id.eq(tenant))
        .filter(seat_stripes::sku_key.eq(key))
        .order(seat_stripes::stripe)
        .select((seat_stripes::stripe, seat_stripes::used, seat_stripes::free));
    let stripes: Vec<Stripe> = match connection {
        #[cfg(feature = "postgres")]
        DbConnection::Pg(connection) => query.for_update().load(connection),
        #[cfg(feature = "sqlite")]
        DbConnection::Sqlite(connection) => query.load(connection),
    }
    .map_err(from_diesel)?;
    let (seats, policy, overage) = license_pools::table
        .filter(license_pools::tenant_id.eq(tenant))
        .filter(license_pools::sku_key.eq(key))
        .select((
            license_pools::seats,
            license_pools::policy,
            license_pools::overage,
        ))
        .first::<(i64, String, i64)>(connection)
        .map_err(from_diesel)?;
    let policy = PoolPolicy::stored(&policy, overage)
        .ok_or_else(|| StoreError::corrupt(UnknownValue(policy)))?;
    if stripes.len() != STRIPES as usize {
        return Err(StoreError::corrupt(MissingStripes {
            key: key.to_owned(),
            found: stripes.len(),
        }));
    }
    Ok((stripes, Capacity { seats, policy }))
}

/// The stripes after `change` seats were taken (or given back, when negative) of a pool
/// that may grant `seats` (its capacity), touching as few stripes as it can: the richest
/// stripes give, the poorest receive, each charged with what it gave or received.
fn charge(stripes: &[Stripe], seats: i64, change: i64) -> Vec<Stripe> {
    let used = total_used(stripes);
    let free: i64 = stripes.iter().map(|stripe| stripe.free).sum();
    let room = seats - (used + change);
    let open = stripes.iter().all(|stripe| stripe.free >= 0);
    let mut next = stripes.to_vec();
    if !open || room < 0 || free != seats - used {
        // Closing, reopening, or counts out of step (seats changed): lay out anew.
        next[0].used += change;
        return spread(&next, room);
    }
    let mut order: Vec<usize> = (0..next.len()).collect();
    if change > 0 {
        order.sort_by_key(|&at| std::cmp::Reverse(next[at].free));
        let mut take = change;
        for at in order {
            let part = take.min(next[at].free);
            next[at].free -= part;
            next[at].used += part;
            take -= part;
        }
    } else {
        order.sort_by_key(|&at| next[at].free);
        next[order[0]].free -= change;
        next[order[0]].used += change;
    }
    next
}

/// The stripes with `room` free seats spread evenly (all closed when negative).
fn spread(stripes: &[Stripe], room: i64) -> Vec<Stripe> {
    stripes
        .iter()
        .map(|stripe| Stripe {
            free: if room < 0 {
                CLOSED
            } else {
                share(room, stripe.stripe)
            },
            ..*stripe
        })
        .collect()
}

/// Writes the stripes that changed.
fn write_changed(
    connection: &mut DbConnection,
    tenant: &str,
    key: &str,
    before: &[Stripe],
    after: &[Stripe],
) -> Result<(), StoreError> {
    for (old, new) in before.iter().zip(after) {
        if old == new {
            continue;
        }
        diesel::update(
            seat_stripes::table
                .filter(seat_stripes::tenant_id.eq(tenant))
                .filter(seat_stripes::sku_key.eq(key))
                .filter(seat_stripes::stripe.eq(new.stripe)),
        )
        .set((
            seat_stripes::used.eq(new.used),
            seat_stripes::free.eq(new.free),
        ))
        .execute(connection)
        .map_err(from_diesel)?;
    }
    Ok(())
}

/// A pool without its stripes: only a corrupted database.
#[derive(Debug, thiserror::Error)]
#[error("pool '{key}' has {found} seat stripes, not {STRIPES}")]
struct MissingStripes {
    key: String,
    found: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stripes(counts: &[(i64, i64)]) -> Vec<Stripe> {
        (0..STRIPES)
            .map(|stripe| {
                let (used, free) = counts.get(stripe as usize).copied().unwrap_or((0, 0));
                Stripe { stripe, used, free }
            })
            .collect()
    }

    fn totals(stripes: &[Stripe]) -> (i64, i64) {
        (
            stripes.iter().map(|s| s.used).sum(),
            stripes.iter().map(|s| s.free).sum(),
        )
    }

    #[test]
    fn shares_add_up_to_the_seats() {
        for seats in [0, 1, 15, 16, 17, 1_000, 99_999] {
            let sum: i64 = (0..STRIPES).map(|stripe| share(seats, stripe)).sum();
            assert_eq!(sum, seats);
        }
        assert_eq!(share(17, 0), 2);
        assert_eq!(share(17, 1), 1);
    }

    #[test]
    fn taking_seats_draws_from_the_richest_stripes_and_keeps_the_totals() {
        let before = stripes(&[(0, 2), (0, 5), (0, 3)]);
        let after = charge(&before, 10, 6);
        assert_eq!(totals(&after), (6, 4));
        assert_eq!(
            (after[1].free, after[1].used),
            (0, 5),
            "the richest gave first"
        );
        assert_eq!((after[2].free, after[2].used), (2, 1));
        assert!(after.iter().all(|s| s.free >= 0));
    }

    #[test]
    fn giving_back_credits_the_poorest_stripe() {
        let before = stripes(&[(3, 0), (2, 4), (1, 0)]);
        let after = charge(&before, 10, -4);
        assert_eq!(totals(&after), (2, 8));
        assert_eq!(
            (after[0].free, after[0].used),
            (4, -1),
            "credited to one stripe with the fewest free seats, which may go below zero"
        );
    }

    #[test]
    fn a_pool_over_its_seats_closes_every_stripe_until_it_fits_again() {
        // An admin lowered seats to 2 while 4 are held: closed.
        let held = stripes(&[(4, 0)]);
        let closed = charge(&held, 2, 0);
        assert!(closed.iter().all(|s| s.free == CLOSED));
        // Giving one back leaves it over (3 > 2): still closed.
        let still = charge(&closed, 2, -1);
        assert!(still.iter().all(|s| s.free == CLOSED));
        assert_eq!(totals(&still).0, 3);
        // Two more back: 1 held, 1 free, spread anew.
        let open = charge(&still, 2, -2);
        assert_eq!(totals(&open), (1, 1));
        assert!(open.iter().all(|s| s.free >= 0));
    }

    #[test]
    fn counts_out_of_step_with_the_seats_are_spread_anew() {
        // Seats raised from 4 to 36 with 4 held: the 32 new free seats go 2 per stripe.
        let before = stripes(&[(4, 0)]);
        let after = charge(&before, 36, 0);
        assert_eq!(totals(&after), (4, 32));
        assert!(after.iter().all(|s| s.free == 2));
    }
}
