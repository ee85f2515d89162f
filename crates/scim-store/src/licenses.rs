//! `LicenseLedger`: a tenant's license pools and mapping rules.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use scim_core::fold::fold_key;
use scim_core::license::{
    AuditAction, AuditEntry, AuditQuery, DueTerm, LicenseRules, LicenseSource, LicensedUser,
    MappingRule, MappingSource, Pool, PoolPolicy, Reevaluation, Term, UnmappedTally, UnmappedValue,
    UserFacts,
};
use scim_core::ports::LicenseLedger;
use scim_core::tenant::TenantId;
use scim_core::{StoreError, WriteContext};

use crate::assignments::{group_names, load_held, reconcile};
use crate::connection::DbConnection;
use crate::errors::from_diesel;
use crate::rows::{from_micros, to_micros};
use crate::schema::{license_assignments, license_audit, license_pools, license_rules, resources};
use crate::seats::{self, Seating};
use crate::store::DieselStore;

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = license_pools)]
struct PoolRow {
    tenant_id: String,
    sku_key: String,
    sku: String,
    display_name: String,
    seats: i64,
    policy: String,
    overage: i64,
    starts: Option<i64>,
    ends: Option<i64>,
}

impl PoolRow {
    fn into_pool(self, used: i64, pending: i64) -> Result<Pool, StoreError> {
        let policy = PoolPolicy::stored(&self.policy, self.overage)
            .ok_or_else(|| StoreError::corrupt(UnknownSource(self.policy.clone())))?;
        Ok(Pool {
            sku: self.sku,
            display_name: self.display_name,
            seats: self.seats,
            used,
            pending,
            policy,
            term: Term {
                starts: self.starts.map(from_micros).transpose()?,
                ends: self.ends.map(from_micros).transpose()?,
            },
        })
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = license_rules)]
struct RuleRow {
    tenant_id: String,
    source: String,
    value_key: String,
    value: String,
    sku_key: String,
    sku: String,
}

/// A stored value the core does not know: only a corrupted row.
#[derive(Debug, thiserror::Error)]
#[error("license row with unknown value '{0}'")]
struct UnknownSource(String);

impl TryFrom<RuleRow> for MappingRule {
    type Error = StoreError;

    fn try_from(row: RuleRow) -> Result<Self, StoreError> {
        let source = MappingSource::parse(&row.source)
            .ok_or_else(|| StoreError::corrupt(UnknownSource(row.source.clone())))?;
        Ok(Self {
            source,
            value: row.value,
            sku: row.sku,
        })
    }
}

#[async_trait]
impl LicenseLedger for DieselStore {
    async fn set_pool(&self, ctx: &WriteContext, pool: &Pool) -> Result<(), StoreError> {
        let (tenant, pool) = (ctx.tenant.0.clone(), pool.clone());
        let sku_key = fold_key(&pool.sku);
        // The tenant is re-evaluated now, after this; the next bound is due later.
        let due = pool.term.next_boundary(ctx.at).map(|at| to_micros(&at));
        let (starts, ends) = (pool.term.starts, pool.term.ends);
        let (starts, ends) = (
            starts.map(|at| to_micros(&at)),
            ends.map(|at| to_micros(&at)),
        );
        self.write(move |connection| {
            let changed = diesel::update(license_pools::table)
                .filter(license_pools::tenant_id.eq(&tenant))
                .filter(license_pools::sku_key.eq(&sku_key))
                .set((
                    license_pools::display_name.eq(&pool.display_name),
                    license_pools::seats.eq(pool.seats),
                    license_pools::policy.eq(pool.policy.as_str()),
                    license_pools::overage.eq(pool.policy.allowance()),
                    license_pools::starts.eq(starts),
                    license_pools::ends.eq(ends),
                    license_pools::term_due.eq(due),
                    license_pools::term_claimed_until.eq(None::<i64>),
                ))
                .execute(connection)
                .map_err(from_diesel)?;
            if changed == 0 {
                diesel::insert_into(license_pools::table)
                    .values((
                        PoolRow {
                            tenant_id: tenant.clone(),
                            sku_key: sku_key.clone(),
                            sku: pool.sku.clone(),
                            display_name: pool.display_name.clone(),
                            seats: pool.seats,
                            policy: pool.policy.as_str().to_owned(),
                            overage: pool.policy.allowance(),
                            starts,
                            ends,
                        },
                        license_pools::term_due.eq(due),
                    ))
                    .execute(connection)
                    .map_err(from_diesel)?;
                seats::open(connection, &tenant, &sku_key, pool.capacity())?;
            } else {
                seats::rebalance(connection, &tenant, &sku_key)?;
            }
            Ok(())
        })
        .await
    }

