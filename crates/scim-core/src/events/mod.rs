//! Events: what every committed change tells the rest of the product and the customer.
//!
//! A write hands the store its events with the change itself, and the store records them in
//! its outbox in the same transaction (nothing is emitted for work that rolled back, nothing
//! is lost after a commit). Each [`ResourceEvent`] is one future Security Event Token
//! (RFC 8417): one subject, and the events of one state change of it, keyed by event URI
//! (RFC 9967 §2: several URIs in one SET are one change, e.g. a PATCH that deactivates).
//!
//! Provisioning events follow RFC 9967 exactly: `prov:create:full` carries the created
//! resource as `data`; `prov:put:full` the PUT body; `prov:patch:full` the PatchOp body;
//! each with `version` (the ETag after the change); `prov:delete`, `prov:activate` and
//! `prov:deactivate` carry nothing (`{}`). The subject is `sub_id` of format `scim`: the
//! resource's path relative to the SCIM base (`/Users/<id>`) and its `externalId` when known.
//! License events use our namespace ([`LICENSE_ASSIGNED`], [`LICENSE_REVOKED`],
//! [`LICENSE_PENDING`], [`POOL_EXHAUSTED`]); their subject is the user (`/Users/<id>`) or the pool
//! (`/Licenses/<sku>`).

mod poll;
mod push;
mod rotation;

pub use poll::{
    DEFAULT_MAX_EVENTS, MAX_EVENTS, PollRequest, SetError, parse_poll, poll_jti, poll_seq,
};
pub use push::{
    ClaimedDelivery, DeadLetter, OAuthClient, Push, PushOutcome, Receiver, ReceiverStatus,
    RetryPolicy, Settled, Settlement,
};
pub use rotation::{KeySchedule, MIN_ACTIVATION_NOTICE, RETIRED_KEYS_PUBLISHED_FOR, key_schedule};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::bulk::BulkOutcome;
use crate::resource::{Resource, ResourceKind};

/// RFC 9967 `prov:create:full`: a resource was created; the payload carries it as `data`,
/// with its `version`.
pub const PROV_CREATE_FULL: &str = "urn:ietf:params:scim:event:prov:create:full";
/// RFC 9967 `prov:put:full`: a resource was replaced; `data` is the PUT body (without
/// `password`), with the new `version`.
pub const PROV_PUT_FULL: &str = "urn:ietf:params:scim:event:prov:put:full";
/// RFC 9967 `prov:patch:full`: a resource was patched; `data` is the PatchOp body (without
/// `password`), with the new `version`.
pub const PROV_PATCH_FULL: &str = "urn:ietf:params:scim:event:prov:patch:full";
/// RFC 9967 `prov:delete`: a resource was deleted; no payload (`{}`).
pub const PROV_DELETE: &str = "urn:ietf:params:scim:event:prov:delete";
/// RFC 9967 `prov:activate`: a PUT or PATCH turned a user's `active` to true; no payload.
pub const PROV_ACTIVATE: &str = "urn:ietf:params:scim:event:prov:activate";
/// RFC 9967 `prov:deactivate`: a PUT or PATCH turned a user's `active` to false; no payload.
pub const PROV_DEACTIVATE: &str = "urn:ietf:params:scim:event:prov:deactivate";
/// A license was assigned to the user the subject names; payload `{sku, source}`.
pub const LICENSE_ASSIGNED: &str = "urn:scim-license:event:license:assigned";
/// A license was revoked from the user the subject names; payload `{sku}`, and
/// `"status": "pending"` when it was still waiting for a seat (no seat is freed).
pub const LICENSE_REVOKED: &str = "urn:scim-license:event:license:revoked";
/// A license was asked for the user the subject names and waits for a seat of a full pool
/// under the `pending` policy; payload `{sku, source}`. Its `assigned` follows when a
/// seat frees.
pub const LICENSE_PENDING: &str = "urn:scim-license:event:license:pending";
/// A write took a pool's last seat; the subject is `/Licenses/<sku>`, the payload
/// `{sku, seats, used}`.
pub const POOL_EXHAUSTED: &str = "urn:scim-license:event:license:pool-exhausted";
/// RFC 9967 §2.5.1.2: an asynchronous request's operation completed.
pub const ASYNC_RESPONSE: &str = "urn:ietf:params:scim:event:misc:asyncresp";

/// The SETs' `iss` when no public URL is configured.
pub const DEFAULT_ISSUER: &str = "urn:scim-license:server";

