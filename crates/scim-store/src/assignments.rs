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
//! 3. the seats the plans need are taken from the pools in sku order ([`seats`]): under
//!    [`SeatPolicy::Strict`] (every SCIM request) a missing seat fails the whole write with
//!    `SeatsExhausted`; under [`SeatPolicy::WhileSeatsLast`] (an admin's change of rules or
//!    seats) the users that would need a missing seat are left waiting and reported;
//! 4. assignment rows and the audit log are written.
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

use crate::connection::{DbConnection, execute_per_backend, load_per_backend};
use crate::errors::from_diesel;
use crate::expand::groups_of;
use crate::licenses::{load_rules, pools_for_rules};
use crate::members::CHUNK;
use crate::outbox;
use crate::rows::{from_micros, to_micros};
use crate::schema::{
    group_members, license_assignments, license_audit, license_pools, license_rules, resources,
};
use crate::seats::{self, Demand, Seating};

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
    seating: Seating,
) -> Result<Reconciled, StoreError> {
    let tenant = ctx.tenant.0.as_str();
    if seqs.is_empty() {
        return Ok(Reconciled::default());
    }
    let pools = pools_for_rules(connection, tenant)?;
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
    commit(connection, ctx, &plans, seating, &[])
}

/// The licenses of users created together in one transaction (a /Bulk run of POSTs),
/// planned and seated at once: new users hold nothing and are in no group, so their
/// attributes decide alone. In the users' order, a user whose seats are not all there is
/// refused with `SeatsExhausted`, as its own write would have been, and takes none.
pub(crate) struct NewUsersLicenses {
    plans: Vec<UserPlan>,
}

/// Plans the new users' licenses and checks their seats, locking the pools' stripes until
/// the transaction ends. `users` are `(seq, id, stored data)`; with the licenses, why each
/// user was refused, in the order given.
pub(crate) fn seat_new_users(
    connection: &mut DbConnection,
    ctx: &WriteContext,
    users: &[(i64, &str, &str)],
) -> Result<(NewUsersLicenses, Vec<Option<StoreError>>), StoreError> {
    let tenant = ctx.tenant.0.as_str();
    let plans = new_user_plans(connection, tenant, users)?;
    if plans.is_empty() {
        let refused = users.iter().map(|_| None).collect();
        return Ok((NewUsersLicenses { plans }, refused));
    }
    // `(seats, used so far)` per pool wanted, its stripes locked in sku order.
    let mut keys: Vec<String> = plans
        .iter()
        .flat_map(|plan| plan.changes.assign.iter().map(|(sku, _)| fold_key(sku)))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let mut counts = HashMap::new();
    for key in keys {
        let count = seats::count(connection, tenant, &key)?;
        counts.insert(key, count);
    }
    let mut refused = Vec::with_capacity(plans.len());
    let mut kept = Vec::with_capacity(plans.len());
    for plan in plans {
        let short = plan.changes.assign.iter().find_map(|(sku, _)| {
            let (seats, used) = counts[&fold_key(sku)];
            (used >= seats).then(|| StoreError::SeatsExhausted {
                sku: sku.clone(),
                seats,
                used,
            })
        });
        if short.is_none() {
            for (sku, _) in &plan.changes.assign {
                if let Some((_, used)) = counts.get_mut(&fold_key(sku)) {
                    *used += 1;
                }
            }
            kept.push(plan);
        }
        refused.push(short);
    }
    Ok((NewUsersLicenses { plans: kept }, refused))
}

/// What the rules grant users just created: they hold nothing and are in no group, so their
/// attributes decide alone. `users` are `(seq, id, stored data)`; no plans when the tenant
/// has no pool.
fn new_user_plans(
    connection: &mut DbConnection,
    tenant: &str,
    users: &[(i64, &str, &str)],
) -> Result<Vec<UserPlan>, StoreError> {
    let pools = pools_for_rules(connection, tenant)?;
    if pools.is_empty() {
        return Ok(Vec::new());
    }
    let rules = LicenseRules {
        pools,
        rules: load_rules(connection, tenant)?,
    };
    users
        .iter()
        .map(|&(seq, id, data)| {
            let attributes = serde_json::from_str(data).map_err(StoreError::unavailable)?;
            let grants = rules.grants_for(&UserFacts::from_attributes(&attributes, Vec::new()));
            Ok(UserPlan {
                seq,
                id: id.to_owned(),
                changes: plan_license_changes(&[], &grants),
            })
        })
        .collect()
}

/// Licenses a user just created and records its `events` with its license events, in
/// that order (one outbox insert).
pub(crate) fn license_new_user(
    connection: &mut DbConnection,
    ctx: &WriteContext,
    user: (i64, &str, &str),
    events: &[ResourceEvent],
    seating: Seating,
) -> Result<(), StoreError> {
    let plans = new_user_plans(connection, ctx.tenant.0.as_str(), &[user])?;
    commit(connection, ctx, &plans, seating, events).map(|_| ())
}

impl NewUsersLicenses {
    /// Writes the licenses of the users not refused: seats, assignments, audit, and their
    /// events after `leading` (the users' own).
    pub(crate) fn commit(
        &self,
        connection: &mut DbConnection,
        ctx: &WriteContext,
        leading: &[ResourceEvent],
    ) -> Result<(), StoreError> {
        commit(connection, ctx, &self.plans, Seating::BATCHED, leading).map(|_| ())
    }
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
    seating: Seating,
) -> Result<(), StoreError> {
    let pools = pools_for_rules(connection, ctx.tenant.0.as_str())?;
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
    commit(connection, ctx, &[plan], seating, &[]).map(|_| ())
}

