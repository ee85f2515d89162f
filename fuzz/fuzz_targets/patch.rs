//! A PATCH body of any JSON (paths, values, IdP dialects) planned against a user: a
//! patched user or a SCIM error, never a panic.
#![no_main]

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use scim_core::resource::{Meta, Resource};
use scim_core::{ResourceKind, SchemaRegistry};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(request) = scim_core::patch::parse_patch(&body) else {
        return;
    };
    let registry = SchemaRegistry::standard();
    let at = Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap();
    let user = serde_json::json!({
        "userName": "bjensen@example.com",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
        "roles": [{"value": "Developer"}],
        "active": true,
    });
    let existing = Resource {
        kind: ResourceKind::User,
        id: "2819c223".into(),
        meta: Meta {
            created: at,
            last_modified: at,
            version: 1,
        },
        attributes: user.as_object().cloned().unwrap_or_default(),
    };
    let _ = scim_core::service::plan_patch(&registry, &existing, &request, at);
});