/// The SETs' `iss`: the server's configured public URL (never a request's Host, which a
/// client chooses), else [`DEFAULT_ISSUER`].
pub fn issuer(public_url: Option<&str>) -> String {
    public_url
        .map_or(DEFAULT_ISSUER, |url| url.trim_end_matches('/'))
        .to_owned()
}

/// The SETs' `aud`: the tenant whose events they are, on every channel.
pub fn tenant_audience(slug: &str) -> String {
    format!("urn:scim-license:tenant:{slug}")
}

/// Every event URI this server emits, for `/ServiceProviderConfig`'s `securityEvents`.
pub const EVENT_URIS: [&str; 11] = [
    PROV_CREATE_FULL,
    PROV_PUT_FULL,
    PROV_PATCH_FULL,
    PROV_DELETE,
    PROV_ACTIVATE,
    PROV_DEACTIVATE,
    LICENSE_ASSIGNED,
    LICENSE_REVOKED,
    LICENSE_PENDING,
    POOL_EXHAUSTED,
    ASYNC_RESPONSE,
];

/// The events of one state change of one subject: one future SET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceEvent {
    /// `sub_id.uri`: the subject's path below the SCIM base, e.g. `/Users/2819c223`.
    pub subject: String,
    /// `sub_id.externalId`, when known.
    pub external_id: Option<String>,
    /// Event URI → payload.
    pub events: Map<String, Value>,
    /// The SET's `txn`: the transaction the change belongs to, when the client was told
    /// one (`Set-Txn` of an asynchronous request, with the operation's index).
    pub txn: Option<String>,
}

impl ResourceEvent {
    /// No events yet, about `subject`.
    fn on(subject: String) -> Self {
        Self {
            subject,
            external_id: None,
            events: Map::new(),
            txn: None,
        }
    }

    fn of(resource_kind: ResourceKind, id: &str, external_id: Option<&str>) -> Self {
        Self {
            external_id: external_id.map(str::to_owned),
            ..Self::on(format!("/{}/{id}", resource_kind.endpoint()))
        }
    }

    /// `misc:asyncresp` (RFC 9967 §2.5.1.2): one operation of the asynchronous bulk job
    /// `job_id` ended. The payload is the operation as a BulkResponse shows it (without
    /// `location`: the subject names the resource); `txn` is `<job id>:<index>` (the
    /// `Set-Txn` the client got, and the operation's zero-based place in its request). An
    /// operation that wrote no resource has the job as its subject (`/BulkJobs/<id>`).
    pub fn async_response(job_id: &str, outcome: &BulkOutcome) -> Self {
        let mut event = match &outcome.resource {
            Some((kind, id)) => Self::of(*kind, id, None),
            None => Self::on(format!("/BulkJobs/{job_id}")),
        };
        event
            .events
            .insert(ASYNC_RESPONSE.into(), outcome.response_operation(None));
        event.txn = Some(format!("{job_id}:{}", outcome.index));
        event
    }

    /// `prov:create:full`: the created resource (`document`, as a read shows it, with its
    /// `id`) and its version.
    pub fn created(resource: &Resource, document: Value) -> Self {
        let mut event = Self::of(resource.kind, &resource.id, resource.external_id());
        let mut payload = Map::new();
        payload.insert("data".into(), document);
        payload.insert("version".into(), json!(resource.meta.etag()));
        event
            .events
            .insert(PROV_CREATE_FULL.into(), Value::Object(payload));
        event
    }

    /// `prov:put:full` with the PUT body, plus `prov:activate`/`prov:deactivate` when the
    /// replacement changed `active`.
    pub fn replaced(before: &Resource, after: &Resource, body: &Value) -> Self {
        Self::updated(PROV_PUT_FULL, before, after, body)
    }

    /// `prov:patch:full` with the PatchOp body, plus `prov:activate`/`prov:deactivate` when
    /// the PATCH changed `active`.
    pub fn patched(before: &Resource, after: &Resource, body: &Value) -> Self {
        Self::updated(PROV_PATCH_FULL, before, after, body)
    }

    fn updated(uri: &str, before: &Resource, after: &Resource, body: &Value) -> Self {
        let mut event = Self::of(after.kind, &after.id, after.external_id());
        event.events.insert(
            uri.into(),
            json!({"data": without_secrets(body), "version": after.meta.etag()}),
        );
        let active =
            |resource: &Resource| resource.attributes.get("active").and_then(Value::as_bool);
        // A user without `active` counts as active (RFC 7643 §4.1.1 leaves it to us).
        match (
            active(before).unwrap_or(true),
            active(after).unwrap_or(true),
        ) {
            (false, true) => {
                event.events.insert(PROV_ACTIVATE.into(), json!({}));
            }
            (true, false) => {
                event.events.insert(PROV_DEACTIVATE.into(), json!({}));
            }
            _ => {}
        }
        event
    }

