//! License assignments, brought in line with the core's rules inside the transaction of the
//! write that changed what they depend on.
//!
//! The core plans ([`LicenseRules::grants_for`], [`plan_license_changes`]); this module
//! feeds it inputs read under lock and commits the result:
//! 1. the affected users' rows are locked in `seq` order (PostgreSQL `FOR UPDATE`; SQLite's
//!    write transaction is already exclusive), so two writes that both change a user's
//!    licenses (a PATCH of the user, a membership change of one of its groups) run one
//!    after the other and the second sees the first's result;
//! 2. their attributes, groups (direct and nested) and held licenses are read;
//! 3. the pools the plans touch are locked in sku order and their seats checked: under
//!    [`SeatPolicy::Strict`] (every SCIM request) a missing seat fails the whole write with
//!    `SeatsExhausted`; under [`SeatPolicy::WhileSeatsLast`] (an admin's change of rules or
//!    seats) the users that would need a missing seat are left waiting and reported;
//! 4. assignment rows, the pools' `used` counters and the audit log are written.
//!
//! Locks are always taken users first, then pools, each in ascending order, so concurrent
//! writers cannot deadlock on them.

use std::collections::{BTreeMap, HashMap, HashSet};

use diesel::prelude::*;
use scim_core::events::ResourceEvent;
use scim_core::fold::fold_key;
use scim_core::license::{
    Grants, HeldLicense, LicenseChanges, LicenseRules, LicenseSource, MappingSource, UserFacts,
    plan_license_changes,
};
use scim_core::{StoreError, WriteContext};
use serde_json::{Map, Value};

use crate::connection::{DbConnection, execute_per_backend};
use crate::errors::from_diesel;
use crate::expand::groups_of;
use crate::licenses::{load_pools, load_rules};
use crate::members::CHUNK;
use crate::outbox;
use crate::rows::{from_micros, to_micros};
use crate::schema::{
    group_members, license_assignments, license_audit, license_pools, license_rules, resources,
};

/// What to do when a plan needs a seat a pool does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SeatPolicy {
    /// Fail the write (`StoreError::SeatsExhausted`): nothing changes.
    Strict,
    /// Assign while seats last, in the users' creation order; leave the others waiting.
    WhileSeatsLast,
}

/// What a reconciliation changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Reconciled {
    pub(crate) assigned: u64,
    pub(crate) revoked: u64,
    /// `(user id, sku)` of assignments left out for want of a seat.
    pub(crate) waiting: Vec<(String, String)>,
}

/// A user's planned changes.
struct UserPlan {
    seq: i64,
    id: String,
    changes: LicenseChanges,
}

/// Brings the licenses of the users among `seqs` (groups are skipped) to what the tenant's
/// rules grant them now.
pub(crate) fn reconcile(
    connection: &mut DbConnection,
    ctx: &WriteContext,
    seqs: &[i64],
    policy: SeatPolicy,
) -> Result<Reconciled, StoreError> {
    let tenant = ctx.tenant.0.as_str();
    if seqs.is_empty() {
        return Ok(Reconciled::default());
    }
    let pools = load_pools(connection, tenant)?;
    if pools.is_empty() {
        // No pool, so nothing is or can be held (the common case costs this one query).
        return Ok(Reconciled::default());
    }
    let rules = LicenseRules {
        pools,
        rules: load_rules(connection, tenant)?,
    };
    let mut seqs = seqs.to_vec();
    seqs.sort_unstable();
    seqs.dedup();
    lock_rows(connection, &seqs)?;
    let users = load_users(connection, tenant, &seqs)?;
    let user_seqs: Vec<i64> = users.iter().map(|(seq, _, _)| *seq).collect();
    let mut group_names = if rules
        .rules
        .iter()
        .any(|rule| rule.source == MappingSource::Group)
    {
        group_names(connection, &user_seqs)?
    } else {
        HashMap::new()
    };
    let mut held = load_held(connection, &user_seqs)?;
    let plans = users
        .into_iter()
        .map(|(seq, id, attributes)| {
            let groups = group_names.remove(&seq).unwrap_or_default();
            let grants = rules.grants_for(&UserFacts::from_attributes(&attributes, groups));
            let held = held.remove(&seq).unwrap_or_default();
            UserPlan {
                seq,
                id,
                changes: plan_license_changes(&held, &grants),
            }
        })
        .collect::<Vec<_>>();
    commit(connection, ctx, &plans, policy)
}

