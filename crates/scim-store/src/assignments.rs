//! License assignments, brought in line with the core's rules inside the transaction of the
//! write that changed what they depend on.
//!
//! Every decision is the core engine's ([`LicensePlan`]); this module feeds it what it
//! reads under lock and writes what it decided:
//! 1. the affected users' rows are locked in `seq` order (PostgreSQL `FOR UPDATE`; SQLite's
//!    write transaction is already exclusive), so two writes that both change a user's
//!    licenses (a PATCH of the user, a membership change of one of its groups) run one
//!    after the other and the second sees the first's result;
//! 2. the tenant's rules, the users' attributes, groups (direct and nested) and held
//!    licenses are read;
//! 3. the engine plans, asks the pools' stripes for seats in sku order ([`StripeLedger`])
//!    and decides under the write's policy;
//! 4. its outcome is written: assignment rows, the audit log, the write's events and then
//!    the license events, in one outbox insert.
//!
//! Locks are always taken users first, then pools, each in ascending order, so concurrent
//! writers cannot deadlock on them.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use scim_core::events::ResourceEvent;
use scim_core::fold::fold_key;
use scim_core::license::{
    AuditEntry, HeldLicense, LicenseOutcome, LicensePlan, LicenseRules, LicenseSource,
    LicenseStatus, LicensedUser, MappingSource, UserFacts,
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
use crate::seats::{Seating, StripeLedger};

/// What a write did to licenses, by user `seq`.
pub(crate) type Outcome = LicenseOutcome<i64>;

/// Brings the licenses of the users among `seqs` (groups are skipped) to what the tenant's
/// rules grant them now.
pub(crate) fn reconcile(
    connection: &mut DbConnection,
    ctx: &WriteContext,
    seqs: &[i64],
    seating: Seating,
) -> Result<Outcome, StoreError> {
    let tenant = ctx.tenant.0.as_str();
    if seqs.is_empty() {
        return Ok(Outcome::default());
    }
    let pools = pools_for_rules(connection, tenant)?;
    if pools.is_empty() {
        // No pool, so nothing is or can be held (the common case costs this one query).
        return Ok(Outcome::default());
    }
    let mut seqs = seqs.to_vec();
    seqs.sort_unstable();
    seqs.dedup();
    lock_rows(connection, tenant, &seqs)?;
    // The rules as they are once the users are locked.
    let rules = LicenseRules {
        pools,
        rules: load_rules(connection, tenant)?,
    };
    let users = load_users(connection, tenant, &seqs)?;
    let user_seqs: Vec<i64> = users.iter().map(|(seq, _, _)| *seq).collect();
    let mut group_names = if rules
        .rules
        .iter()
        .any(|rule| rule.source == MappingSource::Group)
    {
        group_names(connection, tenant, &user_seqs)?
    } else {
        HashMap::new()
    };
    let mut held = load_held(connection, tenant, &user_seqs)?;
    let users = users
        .into_iter()
        .map(|(seq, id, attributes)| {
            let groups = group_names.remove(&seq).unwrap_or_default();
            LicensedUser {
                key: seq,
                id,
                facts: Some(UserFacts::from_attributes(&attributes, groups)),
                held: held.remove(&seq).unwrap_or_default(),
            }
        })
        .collect();
    let plan = LicensePlan::new(&rules, users, seating.policy, ctx.at);
    let hint = user_seqs.first().copied().unwrap_or(0);
    decide_and_write(connection, ctx, plan, (seating, hint), &[])
}

/// The licenses of new users: they hold nothing and are in no group, so their attributes
/// decide alone. `users` are `(seq, id, facts)`, in order. Under
/// [`Seating::NEW_USERS`] the engine refuses, in order, a user whose seats are not all
/// there ([`LicenseOutcome::refused`]); nothing is written: the caller removes the refused
/// users' rows and then writes the outcome ([`write`]) after their events.
pub(crate) fn decide_new_users(
    connection: &mut DbConnection,
    ctx: &WriteContext,
    users: &[(i64, &str, &UserFacts)],
    seating: Seating,
) -> Result<Outcome, StoreError> {
    let tenant = ctx.tenant.0.as_str();
    let Some(first) = users.first() else {
        return Ok(Outcome::default());
    };
    let pools = pools_for_rules(connection, tenant)?;
    if pools.is_empty() {
        return Ok(Outcome::default());
    }
    let rules = LicenseRules {
        pools,
        rules: load_rules(connection, tenant)?,
    };
    let users = users
        .iter()
        .map(|&(seq, id, facts)| LicensedUser::new(seq, id, facts.clone()))
        .collect();
    let plan = LicensePlan::new(&rules, users, seating.policy, ctx.at);
    let mut ledger = StripeLedger::new(connection, tenant, seating.locking, first.0);
    plan.decide(&mut ledger, ctx)
}

/// Licenses a user just created and records its `events` with its license events, in
/// that order (one outbox insert).
pub(crate) fn license_new_user(
    connection: &mut DbConnection,
    ctx: &WriteContext,
    user: (i64, &str, &UserFacts),
    events: &[ResourceEvent],
    seating: Seating,
) -> Result<Outcome, StoreError> {
    let outcome = decide_new_users(connection, ctx, &[user], seating)?;
    write(connection, ctx, &outcome, events)?;
    Ok(outcome)
}

/// Revokes every license of a user about to be deleted, freeing its seats.
pub(crate) fn revoke_all(
    connection: &mut DbConnection,
    ctx: &WriteContext,
    seq: i64,
    id: &str,
    seating: Seating,
) -> Result<Outcome, StoreError> {
    let held = load_held(connection, ctx.tenant.0.as_str(), &[seq])?
        .remove(&seq)
        .unwrap_or_default();
    if held.is_empty() {
        return Ok(Outcome::default());
    }
    // The pools, for their policies: a seat freed in a pool that waits is counted, and
    // goes to the license waiting longest.
    let rules = LicenseRules {
        pools: pools_for_rules(connection, ctx.tenant.0.as_str())?,
        rules: Vec::new(),
    };
    let plan = LicensePlan::new(
        &rules,
        vec![LicensedUser::leaving(seq, id, held)],
        seating.policy,
        ctx.at,
    );
    decide_and_write(connection, ctx, plan, (seating, seq), &[])
}

/// Has the engine decide `plan` on the pools' stripes (`hint` spreads writers over them),
/// then writes its outcome after `leading` (the write's own events).
fn decide_and_write(
    connection: &mut DbConnection,
    ctx: &WriteContext,
    plan: LicensePlan<i64>,
    (seating, hint): (Seating, i64),
    leading: &[ResourceEvent],
) -> Result<Outcome, StoreError> {
    // A plan that changes nothing asks the ledger for nothing and writes only `leading`.
    let tenant = ctx.tenant.0.as_str();
    let mut ledger = StripeLedger::new(connection, tenant, seating.locking, hint);
    let outcome = plan.decide(&mut ledger, ctx)?;
    write(connection, ctx, &outcome, leading)?;
    Ok(outcome)
}

/// The row of the license `change` is about.
#[diesel::dsl::auto_type]
fn license_row<'a>(tenant: &'a str, change: &scim_core::license::LicenseChange<i64>) -> _ {
    let sku_key: String = fold_key(&change.sku);
    let user: i64 = change.user;
    license_assignments::table
        .filter(license_assignments::tenant_id.eq(tenant))
        .filter(license_assignments::user_seq.eq(user))
        .filter(license_assignments::sku_key.eq(sku_key))
}

