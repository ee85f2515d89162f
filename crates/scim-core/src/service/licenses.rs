//! Administering a tenant's licenses: pools, mapping rules, and reading their use.

use std::sync::Arc;

use crate::context::{Caller, WriteContext};
use crate::error::{ScimError, StoreError};
use crate::license::{
    AuditEntry, AuditQuery, LicenseRules, MappingRule, MappingSource, Pool, Reevaluation,
    UnmappedValue, validate_sku,
};
use crate::ports::{Clock, LicenseLedger};
use crate::tenant::TenantId;

/// Users re-evaluated per transaction by [`LicenseService::reconcile`].
pub const RECONCILE_BATCH: usize = 1_000;

/// Why a license operation failed, for the operator's CLI and the HTTP edge.
#[derive(Debug, thiserror::Error)]
pub enum LicenseError {
    #[error(transparent)]
    Invalid(#[from] ScimError),
    #[error("no license pool '{0}'; create it first with `license set`")]
    UnknownPool(String),
    #[error("no such mapping rule: {0}")]
    UnknownRule(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A tenant's license use: `license usage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    pub pools: Vec<Pool>,
    pub rules: Vec<MappingRule>,
    pub unmapped: Vec<UnmappedValue>,
}

#[derive(Clone)]
pub struct LicenseService {
    ledger: Arc<dyn LicenseLedger>,
    clock: Arc<dyn Clock>,
}

impl LicenseService {
    pub fn new(ledger: Arc<dyn LicenseLedger>, clock: Arc<dyn Clock>) -> Self {
        Self { ledger, clock }
    }

    fn context(&self, caller: &Caller) -> WriteContext {
        WriteContext::new(caller, self.clock.now())
    }

    /// Creates a pool or changes its seats (and name, when given; a new pool is named by
    /// its sku). Lowering the seats below their use is allowed: the holders keep their
    /// seats and no new one is assigned until the use drops below (see docs/licensing.md).
    pub async fn set_pool(
        &self,
        caller: &Caller,
        sku: &str,
        seats: i64,
        name: Option<&str>,
    ) -> Result<(Pool, Reevaluation), LicenseError> {
        let tenant = &caller.tenant;
        validate_sku(sku)?;
        if seats < 0 {
            return Err(
                ScimError::InvalidValue(format!("seats must be 0 or more, not {seats}")).into(),
            );
        }
        let existing = self.pool(tenant, sku).await?;
        let display_name = match (name, &existing) {
            (Some(name), _) if !name.trim().is_empty() => name.trim().to_owned(),
            (_, Some(pool)) => pool.display_name.clone(),
            _ => sku.to_owned(),
        };
        let pool = Pool {
            sku: existing.map_or_else(|| sku.to_owned(), |pool| pool.sku),
            display_name,
            seats,
            used: 0,
        };
        Ok(self.ledger.set_pool(&self.context(caller), &pool).await?)
    }

    /// Maps `value` of `source` to the pool `sku`.
    pub async fn map(
        &self,
        caller: &Caller,
        source: MappingSource,
        value: &str,
        sku: &str,
    ) -> Result<(MappingRule, Reevaluation), LicenseError> {
        let tenant = &caller.tenant;
        let value = value.trim();
        if value.is_empty() {
            return Err(
                ScimError::InvalidValue(format!("the {source} to map must not be empty")).into(),
            );
        }
        let Some(pool) = self.pool(tenant, sku).await? else {
            return Err(LicenseError::UnknownPool(sku.to_owned()));
        };
        let rule = MappingRule {
            source,
            value: value.to_owned(),
            sku: pool.sku,
        };
        match self.ledger.add_rule(&self.context(caller), &rule).await {
            Err(StoreError::NotFound) => Err(LicenseError::UnknownPool(sku.to_owned())),
            other => Ok((rule, other?)),
        }
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
        match self.ledger.remove_rule(&self.context(caller), &rule).await {
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
        let mut report = Reevaluation::default();
        let mut after = 0;
        loop {
            let (done, next) = self
                .ledger
                .reconcile_users(&ctx, after, RECONCILE_BATCH)
                .await?;
            report.absorb(done);
            progress(report.users);
            match next {
                Some(position) => after = position,
                None => return Ok(report),
            }
        }
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

    pub async fn pools(&self, tenant: &TenantId) -> Result<Vec<Pool>, LicenseError> {
        Ok(self.ledger.pools(tenant).await?)
    }

    pub async fn rules(&self, tenant: &TenantId) -> Result<Vec<MappingRule>, LicenseError> {
        Ok(self.ledger.rules(tenant).await?)
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
            sku: sku.into(),
            display_name: name.into(),
            seats,
            used,
        }
    }

    #[tokio::test]
    async fn a_new_pool_is_named_by_its_sku() {
        let mut ledger = MockLicenseLedger::new();
        ledger.expect_pools().returning(|_| Ok(vec![]));
        ledger
            .expect_set_pool()
            .withf(|_, p| *p == pool("pro", "pro", 5, 0))
            .times(1)
            .returning(|_, p| Ok((p.clone(), Reevaluation::default())));
        let service = service(ledger);
        let (set, _) = service.set_pool(&caller(), "pro", 5, None).await.unwrap();
        assert_eq!(set.display_name, "pro");
    }

    #[tokio::test]
    async fn changing_seats_keeps_the_pools_spelling_and_name() {
        let mut ledger = MockLicenseLedger::new();
        ledger
            .expect_pools()
            .returning(|_| Ok(vec![pool("Pro", "Pro plan", 5, 4)]));
        ledger
            .expect_set_pool()
            .withf(|_, p| p.sku == "Pro" && p.display_name == "Pro plan" && p.seats == 2)
            .times(1)
            .returning(|_, p| {
                Ok((
                    Pool {
                        used: 4,
                        ..p.clone()
                    },
                    Reevaluation::default(),
                ))
            });
        let service = service(ledger);
        let (set, _) = service.set_pool(&caller(), "PRO", 2, None).await.unwrap();
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
                .set_pool(&caller(), sku, seats, None)
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
            .withf(|ctx, r| ctx.actor == "cli" && r.sku == "Pro" && r.value == "Engineering")
            .times(1)
            .returning(|_, _| Ok(Reevaluation::default()));
        let service = service(ledger);
        let (rule, _) = service
            .map(&caller(), MappingSource::Group, " Engineering ", "pro")
            .await
            .unwrap();
        assert_eq!(rule.source, MappingSource::Group);
    }
}
