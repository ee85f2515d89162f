//! Workload identity federation (RFC 7523): an OAuth client of a tenant that holds no
//! secret. It proves itself with a JWT its issuer signed — Microsoft Entra ID's
//! provisioning service presents one issued by the customer's Entra tenant — and the
//! client trusts exactly one issuer, subject and audience, and the issuer's keys at one
//! JWKS URL.
//!
//! The signature is checked by an adapter (the port
//! [`AssertionVerifier`](crate::ports::AssertionVerifier): fetching the JWKS is I/O);
//! everything else an assertion must satisfy is decided here, by [`Federation::check`]:
//!
//! - `iss` is the client's issuer and `sub` its subject, exactly;
//! - `aud` (a string or an array) holds the client's audience; Entra shows its audience
//!   as `api://<app id>/.default` (a scope) while its tokens carry `api://<app id>`, so an
//!   audience ending in `/.default` also matches without it;
//! - `exp` is given and not past, `nbf` and `iat` (when given) not in the future, each
//!   with [`CLOCK_SKEW`] of leeway, and `exp` at most [`MAX_ASSERTION_LIFETIME`] ahead
//!   (RFC 7523 §3 lets a server refuse one "unreasonably far in the future").
//!
//! An assertion may be presented more than once while it is valid (Entra reuses its token
//! within a provisioning cycle), so `jti` is not tracked.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::outbound::{NetworkPolicy, check_outbound_url};

/// Leeway for the clocks of the issuer and of this server.
pub const CLOCK_SKEW: TimeDelta = TimeDelta::seconds(60);

/// The furthest ahead an assertion's `exp` may be.
pub const MAX_ASSERTION_LIFETIME: TimeDelta = TimeDelta::hours(24);

/// The longest assertion accepted, in bytes (an Entra token is about 1.5 KiB).
pub const MAX_ASSERTION_BYTES: usize = 16 * 1024;

/// Longest issuer, subject or audience, in characters.
const MAX_VALUE: usize = 2_000;

/// `client_assertion_type` of RFC 7523 §2.2 (client authentication by a JWT).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// `grant_type` of RFC 7523 §2.1 (a JWT as the authorization grant).
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// What a federated client trusts; Entra's connectivity page shows all four values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Federation {
    /// The assertions' `iss`, e.g. `https://login.microsoftonline.com/<tenant id>/v2.0`.
    pub issuer: String,
    /// Where the issuer publishes its signing keys, e.g.
    /// `https://login.microsoftonline.com/<tenant id>/discovery/v2.0/keys`.
    pub jwks_url: String,
    /// The assertions' `sub`: for Entra, the object id of its provisioning workload.
    pub subject: String,
    /// A value the assertions' `aud` must hold, e.g. `api://<app id>`.
    pub audience: String,
}

impl Federation {
    /// The trust these values describe; the refusal says which value is wrong and why.
    /// The JWKS URL is held to the server's outbound policy (public `https://` unless
    /// private networks are allowed), as webhook receivers are.
    pub fn new(
        issuer: &str,
        jwks_url: &str,
        subject: &str,
        audience: &str,
        policy: NetworkPolicy,
    ) -> Result<Self, String> {
        let issuer = checked("issuer", issuer)?;
        let subject = checked("subject", subject)?;
        let audience = checked("audience", audience)?;
        let jwks_url = check_outbound_url(jwks_url.trim(), policy)
            .map_err(|why| format!("the JWKS URL {why}"))?
            .to_string();
        Ok(Self {
            issuer,
            jwks_url,
            subject,
            audience,
        })
    }

    /// Whether the claims of an assertion whose signature verified satisfy this trust at
    /// `now` (see the module's documentation).
    pub fn check(&self, claims: &Map<String, Value>, now: DateTime<Utc>) -> Result<(), Refusal> {
        if claims.get("iss").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err(Refusal::Issuer);
        }
        if claims.get("sub").and_then(Value::as_str) != Some(self.subject.as_str()) {
            return Err(Refusal::Subject);
        }
        if !self.audience_matches(claims.get("aud")) {
            return Err(Refusal::Audience);
        }
        let time = |name: &'static str| -> Result<Option<DateTime<Utc>>, Refusal> {
            match claims.get(name) {
                None => Ok(None),
                // RFC 7519 §2: seconds, possibly with a fraction.
                Some(value) => value
                    .as_i64()
                    .or_else(|| value.as_f64().filter(|s| s.is_finite()).map(f64_seconds))
                    .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
                    .map(Some)
                    .ok_or(Refusal::Malformed(name)),
            }
        };
        let expires = time("exp")?.ok_or(Refusal::NoExpiry)?;
        if expires <= now - CLOCK_SKEW {
            return Err(Refusal::Expired);
        }
        if expires > now + MAX_ASSERTION_LIFETIME {
            return Err(Refusal::TooLong);
        }
        for name in ["nbf", "iat"] {
            if time(name)?.is_some_and(|at| at > now + CLOCK_SKEW) {
                return Err(Refusal::NotYetValid(name));
            }
        }
        Ok(())
    }

    /// Whether `aud` (a string, or an array of them) names the audience.
    fn audience_matches(&self, aud: Option<&Value>) -> bool {
        let wanted = self.audience.as_str();
        let scope_free = wanted.strip_suffix("/.default");
        let matches = |value: &Value| {
            value
                .as_str()
                .is_some_and(|aud| aud == wanted || Some(aud) == scope_free)
        };
        match aud {
            Some(Value::Array(values)) => values.iter().any(matches),
            Some(value) => matches(value),
            None => false,
        }
    }
}

/// Whole seconds of a fractional NumericDate (saturating far outside any valid time).
#[allow(
    clippy::cast_possible_truncation,
    reason = "a time beyond i64 seconds is refused as malformed anyway"
)]
fn f64_seconds(seconds: f64) -> i64 {
    seconds.floor() as i64
}

