//! Administering a tenant's licenses: pools, mapping rules, and reading their use.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::context::{Caller, WriteContext};
use crate::error::{ScimError, StoreError};
use crate::license::{
    AuditEntry, AuditQuery, LicenseRules, MappingRule, MappingSource, Pool, PoolPolicy, PreviewRun,
    Reevaluation, RuleChange, RulePreview, Term, TrueUp, UnmappedValue, validate_sku,
};
use crate::ports::{Clock, LicenseLedger};
use crate::tenant::TenantId;
use crate::validate::MAX_KEY_BYTES;

/// Users re-evaluated per transaction by [`LicenseService::reconcile`].
pub const RECONCILE_BATCH: usize = 1_000;

/// Brings every user of the tenant in line with its pools and rules, while seats last and
/// in creation order, [`RECONCILE_BATCH`] users per transaction; `progress` hears the
/// users done so far after each batch. The one re-evaluation loop: after a change of
/// seats or rules, for `license reconcile`, and for tests of a store.
pub async fn reevaluate(
    ledger: &dyn LicenseLedger,
    ctx: &WriteContext,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<Reevaluation, StoreError> {
    let mut report = Reevaluation::default();
    let mut after = 0;
    loop {
        let (done, next) = ledger.reconcile_users(ctx, after, RECONCILE_BATCH).await?;
        report.absorb(done);
        progress(report.users);
        match next {
            Some(position) => after = position,
            None => return Ok(report),
        }
    }
}

/// What `change` would do to the tenant's pools, changing nothing: the engine run over
/// every user, [`RECONCILE_BATCH`] at a time as [`reevaluate`] runs after the change, on a
/// copy of the pools (see [`PreviewRun`]).
pub async fn preview_rule_change(
    ledger: &dyn LicenseLedger,
    tenant: &TenantId,
    change: &RuleChange,
    at: DateTime<Utc>,
) -> Result<RulePreview, StoreError> {
    let rules = ledger.rules(tenant).await?;
    let mut run = PreviewRun::new(ledger.pools(tenant).await?, &rules, change, at);
    // Saving a rule the tenant has re-evaluates nobody: neither does its preview.
    if let RuleChange::Add(added) = change
        && rules.iter().any(|rule| rule.key() == added.key())
    {
        return Ok(run.finish());
    }
    let mut after = 0;
    loop {
        let (users, next) = ledger
            .licensed_users(tenant, after, RECONCILE_BATCH)
            .await?;
        run.batch(users)?;
        match next {
            Some(position) => after = position,
            None => return Ok(run.finish()),
        }
    }
}

/// Creates or changes a pool, then re-evaluates the tenant: the pool as stored after, and
/// what the re-evaluation did. (What [`LicenseService::set_pool`] does once it checked the
/// input; for callers that bring their own `ctx`, such as a store's tests.)
pub async fn set_pool_and_reevaluate(
    ledger: &dyn LicenseLedger,
    ctx: &WriteContext,
    pool: &Pool,
) -> Result<(Pool, Reevaluation), StoreError> {
    ledger.set_pool(ctx, pool).await?;
    let report = reevaluate(ledger, ctx, &|_| {}).await?;
    let key = crate::fold::fold_key(&pool.sku);
    let stored = ledger.pools(&ctx.tenant).await?;
    let stored = stored
        .into_iter()
        .find(|pool| crate::fold::fold_key(&pool.sku) == key);
    Ok((stored.ok_or(StoreError::NotFound)?, report))
}

/// Adds a rule and, when it is new, re-evaluates the tenant: what that did, or `None`
/// when the tenant had the rule already (nothing changed). `NotFound`: no pool for its sku.
pub async fn add_rule_and_reevaluate(
    ledger: &dyn LicenseLedger,
    ctx: &WriteContext,
    rule: &MappingRule,
) -> Result<Option<Reevaluation>, StoreError> {
    if ledger.add_rule(ctx, rule).await? {
        Ok(Some(reevaluate(ledger, ctx, &|_| {}).await?))
    } else {
        Ok(None)
    }
}

/// Removes a rule, then re-evaluates the tenant (`NotFound`: no such rule).
pub async fn remove_rule_and_reevaluate(
    ledger: &dyn LicenseLedger,
    ctx: &WriteContext,
    rule: &MappingRule,
) -> Result<Reevaluation, StoreError> {
    ledger.remove_rule(ctx, rule).await?;
    reevaluate(ledger, ctx, &|_| {}).await
}

/// Why a license operation failed, for the operator's CLI and the HTTP edge.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LicenseError {
    #[error(transparent)]
    /// The input is invalid (a sku, a value).
    Invalid(#[from] ScimError),
    #[error("no license pool '{0}'; create it first with `license set`")]
    /// No pool of this sku.
    UnknownPool(String),
    #[error("no such mapping rule: {0}")]
    /// No such rule.
    UnknownRule(String),
    #[error(transparent)]
    /// The store failed.
    Store(#[from] StoreError),
}

/// What `license set` or `PUT …/pools/{sku}` asks of a pool: its seats, and what else it
/// names (`None`: kept; for a term's bound, `Some(None)` removes it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolChange<'a> {
    /// Seats bought.
    pub seats: i64,
    /// A new display name.
    pub name: Option<&'a str>,
    /// A new policy.
    pub policy: Option<PoolPolicy>,
    /// A new start of the term.
    pub starts: Option<Option<DateTime<Utc>>>,
    /// A new end of the term.
    pub ends: Option<Option<DateTime<Utc>>>,
}

impl PoolChange<'_> {
    /// Sets the seats, keeping the rest.
    pub fn seats(seats: i64) -> Self {
        Self {
            seats,
            ..Self::default()
        }
    }
}