/// Whether the tenant has a rule mapping a group to a sku: only then do group writes change
/// licenses.
pub(crate) fn maps_groups(connection: &mut DbConnection, tenant: &str) -> Result<bool, StoreError> {
    let found = license_rules::table
        .filter(license_rules::tenant_id.eq(tenant))
        .filter(license_rules::source.eq(MappingSource::Group.as_str()))
        .select(license_rules::sku_key)
        .first::<String>(connection)
        .optional()
        .map_err(from_diesel)?;
    Ok(found.is_some())
}

/// The users among `seqs` and the users below the groups among them (members, members of
/// member groups, …; cycles end), ascending.
pub(crate) fn descendant_users(
    connection: &mut DbConnection,
    seqs: &[i64],
) -> Result<Vec<i64>, StoreError> {
    let mut users = Vec::new();
    let mut seen = HashSet::new();
    let mut frontier = Vec::new();
    for chunk in seqs.chunks(CHUNK) {
        let rows: Vec<(i64, String)> = resources::table
            .filter(resources::seq.eq_any(chunk))
            .select((resources::seq, resources::kind))
            .load(connection)
            .map_err(from_diesel)?;
        sort_new(rows, &mut seen, &mut users, &mut frontier);
    }
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for chunk in frontier.chunks(CHUNK) {
            let rows: Vec<(i64, String)> = group_members::table
                .inner_join(resources::table.on(resources::seq.eq(group_members::member_seq)))
                .filter(group_members::group_seq.eq_any(chunk))
                .select((group_members::member_seq, resources::kind))
                .load(connection)
                .map_err(from_diesel)?;
            sort_new(rows, &mut seen, &mut users, &mut next);
        }
        frontier = next;
    }
    users.sort_unstable();
    Ok(users)
}

/// Files the `(seq, kind)`s not seen yet: users into `users`, groups into `groups`.
fn sort_new(
    rows: Vec<(i64, String)>,
    seen: &mut HashSet<i64>,
    users: &mut Vec<i64>,
    groups: &mut Vec<i64>,
) {
    for (seq, kind) in rows {
        if seen.insert(seq) {
            if kind == "User" {
                users.push(seq);
            } else {
                groups.push(seq);
            }
        }
    }
}

/// Revokes every license of a user about to be deleted, freeing its seats.
pub(crate) fn revoke_all(
    connection: &mut DbConnection,
    ctx: &WriteContext,
    seq: i64,
    id: &str,
) -> Result<(), StoreError> {
    let pools = load_pools(connection, ctx.tenant.0.as_str())?;
    if pools.is_empty() {
        return Ok(());
    }
    let held = load_held(connection, &[seq])?
        .remove(&seq)
        .unwrap_or_default();
    if held.is_empty() {
        return Ok(());
    }
    let plan = UserPlan {
        seq,
        id: id.to_owned(),
        changes: plan_license_changes(&held, &Grants::default()),
    };
    commit(connection, ctx, &[plan], SeatPolicy::Strict).map(|_| ())
}

/// The licenses the users hold, by user `seq`, in sku order, each sku spelled as its pool
/// spells it: for showing them (the license extension) as for planning.
pub(crate) fn load_held(
    connection: &mut DbConnection,
    user_seqs: &[i64],
) -> Result<HashMap<i64, Vec<HeldLicense>>, StoreError> {
    let mut held: HashMap<i64, Vec<HeldLicense>> = HashMap::new();
    for chunk in user_seqs.chunks(CHUNK) {
        let rows: Vec<(i64, String, String, i64)> = license_assignments::table
            .inner_join(
                license_pools::table.on(license_pools::tenant_id
                    .eq(license_assignments::tenant_id)
                    .and(license_pools::sku_key.eq(license_assignments::sku_key))),
            )
            .filter(license_assignments::user_seq.eq_any(chunk))
            .order((license_assignments::user_seq, license_assignments::sku_key))
            .select((
                license_assignments::user_seq,
                license_pools::sku,
                license_assignments::source,
                license_assignments::assigned,
            ))
            .load(connection)
            .map_err(from_diesel)?;
        for (seq, sku, source, assigned) in rows {
            let source = LicenseSource::parse(&source).ok_or_else(|| corrupt("source", &source))?;
            held.entry(seq).or_default().push(HeldLicense {
                sku,
                source,
                assigned: from_micros(assigned).map_err(StoreError::unavailable)?,
            });
        }
    }
    Ok(held)
}

/// Locks the rows of these `seq`s (ascending) until the transaction ends. PostgreSQL only:
/// a SQLite write transaction excludes every other writer already.
fn lock_rows(connection: &mut DbConnection, seqs: &[i64]) -> Result<(), StoreError> {
    if let DbConnection::Pg(connection) = connection {
        for chunk in seqs.chunks(CHUNK) {
            resources::table
                .filter(resources::seq.eq_any(chunk))
                .order(resources::seq)
                .select(resources::seq)
                .for_update()
                .load::<i64>(connection)
                .map_err(from_diesel)?;
        }
    }
    Ok(())
}

