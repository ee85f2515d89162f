//! The filter parser on any text: an AST or a SCIM error, never a panic or a hang; what
//! parses is evaluated against a user document without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_core::{ResourceKind, SchemaRegistry};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(filter) = scim_core::filter::parse(text) {
        let registry = SchemaRegistry::standard();
        let user = serde_json::json!({
            "userName": "bjensen@example.com",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
            "active": true,
            "entitlements": [{"value": "pro"}],
            "meta": {"lastModified": "2026-11-29T12:00:00Z"},
        });
        let doc = user.as_object().cloned().unwrap_or_default();
        let _ = scim_core::filter::matches(&filter, ResourceKind::User, &registry, &doc);
    }
});
