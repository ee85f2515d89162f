//! License pools: the seats a tenant bought per sku, and their use.

use chrono::{DateTime, Utc};

use crate::error::{ScimError, ScimResult};

/// A tenant's pool of seats for one sku.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    /// The sku as the admin wrote it (compared case-insensitively).
    pub sku: String,
    /// Human-readable name; the sku when none was given.
    pub display_name: String,
    /// Seats bought.
    pub seats: i64,
    /// Seats assigned. May exceed `seats` after the admin lowered them below the use: the
    /// holders keep their seats, and no new seat is assigned until the use drops below;
    /// under [`PoolPolicy::Overage`] it may exceed them by the allowance.
    pub used: i64,
    /// Licenses waiting for a seat ([`PoolPolicy::Pending`]), not counted in `used`.
    pub pending: i64,
    /// What the pool does once its seats are all used.
    pub policy: PoolPolicy,
    /// When the pool grants seats (`license set --starts/--ends`); always, by default.
    pub term: Term,
}

/// When a pool grants seats: from `starts` (included) to `ends` (excluded). Outside it the
/// pool grants nothing: its licenses are revoked, or wait under [`PoolPolicy::Pending`],
/// and a renewal gives them back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Term {
    /// The first instant the pool grants seats; `None`: since ever.
    pub starts: Option<DateTime<Utc>>,
    /// The first instant it no longer does; `None`: never.
    pub ends: Option<DateTime<Utc>>,
}

/// A pool whose term started or ended, claimed by one process to re-evaluate its tenant
/// ([`crate::ports::LicenseLedger::claim_due_term`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueTerm {
    /// The pool's tenant.
    pub tenant: crate::tenant::TenantId,
    /// The pool's sku, as it spells it.
    pub sku: String,
    /// The bound reached.
    pub due: DateTime<Utc>,
}

/// As an admin reads it: `from …`, `until …`, `… – …`, or `—` (always), in UTC minutes.
impl std::fmt::Display for Term {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let day = |at: &DateTime<Utc>| at.format("%Y-%m-%d %H:%M UTC");
        match (&self.starts, &self.ends) {
            (None, None) => f.write_str("—"),
            (Some(starts), None) => write!(f, "from {}", day(starts)),
            (None, Some(ends)) => write!(f, "until {}", day(ends)),
            (Some(starts), Some(ends)) => write!(f, "{} – {}", day(starts), day(ends)),
        }
    }
}

impl Term {
    /// A term, checked: it must end after it starts.
    pub fn new(starts: Option<DateTime<Utc>>, ends: Option<DateTime<Utc>>) -> ScimResult<Self> {
        if let (Some(starts), Some(ends)) = (starts, ends)
            && ends <= starts
        {
            return Err(ScimError::InvalidValue(format!(
                "a pool's term must end after it starts: {} is not after {}",
                crate::resource::format_time(&ends),
                crate::resource::format_time(&starts)
            )));
        }
        Ok(Self { starts, ends })
    }

    /// Whether the pool grants seats at `at`.
    pub fn holds(&self, at: DateTime<Utc>) -> bool {
        self.starts.is_none_or(|starts| starts <= at) && self.ends.is_none_or(|ends| at < ends)
    }

    /// The first start or end after `at`: when the tenant's licenses must be looked at again.
    pub fn next_boundary(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        [self.starts, self.ends]
            .into_iter()
            .flatten()
            .filter(|boundary| *boundary > at)
            .min()
    }
}

/// What a pool does once its seats are all used (`license set --policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PoolPolicy {
    /// A write that needs a seat the pool does not have is refused (the default).
    #[default]
    Strict,
    /// Up to `allowance` seats beyond `seats` are granted, and reported as overage for a
    /// true-up; past them, as `Strict`.
    Overage {
        /// Seats that may be granted beyond those bought (1 or more).
        allowance: i64,
    },
    /// A write that needs a seat the pool does not have is made, and the license waits,
    /// first come first served, for the next seat freed (a revocation, a deletion, a
    /// deactivation, more seats), which goes to it in the transaction that frees it.
    Pending,
}

