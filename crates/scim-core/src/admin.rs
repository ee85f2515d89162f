//! The operator's dashboard: its credentials and the pools' usage history.

use chrono::NaiveDate;

/// What an admin secret opens.
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
