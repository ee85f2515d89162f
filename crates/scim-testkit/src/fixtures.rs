//! Domain values for the contract tests, built from the core types directly. Timestamps are
//! whole milliseconds, as the core makes them.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use scim_core::filter::{CompValue, CompareOp, Filter};
use scim_core::query::{ListPage, ListQuery, Sort, SortOrder};
use scim_core::tenant::{StoredToken, Tenant, TenantId, TokenHash};
use scim_core::{AttrPath, Meta, Resource, ResourceKind, SchemaRegistry, WriteContext};
use serde_json::{Map, Value};

pub fn registry() -> Arc<SchemaRegistry> {
    Arc::new(SchemaRegistry::standard())
}

/// `2026-01-01T00:00:00Z` plus `millis`.
pub fn time(millis: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_767_225_600_000 + millis).unwrap_or_default()
}

/// A push receiver `id` of `tenant`, with a secret of the length receivers need.
pub fn receiver(id: &str, tenant: &Tenant) -> scim_core::events::Receiver {
    scim_core::events::Receiver {
        id: id.into(),
        tenant: tenant.id.clone(),
        url: format!("https://hooks.example.com/{id}"),
        secret: format!("{id}-secret-of-at-least-thirty-two-bytes"),
        oauth: None,
        created: time(0),
    }
}

/// A write in `tenant` by the test suite, at a fixed time.
pub fn writer(tenant: &TenantId) -> WriteContext {
    WriteContext {
        tenant: tenant.clone(),
        actor: "token:contract".into(),
        cause: "contract test".into(),
        at: time(1_000),
        events: Vec::new(),
    }
}

pub fn tenant(slug: &str) -> Tenant {
    Tenant {
        id: TenantId(format!("tenant-{slug}")),
        slug: slug.to_owned(),
        name: format!("Tenant {slug}"),
        created: time(0),
        client_certs: Vec::new(),
        custom_attributes: Vec::new(),
        compatibility: scim_core::compat::Compatibility::default(),
    }
}

/// A resource at version 1, created and last modified at `time(0)`.
pub fn resource(kind: ResourceKind, id: &str, attributes: Value) -> Resource {
    let attributes = match attributes {
        Value::Object(attributes) => attributes,
        _ => Map::new(),
    };
    Resource {
        kind,
        id: id.to_owned(),
        meta: Meta {
            created: time(0),
            last_modified: time(0),
            version: 1,
        },
        attributes,
    }
}

pub fn user(id: &str, user_name: &str) -> Resource {
    resource(
        ResourceKind::User,
        id,
        serde_json::json!({ "userName": user_name }),
    )
}

pub fn group(id: &str, display_name: &str) -> Resource {
    resource(
        ResourceKind::Group,
        id,
        serde_json::json!({ "displayName": display_name }),
    )
}

/// The resource with one more attribute.
pub fn with(mut resource: Resource, name: &str, value: Value) -> Resource {
    resource.attributes.insert(name.to_owned(), value);
    resource
}

/// The resource as the next write would make it: one version up, modified at `millis`.
pub fn next_version(resource: &Resource, millis: i64) -> Resource {
    let mut next = resource.clone();
    next.meta.version += 1;
    next.meta.last_modified = time(millis);
    next
}

pub fn token(id: &str, tenant: &Tenant, secret: &str) -> StoredToken {
    StoredToken {
        id: id.to_owned(),
        tenant: tenant.id.clone(),
        hash: TokenHash::of(secret),
        hint: secret.chars().take(9).collect(),
        created: time(0),
        expires: None,
        client: None,
    }
}

pub fn path(text: &str) -> AttrPath {
    AttrPath::parse(text).unwrap_or_else(|error| panic!("bad path {text}: {error:?}"))
}

/// `path op "literal"`.
pub fn compare(attribute: &str, op: CompareOp, literal: &str) -> Filter {
    Filter::Compare {
        path: path(attribute),
        op,
        value: CompValue::Str(literal.to_owned()),
    }
}

pub fn filtered(filter: Filter) -> ListQuery {
    ListQuery {
        filter: Some(filter),
        ..ListQuery::default()
    }
}

pub fn sorted(attribute: &str, order: SortOrder) -> ListQuery {
    ListQuery {
        sort: Some(Sort {
            path: path(attribute),
            order,
        }),
        ..ListQuery::default()
    }
}

/// The ids of a page, in order.
pub fn ids(page: &ListPage) -> Vec<&str> {
    page.resources.iter().map(|r| r.id.as_str()).collect()
}

/// Pools and rules changed, then the tenant re-evaluated, as the license service does.
pub use scim_core::service::{
    add_rule_and_reevaluate as add_rule, remove_rule_and_reevaluate as remove_rule,
    set_pool_and_reevaluate as set_pool,
};
