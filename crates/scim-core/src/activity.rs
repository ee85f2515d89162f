//! The provisioning activity of a tenant: one entry per SCIM request its IdP sent, for
//! the customer's admin to see what happened (the portal, the Management API). An entry
//! holds what the request did and how it ended — never a body, a secret, or an attribute
//! value beyond the resource's `userName` or `displayName`.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::error::ScimError;
use crate::resource::format_time;
use crate::tenant::TenantId;

/// How many days entries are kept unless the operator says otherwise.
pub const DEFAULT_ACTIVITY_DAYS: u32 = 30;

/// Longest detail kept, in characters.
const MAX_DETAIL: usize = 500;

/// Longest name, id or client kept, in characters.
const MAX_TEXT: usize = 256;

/// One SCIM request of a tenant, as it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityEntry {
    /// The log's own order (given by the store; 0 before it is stored).
    pub seq: i64,
    /// The tenant the request authenticated as.
    pub tenant: TenantId,
    /// When it was answered.
    pub at: DateTime<Utc>,
    /// The IdP that sent it, as its `User-Agent` tells ([`client_of`]).
    pub client: String,
    /// The credential it presented (`token:<id>`, `client:<id>`), never its secret.
    pub credential: String,
    /// The HTTP method.
    pub method: String,
    /// What it addressed: `User`, `Group`, `Bulk`, `Schemas`…
    pub resource_type: String,
    /// The resource's id, when one was addressed or created.
    pub resource_id: Option<String>,
    /// The resource's `userName` or `displayName`, when known.
    pub resource_name: Option<String>,
    /// The HTTP status answered.
    pub status: u16,
    /// The SCIM error type (`uniqueness`, `invalidValue`…), for a refusal.
    pub scim_type: Option<String>,
    /// The error's detail, for a refusal: in words the admin can act on.
    pub detail: Option<String>,
}

impl ActivityEntry {
    /// Whether the request succeeded (a 1xx, 2xx or 3xx answer).
    pub fn succeeded(&self) -> bool {
        self.status < 400
    }

    /// Records the refusal `error` on the entry.
    #[must_use]
    pub fn refused(mut self, error: &ScimError) -> Self {
        self.status = error.status();
        self.scim_type = error.scim_type().map(str::to_owned);
        self.detail = Some(clip(&error.to_string(), MAX_DETAIL));
        self
    }

    /// The resource it addressed, its fields clipped to what is kept.
    #[must_use]
    pub fn about(mut self, id: Option<&str>, name: Option<&str>) -> Self {
        if let Some(id) = id {
            self.resource_id = Some(clip(id, MAX_TEXT));
        }
        if let Some(name) = name {
            self.resource_name = Some(clip(name, MAX_TEXT));
        }
        self
    }

    /// As the Management API and the CLI show it.
    pub fn to_json(&self) -> Value {
        json!({
            "seq": self.seq,
            "at": format_time(&self.at),
            "client": self.client,
            "credential": self.credential,
            "method": self.method,
            "resourceType": self.resource_type,
            "resourceId": self.resource_id,
            "resourceName": self.resource_name,
            "status": self.status,
            "outcome": if self.succeeded() { "success" } else { "failure" },
            "scimType": self.scim_type,
            "detail": self.detail,
        })
    }
}

