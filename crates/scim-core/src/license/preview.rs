//! What a change of the mapping rules would do, before it is made: the [engine]
//! (super::LicensePlan) run over the tenant's users on a copy of its pools, under the
//! rules as they would be, in the batches and order the re-evaluation after the change
//! takes, and nothing written. The portal shows it before an admin saves a mapping.
//!
//! ```
//! use scim_core::license::{Licensing, MappingRule, MappingSource, RuleChange};
//!
//! // Two seats of `pro`; three users in Sales.
//! let mut tenant = Licensing::new()
//!     .pool("pro", 2)
//!     .user("A", "group:Sales")
//!     .user("B", "group:Sales")
//!     .user("C", "group:Sales");
//! let change = RuleChange::Add(MappingRule::new(MappingSource::Group, "Sales", "pro"));
//! let preview = tenant.preview(&change);
//! let pro = &preview.pools[0];
//! assert_eq!((pro.gaining, pro.losing, pro.waiting, pro.used_after), (2, 0, 1, 2));
//! assert!(!pro.takes_everyone());
//! ```

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::engine::{LicensePlan, LicensedUser, PoolSeats};
use super::mapping::MappingRule;
use super::planner::LicenseRules;
use super::pool::Pool;
use super::seating::SeatPolicy;
use crate::context::WriteContext;
use crate::error::StoreError;
use crate::fold::fold_key;
use crate::tenant::TenantId;

/// A change of a tenant's mapping rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleChange {
    /// The rule is added (nothing changes when the tenant has it).
    Add(MappingRule),
    /// The rule is removed.
    Remove(MappingRule),
}

impl RuleChange {
    /// The rule added or removed.
    pub fn rule(&self) -> &MappingRule {
        match self {
            Self::Add(rule) | Self::Remove(rule) => rule,
        }
    }

    /// The rules as they are after the change.
    pub fn applied_to(&self, rules: &[MappingRule]) -> Vec<MappingRule> {
        let key = self.rule().key();
        let mut after: Vec<MappingRule> = rules
            .iter()
            .filter(|rule| rule.key() != key)
            .cloned()
            .collect();
        if let Self::Add(rule) = self {
            after.push(rule.clone());
        }
        after
    }
}

/// What a rule change does to one pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolEffect {
    /// As the pool spells it.
    pub sku: String,
    /// The pool's name.
    pub display_name: String,
    /// Its seats.
    pub seats: i64,
    /// Seats used now.
    pub used: i64,
    /// Seats used after the change.
    pub used_after: i64,
    /// Users who would get a seat.
    pub gaining: u64,
    /// Users who would lose theirs.
    pub losing: u64,
    /// Users the rules would grant a seat that is not there: they would wait.
    pub waiting: u64,
}

impl PoolEffect {
    /// Whether the pool has a seat for everyone the rules grant it.
    pub fn takes_everyone(&self) -> bool {
        self.waiting == 0
    }

    /// Whether the change moves any seat of this pool.
    pub fn changes(&self) -> bool {
        self.gaining > 0 || self.losing > 0 || self.waiting > 0
    }
}

/// What a rule change would do to a tenant, pool by pool.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RulePreview {
    /// Users looked at.
    pub users: u64,
    /// Every pool of the tenant, by sku, with what the change does to it.
    pub pools: Vec<PoolEffect>,
}

impl RulePreview {
    /// Whether the change moves no seat at all.
    pub fn changes_nothing(&self) -> bool {
        !self.pools.iter().any(PoolEffect::changes)
    }

    /// As the Management API shows it: `users`, and per pool `sku`, `displayName`,
    /// `seats`, `used`, `usedAfter`, `gaining`, `losing`, `waiting`.
    pub fn to_json(&self) -> Value {
        let pools: Vec<Value> = self
            .pools
            .iter()
            .map(|pool| {
                json!({
                    "sku": pool.sku,
                    "displayName": pool.display_name,
                    "seats": pool.seats,
                    "used": pool.used,
                    "usedAfter": pool.used_after,
                    "gaining": pool.gaining,
                    "losing": pool.losing,
                    "waiting": pool.waiting,
                })
            })
            .collect();
        json!({ "users": self.users, "pools": pools })
    }
}

/// A preview being computed: fed the tenant's users batch by batch, as the store reads
/// them, in creation order.
#[derive(Debug)]
pub struct PreviewRun {
    rules: LicenseRules,
    effects: BTreeMap<String, PoolEffect>,
    users: u64,
    /// When the re-evaluation would run: which pools are in their term.
    at: chrono::DateTime<chrono::Utc>,
}

impl PreviewRun {
    /// For a tenant whose pools are `pools` (with their use now), once `change` is made to
    /// its `rules`, re-evaluated `at`.
    pub fn new(
        pools: Vec<Pool>,
        rules: &[MappingRule],
        change: &RuleChange,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        let effects = pools
            .iter()
            .map(|pool| {
                let effect = PoolEffect {
                    sku: pool.sku.clone(),
                    display_name: pool.display_name.clone(),
                    seats: pool.seats,
                    used: pool.used,
                    used_after: pool.used,
                    gaining: 0,
                    losing: 0,
                    waiting: 0,
                };
                (fold_key(&pool.sku), effect)
            })
            .collect();
        let rules = LicenseRules {
            pools,
            rules: change.applied_to(rules),
        };
        Self {
            rules,
            effects,
            users: 0,
            at,
        }
    }

    /// The next batch of users, decided as one transaction of the re-evaluation would,
    /// against the seats the batches before left.
    pub fn batch<K: Clone + PartialEq>(
        &mut self,
        users: Vec<LicensedUser<K>>,
    ) -> Result<(), StoreError> {
        self.users += users.len() as u64;
        let plan = LicensePlan::new(&self.rules, users, SeatPolicy::WhileSeatsLast, self.at);
        let outcome = plan.decide(
            &mut PoolSeats::new(&mut self.rules.pools),
            &context(self.at),
        )?;
        let effects = &mut self.effects;
        let mut count = |sku: &str, field: fn(&mut PoolEffect) -> &mut u64| {
            if let Some(effect) = effects.get_mut(&fold_key(sku)) {
                *field(effect) += 1;
            }
        };
        for change in &outcome.assigned {
            count(&change.sku, |effect| &mut effect.gaining);
        }
        for change in outcome.revoked.iter().chain(&outcome.suspended) {
            count(&change.sku, |effect| &mut effect.losing);
        }
        for (_, sku) in &outcome.waiting {
            count(sku, |effect| &mut effect.waiting);
        }
        for change in &outcome.queued {
            count(&change.sku, |effect| &mut effect.waiting);
        }
        Ok(())
    }

    /// The preview, once every user was fed.
    pub fn finish(mut self) -> RulePreview {
        for pool in &self.rules.pools {
            if let Some(effect) = self.effects.get_mut(&fold_key(&pool.sku)) {
                effect.used_after = pool.used;
            }
        }
        RulePreview {
            users: self.users,
            pools: self.effects.into_values().collect(),
        }
    }
}

/// The context the engine records its (discarded) audit entries under.
fn context(at: chrono::DateTime<chrono::Utc>) -> WriteContext {
    WriteContext {
        tenant: TenantId("preview".into()),
        actor: "preview".into(),
        cause: "preview".into(),
        at,
        events: Vec::new(),
    }
}
