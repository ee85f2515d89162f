//! `LicenseLedger`: a tenant's pools, mapping rules and audit log. After a change of seats
//! or rules the core's license service re-evaluates every user, page by page
//! (`reconcile_users`), while seats last, in creation order.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scim_core::fold::fold_key;
use scim_core::license::{
    AuditEntry, AuditQuery, DueTerm, LicenseRules, LicensedUser, MappingRule, Pool, Reevaluation,
    SeatPolicy, UnmappedTally, UnmappedValue,
};
use scim_core::ports::LicenseLedger;
use scim_core::tenant::TenantId;
use scim_core::{ResourceKind, StoreError, WriteContext};

use crate::{MemoryStore, TenantData};

#[async_trait]
impl LicenseLedger for MemoryStore {
    async fn set_pool(&self, ctx: &WriteContext, pool: &Pool) -> Result<(), StoreError> {
        self.write(&ctx.tenant, |data| {
            match pool_mut(&mut data.pools, &pool.sku) {
                // Keeps the first spelling of the sku, and its use.
                Some(stored) => {
                    stored.display_name.clone_from(&pool.display_name);
                    stored.seats = pool.seats;
                    stored.policy = pool.policy;
                    stored.term = pool.term;
                }
                None => {
                    // Waiting licenses are counted when the pools are read.
                    data.pools.push(Pool {
                        used: 0,
                        pending: 0,
                        ..pool.clone()
                    });
                    data.pools.sort_by_key(|pool| fold_key(&pool.sku));
                }
            }
            // The tenant is re-evaluated now, after this; the next bound is due later.
            let key = fold_key(&pool.sku);
            match pool.term.next_boundary(ctx.at) {
                Some(due) => data.terms_due.insert(key, (due, None)),
                None => data.terms_due.remove(&key),
            };
            Ok(())
        })
    }