impl PoolPolicy {
    /// The name stored and shown: `strict`, `overage`, `pending`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "strict",
            Self::Overage { .. } => "overage",
            Self::Pending => "pending",
        }
    }

    /// Seats that may be granted beyond those bought (0 unless `Overage`).
    pub fn allowance(self) -> i64 {
        match self {
            Self::Strict | Self::Pending => 0,
            Self::Overage { allowance } => allowance,
        }
    }

    /// Whether licenses the pool has no seat for wait for one (`Pending`).
    pub fn waits(self) -> bool {
        self == Self::Pending
    }

    /// The policy an admin names, with its `--overage` allowance: `overage` needs an
    /// allowance of 1 or more, `strict` none.
    pub fn parse(name: &str, allowance: Option<i64>) -> ScimResult<Self> {
        match (name, allowance) {
            ("strict", None | Some(0)) => Ok(Self::Strict),
            ("pending", None | Some(0)) => Ok(Self::Pending),
            ("strict" | "pending", Some(_)) => Err(ScimError::InvalidValue(
                "an overage allowance needs the policy 'overage'".into(),
            )),
            ("overage", Some(allowance)) if (1..=MAX_OVERAGE).contains(&allowance) => {
                Ok(Self::Overage { allowance })
            }
            ("overage", _) => Err(ScimError::InvalidValue(format!(
                "the policy 'overage' needs an overage allowance of 1 to {MAX_OVERAGE} seats"
            ))),
            (other, _) => Err(ScimError::InvalidValue(format!(
                "'{other}' is not a seat policy: use strict, pending or overage"
            ))),
        }
    }

    /// The policy a change names, if any: `--policy`/`"policy"` and `--overage`/`"overage"`
    /// as given (an allowance alone means `overage`); `None` keeps the pool's.
    pub fn named(name: Option<&str>, allowance: Option<i64>) -> ScimResult<Option<Self>> {
        match (name, allowance) {
            (None, None) => Ok(None),
            (name, allowance) => Self::parse(name.unwrap_or("overage"), allowance).map(Some),
        }
    }

    /// The policy stored as `name` with `allowance`; `None` for what no version wrote.
    pub fn stored(name: &str, allowance: i64) -> Option<Self> {
        match name {
            "strict" => Some(Self::Strict),
            "overage" => Some(Self::Overage { allowance }),
            "pending" => Some(Self::Pending),
            _ => None,
        }
    }
}

/// The largest overage allowance.
pub const MAX_OVERAGE: i64 = 1_000_000_000;

impl Pool {
    /// A pool of `seats` for `sku`, named by its sku, none used.
    pub fn new(sku: impl Into<String>, seats: i64) -> Self {
        let sku = sku.into();
        Self {
            display_name: sku.clone(),
            sku,
            seats,
            used: 0,
            pending: 0,
            policy: PoolPolicy::Strict,
            term: Term::default(),
        }
    }

    /// The pool under another policy.
    pub fn with_policy(self, policy: PoolPolicy) -> Self {
        Self { policy, ..self }
    }

    /// The pool with a term.
    pub fn with_term(self, term: Term) -> Self {
        Self { term, ..self }
    }

    /// The most seats the pool may grant: those bought and the overage allowance.
    pub fn capacity(&self) -> i64 {
        self.seats.saturating_add(self.policy.allowance())
    }

    /// Seats granted beyond those bought (the overage to true up; for a strict pool, what
    /// its holders kept after its seats were lowered below their use).
    pub fn overage_used(&self) -> i64 {
        (self.used - self.seats).max(0)
    }

    /// The pool with another display name.
    pub fn named(self, display_name: impl Into<String>) -> Self {
        Self {
            display_name: display_name.into(),
            ..self
        }
    }

    /// Seats still free (never negative).
    pub fn available(&self) -> i64 {
        (self.seats - self.used).max(0)
    }

    /// Whether more seats are assigned than the pool may grant (after its seats or its
    /// overage allowance were lowered).
    pub fn is_over_assigned(&self) -> bool {
        self.used > self.capacity()
    }
}

/// Checks a pool's seats: 0 or more.
pub fn validate_seats(seats: i64) -> ScimResult<()> {
    if seats < 0 {
        return Err(ScimError::InvalidValue(format!(
            "seats must be 0 or more, not {seats}"
        )));
    }
    Ok(())
}

/// Checks a sku an admin names: 1 to 64 characters, letters, digits, `-`, `_`, `.` and `:`,
/// so that it is usable as the id of a `/Licenses` resource in a URL.
pub fn validate_sku(sku: &str) -> ScimResult<()> {
    let valid = !sku.is_empty()
        && sku.len() <= 64
        && sku
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if valid {
        Ok(())
    } else {
        Err(ScimError::InvalidValue(format!(
            "'{sku}' is not a valid sku: use 1 to 64 letters, digits, '-', '_', '.' or ':'"
        )))
    }
}