/// The licenses the users hold, by user `seq`, in sku order, each sku spelled as its pool
/// spells it: for showing them (the license extension) as for planning.
pub(crate) fn load_held(
    connection: &mut DbConnection,
    user_seqs: &[i64],
) -> Result<HashMap<i64, Vec<HeldLicense>>, StoreError> {
    let mut held: HashMap<i64, Vec<HeldLicense>> = HashMap::new();
    for chunk in user_seqs.chunks(CHUNK) {
        let rows = license_assignments::table
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
            ));
        let rows: Vec<(i64, String, String, i64)> =
            load_per_backend!(connection, rows).map_err(from_diesel)?;
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
        let rows = resources::table
            .filter(resources::tenant_id.eq(tenant))
            .filter(resources::kind.eq("User"))
            .filter(resources::seq.eq_any(chunk))
            .order(resources::seq)
            .select((resources::seq, resources::id, resources::data));
        let rows: Vec<(i64, String, String)> =
            load_per_backend!(connection, rows).map_err(from_diesel)?;
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

/// What a reconciliation asks of one pool.
struct PoolDemand {
    /// As the pool spells it.
    sku: String,
    assign: i64,
    revoke: i64,
}

/// Takes the seats and writes the plans: assignments, the pools' stripes and the audit log;
/// records `leading` (the write's own events) and then the license events.
fn commit(
    connection: &mut DbConnection,
    ctx: &WriteContext,
    plans: &[UserPlan],
    seating: Seating,
    leading: &[ResourceEvent],
) -> Result<Reconciled, StoreError> {
    let tenant = ctx.tenant.0.as_str();
    let mut demands: BTreeMap<String, PoolDemand> = BTreeMap::new();
    for plan in plans {
        let wanted = plan.changes.assign.iter().map(|(sku, _)| (sku, 1, 0));
        let freed = plan.changes.revoke.iter().map(|sku| (sku, 0, 1));
        for (sku, assign, revoke) in wanted.chain(freed) {
            let demand = demands.entry(fold_key(sku)).or_insert_with(|| PoolDemand {
                sku: sku.clone(),
                assign: 0,
                revoke: 0,
            });
            demand.assign += assign;
            demand.revoke += revoke;
        }
    }
    if demands.is_empty() && plans.iter().all(|plan| plan.changes.resource.is_empty()) {
        outbox::record(connection, ctx, leading)?;
        return Ok(Reconciled::default());
    }
    // Seats first, pool by pool in sku order (the order every writer locks them in).
    let hint = plans.first().map_or(0, |plan| plan.seq);
    let mut left: HashMap<&str, i64> = HashMap::new();
    let mut exhausted = Vec::new();
    for (key, demand) in &demands {
        let asked = Demand {
            key,
            sku: &demand.sku,
            assign: demand.assign,
            revoke: demand.revoke,
        };
        let granted = seats::settle(connection, tenant, &asked, seating, hint)?;
        left.insert(key.as_str(), granted.granted);
        // The write that takes a pool's last seat says so.
        if let Some((seats, used)) = granted.exhausted {
            exhausted.push(ResourceEvent::pool_exhausted(&demand.sku, seats, used));
        }
    }

    let at = to_micros(&ctx.at);
    let mut outcome = Reconciled::default();
    let mut audit = Vec::new();
    let mut events = leading.to_vec();
    for plan in plans {
        for sku in &plan.changes.revoke {
            diesel::delete(
                license_assignments::table
                    .filter(license_assignments::user_seq.eq(plan.seq))
                    .filter(license_assignments::sku_key.eq(fold_key(sku))),
            )
            .execute(connection)
            .map_err(from_diesel)?;
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
    // Assignments in the users' order while the granted seats last (under the strict
    // policy every one was granted).
    let mut rows = Vec::new();
    for plan in plans {
        for (sku, source) in &plan.changes.assign {
            let key = fold_key(sku);
            let Some(seats) = left.get_mut(key.as_str()) else {
                continue;
            };
            if *seats == 0 {
                outcome.waiting.push((plan.id.clone(), sku.clone()));
                continue;
            }
            *seats -= 1;
            rows.push(AssignmentRow {
                user_seq: plan.seq,
                tenant_id: tenant,
                sku_key: key,
                source: source.as_str(),
                assigned: at,
            });
            outcome.assigned += 1;
            audit.push(AuditRow::new(
                ctx,
                at,
                &plan.id,
                sku,
                "assigned",
                Some(source.as_str()),
            ));
            events.push(ResourceEvent::license(
                &plan.id,
                sku,
                true,
                Some(source.as_str()),
            ));
        }
    }
    for chunk in rows.chunks(CHUNK) {
        execute_per_backend!(
            connection,
            diesel::insert_into(license_assignments::table).values(chunk)
        )
        .map_err(from_diesel)?;
    }
    events.extend(exhausted);
    for rows in audit.chunks(CHUNK) {
        insert_audit(connection, rows).map_err(from_diesel)?;
    }
    outbox::record(connection, ctx, &events)?;
    Ok(outcome)
}

#[derive(Debug, Insertable)]
#[diesel(table_name = license_assignments)]
struct AssignmentRow<'a> {
    user_seq: i64,
    tenant_id: &'a str,
    sku_key: String,
    source: &'static str,
    assigned: i64,
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
