//! Which SET signing key signs when, and which keys the JWK Set publishes: rotation
//! without a moment where a receiver holds a SET it cannot verify.
//!
//! - A key is published from the moment it is stored, and signs from its `activates`
//!   (at least [`MIN_ACTIVATION_NOTICE`] after it was stored, so that every replica has
//!   loaded it and receivers' cached JWK Sets hold it before anything is signed with it).
//! - The key that signs at a time is the one activated last; among keys activated at the
//!   same time (replicas that started together on an empty store each stored one), the
//!   one stored first, so that every replica picks the same.
//! - A key stays published [`RETIRED_KEYS_PUBLISHED_FOR`] after the next key took over,
//!   the time its SETs may still be in flight; then it leaves the JWK Set.

use chrono::{DateTime, TimeDelta, Utc};

use super::SigningKey;

/// How long a key stays published after the next key took over.
pub const RETIRED_KEYS_PUBLISHED_FOR: TimeDelta = TimeDelta::hours(24);

/// The least notice a new key gets between being stored and signing: replicas reload the
/// keys every minute, and receivers may cache the JWK Set for five.
pub const MIN_ACTIVATION_NOTICE: TimeDelta = TimeDelta::minutes(10);

/// The keys' roles at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySchedule<'a> {
    /// The key that signs; `None` when no stored key has activated yet.
    pub signing: Option<&'a SigningKey>,
    /// The keys the JWK Set publishes: the signing key, the keys still to activate, and
    /// retired keys whose SETs may still be in flight.
    pub published: Vec<&'a SigningKey>,
    /// Retired keys no longer published: the store may forget them.
    pub expired: Vec<&'a SigningKey>,
}

/// The roles of `keys` at `now`.
pub fn key_schedule(keys: &[SigningKey], now: DateTime<Utc>) -> KeySchedule<'_> {
    // In the order they take over: by activation, then the one stored first last.
    let mut ordered: Vec<&SigningKey> = keys.iter().collect();
    ordered.sort_by(|a, b| {
        a.activates
            .cmp(&b.activates)
            .then(b.created.cmp(&a.created))
            .then(b.kid.cmp(&a.kid))
    });
    let signing_at = ordered.iter().rposition(|key| key.activates <= now);
    let mut schedule = KeySchedule {
        signing: signing_at.map(|at| ordered[at]),
        published: Vec::new(),
        expired: Vec::new(),
    };
    for (at, key) in ordered.iter().enumerate() {
        let retired_until = match signing_at {
            Some(signing) if at < signing => {
                // The next key took over when it both existed and had activated.
                let next = ordered[at + 1];
                Some(next.activates.max(next.created) + RETIRED_KEYS_PUBLISHED_FOR)
            }
            _ => None,
        };
        match retired_until {
            Some(until) if until <= now => schedule.expired.push(key),
            _ => schedule.published.push(key),
        }
    }
    schedule
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn at(hours: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000, 0).unwrap() + TimeDelta::hours(hours)
    }

    fn key(kid: &str, created: i64, activates: Option<i64>) -> SigningKey {
        SigningKey {
            kid: kid.into(),
            algorithm: "ES256".into(),
            private_key: String::new(),
            public_jwk: json!({"kid": kid}),
            created: at(created),
            activates: activates.map_or(DateTime::UNIX_EPOCH, at),
        }
    }

    fn kids(keys: &[&SigningKey]) -> Vec<String> {
        keys.iter().map(|k| k.kid.clone()).collect()
    }

    #[test]
    fn a_rotation_publishes_first_signs_later_and_retires_after_a_day() {
        // k1 signed from the start; k2 stored at hour 10 to sign from hour 11.
        let keys = [key("k1", 0, None), key("k2", 10, Some(11))];
        let cases = [
            // Stored, not yet signing: published ahead.
            (10, Some("k1"), vec!["k1", "k2"], vec![]),
            // k2 signs; k1 stays published for its SETs in flight.
            (11, Some("k2"), vec!["k1", "k2"], vec![]),
            (34, Some("k2"), vec!["k1", "k2"], vec![]),
            // A day after k2 took over, k1 leaves the JWK Set.
            (35, Some("k2"), vec!["k2"], vec!["k1"]),
        ];
        for (hour, signing, published, expired) in cases {
            let schedule = key_schedule(&keys, at(hour));
            let signing_kid = schedule.signing.map(|k| k.kid.as_str());
            assert_eq!(signing_kid, signing, "hour {hour}");
            assert_eq!(kids(&schedule.published), published, "hour {hour}");
            assert_eq!(kids(&schedule.expired), expired, "hour {hour}");
        }
    }

    #[test]
    fn replicas_that_started_together_sign_with_the_key_stored_first() {
        let keys = [key("late", 2, None), key("early", 1, None)];
        let schedule = key_schedule(&keys, at(3));
        assert_eq!(schedule.signing.map(|k| k.kid.as_str()), Some("early"));
        // The other was never meant to sign: published a day after it was stored.
        assert_eq!(kids(&schedule.published), ["late", "early"]);
        let later = key_schedule(&keys, at(27));
        assert_eq!(kids(&later.published), ["early"]);
        assert!(key_schedule(&[], at(0)).signing.is_none());
        // Only a key still to activate: nothing signs yet.
        let pending = [key("k9", 0, Some(5))];
        assert!(key_schedule(&pending, at(1)).signing.is_none());
    }
}