    async fn claim_due_term(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<DueTerm>, StoreError> {
        let mut state = self.lock();
        let claimable = |(due, claim): &(DateTime<Utc>, Option<DateTime<Utc>>)| {
            *due <= now && claim.is_none_or(|claim| claim <= now)
        };
        let oldest = (state.tenants.iter())
            .flat_map(|(tenant, data)| {
                (data.terms_due.iter()).map(move |(key, due)| (due.0, tenant, key, due))
            })
            .filter(|(_, _, _, due)| claimable(due))
            .min_by_key(|(due, ..)| *due)
            .map(|(_, tenant, key, _)| (tenant.clone(), key.clone()));
        let Some((tenant, key)) = oldest else {
            return Ok(None);
        };
        let data = state.tenants.get_mut(&tenant).ok_or(StoreError::NotFound)?;
        let sku = pool_mut(&mut data.pools, &key).map(|pool| pool.sku.clone());
        let due = data.terms_due.get_mut(&key).ok_or(StoreError::NotFound)?;
        due.1 = Some(until);
        Ok(Some(DueTerm {
            tenant,
            sku: sku.unwrap_or(key),
            due: due.0,
        }))
    }

    async fn settle_due_term(
        &self,
        due: &DueTerm,
        next: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        let Some(data) = state.tenants.get_mut(&due.tenant) else {
            return Ok(());
        };
        let key = fold_key(&due.sku);
        // A pool set again since was re-evaluated then, and keeps the bound it was given.
        if data
            .terms_due
            .get(&key)
            .is_some_and(|(at, _)| *at == due.due)
        {
            match next {
                Some(next) => data.terms_due.insert(key, (next, None)),
                None => data.terms_due.remove(&key),
            };
        }
        Ok(())
    }

    async fn pools(&self, tenant: &TenantId) -> Result<Vec<Pool>, StoreError> {
        Ok(self
            .read(tenant, TenantData::pools_with_waiting)
            .unwrap_or_default())
    }

    async fn add_rule(&self, ctx: &WriteContext, rule: &MappingRule) -> Result<bool, StoreError> {
        self.write(&ctx.tenant, |data| {
            if pool_mut(&mut data.pools, &rule.sku).is_none() {
                return Err(StoreError::NotFound);
            }
            if data.rules.iter().any(|known| known.key() == rule.key()) {
                return Ok(false);
            }
            data.rules.push(rule.clone());
            Ok(true)
        })
    }

    async fn remove_rule(&self, ctx: &WriteContext, rule: &MappingRule) -> Result<(), StoreError> {
        self.write(&ctx.tenant, |data| {
            let before = data.rules.len();
            data.rules.retain(|known| known.key() != rule.key());
            if data.rules.len() == before {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
    }

    async fn rules(&self, tenant: &TenantId) -> Result<Vec<MappingRule>, StoreError> {
        let mut rules = self
            .read(tenant, |data| data.rules.clone())
            .unwrap_or_default();
        rules.sort_by_key(|rule| {
            let (_, value, sku) = rule.key();
            (rule.source.as_str(), value, sku)
        });
        Ok(rules)
    }

    async fn reconcile_users(
        &self,
        ctx: &WriteContext,
        after: i64,
        limit: usize,
    ) -> Result<(Reevaluation, Option<i64>), StoreError> {
        // Positions are the users' keys, which follow creation order and are never reused.
        self.write(&ctx.tenant, |data| {
            let page: Vec<(i64, String)> = (data.keyed_users())
                .filter(|(key, _)| *key > after)
                .take(limit)
                .collect();
            let Some(&(last, _)) = page.last() else {
                return Ok((Reevaluation::default(), None));
            };
            let users: Vec<String> = page.into_iter().map(|(_, id)| id).collect();
            let report = data.reconcile(ctx, &users, SeatPolicy::WhileSeatsLast)?;
            Ok((report, Some(last)))
        })
    }

    async fn licensed_users(
        &self,
        tenant: &TenantId,
        after: i64,
        limit: usize,
    ) -> Result<(Vec<LicensedUser<i64>>, Option<i64>), StoreError> {
        Ok(self
            .read(tenant, |data| {
                let users: Vec<LicensedUser<i64>> = (data.keyed_users())
                    .filter(|(key, _)| *key > after)
                    .take(limit)
                    .map(|(key, id)| LicensedUser {
                        key,
                        facts: data.facts(&id),
                        held: data.licenses.get(&id).cloned().unwrap_or_default(),
                        id,
                    })
                    .collect();
                let next = users.last().map(|user| user.key);
                (users, next)
            })
            .unwrap_or_default())
    }

    async fn unmapped_values(
        &self,
        tenant: &TenantId,
        rules: &LicenseRules,
    ) -> Result<Vec<UnmappedValue>, StoreError> {
        Ok(self
            .read(tenant, |data| {
                let mut tally = UnmappedTally::default();
                for user in data.users() {
                    if let Some(facts) = data.facts(&user) {
                        tally.add(&rules.grants_for(&facts));
                    }
                }
                tally.finish()
            })
            .unwrap_or_default())
    }

    async fn prune_audit(&self, before: DateTime<Utc>, limit: u64) -> Result<u64, StoreError> {
        let mut state = self.lock();
        let mut left = usize::try_from(limit).unwrap_or(usize::MAX);
        // Each tenant's log is in time order: its oldest entries are its first.
        for data in state.tenants.values_mut() {
            let old = data
                .audit
                .iter()
                .take_while(|entry| entry.at < before)
                .count();
            let gone = old.min(left);
            data.audit.drain(..gone);
            data.audit_pruned += gone as i64;
            left -= gone;
        }
        Ok(limit - left as u64)
    }

    async fn audit(
        &self,
        tenant: &TenantId,
        query: &AuditQuery,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let limit = query
            .limit
            .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        Ok(self
            .read(tenant, |data| {
                // An entry's seq is its place in the tenant's log (entries are only appended;
                // those pruned keep their places).
                let recorded =
                    data.audit
                        .iter()
                        .zip(data.audit_pruned + 1..)
                        .map(|(entry, seq)| AuditEntry {
                            seq: Some(seq),
                            ..entry.clone()
                        });
                let selected = recorded
                    .filter(|entry| query.user.as_ref().is_none_or(|user| entry.user == *user))
                    .filter(|entry| query.since.is_none_or(|since| entry.at >= since))
                    .filter(|entry| query.after.is_none_or(|after| entry.seq > Some(after)));
                let selected: Vec<AuditEntry> = selected.collect();
                if query.newest_first {
                    selected.into_iter().rev().take(limit).collect()
                } else {
                    selected.into_iter().take(limit).collect()
                }
            })
            .unwrap_or_default())
    }
}

/// The pool for `sku`, compared case-insensitively.
fn pool_mut<'p>(pools: &'p mut [Pool], sku: &str) -> Option<&'p mut Pool> {
    let key = fold_key(sku);
    pools.iter_mut().find(|pool| fold_key(&pool.sku) == key)
}

impl TenantData {
    /// The tenant's users with their keys, in creation order.
    fn keyed_users(&self) -> impl Iterator<Item = (i64, String)> + '_ {
        (self.resources.iter().zip(&self.keys))
            .filter(|(resource, _)| resource.kind == ResourceKind::User)
            .map(|(resource, key)| (*key, resource.id.clone()))
    }

    /// The ids of the tenant's users, in creation order.
    fn users(&self) -> Vec<String> {
        self.keyed_users().map(|(_, id)| id).collect()
    }
}