/// A trimmed value of 1 to [`MAX_VALUE`] characters without control characters.
fn checked(name: &str, value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > MAX_VALUE || value.chars().any(char::is_control)
    {
        return Err(format!(
            "the {name} is 1 to {MAX_VALUE} printable characters"
        ));
    }
    Ok(value.to_owned())
}

/// Why an assertion whose signature verified is refused; said to the client (none of
/// these reveal more than the client's own assertion and configuration hold).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// `iss` is not the client's issuer.
    #[error("the assertion's issuer (iss) is not the issuer this client trusts")]
    Issuer,
    /// `sub` is not the client's subject.
    #[error("the assertion's subject (sub) is not the subject this client trusts")]
    Subject,
    /// `aud` does not hold the client's audience.
    #[error("the assertion's audience (aud) does not include this client's audience")]
    Audience,
    /// No `exp`.
    #[error("the assertion has no expiry (exp)")]
    NoExpiry,
    /// `exp` is past.
    #[error("the assertion has expired")]
    Expired,
    /// `exp` is too far ahead.
    #[error("the assertion expires more than 24 hours from now")]
    TooLong,
    /// `nbf` or `iat` is in the future.
    #[error("the assertion is not valid yet ({0} is in the future)")]
    NotYetValid(&'static str),
    /// A time claim is not a number of seconds.
    #[error("the assertion's {0} is not a NumericDate")]
    Malformed(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn trust() -> Federation {
        Federation::new(
            "https://login.example.com/t/v2.0",
            "https://login.example.com/t/keys",
            "workload",
            "api://app/.default",
            NetworkPolicy::default(),
        )
        .expect("valid")
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).expect("time")
    }

    fn claims(extra: &Value) -> Map<String, Value> {
        let mut claims = json!({
            "iss": "https://login.example.com/t/v2.0",
            "sub": "workload",
            "aud": "api://app",
            "iat": 1_800_000_000 - 10,
            "nbf": 1_800_000_000 - 10,
            "exp": 1_800_000_000 + 3_600,
        });
        for (name, value) in extra.as_object().expect("object") {
            if value.is_null() {
                claims.as_object_mut().expect("object").remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        let Value::Object(claims) = claims else {
            unreachable!()
        };
        claims
    }

    #[test]
    fn an_assertion_of_the_trusted_issuer_subject_and_audience_passes() {
        assert_eq!(trust().check(&claims(&json!({})), now()), Ok(()));
        let aud = json!({"aud": ["other", "api://app/.default"]});
        assert_eq!(trust().check(&claims(&aud), now()), Ok(()));
    }

    #[test]
    fn every_claim_that_differs_is_named() {
        let cases = [
            (
                json!({"iss": "https://login.example.com/other/v2.0"}),
                Refusal::Issuer,
            ),
            (json!({"iss": null}), Refusal::Issuer),
            (json!({"sub": "someone else"}), Refusal::Subject),
            (json!({"aud": "api://other"}), Refusal::Audience),
            (json!({"aud": ["api://other"]}), Refusal::Audience),
            (json!({"aud": null}), Refusal::Audience),
            (json!({"exp": null}), Refusal::NoExpiry),
            (json!({"exp": "soon"}), Refusal::Malformed("exp")),
            (json!({"exp": 1_800_000_000 - 61}), Refusal::Expired),
            (json!({"exp": 1_800_000_000 + 86_401}), Refusal::TooLong),
            (
                json!({"nbf": 1_800_000_000 + 61}),
                Refusal::NotYetValid("nbf"),
            ),
            (
                json!({"iat": 1_800_000_000 + 61}),
                Refusal::NotYetValid("iat"),
            ),
        ];
        for (change, refusal) in cases {
            assert_eq!(
                trust().check(&claims(&change), now()),
                Err(refusal),
                "{change}"
            );
        }
    }

    #[test]
    fn fractional_and_extreme_times_are_judged_without_panicking() {
        let fraction = json!({"exp": 1_800_000_000.0 + 3_600.5, "iat": 1_799_999_999.25});
        assert_eq!(trust().check(&claims(&fraction), now()), Ok(()));
        for exp in [json!(i64::MAX), json!(1e300), json!(-1e300)] {
            let refused = trust().check(&claims(&json!({"exp": exp})), now());
            assert!(refused.is_err(), "{exp}");
        }
    }

    #[test]
    fn clocks_may_disagree_by_a_minute() {
        let late = json!({"exp": 1_800_000_000 - 59, "nbf": 1_800_000_000 + 59});
        assert_eq!(trust().check(&claims(&late), now()), Ok(()));
    }

    #[test]
    fn the_audience_without_default_does_not_match_one_with_it() {
        let mut trust = trust();
        trust.audience = "api://app".into();
        let aud = json!({"aud": "api://app/.default"});
        assert_eq!(trust.check(&claims(&aud), now()), Err(Refusal::Audience));
    }

    #[test]
    fn values_are_checked_when_the_trust_is_made() {
        let policy = NetworkPolicy::default();
        let made = |issuer: &str, jwks: &str| Federation::new(issuer, jwks, "s", "a", policy);
        assert!(made("", "https://keys.example.com/").is_err());
        assert!(made("i\u{7}", "https://keys.example.com/").is_err());
        let local = made("i", "http://127.0.0.1:9/keys").expect_err("loopback");
        assert!(local.starts_with("the JWKS URL"), "{local}");
        assert!(made("i", "https://keys.example.com/keys").is_ok());
        let allowed = NetworkPolicy {
            allow_private: true,
        };
        assert!(Federation::new("i", "http://127.0.0.1:9/keys", "s", "a", allowed).is_ok());
    }
}
