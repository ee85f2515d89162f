//! The core's hot paths, each on the inputs identity providers send: filter parsing and
//! evaluation, PATCH application, validation of a created user, and serialisation of a
//! user as responses show it. Each is reported next to a ceiling measured in the same
//! run: `serde_json` parsing the same request body, which every request pays anyway.
//!
//! Run: `cargo bench -p scim-core --bench hot_paths`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark: a failure should stop it loudly"
)]

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use scim_core::filter::{matches, parse};
use scim_core::patch::{apply_patch, parse_patch};
use scim_core::service::plan_create;
use scim_core::validate::validate_resource;
use scim_core::{ResourceKind, SchemaRegistry};
use serde_json::{Value, json};

const FILTER: &str = r#"userName eq "bjensen@example.com" and (emails[type eq "work" and value co "@example.com"] or title pr) and meta.lastModified gt "2026-01-01T00:00:00Z""#;

fn user_body() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": "bjensen@example.com",
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7a6a0f2c7e4b",
        "active": true,
        "displayName": "Barbara Jensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen", "formatted": "Ms. Barbara J Jensen III"},
        "title": "Tour Guide",
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                   {"value": "babs@jensen.org", "type": "home"}],
        "phoneNumbers": [{"value": "555-555-8377", "type": "work"}],
        "entitlements": [{"value": "pro"}],
        "roles": [{"value": "Developer", "primary": true}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984", "costCenter": "4130", "department": "Tour Operations"
        }
    })
}

/// Entra ID's PATCH on a change: capitalised ops, a filtered path, the enterprise extension.
fn entra_patch() -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "Replace", "path": "displayName", "value": "Barbara J. Jensen"},
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "barbara@example.com"},
        {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Tours"},
        {"op": "Add", "path": "roles", "value": [{"value": "Admin"}]},
        {"op": "Replace", "path": "active", "value": "False"}
    ]})
}

fn hot_paths(c: &mut Criterion) {
    let registry = SchemaRegistry::standard();
    let kind = ResourceKind::User;
    let body = user_body();
    let text = body.to_string();
    let now = Utc.timestamp_opt(1_795_000_000, 0).unwrap();
    let user = plan_create(&registry, kind, &body, "2819c223".into(), now).unwrap();
    let document = user.to_document("urn:ietf:params:scim:schemas:core:2.0:User");
    let filter = parse(FILTER).unwrap();
    let patch = parse_patch(&entra_patch()).unwrap();

    let mut group = c.benchmark_group("core");
    group.bench_function("ceiling: serde_json parse of the user body", |b| {
        b.iter(|| serde_json::from_str::<Value>(black_box(&text)).unwrap());
    });
    group.bench_function("filter parse", |b| {
        b.iter(|| parse(black_box(FILTER)).unwrap());
    });
    group.bench_function("filter evaluate (compile + match)", |b| {
        b.iter(|| matches(black_box(&filter), kind, &registry, black_box(&document)));
    });
    group.bench_function("PATCH parse + apply (Entra, 5 ops)", |b| {
        b.iter(|| {
            let request = parse_patch(black_box(&entra_patch())).unwrap();
            apply_patch(&registry, kind, &user.attributes, &request).unwrap()
        });
    });
    group.bench_function("PATCH apply (parsed)", |b| {
        b.iter(|| apply_patch(&registry, kind, black_box(&user.attributes), &patch).unwrap());
    });
    group.bench_function("validate a created user", |b| {
        b.iter(|| validate_resource(&registry, kind, black_box(&body)).unwrap());
    });
    group.bench_function("serialise a user (document + JSON text)", |b| {
        b.iter(|| {
            let document =
                black_box(&user).to_document("urn:ietf:params:scim:schemas:core:2.0:User");
            Value::Object(document).to_string()
        });
    });
    group.finish();
}

criterion_group!(benches, hot_paths);
criterion_main!(benches);
