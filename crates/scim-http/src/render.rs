//! Core results → SCIM JSON responses.

use http::StatusCode;
use http::header;
use scim_core::project::Projection;
use scim_core::resource::membership_attribute;
use scim_core::{Resource, ResourceKind, SchemaRegistry};
use serde_json::{Value, json};

use crate::request::Request;
use crate::response::{Reply, Response};
use crate::state::HttpConfig;

pub(crate) const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// The base URL of the SCIM API as the client should see it, without a trailing slash.
pub(crate) fn base_url(req: &Request, config: &HttpConfig) -> String {
    format!("{}/scim/v2", origin(req, config))
}

/// The server's origin (`https://scim.example.com`): the configured public URL, or the
/// request's scheme and Host. SETs name it as their issuer.
pub(crate) fn origin(req: &Request, config: &HttpConfig) -> String {
    match &config.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => req.origin(),
    }
}

pub(crate) fn location(base: &str, resource: &Resource) -> String {
    format!("{base}/{}/{}", resource.kind.endpoint(), resource.id)
}

/// The resource as JSON: its document with `meta.location`, projected.
pub(crate) fn resource_json(
    registry: &SchemaRegistry,
    base: &str,
    resource: &Resource,
    projection: &Projection,
) -> Value {
    let core = registry
        .resource_type(resource.kind)
        .map(|rt| rt.schema)
        .unwrap_or_default();
    // Values of tenant attributes removed since they were stored are not shown.
    let mut doc = match registry.forget_undefined(resource.kind, &resource.attributes) {
        Some(attributes) => Resource {
            attributes,
            ..resource.clone()
        }
        .to_document(core),
        None => resource.to_document(core),
    };
    if let Some(Value::Object(meta)) = doc.get_mut("meta") {
        meta.insert("location".into(), Value::String(location(base, resource)));
    }
    add_refs(&mut doc, resource.kind, base);
    Value::Object(projection.apply(registry, resource.kind, doc))
}

/// Adds `$ref` to every element of a group's `members` (by the member's `type`) and of a
/// user's `groups`: URIs depend on how the server is reached, so the store never keeps them.
fn add_refs(doc: &mut serde_json::Map<String, Value>, kind: ResourceKind, base: &str) {
    let attribute = membership_attribute(kind);
    let Some(Value::Array(items)) = doc.get_mut(attribute) else {
        return;
    };
    for item in items.iter_mut().filter_map(Value::as_object_mut) {
        let endpoint = match (kind, item.get("type").and_then(Value::as_str)) {
            (ResourceKind::Group, Some("Group")) | (ResourceKind::User, _) => "Groups",
            (ResourceKind::Group, _) => "Users",
        };
        if let Some(id) = item.get("value").and_then(Value::as_str) {
            let uri = format!("{base}/{endpoint}/{id}");
            item.insert("$ref".into(), Value::String(uri));
        }
    }
}

/// A SCIM JSON response.
pub(crate) fn scim_json(status: StatusCode, body: &Value) -> Response {
    Reply::new(status).scim(body)
}

/// A single resource, with its `ETag` (and `Location` when created).
pub(crate) fn resource_response(
    status: StatusCode,
    registry: &SchemaRegistry,
    base: &str,
    resource: &Resource,
    projection: &Projection,
) -> Response {
    let body = resource_json(registry, base, resource, projection);
    let mut reply = Reply::new(status).header(header::ETAG, &resource.meta.etag());
    if status == StatusCode::CREATED {
        reply = reply.header(header::LOCATION, &location(base, resource));
    }
    reply.scim(&body)
}

/// A `ListResponse` (RFC 7644 §3.4.2).
/// A page of a cursor walk (RFC 9865 §2): `nextCursor` unless it is the last page,
/// `previousCursor` unless it is the first, and no `startIndex`.
pub(crate) fn cursor_list_response(
    total: u64,
    resources: &[Value],
    next: Option<String>,
    previous: Option<String>,
) -> Response {
    let mut list = json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "itemsPerPage": resources.len(),
    });
    if let Some(next) = next {
        list["nextCursor"] = json!(next);
    }
    if let Some(previous) = previous {
        list["previousCursor"] = json!(previous);
    }
    list["Resources"] = json!(resources);
    scim_json(StatusCode::OK, &list)
}

pub(crate) fn list_response(total: u64, start_index: u64, resources: &[Value]) -> Response {
    scim_json(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_RESPONSE_SCHEMA],
            "totalResults": total,
            "startIndex": start_index,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    )
}
