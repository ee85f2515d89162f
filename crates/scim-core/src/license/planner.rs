//! From a user's facts to the skus it should hold, and from those to the changes to commit.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::mapping::{MappingRule, MappingSource};
use super::pool::Pool;
use crate::fold::fold_key;

/// Why a user holds a sku.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum LicenseSource {
    /// The user's own `entitlements` or `roles` grant it.
    Direct,
    /// Only a group the user is in grants it.
    Group,
}

impl LicenseSource {
    /// The name stored and shown (`direct`, `group`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Group => "group",
        }
    }

    /// The source named by [`Self::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "direct" => Some(Self::Direct),
            "group" => Some(Self::Group),
            _ => None,
        }
    }
}

impl fmt::Display for LicenseSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the rules read about a user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFacts {
    /// `active`; a user without it is active (RFC 7643 leaves the default to the provider).
    pub active: bool,
    /// The `value`s of `entitlements`.
    pub entitlements: Vec<String>,
    /// The `value`s of `roles`.
    pub roles: Vec<String>,
    /// The displayNames of the groups the user is in, directly or through nested groups.
    pub groups: Vec<String>,
}

impl UserFacts {
    /// The facts of a user's attributes (as stored: canonical names), in `groups`.
    pub fn from_attributes(attributes: &Map<String, Value>, groups: Vec<String>) -> Self {
        let values = |name: &str| -> Vec<String> {
            attributes
                .get(name)
                .and_then(Value::as_array)
                .map(|elements| {
                    elements
                        .iter()
                        .filter_map(|element| element.get("value").and_then(Value::as_str))
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        Self {
            active: attributes
                .get("active")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            entitlements: values("entitlements"),
            roles: values("roles"),
            groups,
        }
    }
}

/// A license a user holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldLicense {
    /// The pool's sku, as the pool spells it.
    pub sku: String,
    /// Why it is held.
    pub source: LicenseSource,
    /// When it was assigned; for a license still waiting, since when it waits.
    pub assigned: DateTime<Utc>,
    /// Whether it holds a seat or waits for one ([`super::PoolPolicy::Pending`]).
    pub status: LicenseStatus,
}

impl HeldLicense {
    /// A license holding a seat, as most are.
    pub fn active(sku: impl Into<String>, source: LicenseSource, assigned: DateTime<Utc>) -> Self {
        Self {
            sku: sku.into(),
            source,
            assigned,
            status: LicenseStatus::Active,
        }
    }

    /// The element of the license extension's `licenses` showing it.
    pub fn to_value(&self) -> Value {
        serde_json::json!({
            "sku": self.sku,
            "source": self.source.as_str(),
            "assigned": crate::resource::format_time(&self.assigned),
            "status": self.status.as_str(),
        })
    }
}

/// Whether a license holds a seat or waits for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum LicenseStatus {
    /// It holds a seat (every license of a pool that does not wait).
    #[default]
    Active,
    /// It waits, first come first served, for a seat of a full
    /// [`super::PoolPolicy::Pending`] pool.
    Pending,
}

impl LicenseStatus {
    /// The name stored and shown: `active`, `pending`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Pending => "pending",
        }
    }

    /// The status named by [`Self::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "active" => Some(Self::Active),
            "pending" => Some(Self::Pending),
            _ => None,
        }
    }
}

/// The skus a user should hold (as the pools spell them, by folded sku) and the values that
/// map to nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// Folded sku → (sku as the pool spells it, source).
    pub skus: BTreeMap<String, (String, LicenseSource)>,
    /// Entitlement and role values that grant no sku, as `(source, value)`.
    pub unmapped: Vec<(MappingSource, String)>,
}

/// An entitlement or role value that grants no sku, and how many users carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmappedValue {
    /// As first seen.
    pub value: String,
    /// Users carrying it (each counted once).
    pub users: u64,
}

/// Counts the unmapped values of many users' grants: values compare case-insensitively
/// (whether entitlement or role) and keep the first spelling seen; a user counts once per
/// value. Sorted by folded value.
#[derive(Debug, Default)]
pub struct UnmappedTally {
    counts: BTreeMap<String, UnmappedValue>,
}

impl UnmappedTally {
    /// Counts a user's unmapped values.
    pub fn add(&mut self, grants: &Grants) {
        let mut seen = std::collections::BTreeSet::new();
        for (_, value) in &grants.unmapped {
            let key = fold_key(value);
            if !seen.insert(key.clone()) {
                continue;
            }
            self.counts
                .entry(key)
                .or_insert_with(|| UnmappedValue {
                    value: value.clone(),
                    users: 0,
                })
                .users += 1;
        }
    }

    /// The values counted, by folded value.
    pub fn finish(self) -> Vec<UnmappedValue> {
        self.counts.into_values().collect()
    }
}

/// A tenant's pools and mapping rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LicenseRules {
    /// The tenant's pools (their `used` is not read by the rules).
    pub pools: Vec<Pool>,
    /// The tenant's mapping rules.
    pub rules: Vec<MappingRule>,
}

