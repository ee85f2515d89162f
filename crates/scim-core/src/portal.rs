//! The customer's portal: the enterprise's IT admin opens a **setup link** the vendor
//! made for their tenant, and gets a browser **session** of that tenant only. Both are
//! secrets kept as their SHA-256; a link works until it expires or is revoked (revoking
//! it ends the sessions it opened), a session for [`SESSION_LIFETIME`] at most, never past
//! its link.

use chrono::{DateTime, TimeDelta, Utc};

use crate::resource::format_time;
use crate::tenant::TenantId;

/// How long a setup link works unless asked otherwise: a week.
pub const DEFAULT_LINK_HOURS: u32 = 7 * 24;

/// The longest a setup link may work: 30 days.
pub const MAX_LINK_HOURS: u32 = 30 * 24;

/// How long a portal session lasts at most.
pub const SESSION_LIFETIME: TimeDelta = TimeDelta::hours(12);

/// A setup link or a portal session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortalKind {
    /// A setup link: opens sessions until it expires or is revoked.
    Link,
    /// A browser session, in a cookie.
    Session,
}

impl PortalKind {
    /// Its value in the store's `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Link => "link",
            Self::Session => "session",
        }
    }

    /// The kind of a `kind` column's value.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "link" => Some(Self::Link),
            "session" => Some(Self::Session),
            _ => None,
        }
    }
}

/// A setup link or a portal session, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalGrant {
    /// What listings show and revocations take.
    pub id: String,
    /// Link or session.
    pub kind: PortalKind,
    /// The one tenant it opens.
    pub tenant: TenantId,
    /// A session's link (revoking the link ends it); `None` for a link.
    pub link: Option<String>,
    /// When it was made.
    pub created: DateTime<Utc>,
    /// When it stops working.
    pub expires: DateTime<Utc>,
}

impl PortalGrant {
    /// Whether it works at `now`.
    pub fn is_valid_at(&self, now: DateTime<Utc>) -> bool {
        now < self.expires
    }

    /// A setup link as the Management API and the CLI list it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "created": format_time(&self.created),
            "expiresAt": format_time(&self.expires),
        })
    }
}

/// The address of the setup link of `code` on the server whose public origin is `origin`
/// (`https://scim.example.com`).
pub fn setup_url(origin: &str, code: &str) -> String {
    format!("{}/portal/open?code={code}", origin.trim_end_matches('/'))
}

/// How long a link asked to work `hours` works: [`DEFAULT_LINK_HOURS`] when not said, 1 to
/// [`MAX_LINK_HOURS`] otherwise.
pub fn link_lifetime(hours: Option<u32>) -> Result<TimeDelta, String> {
    match hours.unwrap_or(DEFAULT_LINK_HOURS) {
        hours @ 1..=MAX_LINK_HOURS => Ok(TimeDelta::hours(i64::from(hours))),
        hours => Err(format!(
            "a setup link works 1 to {MAX_LINK_HOURS} hours, not {hours}"
        )),
    }
}

/// When a session opened at `now` through a link expiring at `link_expires` ends: after
/// [`SESSION_LIFETIME`], or with its link, whichever is first.
pub fn session_expiry(now: DateTime<Utc>, link_expires: DateTime<Utc>) -> DateTime<Utc> {
    (now + SESSION_LIFETIME).min(link_expires)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_works_a_week_unless_asked_and_thirty_days_at_most() {
        assert_eq!(link_lifetime(None), Ok(TimeDelta::days(7)));
        assert_eq!(link_lifetime(Some(1)), Ok(TimeDelta::hours(1)));
        assert_eq!(link_lifetime(Some(720)), Ok(TimeDelta::days(30)));
        assert!(link_lifetime(Some(0)).is_err());
        assert!(link_lifetime(Some(721)).is_err());
    }

    #[test]
    fn a_session_never_outlives_its_link() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        assert_eq!(
            session_expiry(now, now + TimeDelta::days(7)),
            now + SESSION_LIFETIME
        );
        let soon = now + TimeDelta::hours(1);
        assert_eq!(session_expiry(now, soon), soon);
    }
}