    /// `prov:delete` (no payload).
    pub fn deleted(kind: ResourceKind, id: &str, external_id: Option<&str>) -> Self {
        let mut event = Self::of(kind, id, external_id);
        event.events.insert(PROV_DELETE.into(), json!({}));
        event
    }

    /// A license assigned to or revoked from a user.
    pub fn license(user_id: &str, sku: &str, assigned: bool, source: Option<&str>) -> Self {
        let mut event = Self::of(ResourceKind::User, user_id, None);
        let (uri, payload) = if assigned {
            (LICENSE_ASSIGNED, json!({"sku": sku, "source": source}))
        } else {
            (LICENSE_REVOKED, json!({"sku": sku}))
        };
        event.events.insert(uri.into(), payload);
        event
    }

    /// A license that waits for a seat of a full `pending` pool.
    pub fn license_pending(user_id: &str, sku: &str, source: &str) -> Self {
        let mut event = Self::of(ResourceKind::User, user_id, None);
        let payload = json!({"sku": sku, "source": source});
        event.events.insert(LICENSE_PENDING.into(), payload);
        event
    }

    /// A waiting license withdrawn before it had a seat.
    pub fn license_withdrawn(user_id: &str, sku: &str) -> Self {
        let mut event = Self::of(ResourceKind::User, user_id, None);
        let payload = json!({"sku": sku, "status": "pending"});
        event.events.insert(LICENSE_REVOKED.into(), payload);
        event
    }

    /// A pool whose last seat was just taken.
    pub fn pool_exhausted(sku: &str, seats: i64, used: i64) -> Self {
        let mut event = Self::on(format!("/Licenses/{sku}"));
        event.events.insert(
            POOL_EXHAUSTED.into(),
            json!({"sku": sku, "seats": seats, "used": used}),
        );
        event
    }
}

/// Attributes never returned (RFC 7643 `returned: never`): the User's `password` is the
/// only one. They stay out of events as out of responses and storage.
const NEVER_RETURNED: [&str; 1] = ["password"];

fn is_never_returned(name: &str) -> bool {
    // A path may carry its schema URN (`urn:…:User:password`) or a sub-attribute.
    let last = name.rsplit(':').next().unwrap_or(name);
    let attribute = last.split(['.', '[']).next().unwrap_or(last);
    NEVER_RETURNED
        .iter()
        .any(|secret| attribute.eq_ignore_ascii_case(secret))
}

/// A request body (PUT resource or PatchOp) without never-returned attributes: such
/// members are removed at any depth, and PATCH operations whose path names one dropped.
fn without_secrets(body: &Value) -> Value {
    match body {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .filter(|(name, _)| !is_never_returned(name))
                .map(|(name, value)| {
                    let value = if name.eq_ignore_ascii_case("Operations") {
                        operations_without_secrets(value)
                    } else {
                        without_secrets(value)
                    };
                    (name.clone(), value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_secrets).collect()),
        other => other.clone(),
    }
}

fn operations_without_secrets(operations: &Value) -> Value {
    let Value::Array(operations) = operations else {
        return without_secrets(operations);
    };
    Value::Array(
        operations
            .iter()
            .filter(|operation| {
                operation
                    .get("path")
                    .and_then(Value::as_str)
                    .is_none_or(|path| !is_never_returned(path))
            })
            .map(without_secrets)
            .collect(),
    )
}

/// What retention removed of a tenant's events ([`crate::ports::EventLog::horizon`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventHorizon {
    /// The newest `seq` removed (0: none): a cursor before it would read past a gap.
    pub pruned_through: i64,
    /// Events the poll feed lost (removed before they were acknowledged) that no poll was
    /// told of yet.
    pub lost: u64,
}

/// An event as the outbox keeps it: its place in the outbox, and when it was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Increasing in the order events were recorded (not necessarily committed).
    pub seq: i64,
    /// When it was recorded: the SET's `toe`.
    pub at: DateTime<Utc>,
    /// The subject and its events.
    pub event: ResourceEvent,
}