impl LicenseRules {
    /// The skus `facts` grant. A rule or value naming a sku without a pool grants nothing
    /// (there is no seat to hold); an inactive user is granted nothing, but its unmapped
    /// values are still reported.
    pub fn grants_for(&self, facts: &UserFacts) -> Grants {
        let pools: BTreeMap<String, &Pool> = self
            .pools
            .iter()
            .map(|pool| (fold_key(&pool.sku), pool))
            .collect();
        let mut grants = Grants::default();
        let grant = |sku: &str, source: LicenseSource, grants: &mut Grants| -> bool {
            let key = fold_key(sku);
            let Some(pool) = pools.get(&key) else {
                return false;
            };
            let entry = grants
                .skus
                .entry(key)
                .or_insert_with(|| (pool.sku.clone(), source));
            entry.1 = entry.1.min(source);
            true
        };
        let direct = [
            (MappingSource::Entitlement, &facts.entitlements),
            (MappingSource::Role, &facts.roles),
        ];
        for (source, values) in direct {
            for value in values {
                let by_name = grant(value, LicenseSource::Direct, &mut grants);
                let mut by_rule = false;
                for rule in self.rules.iter().filter(|rule| rule.matches(source, value)) {
                    by_rule |= grant(&rule.sku, LicenseSource::Direct, &mut grants);
                }
                if !by_name && !by_rule {
                    grants.unmapped.push((source, value.clone()));
                }
            }
        }
        for group in &facts.groups {
            for rule in self
                .rules
                .iter()
                .filter(|rule| rule.matches(MappingSource::Group, group))
            {
                grant(&rule.sku, LicenseSource::Group, &mut grants);
            }
        }
        if !facts.active {
            grants.skus.clear();
        }
        grants
    }
}

/// What re-evaluating users after an admin's change did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reevaluation {
    /// Users re-evaluated.
    pub users: u64,
    /// Assignments made.
    pub assigned: u64,
    /// Revocations made.
    pub revoked: u64,
    /// `(user id, sku)` of the assignments left out for want of a seat.
    pub waiting: Vec<(String, String)>,
}

impl Reevaluation {
    /// The report as the CLI's `--json` and the Management API show it: `users`,
    /// `assigned`, `revoked`, and `waiting` as `{"userId", "sku"}`.
    pub fn to_json(&self) -> Value {
        let waiting: Vec<Value> = self
            .waiting
            .iter()
            .map(|(user, sku)| serde_json::json!({"userId": user, "sku": sku}))
            .collect();
        serde_json::json!({
            "users": self.users,
            "assigned": self.assigned,
            "revoked": self.revoked,
            "waiting": waiting,
        })
    }

    /// Adds a later batch's report to this one.
    pub fn absorb(&mut self, batch: Reevaluation) {
        self.users += batch.users;
        self.assigned += batch.assigned;
        self.revoked += batch.revoked;
        self.waiting.extend(batch.waiting);
    }
}

/// What to commit to bring a user's licenses to its grants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LicenseChanges {
    /// Skus to assign (each needs a free seat), with their source.
    pub assign: Vec<(String, LicenseSource)>,
    /// Skus to revoke (each frees a seat), with the source they were held from.
    pub revoke: Vec<(String, LicenseSource)>,
    /// Skus held still, with their new source (no seat moves).
    pub source_changed: Vec<(String, LicenseSource)>,
    /// Skus waiting for a seat that are no longer granted (no seat moves), with the source
    /// they were asked from.
    pub withdraw: Vec<(String, LicenseSource)>,
    /// Skus held whose pool's term is over and that wait again for a seat (each frees a
    /// seat), with the source they are asked from: only in a pool that waits.
    pub suspend: Vec<(String, LicenseSource)>,
}

impl LicenseChanges {
    /// Whether nothing is to change.
    pub fn is_empty(&self) -> bool {
        self.assign.is_empty()
            && self.revoke.is_empty()
            && self.source_changed.is_empty()
            && self.withdraw.is_empty()
            && self.suspend.is_empty()
    }
}

/// Compares what a user holds with what it is granted. Every list is in sku order, so that
/// concurrent writers take the pools' locks in one order.
pub fn plan_license_changes(held: &[HeldLicense], grants: &Grants) -> LicenseChanges {
    let held: BTreeMap<String, &HeldLicense> = held
        .iter()
        .map(|license| (fold_key(&license.sku), license))
        .collect();
    let mut changes = LicenseChanges::default();
    for (key, (sku, source)) in &grants.skus {
        match held.get(key) {
            None => changes.assign.push((sku.clone(), *source)),
            Some(license) if license.source != *source => {
                changes.source_changed.push((license.sku.clone(), *source));
            }
            Some(_) => {}
        }
    }
    for (key, license) in &held {
        if !grants.skus.contains_key(key) {
            let to = match license.status {
                LicenseStatus::Active => &mut changes.revoke,
                LicenseStatus::Pending => &mut changes.withdraw,
            };
            to.push((license.sku.clone(), license.source));
        }
    }
    changes
}
