//! The operator's dashboard: its credentials and the pools' usage history.

use chrono::{DateTime, NaiveDate, Utc};

use crate::tenant::TenantId;

/// What an admin secret opens (the store's `kind` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminSecretKind {
    /// A one-time login link (`admin login-link`): exchanged once for a session.
    Link,
    /// A browser session, carried in a cookie.
    Session,
}

impl AdminSecretKind {
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
    pub sku: String,
    pub day: NaiveDate,
    pub seats: i64,
    pub used: i64,
}

/// Which tenants a dashboard session shows: one, or (only when the operator asked for it)
/// every tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionScope {
    AllTenants,
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
    pub scope: SessionScope,
    pub created: DateTime<Utc>,
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