/// `text`, at most `max` characters, control characters as spaces.
fn clip(text: &str, max: usize) -> String {
    text.chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The IdP a `User-Agent` names: `Entra ID`, `Okta`, `OneLogin`, `JumpCloud`, `Google`,
/// else the agent's first product token (`curl`), else `unknown`. A heuristic for people
/// to read, never a security decision.
pub fn client_of(user_agent: Option<&str>) -> String {
    let Some(agent) = user_agent.map(str::trim).filter(|agent| !agent.is_empty()) else {
        return "unknown".into();
    };
    let lower = agent.to_ascii_lowercase();
    let known = [
        (["microsoft", "azure", "entra"].as_slice(), "Entra ID"),
        (["okta"].as_slice(), "Okta"),
        (["onelogin"].as_slice(), "OneLogin"),
        (["jumpcloud"].as_slice(), "JumpCloud"),
        (["google"].as_slice(), "Google"),
    ];
    for (needles, name) in known {
        if needles.iter().any(|needle| lower.contains(needle)) {
            return name.into();
        }
    }
    let product = agent.split(['/', ' ']).next().unwrap_or(agent);
    clip(product, 40)
}

/// A tenant's requests over a time: how many, how many were refused, and the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ActivitySummary {
    /// Requests answered.
    pub requests: u64,
    /// Of them, refused (400 or above).
    pub failures: u64,
    /// When the last was answered.
    pub last: Option<DateTime<Utc>>,
}

impl ActivitySummary {
    /// Refused requests per request, 0 to 1 (0 without requests).
    #[allow(
        clippy::cast_precision_loss,
        reason = "a rate shown to a person: two digits are all it needs"
    )]
    pub fn failure_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.failures as f64 / self.requests as f64
        }
    }

    /// Whether Microsoft Entra ID would quarantine a provisioning job failing this way:
    /// more than 40% of its requests failing once there are at least 5,000 failures, or
    /// 40,000 failures (its documented thresholds).
    pub fn quarantines_entra(&self) -> bool {
        (self.failures >= 5_000 && self.failure_rate() > 0.4) || self.failures >= 40_000
    }

    /// Counts `entry` in.
    pub fn add(&mut self, entry: &ActivityEntry) {
        self.requests += 1;
        if !entry.succeeded() {
            self.failures += 1;
        }
        self.last = self.last.max(Some(entry.at));
    }
}

/// The start of the hour `at` is in, in microseconds since the epoch: the key the stores
/// count activity under.
pub fn hour_of(at: DateTime<Utc>) -> i64 {
    const HOUR: i64 = 3_600_000_000;
    at.timestamp_micros().div_euclid(HOUR) * HOUR
}

/// Whether a request succeeded or was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered below 400.
    Success,
    /// Answered 400 or above.
    Failure,
}

impl Outcome {
    /// `success` or `failure`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "success" => Some(Self::Success),
            "failure" => Some(Self::Failure),
            _ => None,
        }
    }
}

/// Which entries to read: newest first, those before `before` (a `seq`) when given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityQuery {
    /// Only successes, or only failures.
    pub outcome: Option<Outcome>,
    /// Only requests addressing this (`User`, `Group`…).
    pub resource_type: Option<String>,
    /// Only entries at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only entries at or before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only entries older than this `seq` (the last of the page before).
    pub before: Option<i64>,
    /// At most this many.
    pub limit: usize,
}

impl ActivityQuery {
    /// The newest `limit` entries, whatever they are.
    pub fn latest(limit: usize) -> Self {
        Self {
            outcome: None,
            resource_type: None,
            since: None,
            until: None,
            before: None,
            limit,
        }
    }

    /// Whether `entry` is one the query asks for (its order and limit aside): the
    /// reference the stores' queries agree with.
    pub fn matches(&self, entry: &ActivityEntry) -> bool {
        self.outcome
            .is_none_or(|outcome| entry.succeeded() == (outcome == Outcome::Success))
            && self
                .resource_type
                .as_ref()
                .is_none_or(|kind| *kind == entry.resource_type)
            && self.since.is_none_or(|since| entry.at >= since)
            && self.until.is_none_or(|until| entry.at <= until)
            && self.before.is_none_or(|before| entry.seq < before)
    }
}

