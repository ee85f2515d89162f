//! License rules, pure: which skus a user should hold and what to change to get there.
//!
//! A tenant has license [pools](Pool) (`sku`, name, seats) and [mapping rules](MappingRule)
//! reading the three places IdPs carry license intent: `entitlements` values (Okta and most
//! SCIM clients), `roles` values (Entra ID's app roles) and group membership (group-based
//! licensing, by the group's displayName, direct or through nested groups). A value equal to
//! a pool's sku maps to it without a rule; every comparison is case-insensitive (the core's
//! [`fold_key`](crate::fold::fold_key)).
//!
//! [`LicenseRules::grants_for`] turns a user's [`UserFacts`] into the skus it should hold,
//! each with its [`LicenseSource`] (`direct` wins over `group`), plus the values that map to
//! nothing (kept on the user and reported, never rejected). An inactive user should hold
//! nothing. [`plan_license_changes`] compares that with what the user holds and yields the
//! assignments and revocations to commit.
//!
//! ```
//! use scim_core::license::{
//!     LicenseRules, LicenseSource, MappingRule, MappingSource, Pool, UserFacts,
//!     plan_license_changes,
//! };
//!
//! let rules = LicenseRules {
//!     pools: vec![Pool { sku: "pro".into(), display_name: "Pro".into(), seats: 5, used: 0 }],
//!     rules: vec![MappingRule {
//!         source: MappingSource::Group,
//!         value: "Engineering".into(),
//!         sku: "pro".into(),
//!     }],
//! };
//! let user = UserFacts {
//!     active: true,
//!     entitlements: vec![],
//!     roles: vec![],
//!     groups: vec!["engineering".into()],
//! };
//! let changes = plan_license_changes(&[], &rules.grants_for(&user));
//! assert_eq!(changes.assign, [("pro".to_owned(), LicenseSource::Group)]);
//! ```
//! (the example of `docs/licensing.md`).
//!
//! Seats are not checked here: whether a pool still has a seat is only known inside the
//! store's transaction, which applies a plan's assignments with a conditional increment of
//! the pool's use and fails the whole write when one is missing.

mod audit;
mod mapping;
mod planner;
mod pool;

#[cfg(test)]
mod tests;

pub use audit::{AuditAction, AuditEntry, AuditQuery};
pub use mapping::{MappingRule, MappingSource};
pub use planner::{
    Grants, HeldLicense, LicenseChanges, LicenseRules, LicenseSource, Reevaluation, UnmappedTally,
    UnmappedValue, UserFacts, plan_license_changes,
};
pub use pool::{Pool, validate_sku};