/// Writes what the engine decided (its seats already taken): assignment rows, the audit
/// log, and `leading` then the license events in one outbox insert.
pub(crate) fn write(
    connection: &mut DbConnection,
    ctx: &WriteContext,
    outcome: &Outcome,
    leading: &[ResourceEvent],
) -> Result<(), StoreError> {
    let tenant = ctx.tenant.0.as_str();
    for change in outcome.revoked.iter().chain(&outcome.withdrawn) {
        diesel::delete(license_row(tenant, change))
            .execute(connection)
            .map_err(from_diesel)?;
    }
    for change in &outcome.source_changed {
        diesel::update(license_row(tenant, change))
            .set(license_assignments::source.eq(change.source.as_str()))
            .execute(connection)
            .map_err(from_diesel)?;
    }
    let at = to_micros(&ctx.at);
    for change in &outcome.promoted {
        diesel::update(license_row(tenant, change))
            .set((
                license_assignments::status.eq(LicenseStatus::Active.as_str()),
                license_assignments::assigned.eq(at),
            ))
            .execute(connection)
            .map_err(from_diesel)?;
    }
    // A suspended license keeps its `assigned`: its place among those waiting.
    for change in &outcome.suspended {
        diesel::update(license_row(tenant, change))
            .set((
                license_assignments::status.eq(LicenseStatus::Pending.as_str()),
                license_assignments::source.eq(change.source.as_str()),
            ))
            .execute(connection)
            .map_err(from_diesel)?;
    }
    let rows: Vec<AssignmentRow<'_>> = outcome
        .new_licenses(ctx.at)
        .map(|(change, license)| AssignmentRow {
            user_seq: change.user,
            tenant_id: tenant,
            sku_key: fold_key(&change.sku),
            source: license.source.as_str(),
            assigned: at,
            status: license.status.as_str(),
        })
        .collect();
    for chunk in rows.chunks(CHUNK) {
        execute_per_backend!(
            connection,
            diesel::insert_into(license_assignments::table).values(chunk)
        )
        .map_err(from_diesel)?;
    }
    let audit: Vec<AuditRow<'_>> = outcome
        .audit
        .iter()
        .map(|entry| AuditRow::new(tenant, entry))
        .collect();
    for rows in audit.chunks(CHUNK) {
        insert_audit(connection, rows).map_err(from_diesel)?;
    }
    if outcome.events.is_empty() {
        return outbox::record(connection, ctx, leading);
    }
    let events: Vec<ResourceEvent> = leading.iter().chain(&outcome.events).cloned().collect();
    outbox::record(connection, ctx, &events)
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
    tenant: &str,
    seqs: &[i64],
) -> Result<Vec<i64>, StoreError> {
    let mut users = Vec::new();
    let mut seen = HashSet::new();
    let mut frontier = Vec::new();
    for chunk in seqs.chunks(CHUNK) {
        let rows: Vec<(i64, String)> = resources::table
            .filter(resources::tenant_id.eq(tenant))
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
                .filter(resources::tenant_id.eq(tenant))
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

/// The licenses the users hold, by user `seq`, in sku order, each sku spelled as its pool
/// spells it: for showing them (the license extension) as for planning.
pub(crate) fn load_held(
    connection: &mut DbConnection,
    tenant: &str,
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
            .filter(license_assignments::tenant_id.eq(tenant))
            .filter(license_assignments::user_seq.eq_any(chunk))
            .order((license_assignments::user_seq, license_assignments::sku_key))
            .select((
                license_assignments::user_seq,
                license_pools::sku,
                license_assignments::source,
                license_assignments::assigned,
                license_assignments::status,
            ));
        let rows: Vec<(i64, String, String, i64, String)> =
            load_per_backend!(connection, rows).map_err(from_diesel)?;
        for (seq, sku, source, assigned, status) in rows {
            let source = LicenseSource::parse(&source).ok_or_else(|| corrupt("source", &source))?;
            let status = LicenseStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?;
            held.entry(seq).or_default().push(HeldLicense {
                sku,
                source,
                assigned: from_micros(assigned).map_err(StoreError::corrupt)?,
                status,
            });
        }
    }
    Ok(held)
}

/// Locks the rows of these `seq`s (ascending) until the transaction ends. PostgreSQL only:
/// a SQLite write transaction excludes every other writer already.
fn lock_rows(connection: &mut DbConnection, tenant: &str, seqs: &[i64]) -> Result<(), StoreError> {
    #[cfg(feature = "postgres")]
    if let DbConnection::Pg(connection) = connection {
        for chunk in seqs.chunks(CHUNK) {
            resources::table
                .filter(resources::tenant_id.eq(tenant))
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
            let attributes = serde_json::from_str(&data).map_err(StoreError::corrupt)?;
            users.push((seq, id, attributes));
        }
    }
    Ok(users)
}

/// The displayNames of the groups each user is in, directly or through nested groups.
pub(crate) fn group_names(
    connection: &mut DbConnection,
    tenant: &str,
    user_seqs: &[i64],
) -> Result<HashMap<i64, Vec<String>>, StoreError> {
    Ok(groups_of(connection, tenant, user_seqs)?
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

#[derive(Debug, Insertable)]
#[diesel(table_name = license_assignments)]
struct AssignmentRow<'a> {
    user_seq: i64,
    tenant_id: &'a str,
    sku_key: String,
    source: &'static str,
    assigned: i64,
    status: &'static str,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = license_audit)]
struct AuditRow<'a> {
    tenant_id: &'a str,
    at: i64,
    user_id: &'a str,
    sku: &'a str,
    action: &'static str,
    source: Option<&'static str>,
    cause: &'a str,
    actor: &'a str,
}

impl<'a> AuditRow<'a> {
    fn new(tenant_id: &'a str, entry: &'a AuditEntry) -> Self {
        Self {
            tenant_id,
            at: to_micros(&entry.at),
            user_id: &entry.user,
            sku: &entry.sku,
            action: entry.action.as_str(),
            source: entry.source.map(LicenseSource::as_str),
            cause: &entry.cause,
            actor: &entry.actor,
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
    StoreError::corrupt(Corrupt {
        what,
        value: value.to_owned(),
    })
}
