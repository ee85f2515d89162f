//! The audit log of license assignments and revocations.

use chrono::{DateTime, Utc};

use super::planner::LicenseSource;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditAction {
    Assigned,
    Revoked,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assigned => "assigned",
            Self::Revoked => "revoked",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "assigned" => Some(Self::Assigned),
            "revoked" => Some(Self::Revoked),
            _ => None,
        }
    }
}

/// One assignment or revocation, as recorded in the transaction that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// The user's id.
    pub user: String,
    pub sku: String,
    pub action: AuditAction,
    /// Why an assignment was made (none for revocations).
    pub source: Option<LicenseSource>,
    /// The request or command that caused it.
    pub cause: String,
    /// The credential (`token:<id>`) or operator (`cli`) that asked.
    pub actor: String,
}

/// Which entries to read: of one user, from a time on; oldest first unless
/// `newest_first`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub user: Option<String>,
    pub since: Option<DateTime<Utc>>,
    /// At most this many (those past it in the order asked for are dropped); `None`: all.
    pub limit: Option<u64>,
    /// Newest first: with `limit`, the latest entries.
    pub newest_first: bool,
}
