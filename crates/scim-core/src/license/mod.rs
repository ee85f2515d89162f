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
//!     pools: vec![Pool::new("pro", 5).named("Pro")],
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
//! Every decision about seats is made here too, by the [engine](LicensePlan): given the
//! users a write affects ([`license_scope`]), as the store read them under its locks, and
//! the seats of their pools through a [`SeatLedger`], it decides under the write's
//! [`SeatPolicy`] who gets a seat, who waits and who is refused, and returns the rows,
//! audit entries and events to write ([`LicenseOutcome`]). The same engine, run on a copy
//! of the pools, says what a rule change would do before it is made ([`PreviewRun`]). A store keeps the transaction,
//! the locks and the counts, and writes the outcome as it stands. [`Licensing`] runs the
//! engine over a tenant described in a few lines, for tests of license rules.

#![warn(missing_docs)]

mod audit;
mod engine;
mod mapping;
mod planner;
mod pool;
mod preview;
mod scenario;
mod scope;
mod seating;
mod true_up;

#[cfg(test)]
mod tests;

pub use audit::{AuditAction, AuditEntry, AuditQuery};
pub use engine::{LicenseChange, LicenseOutcome, LicensePlan, LicensedUser, PoolSeats, SeatLedger};
pub use mapping::{MappingRule, MappingSource};
pub use planner::{
    Grants, HeldLicense, LicenseChanges, LicenseRules, LicenseSource, LicenseStatus, Reevaluation,
    UnmappedTally, UnmappedValue, UserFacts, plan_license_changes,
};
pub use pool::{DueTerm, MAX_OVERAGE, Pool, PoolPolicy, Term, validate_seats, validate_sku};
pub use preview::{PoolEffect, PreviewRun, RuleChange, RulePreview};
pub use scenario::Licensing;
pub use scope::{LicenseScope, LicensedWrite, license_scope};
pub use seating::{PoolDemand, SeatPolicy, Seats, Shortage, took_last_seat};
pub use true_up::TrueUp;