/// A user as the rules read it: `(seq, id, attributes)`.
type UserRow = (i64, String, Map<String, Value>);

/// The tenant's Users among `seqs`, by `seq`.
fn load_users(
    connection: &mut DbConnection,
    tenant: &str,
    seqs: &[i64],
) -> Result<Vec<UserRow>, StoreError> {
    let mut users = Vec::with_capacity(seqs.len());
    for chunk in seqs.chunks(CHUNK) {
        let rows: Vec<(i64, String, String)> = resources::table
            .filter(resources::tenant_id.eq(tenant))
            .filter(resources::kind.eq("User"))
            .filter(resources::seq.eq_any(chunk))
            .order(resources::seq)
            .select((resources::seq, resources::id, resources::data))
            .load(connection)
            .map_err(from_diesel)?;
        for (seq, id, data) in rows {
            let attributes = serde_json::from_str(&data).map_err(StoreError::unavailable)?;
            users.push((seq, id, attributes));
        }
    }
    Ok(users)
}

/// The displayNames of the groups each user is in, directly or through nested groups.
fn group_names(
    connection: &mut DbConnection,
    user_seqs: &[i64],
) -> Result<HashMap<i64, Vec<String>>, StoreError> {
    Ok(groups_of(connection, user_seqs)?
        .into_iter()
        .map(|(seq, groups)| {
            let names = groups
                .iter()
                .filter_map(|group| group.get("display").and_then(Value::as_str))
                .map(str::to_owned)
                .collect();
            (seq, names)
        })
        .collect())
}

/// A pool's counts while a reconciliation is committed.
struct PoolTally {
    sku: String,
    seats: i64,
    used: i64,
    assigned: i64,
    revoked: i64,
}

/// Checks the seats and writes the plans: assignments, pool counters and the audit log.
fn commit(
    connection: &mut DbConnection,
    ctx: &WriteContext,
    plans: &[UserPlan],
    policy: SeatPolicy,
) -> Result<Reconciled, StoreError> {
    let tenant = ctx.tenant.0.as_str();
    let mut tallies: BTreeMap<String, PoolTally> = BTreeMap::new();
    for plan in plans {
        let skus = plan
            .changes
            .assign
            .iter()
            .map(|(sku, _)| sku)
            .chain(&plan.changes.revoke);
        for sku in skus {
            tallies.entry(fold_key(sku)).or_insert_with(|| PoolTally {
                sku: sku.clone(),
                seats: 0,
                used: 0,
                assigned: 0,
                revoked: 0,
            });
        }
    }
    if tallies.is_empty() && plans.iter().all(|plan| plan.changes.resource.is_empty()) {
        return Ok(Reconciled::default());
    }
    lock_pools(connection, tenant, &mut tallies)?;

    let at = to_micros(&ctx.at);
    let mut outcome = Reconciled::default();
    let mut audit = Vec::new();
    let mut events = Vec::new();
    // Revocations first: the seats they free serve this write's assignments.
    for plan in plans {
        for sku in &plan.changes.revoke {
            let key = fold_key(sku);
            diesel::delete(
                license_assignments::table
                    .filter(license_assignments::user_seq.eq(plan.seq))
                    .filter(license_assignments::sku_key.eq(&key)),
            )
            .execute(connection)
            .map_err(from_diesel)?;
            if let Some(tally) = tallies.get_mut(&key) {
                tally.revoked += 1;
            }
            outcome.revoked += 1;
            audit.push(AuditRow::new(ctx, at, &plan.id, sku, "revoked", None));
            events.push(ResourceEvent::license(&plan.id, sku, false, None));
        }
        for (sku, source) in &plan.changes.resource {
            diesel::update(
                license_assignments::table
                    .filter(license_assignments::user_seq.eq(plan.seq))
                    .filter(license_assignments::sku_key.eq(fold_key(sku))),
            )
            .set(license_assignments::source.eq(source.as_str()))
            .execute(connection)
            .map_err(from_diesel)?;
        }
    }
    for plan in plans {
        for (sku, source) in &plan.changes.assign {
            let key = fold_key(sku);
            let Some(tally) = tallies.get_mut(&key) else {
                continue;
            };
            let free = tally.seats - (tally.used - tally.revoked + tally.assigned);
            if free <= 0 {
                match policy {
                    SeatPolicy::Strict => {
                        return Err(StoreError::SeatsExhausted {
                            sku: tally.sku.clone(),
                            seats: tally.seats,
                            used: tally.used,
                        });
                    }
                    SeatPolicy::WhileSeatsLast => {
                        outcome.waiting.push((plan.id.clone(), tally.sku.clone()));
                        continue;
                    }
                }
            }
            diesel::insert_into(license_assignments::table)
                .values((
                    license_assignments::user_seq.eq(plan.seq),
                    license_assignments::tenant_id.eq(tenant),
                    license_assignments::sku_key.eq(&key),
                    license_assignments::source.eq(source.as_str()),
                    license_assignments::assigned.eq(at),
                ))
                .execute(connection)
                .map_err(from_diesel)?;
            tally.assigned += 1;
            outcome.assigned += 1;
            audit.push(AuditRow::new(
                ctx,
                at,
                &plan.id,
                &tally.sku,
                "assigned",
                Some(source.as_str()),
            ));
            events.push(ResourceEvent::license(
                &plan.id,
                &tally.sku,
                true,
                Some(source.as_str()),
            ));
        }
    }
    for (key, tally) in &tallies {
        if tally.assigned != 0 || tally.revoked != 0 {
            diesel::update(
                license_pools::table
                    .filter(license_pools::tenant_id.eq(tenant))
                    .filter(license_pools::sku_key.eq(key)),
            )
            .set(license_pools::used.eq(tally.used - tally.revoked + tally.assigned))
            .execute(connection)
            .map_err(from_diesel)?;
        }
        // The write that takes a pool's last seat says so.
        let used = tally.used - tally.revoked + tally.assigned;
        if tally.assigned > 0 && used >= tally.seats && tally.used < tally.seats {
            events.push(ResourceEvent::pool_exhausted(&tally.sku, tally.seats, used));
        }
    }
    for rows in audit.chunks(CHUNK) {
        insert_audit(connection, rows).map_err(from_diesel)?;
    }
    outbox::record(connection, ctx, &events)?;
    Ok(outcome)
}