impl StoredEvent {
    /// The event as the event feed lists it (`scim-server events`, the Management API's
    /// `/events`): its `seq`, time, subject (`sub_id`), `events` and `txn` when it has one.
    pub fn feed_entry(&self) -> Value {
        let mut entry = json!({
            "seq": self.seq,
            "at": crate::resource::format_time(&self.at),
            "sub_id": self.sub_id(),
            "events": self.event.events,
        });
        if let Some(txn) = &self.event.txn {
            entry["txn"] = json!(txn);
        }
        entry
    }

    /// The subject identifier (RFC 9493 as RFC 9967 profiles it): the resource's URI and
    /// its `externalId` when it has one.
    fn sub_id(&self) -> Map<String, Value> {
        let mut sub_id = Map::new();
        sub_id.insert("format".into(), json!("scim"));
        sub_id.insert("uri".into(), json!(self.event.subject));
        if let Some(external_id) = &self.event.external_id {
            sub_id.insert("externalId".into(), json!(external_id));
        }
        sub_id
    }

    /// The SET's claims (RFC 8417, RFC 9967): `iss` the server, `aud` the receiver, `jti`
    /// unique per SET, `iat` when it was issued, `sub_id` the subject, `events`. Signing is
    /// the adapter's.
    pub fn set_claims(&self, issuer: &str, audience: &str, jti: &str, iat: DateTime<Utc>) -> Value {
        let sub_id = self.sub_id();
        let mut claims = json!({
            "iss": issuer,
            "aud": [audience],
            "jti": jti,
            "iat": iat.timestamp(),
            "toe": self.at.timestamp(),
            "sub_id": sub_id,
            "events": self.event.events,
        });
        if let Some(txn) = &self.event.txn {
            claims["txn"] = json!(txn);
        }
        claims
    }
}