    async fn add_rule(&self, ctx: &WriteContext, rule: &MappingRule) -> Result<bool, StoreError> {
        let row = RuleRow::new(&ctx.tenant, rule);
        self.write(move |connection| {
            let pool = license_pools::table
                .filter(license_pools::tenant_id.eq(&row.tenant_id))
                .filter(license_pools::sku_key.eq(&row.sku_key))
                .select(license_pools::sku_key)
                .first::<String>(connection)
                .optional()
                .map_err(from_diesel)?;
            if pool.is_none() {
                return Err(StoreError::NotFound);
            }
            if row.exists(connection)? {
                return Ok(false);
            }
            diesel::insert_into(license_rules::table)
                .values(&row)
                .execute(connection)
                .map_err(from_diesel)?;
            Ok(true)
        })
        .await
    }

    async fn remove_rule(&self, ctx: &WriteContext, rule: &MappingRule) -> Result<(), StoreError> {
        let row = RuleRow::new(&ctx.tenant, rule);
        self.write(move |connection| {
            let removed = diesel::delete(
                license_rules::table
                    .filter(license_rules::tenant_id.eq(&row.tenant_id))
                    .filter(license_rules::source.eq(&row.source))
                    .filter(license_rules::value_key.eq(&row.value_key))
                    .filter(license_rules::sku_key.eq(&row.sku_key)),
            )
            .execute(connection)
            .map_err(from_diesel)?;
            if removed == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }

    async fn prune_audit(&self, before: DateTime<Utc>, limit: u64) -> Result<u64, StoreError> {
        let (before, limit) = (to_micros(&before), i64::try_from(limit).unwrap_or(i64::MAX));
        self.write(move |connection| {
            // The oldest entries by seq (the primary key), those made before the cutoff.
            let oldest: Vec<(i64, i64)> = license_audit::table
                .order(license_audit::seq)
                .limit(limit)
                .select((license_audit::seq, license_audit::at))
                .load(connection)
                .map_err(from_diesel)?;
            let seqs: Vec<i64> = (oldest.into_iter())
                .filter(|(_, at)| *at < before)
                .map(|(seq, _)| seq)
                .collect();
            for chunk in seqs.chunks(500) {
                diesel::delete(license_audit::table.filter(license_audit::seq.eq_any(chunk)))
                    .execute(connection)
                    .map_err(from_diesel)?;
            }
            Ok(seqs.len() as u64)
        })
        .await
    }

    async fn audit(
        &self,
        tenant: &TenantId,
        query: &AuditQuery,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let (tenant, query) = (tenant.0.clone(), query.clone());
        self.run(move |connection| {
            let mut select = license_audit::table
                .filter(license_audit::tenant_id.eq(tenant))
                .select(AuditRow::as_select())
                .into_boxed();
            select = if query.newest_first {
                select.order(license_audit::seq.desc())
            } else {
                select.order(license_audit::seq)
            };
            if let Some(user) = query.user {
                select = select.filter(license_audit::user_id.eq(user));
            }
            if let Some(since) = query.since {
                select = select.filter(license_audit::at.ge(to_micros(&since)));
            }
            if let Some(after) = query.after {
                select = select.filter(license_audit::seq.gt(after));
            }
            if let Some(limit) = query.limit {
                select = select.limit(i64::try_from(limit).unwrap_or(i64::MAX));
            }
            let rows: Vec<AuditRow> = select.load(connection).map_err(from_diesel)?;
            rows.into_iter().map(AuditEntry::try_from).collect()
        })
        .await
    }

    async fn reconcile_users(
        &self,
        ctx: &WriteContext,
        after: i64,
        limit: usize,
    ) -> Result<(Reevaluation, Option<i64>), StoreError> {
        let limit = i64::try_from(limit).unwrap_or(SCAN_PAGE);
        let ctx = ctx.clone();
        self.write(move |connection| {
            let seqs: Vec<i64> = resources::table
                .filter(resources::tenant_id.eq(&ctx.tenant.0))
                .filter(resources::kind.eq("User"))
                .filter(resources::seq.gt(after))
                .order(resources::seq)
                .limit(limit)
                .select(resources::seq)
                .load(connection)
                .map_err(from_diesel)?;
            let Some(&last) = seqs.last() else {
                return Ok((Reevaluation::default(), None));
            };
            let done = reconcile(connection, &ctx, &seqs, Seating::WHILE_SEATS_LAST)?;
            Ok((done.report(seqs.len() as u64), Some(last)))
        })
        .await
    }

    async fn claim_due_term(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<DueTerm>, StoreError> {
        let (now, until) = (to_micros(&now), to_micros(&until));
        self.write(move |connection| {
            let claimable = || {
                license_pools::term_claimed_until
                    .is_null()
                    .or(license_pools::term_claimed_until.le(now))
            };
            // Oldest due first; a claim whose process died runs out. A pool another process
            // claimed between the read and the update is passed over for the next.
            loop {
                let found: Option<(String, String, String, i64)> = license_pools::table
                    .filter(license_pools::term_due.le(now))
                    .filter(claimable())
                    .order(license_pools::term_due)
                    .select((
                        license_pools::tenant_id,
                        license_pools::sku_key,
                        license_pools::sku,
                        license_pools::term_due.assume_not_null(),
                    ))
                    .first(connection)
                    .optional()
                    .map_err(from_diesel)?;
                let Some((tenant, sku_key, sku, due)) = found else {
                    return Ok(None);
                };
                let claimed = diesel::update(license_pools::table)
                    .filter(license_pools::tenant_id.eq(&tenant))
                    .filter(license_pools::sku_key.eq(&sku_key))
                    .filter(license_pools::term_due.eq(due))
                    .filter(claimable())
                    .set(license_pools::term_claimed_until.eq(until))
                    .execute(connection)
                    .map_err(from_diesel)?;
                if claimed == 1 {
                    let due = from_micros(due)?;
                    let tenant = TenantId(tenant);
                    return Ok(Some(DueTerm { tenant, sku, due }));
                }
            }
        })
        .await
    }

    async fn settle_due_term(
        &self,
        due: &DueTerm,
        next: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let (tenant, sku_key) = (due.tenant.0.clone(), fold_key(&due.sku));
        let (due, next) = (to_micros(&due.due), next.map(|at| to_micros(&at)));
        self.write(move |connection| {
            // A pool set again since was re-evaluated then, and keeps the bound it was given.
            diesel::update(license_pools::table)
                .filter(license_pools::tenant_id.eq(&tenant))
                .filter(license_pools::sku_key.eq(&sku_key))
                .filter(license_pools::term_due.eq(due))
                .set((
                    license_pools::term_due.eq(next),
                    license_pools::term_claimed_until.eq(None::<i64>),
                ))
                .execute(connection)
                .map_err(from_diesel)?;
            Ok(())
        })
        .await
    }

    async fn pools(&self, tenant: &TenantId) -> Result<Vec<Pool>, StoreError> {
        let tenant = tenant.0.clone();
        self.run(move |connection| load_pools(connection, &tenant))
            .await
    }

    async fn rules(&self, tenant: &TenantId) -> Result<Vec<MappingRule>, StoreError> {
        let tenant = tenant.0.clone();
        self.run(move |connection| load_rules(connection, &tenant))
            .await
    }

    async fn licensed_users(
        &self,
        tenant: &TenantId,
        after: i64,
        limit: usize,
    ) -> Result<(Vec<LicensedUser<i64>>, Option<i64>), StoreError> {
        let limit = i64::try_from(limit).unwrap_or(SCAN_PAGE);
        let tenant = tenant.0.clone();
        self.run(move |connection| {
            let page: Vec<(i64, String, String)> = resources::table
                .filter(resources::tenant_id.eq(&tenant))
                .filter(resources::kind.eq("User"))
                .filter(resources::seq.gt(after))
                .order(resources::seq)
                .limit(limit)
                .select((resources::seq, resources::id, resources::data))
                .load(connection)
                .map_err(from_diesel)?;
            let Some(&(last, _, _)) = page.last() else {
                return Ok((Vec::new(), None));
            };
            let seqs: Vec<i64> = page.iter().map(|(seq, _, _)| *seq).collect();
            let mut groups = group_names(connection, &tenant, &seqs)?;
            let mut held = load_held(connection, &tenant, &seqs)?;
            let users = page
                .into_iter()
                .map(|(seq, id, data)| {
                    let attributes = serde_json::from_str(&data).map_err(StoreError::corrupt)?;
                    let groups = groups.remove(&seq).unwrap_or_default();
                    Ok(LicensedUser {
                        key: seq,
                        id,
                        facts: Some(UserFacts::from_attributes(&attributes, groups)),
                        held: held.remove(&seq).unwrap_or_default(),
                    })
                })
                .collect::<Result<_, StoreError>>()?;
            Ok((users, Some(last)))
        })
        .await
    }

    /// Reads the tenant's users in pages of [`SCAN_PAGE`] by `seq` (keyset), so memory
    /// stays flat whatever the tenant's size.
    async fn unmapped_values(
        &self,
        tenant: &TenantId,
        rules: &LicenseRules,
    ) -> Result<Vec<UnmappedValue>, StoreError> {
        let (tenant, rules) = (tenant.0.clone(), rules.clone());
        self.run(move |connection| {
            let mut tally = UnmappedTally::default();
            let mut after = 0_i64;
            loop {
                let page: Vec<(i64, String)> = resources::table
                    .filter(resources::tenant_id.eq(&tenant))
                    .filter(resources::kind.eq("User"))
                    .filter(resources::seq.gt(after))
                    .order(resources::seq)
                    .limit(SCAN_PAGE)
                    .select((resources::seq, resources::data))
                    .load(connection)
                    .map_err(from_diesel)?;
                let Some(&(last, _)) = page.last() else { break };
                for (_, data) in &page {
                    let attributes = serde_json::from_str(data).map_err(StoreError::corrupt)?;
                    let facts = UserFacts::from_attributes(&attributes, Vec::new());
                    tally.add(&rules.grants_for(&facts));
                }
                after = last;
            }
            Ok(tally.finish())
        })
        .await
    }
}

/// The tenant's pools with their use, by sku key.
pub(crate) fn load_pools(
    connection: &mut DbConnection,
    tenant: &str,
) -> Result<Vec<Pool>, StoreError> {
    let rows = pool_rows(connection, tenant)?;
    let mut used = seats::used_by_pool(connection, tenant)?;
    let mut pending = pending_by_pool(connection, tenant)?;
    rows.into_iter()
        .map(|row| {
            let used = used.remove(&row.sku_key).unwrap_or(0);
            let pending = pending.remove(&row.sku_key).unwrap_or(0);
            row.into_pool(used, pending)
        })
        .collect()
}

/// The licenses waiting for a seat per pool of the tenant, by sku key (from the index of
/// waiting licenses).
fn pending_by_pool(
    connection: &mut DbConnection,
    tenant: &str,
) -> Result<std::collections::HashMap<String, i64>, StoreError> {
    let rows: Vec<(String, i64)> = license_assignments::table
        .filter(license_assignments::tenant_id.eq(tenant))
        .filter(seats::waiting_rows())
        .group_by(license_assignments::sku_key)
        .select((license_assignments::sku_key, diesel::dsl::count_star()))
        .load(connection)
        .map_err(from_diesel)?;
    Ok(rows.into_iter().collect())
}

/// The tenant's pools as the mapping rules need them, inside a write: skus and seats,
/// their use not read (0; the seats are counted when they are taken).
pub(crate) fn pools_for_rules(
    connection: &mut DbConnection,
    tenant: &str,
) -> Result<Vec<Pool>, StoreError> {
    let rows = pool_rows(connection, tenant)?;
    rows.into_iter().map(|row| row.into_pool(0, 0)).collect()
}

fn pool_rows(connection: &mut DbConnection, tenant: &str) -> Result<Vec<PoolRow>, StoreError> {
    license_pools::table
        .filter(license_pools::tenant_id.eq(tenant))
        .order(license_pools::sku_key)
        .select(PoolRow::as_select())
        .load(connection)
        .map_err(from_diesel)
}

/// The tenant's mapping rules, by source, value and sku.
pub(crate) fn load_rules(
    connection: &mut DbConnection,
    tenant: &str,
) -> Result<Vec<MappingRule>, StoreError> {
    let rows: Vec<RuleRow> = license_rules::table
        .filter(license_rules::tenant_id.eq(tenant))
        .order((
            license_rules::source,
            license_rules::value_key,
            license_rules::sku_key,
        ))
        .select(RuleRow::as_select())
        .load(connection)
        .map_err(from_diesel)?;
    rows.into_iter().map(MappingRule::try_from).collect()
}

/// Users read per query when scanning a whole tenant.
const SCAN_PAGE: i64 = 1_000;

impl RuleRow {
    fn new(tenant: &TenantId, rule: &MappingRule) -> Self {
        Self {
            tenant_id: tenant.0.clone(),
            source: rule.source.as_str().to_owned(),
            value_key: fold_key(&rule.value),
            value: rule.value.clone(),
            sku_key: fold_key(&rule.sku),
            sku: rule.sku.clone(),
        }
    }

    fn exists(&self, connection: &mut DbConnection) -> Result<bool, StoreError> {
        let found = license_rules::table
            .filter(license_rules::tenant_id.eq(&self.tenant_id))
            .filter(license_rules::source.eq(&self.source))
            .filter(license_rules::value_key.eq(&self.value_key))
            .filter(license_rules::sku_key.eq(&self.sku_key))
            .count()
            .get_result::<i64>(connection)
            .map_err(from_diesel)?;
        Ok(found > 0)
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = license_audit)]
struct AuditRow {
    seq: i64,
    at: i64,
    user_id: String,
    sku: String,
    action: String,
    source: Option<String>,
    cause: String,
    actor: String,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StoreError;

    fn try_from(row: AuditRow) -> Result<Self, StoreError> {
        let corrupt = |what: &str| StoreError::corrupt(UnknownSource(what.to_owned()));
        Ok(Self {
            at: from_micros(row.at).map_err(StoreError::corrupt)?,
            user: row.user_id,
            sku: row.sku,
            action: AuditAction::parse(&row.action).ok_or_else(|| corrupt(&row.action))?,
            source: match row.source {
                Some(source) => {
                    Some(LicenseSource::parse(&source).ok_or_else(|| corrupt(&source))?)
                }
                None => None,
            },
            cause: row.cause,
            actor: row.actor,
            seq: Some(row.seq),
        })
    }
}
