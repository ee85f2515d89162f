//! The audit log of license assignments and revocations.

use chrono::{DateTime, Utc};

use super::planner::LicenseSource;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
/// What an audit entry records.
pub enum AuditAction {
    /// A license given to a user.
    Assigned,
    /// A license taken from a user.
    Revoked,
    /// A license asked for a user that waits for a seat ([`super::PoolPolicy::Pending`]).
    Pending,
    /// A waiting license no longer asked for, withdrawn before it had a seat.
    Withdrawn,
}

impl AuditAction {
    /// The name stored and shown (`assigned`, `revoked`, `pending`, `withdrawn`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assigned => "assigned",
            Self::Revoked => "revoked",
            Self::Pending => "pending",
            Self::Withdrawn => "withdrawn",
        }
    }

    /// The action named by [`Self::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "assigned" => Some(Self::Assigned),
            "revoked" => Some(Self::Revoked),
            "pending" => Some(Self::Pending),
            "withdrawn" => Some(Self::Withdrawn),
            _ => None,
        }
    }
}

/// One assignment or revocation, as recorded in the transaction that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When the write that made it committed its plan.
    pub at: DateTime<Utc>,
    /// The user's id.
    pub user: String,
    /// As the pool spells it.
    pub sku: String,
    /// Assigned or revoked.
    pub action: AuditAction,
    /// Why an assignment was made (none for revocations).
    pub source: Option<LicenseSource>,
    /// The request or command that caused it.
    pub cause: String,
    /// The credential (`token:<id>`) or operator (`cli`) that asked.
    pub actor: String,
    /// Its place in the tenant's log once recorded (increasing in the order entries were
    /// recorded); `None` for an entry not recorded yet.
    pub seq: Option<i64>,
}

impl AuditEntry {
    /// The entry as `license audit --json` and the Management API show it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "seq": self.seq,
            "at": crate::resource::format_time(&self.at),
            "userId": self.user,
            "sku": self.sku,
            "action": self.action.as_str(),
            "source": self.source.map(LicenseSource::as_str),
            "cause": self.cause,
            "actor": self.actor,
        })
    }
}

/// Which entries to read: of one user, from a time on; oldest first unless
/// `newest_first`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only this user's entries (its SCIM id).
    pub user: Option<String>,
    /// Only entries from this time on.
    pub since: Option<DateTime<Utc>>,
    /// Only entries recorded after the one of this `seq` (paging on).
    pub after: Option<i64>,
    /// At most this many (those past it in the order asked for are dropped); `None`: all.
    pub limit: Option<u64>,
    /// Newest first: with `limit`, the latest entries.
    pub newest_first: bool,
}