/// A key the server signs SETs with, kept in the store so that every replica signs with the
/// same keys and publishes the same JWKS.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// The JWK `kid`.
    pub kid: String,
    /// The JWS `alg`, e.g. `ES256`.
    pub algorithm: String,
    /// The private key (PKCS#8 DER, base64): a secret, never shown or logged.
    pub private_key: String,
    /// The public key as a JWK (with `kid`, `alg`, `use`).
    pub public_jwk: Value,
    /// When it was stored; of keys that activate together, the one stored first signs.
    pub created: DateTime<Utc>,
    /// When it starts signing (see [`key_schedule`]); the Unix epoch for a key that signs
    /// from the start.
    pub activates: DateTime<Utc>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("private_key", &"<redacted>")
            .field("created", &self.created)
            .field("activates", &self.activates)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::resource::Meta;

    fn user(active: Option<bool>, version: i64) -> Resource {
        let at = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let mut attributes = Map::new();
        attributes.insert("userName".into(), json!("jdoe"));
        attributes.insert("externalId".into(), json!("jDoe"));
        if let Some(active) = active {
            attributes.insert("active".into(), json!(active));
        }
        Resource {
            kind: ResourceKind::User,
            id: "2b2f880a".into(),
            meta: Meta {
                created: at,
                last_modified: at,
                version,
            },
            attributes,
        }
    }

    #[test]
    fn a_create_carries_the_resource_and_its_version() {
        let created = ResourceEvent::created(&user(None, 1), json!({"id": "2b2f880a"}));
        assert_eq!(created.subject, "/Users/2b2f880a");
        assert_eq!(created.external_id.as_deref(), Some("jDoe"));
        assert_eq!(
            Value::Object(created.events),
            json!({PROV_CREATE_FULL: {"data": {"id": "2b2f880a"}, "version": "W/\"1\""}})
        );
    }

    #[test]
    fn a_patch_that_deactivates_is_one_change_with_two_events() {
        let body = json!({"Operations": [{"op": "replace", "path": "active", "value": false}]});
        let patched = ResourceEvent::patched(&user(Some(true), 3), &user(Some(false), 4), &body);
        assert_eq!(
            Value::Object(patched.events),
            json!({
                PROV_PATCH_FULL: {"data": body, "version": "W/\"4\""},
                PROV_DEACTIVATE: {},
            })
        );
        let put = ResourceEvent::replaced(&user(Some(false), 4), &user(None, 5), &json!({}));
        assert!(put.events.contains_key(PROV_ACTIVATE), "{:?}", put.events);
        let same = ResourceEvent::replaced(&user(Some(true), 5), &user(None, 6), &json!({}));
        assert_eq!(same.events.len(), 1);
    }

    #[test]
    fn passwords_never_reach_an_event() {
        let put = json!({"userName": "jdoe", "password": "t1meMa$heen", "PASSWORD": "x",
            "name": {"givenName": "J"}});
        let event = ResourceEvent::replaced(&user(None, 1), &user(None, 2), &put);
        assert_eq!(
            event.events[PROV_PUT_FULL]["data"],
            json!({"userName": "jdoe", "name": {"givenName": "J"}})
        );
        let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "replace", "path": "password", "value": "secret-1"},
            {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:password", "value": "secret-2"},
            {"op": "replace", "value": {"password": "secret-3", "displayName": "J D"}},
            {"op": "replace", "path": "displayName", "value": "J D"},
        ]});
        let event = ResourceEvent::patched(&user(None, 1), &user(None, 2), &patch);
        let shown = event.events[PROV_PATCH_FULL]["data"].to_string();
        assert!(!shown.contains("secret-"), "{shown}");
        assert_eq!(
            event.events[PROV_PATCH_FULL]["data"]["Operations"],
            json!([
                {"op": "replace", "value": {"displayName": "J D"}},
                {"op": "replace", "path": "displayName", "value": "J D"},
            ])
        );
    }

    #[test]
    fn set_claims_follow_rfc_9967() {
        let stored = StoredEvent {
            seq: 7,
            at: Utc.timestamp_opt(1_458_505_000, 0).unwrap(),
            event: ResourceEvent::deleted(ResourceKind::User, "2b2f880a", Some("jDoe")),
        };
        let iat = Utc.timestamp_opt(1_458_505_044, 0).unwrap();
        assert_eq!(
            stored.set_claims(
                "https://scim.example.com",
                "https://receiver.example.com",
                "j1",
                iat
            ),
            json!({
                "iss": "https://scim.example.com",
                "aud": ["https://receiver.example.com"],
                "jti": "j1",
                "iat": 1_458_505_044,
                "toe": 1_458_505_000,
                "sub_id": {"format": "scim", "uri": "/Users/2b2f880a", "externalId": "jDoe"},
                "events": {PROV_DELETE: {}},
            })
        );
    }

    #[test]
    fn a_signing_key_never_shows_its_private_part() {
        let key = SigningKey {
            kid: "k1".into(),
            algorithm: "ES256".into(),
            private_key: "c2VjcmV0LWtleS1ieXRlcw".into(),
            public_jwk: json!({"kty": "EC"}),
            created: Utc.timestamp_opt(0, 0).unwrap(),
            activates: Utc.timestamp_opt(0, 0).unwrap(),
        };
        let shown = format!("{key:?}");
        assert!(!shown.contains("c2VjcmV0LWtleS1ieXRlcw"), "{shown}");
        assert!(shown.contains("k1"), "{shown}");
    }

    #[test]
    fn an_async_completion_carries_its_txn_into_the_set() {
        let outcome = BulkOutcome {
            index: 3,
            method: "DELETE".into(),
            bulk_id: None,
            resource: Some((ResourceKind::User, "u1".into())),
            version: None,
            status: 204,
            error: None,
        };
        let event = ResourceEvent::async_response("job-9", &outcome);
        let stored = StoredEvent {
            seq: 5,
            at: DateTime::from_timestamp(100, 0).unwrap(),
            event,
        };
        let claims = stored.set_claims(
            "iss",
            "aud",
            "evt-5",
            DateTime::from_timestamp(200, 0).unwrap(),
        );
        assert_eq!(claims["txn"], "job-9:3");
        assert_eq!(
            claims["sub_id"],
            json!({"format": "scim", "uri": "/Users/u1"})
        );
        assert_eq!(
            claims["events"],
            json!({ASYNC_RESPONSE: {"method": "DELETE", "status": "204"}})
        );
        let plain = StoredEvent {
            event: ResourceEvent::deleted(ResourceKind::User, "u1", None),
            ..stored
        };
        assert!(
            plain
                .set_claims("i", "a", "j", plain.at)
                .get("txn")
                .is_none()
        );
    }

    #[test]
    fn license_events_name_the_user_or_the_pool() {
        let assigned = ResourceEvent::license("u1", "E5", true, Some("entitlement"));
        assert_eq!(assigned.subject, "/Users/u1");
        assert_eq!(
            Value::Object(assigned.events),
            json!({LICENSE_ASSIGNED: {"sku": "E5", "source": "entitlement"}})
        );
        let exhausted = ResourceEvent::pool_exhausted("E5", 10, 10);
        assert_eq!(exhausted.subject, "/Licenses/E5");
        assert_eq!(exhausted.events[POOL_EXHAUSTED]["seats"], 10);
    }
}
