//! Mapping rules: which entitlement, role or group grants which sku.

use std::fmt;

use crate::fold::fold_key;

/// Where a mapping rule looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum MappingSource {
    /// A `value` of the user's `entitlements`.
    Entitlement,
    /// A `value` of the user's `roles`.
    Role,
    /// The displayName of a group the user is in, directly or through nested groups.
    Group,
}

impl MappingSource {
    /// The name stored and shown (`entitlement`, `role`, `group`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Entitlement => "entitlement",
            Self::Role => "role",
            Self::Group => "group",
        }
    }

    /// The source named by [`Self::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "entitlement" => Some(Self::Entitlement),
            "role" => Some(Self::Role),
            "group" => Some(Self::Group),
            _ => None,
        }
    }
}

impl fmt::Display for MappingSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `value` found in `source` grants `sku`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingRule {
    /// Where the rule looks.
    pub source: MappingSource,
    /// The entitlement or role value, or the group's displayName, as the admin wrote it.
    pub value: String,
    /// The sku granted.
    pub sku: String,
}

impl MappingRule {
    /// A rule mapping `value` of `source` to the pool `sku`.
    pub fn new(source: MappingSource, value: impl Into<String>, sku: impl Into<String>) -> Self {
        Self {
            source,
            value: value.into(),
            sku: sku.into(),
        }
    }

    /// Whether the rule reads `value` from `source` (case-insensitively).
    pub fn matches(&self, source: MappingSource, value: &str) -> bool {
        self.source == source && fold_key(&self.value) == fold_key(value)
    }

    /// The key two rules are the same rule by: source, folded value and folded sku. One
    /// value may grant several skus (a bundle), one rule each.
    pub fn key(&self) -> (MappingSource, String, String) {
        (self.source, fold_key(&self.value), fold_key(&self.sku))
    }
}