/// The oldest an entry may be at `now` when entries are kept `days` days.
pub fn kept_since(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    now - TimeDelta::days(i64::from(days))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_idp_is_told_by_its_user_agent() {
        let cases = [
            (Some("Okta SCIM Client 1.0.0"), "Okta"),
            (Some("Microsoft.Identity.Provisioning/1.0"), "Entra ID"),
            (Some("OneLogin SCIM"), "OneLogin"),
            (Some("JumpCloud-SCIM/2"), "JumpCloud"),
            (Some("curl/8.5.0"), "curl"),
            (Some("   "), "unknown"),
            (None, "unknown"),
        ];
        for (agent, client) in cases {
            assert_eq!(client_of(agent), client, "{agent:?}");
        }
        assert_eq!(client_of(Some(&"x".repeat(500))).chars().count(), 40);
    }

    fn entry(seq: i64, status: u16, kind: &str) -> ActivityEntry {
        ActivityEntry {
            seq,
            tenant: TenantId("t".into()),
            at: DateTime::from_timestamp(1_800_000_000 + seq, 0).unwrap_or_default(),
            client: "Okta".into(),
            credential: "token:1".into(),
            method: "POST".into(),
            resource_type: kind.into(),
            resource_id: None,
            resource_name: None,
            status,
            scim_type: None,
            detail: None,
        }
    }

    #[test]
    fn a_query_asks_for_outcome_kind_time_and_page() {
        let failures = ActivityQuery {
            outcome: Some(Outcome::Failure),
            ..ActivityQuery::latest(10)
        };
        assert!(failures.matches(&entry(1, 409, "User")));
        assert!(!failures.matches(&entry(1, 201, "User")));
        let groups_before = ActivityQuery {
            resource_type: Some("Group".into()),
            before: Some(5),
            ..ActivityQuery::latest(10)
        };
        assert!(groups_before.matches(&entry(4, 200, "Group")));
        assert!(!groups_before.matches(&entry(5, 200, "Group")));
        assert!(!groups_before.matches(&entry(4, 200, "User")));
        let window = ActivityQuery {
            since: Some(entry(2, 200, "User").at),
            until: Some(entry(3, 200, "User").at),
            ..ActivityQuery::latest(10)
        };
        assert!(!window.matches(&entry(1, 200, "User")));
        assert!(window.matches(&entry(2, 200, "User")));
        assert!(window.matches(&entry(3, 200, "User")));
        assert!(!window.matches(&entry(4, 200, "User")));
    }

    #[test]
    fn entras_quarantine_thresholds_are_known() {
        let day = |requests, failures| ActivitySummary {
            requests,
            failures,
            last: None,
        };
        assert!(!day(0, 0).quarantines_entra());
        assert!(
            !day(10_000, 4_999).quarantines_entra(),
            "under 5,000 failures"
        );
        assert!(day(12_000, 5_000).quarantines_entra(), "41.7% of 12,000");
        assert!(!day(13_000, 5_000).quarantines_entra(), "38.5%");
        assert!(
            day(1_000_000, 40_000).quarantines_entra(),
            "40,000 failures"
        );
        assert!(day(0, 0).failure_rate().abs() < f64::EPSILON);
        let at = DateTime::from_timestamp(1_800_000_123, 456_000_000).unwrap_or_default();
        assert_eq!(
            hour_of(at),
            1_800_000_000 * 1_000_000,
            "1,800,000,000 s is a whole hour"
        );
    }

    #[test]
    fn a_refusal_keeps_its_type_and_detail_clipped() {
        let error = ScimError::SeatsExhausted {
            pool: "pro".into(),
            seats: 50,
            used: 50,
        };
        let refused = entry(1, 201, "User").refused(&error);
        assert_eq!(refused.status, 400);
        assert_eq!(refused.scim_type.as_deref(), Some("invalidValue"));
        assert_eq!(
            refused.detail.as_deref(),
            Some("license pool 'pro' has no free seat: 50 of 50 seats are assigned")
        );
        let long = ScimError::InvalidValue(format!("bad\n{}", "x".repeat(900)));
        let detail = entry(1, 201, "User")
            .refused(&long)
            .detail
            .unwrap_or_default();
        assert_eq!(detail.chars().count(), 500);
        assert!(!detail.contains('\n'));
    }
}
