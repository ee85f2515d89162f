//! License pools: the seats a tenant bought per sku, and their use.

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
    /// holders keep their seats, and no new seat is assigned until the use drops below.
    pub used: i64,
}

impl Pool {
    /// A pool of `seats` for `sku`, named by its sku, none used.
    pub fn new(sku: impl Into<String>, seats: i64) -> Self {
        let sku = sku.into();
        Self {
            display_name: sku.clone(),
            sku,
            seats,
            used: 0,
        }
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

    /// Whether more seats are assigned than bought (after seats were lowered).
    pub fn is_over_assigned(&self) -> bool {
        self.used > self.seats
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
