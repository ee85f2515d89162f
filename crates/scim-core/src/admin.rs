//! The operator's dashboard: its credentials and the pools' usage history.

use chrono::{DateTime, NaiveDate, Utc};

use crate::tenant::TenantId;

/// What an admin secret opens (the store's `kind` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AdminSecretKind {
    /// A one-time login link (`admin login-link`): exchanged once for a session.
    Link,
    /// A browser session, carried in a cookie.
    Session,
}

impl AdminSecretKind {
    /// Its value in the store's `kind` column: `link` or `session`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Link => "link",
            Self::Session => "session",
        }
    }
}

/// A pool's seats and use on one day (the day's last snapshot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageDay {
    /// The pool's sku.
    pub sku: String,
    /// The day of the snapshot.
    pub day: NaiveDate,
    /// Seats bought.
    pub seats: i64,
    /// Seats assigned.
    pub used: i64,
}

/// Which tenants a dashboard session shows: one, or (only when the operator asked for it)
/// every tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionScope {
    /// Every tenant (`admin login-link --all-tenants`).
    AllTenants,
    /// This tenant only.
    Tenant(TenantId),
}

impl SessionScope {
    /// Whether the session may see `tenant`.
    pub fn covers(&self, tenant: &TenantId) -> bool {
        match self {
            Self::AllTenants => true,
            Self::Tenant(own) => own == tenant,
        }
    }
}

/// A login link or a browser session of the dashboard, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSession {
    /// What `admin sessions` lists and `admin revoke` takes.
    pub id: String,
    /// The tenants it shows.
    pub scope: SessionScope,
    /// When the link was made or the session opened.
    pub created: DateTime<Utc>,
    /// When it stops working.
    pub expires: DateTime<Utc>,
}

/// Which sessions to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// The session with this id (`admin revoke <id>`).
    Id(String),
    /// The session whose secret hashes to this (a logout).
    Secret(crate::tenant::TokenHash),
    /// Every session and login link (`admin revoke --all`).
    All,
}