/// A term's bound as an admin writes it: RFC 3339, or `none` for no bound.
pub fn parse_term_bound(text: &str) -> Result<Option<DateTime<Utc>>, ScimError> {
    if text.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    DateTime::parse_from_rfc3339(text.trim())
        .map(|time| Some(time.with_timezone(&Utc)))
        .map_err(|_| {
            ScimError::InvalidValue(format!(
                "'{text}' is not a time: use RFC 3339 (2027-01-01T00:00:00Z), or none"
            ))
        })
}

/// A tenant's license use: `license usage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// The pools, their seats and use.
    pub pools: Vec<Pool>,
    /// The mapping rules.
    pub rules: Vec<MappingRule>,
    /// Values users send that grant nothing.
    pub unmapped: Vec<UnmappedValue>,
}

/// The operator's license use cases: pools, mapping rules (each change re-evaluates the
/// tenant's users), usage and the audit log.
#[derive(Clone)]
pub struct LicenseService {
    ledger: Arc<dyn LicenseLedger>,
    clock: Arc<dyn Clock>,
}

impl LicenseService {
    /// On the ledger.
    pub fn new(ledger: Arc<dyn LicenseLedger>, clock: Arc<dyn Clock>) -> Self {
        Self { ledger, clock }
    }

    fn context(&self, caller: &Caller) -> WriteContext {
        WriteContext::new(caller, self.clock.now())
    }

    /// Creates a pool or changes its seats (and name, policy and term, when given; a new
    /// pool is named by its sku, strict, and without a term). Lowering the seats below
    /// their use is allowed: the holders keep their seats and no new one is assigned until
    /// the use drops below (see docs/licensing.md). The tenant is re-evaluated now; when
    /// the term starts or ends later, [`Self::run_due_terms`] re-evaluates it then.
    pub async fn set_pool(
        &self,
        caller: &Caller,
        sku: &str,
        change: &PoolChange<'_>,
    ) -> Result<(Pool, Reevaluation), LicenseError> {
        let tenant = &caller.tenant;
        validate_sku(sku)?;
        crate::license::validate_seats(change.seats)?;
        let existing = self.pool(tenant, sku).await?;
        let display_name = match (change.name, &existing) {
            (Some(name), _) if !name.trim().is_empty() => name.trim().to_owned(),
            (_, Some(pool)) => pool.display_name.clone(),
            _ => sku.to_owned(),
        };
        let kept = existing.as_ref().map(|pool| (pool.policy, pool.term));
        let (policy, term) = kept.unwrap_or_default();
        let term = Term::new(
            change.starts.unwrap_or(term.starts),
            change.ends.unwrap_or(term.ends),
        )?;
        let pool = Pool {
            sku: existing.map_or_else(|| sku.to_owned(), |pool| pool.sku),
            display_name,
            seats: change.seats,
            used: 0,
            pending: 0,
            policy: change.policy.unwrap_or(policy),
            term,
        };
        let ctx = self.context(caller);
        Ok(set_pool_and_reevaluate(self.ledger.as_ref(), &ctx, &pool).await?)
    }