/// Locks the pools named by `tallies` in sku order and fills in their seats and use, as of
/// now (after any writer before us committed).
fn lock_pools(
    connection: &mut DbConnection,
    tenant: &str,
    tallies: &mut BTreeMap<String, PoolTally>,
) -> Result<(), StoreError> {
    let keys: Vec<&String> = tallies.keys().collect();
    let query = license_pools::table
        .filter(license_pools::tenant_id.eq(tenant))
        .filter(license_pools::sku_key.eq_any(keys))
        .order(license_pools::sku_key)
        .select((
            license_pools::sku_key,
            license_pools::sku,
            license_pools::seats,
            license_pools::used,
        ));
    let rows: Vec<(String, String, i64, i64)> = match connection {
        DbConnection::Pg(connection) => query.for_update().load(connection),
        DbConnection::Sqlite(connection) => query.load(connection),
    }
    .map_err(from_diesel)?;
    for (key, sku, seats, used) in rows {
        if let Some(tally) = tallies.get_mut(&key) {
            tally.sku = sku;
            tally.seats = seats;
            tally.used = used;
        }
    }
    Ok(())
}

#[derive(Debug, Insertable)]
#[diesel(table_name = license_audit)]
struct AuditRow<'a> {
    tenant_id: &'a str,
    at: i64,
    user_id: String,
    sku: String,
    action: &'static str,
    source: Option<&'static str>,
    cause: &'a str,
    actor: &'a str,
}

impl<'a> AuditRow<'a> {
    fn new(
        ctx: &'a WriteContext,
        at: i64,
        user_id: &str,
        sku: &str,
        action: &'static str,
        source: Option<&'static str>,
    ) -> Self {
        Self {
            tenant_id: &ctx.tenant.0,
            at,
            user_id: user_id.to_owned(),
            sku: sku.to_owned(),
            action,
            source,
            cause: &ctx.cause,
            actor: &ctx.actor,
        }
    }
}

fn insert_audit(connection: &mut DbConnection, rows: &[AuditRow<'_>]) -> QueryResult<usize> {
    execute_per_backend!(
        connection,
        diesel::insert_into(license_audit::table).values(rows)
    )
}

/// A stored value the core does not know: only a corrupted row.
#[derive(Debug, thiserror::Error)]
#[error("license row with unknown {what} '{value}'")]
struct Corrupt {
    what: &'static str,
    value: String,
}

fn corrupt(what: &'static str, value: &str) -> StoreError {
    StoreError::unavailable(Corrupt {
        what,
        value: value.to_owned(),
    })
}
