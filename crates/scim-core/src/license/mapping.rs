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

    /// The rule's id, as the Management API names it: 16 hex digits of the SHA-256 of its
    /// [`key`](Self::key), so the same rule has the same id on every replica and after
    /// every restart, and a rule removed and added again gets its id back.
    pub fn id(&self) -> String {
        use sha2::{Digest, Sha256};
        let (source, value, sku) = self.key();
        let digest = Sha256::digest(format!("{}\0{value}\0{sku}", source.as_str()));
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_id_is_the_same_for_the_same_rule_only() {
        let rule = MappingRule::new(MappingSource::Group, "Sales", "pro");
        let id = rule.id();
        assert_eq!(id.len(), 16);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(
            MappingRule::new(MappingSource::Group, "SALES", "Pro").id(),
            id
        );
        assert_ne!(
            MappingRule::new(MappingSource::Role, "Sales", "pro").id(),
            id
        );
        assert_ne!(
            MappingRule::new(MappingSource::Group, "Sales", "pro2").id(),
            id
        );
        assert_ne!(
            MappingRule::new(MappingSource::Group, "Sale", "spro").id(),
            id
        );
    }
}