    /// Re-evaluates, once across every process sharing the store, each tenant with a pool
    /// whose term started or ended by now (those it claims; another process runs the
    /// others): its licenses are revoked, wait again, or are given back, through the
    /// engine, with their events. How many pools' boundaries were settled.
    pub async fn run_due_terms(&self, lease: std::time::Duration) -> Result<u64, LicenseError> {
        let mut settled = 0;
        loop {
            let now = self.clock.now();
            let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
            let Some(due) = self.ledger.claim_due_term(now, until).await? else {
                return Ok(settled);
            };
            let caller = Caller::new(due.tenant.clone(), "system", "term");
            let ctx = WriteContext::new(&caller, now);
            reevaluate(self.ledger.as_ref(), &ctx, &|_| {}).await?;
            let next = self
                .pool(&due.tenant, &due.sku)
                .await?
                .and_then(|pool| pool.term.next_boundary(now));
            self.ledger.settle_due_term(&due, next).await?;
            settled += 1;
        }
    }

    /// The rule mapping `value` of `source` to the tenant's pool `sku`, checked: a value
    /// a store can hold, a pool that exists (the rule names it as the pool spells it).
    pub async fn rule(
        &self,
        tenant: &TenantId,
        source: MappingSource,
        value: &str,
        sku: &str,
    ) -> Result<MappingRule, LicenseError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(
                ScimError::InvalidValue(format!("the {source} to map must not be empty")).into(),
            );
        }
        // What no store can index or hold never reaches one.
        if value.len() > MAX_KEY_BYTES || value.contains('\0') {
            return Err(ScimError::InvalidValue(format!(
                "the {source} to map must be at most {MAX_KEY_BYTES} bytes, without U+0000"
            ))
            .into());
        }
        let Some(pool) = self.pool(tenant, sku).await? else {
            return Err(LicenseError::UnknownPool(sku.to_owned()));
        };
        Ok(MappingRule {
            source,
            value: value.to_owned(),
            sku: pool.sku,
        })
    }

    /// Maps `value` of `source` to the pool `sku`: the rule, and what re-evaluating the
    /// tenant did (`None`: the tenant had the rule already, nothing changed).
    pub async fn map(
        &self,
        caller: &Caller,
        source: MappingSource,
        value: &str,
        sku: &str,
    ) -> Result<(MappingRule, Option<Reevaluation>), LicenseError> {
        let rule = self.rule(&caller.tenant, source, value, sku).await?;
        let ctx = self.context(caller);
        match add_rule_and_reevaluate(self.ledger.as_ref(), &ctx, &rule).await {
            Err(StoreError::NotFound) => Err(LicenseError::UnknownPool(sku.to_owned())),
            other => Ok((rule, other?)),
        }
    }

    /// What `change` would do to the tenant's pools, changing nothing: the engine run over
    /// every user, [`RECONCILE_BATCH`] at a time as the re-evaluation after the change
    /// runs, on a copy of the pools. `UnknownRule` when a removed rule is not the tenant's.
    pub async fn preview(
        &self,
        tenant: &TenantId,
        change: &RuleChange,
    ) -> Result<RulePreview, LicenseError> {
        let rules = self.ledger.rules(tenant).await?;
        if let RuleChange::Remove(removed) = change
            && !rules.iter().any(|rule| rule.key() == removed.key())
        {
            return Err(LicenseError::UnknownRule(format!(
                "{} '{}' → '{}'",
                removed.source, removed.value, removed.sku
            )));
        }
        Ok(preview_rule_change(self.ledger.as_ref(), tenant, change, self.clock.now()).await?)
    }

    /// Removes the rule mapping `value` of `source` to `sku`: the users it alone granted
    /// the sku lose it.
    pub async fn unmap(
        &self,
        caller: &Caller,
        source: MappingSource,
        value: &str,
        sku: &str,
    ) -> Result<Reevaluation, LicenseError> {
        let rule = MappingRule {
            source,
            value: value.trim().to_owned(),
            sku: sku.to_owned(),
        };
        let ctx = self.context(caller);
        match remove_rule_and_reevaluate(self.ledger.as_ref(), &ctx, &rule).await {
            Err(StoreError::NotFound) => Err(LicenseError::UnknownRule(format!(
                "{source} '{}' → '{sku}'",
                rule.value
            ))),
            other => Ok(other?),
        }
    }

    /// Brings every user's licenses in line with the pools and rules, while seats last,
    /// [`RECONCILE_BATCH`] users per transaction; `progress` hears the users done so far
    /// after each batch. Nothing changes when the licenses already follow the rules (the
    /// writes keep them so); this repairs what was changed behind the server's back.
    pub async fn reconcile(
        &self,
        caller: &Caller,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<Reevaluation, LicenseError> {
        let ctx = self.context(caller);
        Ok(reevaluate(self.ledger.as_ref(), &ctx, progress).await?)
    }

    /// The audit log of the tenant, oldest first.
    pub async fn audit(
        &self,
        tenant: &TenantId,
        query: &AuditQuery,
    ) -> Result<Vec<AuditEntry>, LicenseError> {
        Ok(self.ledger.audit(tenant, query).await?)
    }

    /// The pools with their use, and the entitlement and role values no pool or rule maps
    /// (reads every user of the tenant once).
    pub async fn usage(&self, tenant: &TenantId) -> Result<Usage, LicenseError> {
        let rules = LicenseRules {
            pools: self.ledger.pools(tenant).await?,
            rules: self.ledger.rules(tenant).await?,
        };
        let unmapped = self.ledger.unmapped_values(tenant, &rules).await?;
        Ok(Usage {
            pools: rules.pools,
            rules: rules.rules,
            unmapped,
        })
    }

    /// The tenant's pools, by sku.
    pub async fn pools(&self, tenant: &TenantId) -> Result<Vec<Pool>, LicenseError> {
        Ok(self.ledger.pools(tenant).await?)
    }

    /// The tenant's mapping rules.
    pub async fn rules(&self, tenant: &TenantId) -> Result<Vec<MappingRule>, LicenseError> {
        Ok(self.ledger.rules(tenant).await?)
    }

    /// The true-up of the pool `sku` over `[from, to)`: peak use, peak overage and
    /// seat-days over, from the audit log ([`TrueUp`]).
    pub async fn true_up(
        &self,
        tenant: &TenantId,
        sku: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<TrueUp, LicenseError> {
        if from >= to {
            return Err(ScimError::InvalidValue(format!(
                "the period must end after it starts: {} is not after {}",
                crate::resource::format_time(&to),
                crate::resource::format_time(&from)
            ))
            .into());
        }
        // Two reads, not one snapshot: a license change committed between them moves the
        // figures by that one change (a report of a closed period is best run after it).
        let query = AuditQuery {
            since: Some(from),
            ..AuditQuery::default()
        };
        let entries = self.ledger.audit(tenant, &query).await?;
        let pool = (self.pool(tenant, sku).await?)
            .ok_or_else(|| LicenseError::UnknownPool(sku.to_owned()))?;
        Ok(TrueUp::of(&pool, &entries, from, to, self.clock.now()))
    }

    /// The pool for `sku`, compared case-insensitively.
    pub async fn pool(&self, tenant: &TenantId, sku: &str) -> Result<Option<Pool>, LicenseError> {
        let key = crate::fold::fold_key(sku);
        Ok(self
            .ledger
            .pools(tenant)
            .await?
            .into_iter()
            .find(|pool| crate::fold::fold_key(&pool.sku) == key))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::ports::{MockClock, MockLicenseLedger};

    fn tenant() -> TenantId {
        TenantId("t1".into())
    }

    fn caller() -> Caller {
        Caller::new(tenant(), "cli", "license set")
    }

    fn service(ledger: MockLicenseLedger) -> LicenseService {
        let mut clock = MockClock::new();
        clock
            .expect_now()
            .returning(|| Utc.timestamp_opt(1_700_000_000, 0).unwrap());
        LicenseService::new(Arc::new(ledger), Arc::new(clock))
    }

    fn pool(sku: &str, name: &str, seats: i64, used: i64) -> Pool {
        Pool {
            used,
            ..Pool::new(sku, seats).named(name)
        }
    }

    /// `pools` answers `before` until `set_pool` ran (once, with a pool `sent` accepts),
    /// then `after`.
    fn pools_around_set(
        ledger: &mut MockLicenseLedger,
        (before, after): (Vec<Pool>, Pool),
        sent: fn(&Pool) -> bool,
    ) {
        let set = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen = Arc::clone(&set);
        ledger.expect_pools().returning(move |_| {
            Ok(if seen.load(std::sync::atomic::Ordering::SeqCst) {
                vec![after.clone()]
            } else {
                before.clone()
            })
        });
        ledger
            .expect_set_pool()
            .withf(move |_, pool| sent(pool))
            .times(1)
            .returning(move |_, _| {
                set.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok(())
            });
    }

    /// `reconcile_users` reports one page of `users` users per call for `pages` calls.
    fn pages(ledger: &mut MockLicenseLedger, pages: i64, users: u64) {
        ledger
            .expect_reconcile_users()
            .withf(|_, _, limit| *limit == RECONCILE_BATCH)
            .times(pages as usize + 1)
            .returning(move |_, after, _| {
                let done = Reevaluation {
                    users,
                    assigned: 1,
                    ..Reevaluation::default()
                };
                Ok(if after < pages {
                    (done, Some(after + 1))
                } else {
                    (Reevaluation::default(), None)
                })
            });
    }

    #[tokio::test]
    async fn a_new_pool_is_named_by_its_sku_and_every_user_is_re_evaluated() {
        let mut ledger = MockLicenseLedger::new();
        let after = pool("pro", "pro", 5, 2);
        pools_around_set(&mut ledger, (vec![], after), |p| {
            *p == pool("pro", "pro", 5, 0)
        });
        pages(&mut ledger, 2, 1_000);
        let service = service(ledger);
        let (set, report) = service
            .set_pool(&caller(), "pro", &PoolChange::seats(5))
            .await
            .unwrap();
        assert_eq!(set, pool("pro", "pro", 5, 2), "the pool as stored after");
        assert_eq!((report.users, report.assigned), (2_000, 2), "two pages");
    }

    #[tokio::test]
    async fn changing_seats_keeps_the_pools_spelling_and_name() {
        let mut ledger = MockLicenseLedger::new();
        let stored = pool("Pro", "Pro plan", 5, 4);
        let after = pool("Pro", "Pro plan", 2, 4);
        pools_around_set(&mut ledger, (vec![stored], after), |p| {
            p.sku == "Pro" && p.display_name == "Pro plan" && p.seats == 2
        });
        pages(&mut ledger, 0, 0);
        let service = service(ledger);
        let (set, _) = service
            .set_pool(&caller(), "PRO", &PoolChange::seats(2))
            .await
            .unwrap();
        assert!(set.is_over_assigned());
    }

    #[tokio::test]
    async fn bad_input_never_reaches_the_ledger() {
        let mut ledger = MockLicenseLedger::new();
        ledger.expect_set_pool().never();
        ledger.expect_add_rule().never();
        ledger.expect_pools().returning(|_| Ok(vec![]));
        let service = service(ledger);
        for (sku, seats) in [("has space", 1), ("pro", -1)] {
            let error = service
                .set_pool(&caller(), sku, &PoolChange::seats(seats))
                .await
                .unwrap_err();
            assert!(matches!(error, LicenseError::Invalid(_)), "{error}");
        }
        let error = service
            .map(&caller(), MappingSource::Role, "admin", "pro")
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "no license pool 'pro'; create it first with `license set`"
        );
        let error = service
            .map(&caller(), MappingSource::Group, "  ", "pro")
            .await
            .unwrap_err();
        assert!(matches!(error, LicenseError::Invalid(_)), "{error}");
    }

    #[tokio::test]
    async fn usage_reports_unmapped_values_under_the_current_rules() {
        let mut ledger = MockLicenseLedger::new();
        ledger
            .expect_pools()
            .returning(|_| Ok(vec![pool("pro", "pro", 5, 1)]));
        ledger.expect_rules().returning(|_| Ok(vec![]));
        ledger
            .expect_unmapped_values()
            .withf(|_, rules| rules.pools.len() == 1 && rules.rules.is_empty())
            .times(1)
            .returning(|_, _| {
                Ok(vec![UnmappedValue {
                    value: "Reader".into(),
                    users: 3,
                }])
            });
        let service = service(ledger);
        let usage = service.usage(&tenant()).await.unwrap();
        assert_eq!(usage.pools, [pool("pro", "pro", 5, 1)]);
        assert_eq!(usage.unmapped[0].users, 3);
    }

    #[tokio::test]
    async fn rules_name_the_pool_as_it_is_spelled() {
        let mut ledger = MockLicenseLedger::new();
        ledger
            .expect_pools()
            .returning(|_| Ok(vec![pool("Pro", "Pro", 5, 0)]));
        ledger
            .expect_add_rule()
            .withf(|ctx, r| {
                ctx.actor == "cli" && r.sku == "Pro" && r.value.eq_ignore_ascii_case("Engineering")
            })
            .times(2)
            .returning({
                let added = std::sync::atomic::AtomicBool::new(false);
                move |_, _| Ok(!added.swap(true, std::sync::atomic::Ordering::SeqCst))
            });
        pages(&mut ledger, 1, 7);
        let service = service(ledger);
        let (rule, report) = service
            .map(&caller(), MappingSource::Group, " Engineering ", "pro")
            .await
            .unwrap();
        assert_eq!(rule.source, MappingSource::Group);
        assert_eq!(
            report.expect("a new rule").users,
            7,
            "a new rule re-evaluates"
        );
        let (_, again) = service
            .map(&caller(), MappingSource::Group, "engineering", "pro")
            .await
            .unwrap();
        assert_eq!(again, None, "an existing rule changes nothing");
    }
}
