//! Resource validation of any JSON, as a User and as a Group: validated attributes or a
//! SCIM error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_core::{ResourceKind, SchemaRegistry};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let registry = SchemaRegistry::standard();
    for kind in [ResourceKind::User, ResourceKind::Group] {
        let _ = scim_core::validate::validate_resource(&registry, kind, &body);
    }
});
