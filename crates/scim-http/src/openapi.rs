//! `GET /openapi.json`: an OpenAPI 3.1 document of every route, generated from the code:
//! the operations below and, for each resource type the schema registry serves, its
//! endpoints and a JSON Schema of its attributes (core, common and extensions) built from
//! the same attribute definitions `/Schemas` publishes. The acceptance test
//! `openapi::every_documented_operation_is_routed_and_no_other_method_is` checks the
//! document against the routes the running server answers.

use scim_core::schema::{AttrType, AttributeDef, Mutability};
use scim_core::{ResourceKind, SchemaRegistry};
use serde_json::{Map, Value, json};

use crate::response::{Reply, Response};
use crate::state::AppState;

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    None,
    /// A tenant's bearer token, OAuth access token, or Basic client credentials.
    Tenant,
    /// The OAuth client itself (Basic or form fields), at the token endpoint.
    Client,
    /// The dashboard's session cookie (from a login link of `admin login-link`).
    Admin,
    /// The operator's metrics token (`--metrics-token`).
    Metrics,
}

/// One documented operation outside the resource types' own endpoints.
struct Operation {
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    auth: Auth,
    /// The media type of the request body, if any.
    body: Option<&'static str>,
    /// The success status and the media type of its body.
    ok: (u16, &'static str),
}

const SCIM: &str = "application/scim+json";
const JSON: &str = "application/json";

const OPERATIONS: &[Operation] = &[
    Operation {
        method: "get",
        path: "/healthz",
        tag: "operations",
        summary: "Liveness: 200 when the store answers with its migrations applied",
        auth: Auth::None,
        body: None,
        ok: (200, JSON),
    },
    Operation {
        method: "get",
        path: "/readyz",
        tag: "operations",
        summary: "Readiness: 200 when the store answers with its migrations applied, else 503",
        auth: Auth::None,
        body: None,
        ok: (200, JSON),
    },
    Operation {
        method: "get",
        path: "/metrics",
        tag: "operations",
        summary: "Prometheus metrics (OpenMetrics text). Served on --listen only with \
                  --metrics-token set (404 otherwise), and then only to that token; on \
                  --metrics-listen to that token when one is set",
        auth: Auth::Metrics,
        body: None,
        ok: (200, "application/openmetrics-text"),
    },
    Operation {
        method: "get",
        path: "/openapi.json",
        tag: "operations",
        summary: "This document",
        auth: Auth::None,
        body: None,
        ok: (200, JSON),
    },
    Operation {
        method: "get",
        path: "/admin",
        tag: "dashboard",
        summary: "The dashboard: every tenant's pools (HTML)",
        auth: Auth::Admin,
        body: None,
        ok: (200, "text/html"),
    },
    Operation {
        method: "get",
        path: "/admin/login",
        tag: "dashboard",
        summary: "Opens a dashboard session from a one-time login link (`code`), then redirects to `next`",
        auth: Auth::None,
        body: None,
        ok: (303, "text/html"),
    },
    Operation {
        method: "get",
        path: "/admin/tenants/{slug}",
        tag: "dashboard",
        summary: "A tenant's seats, usage history, recent license changes, orphan risks and event delivery (HTML); a tenant the session does not see answers 404",
        auth: Auth::Admin,
        body: None,
        ok: (200, "text/html"),
    },
    Operation {
        method: "post",
        path: "/admin/logout",
        tag: "dashboard",
        summary: "Ends the session and clears its cookie (only from a page of this origin)",
        auth: Auth::Admin,
        body: Some("application/x-www-form-urlencoded"),
        ok: (200, "text/html"),
    },
    Operation {
        method: "post",
        path: "/oauth/token",
        tag: "authentication",
        summary: "OAuth 2.0 client credentials grant: an access token for the client's tenant",
        auth: Auth::Client,
        body: Some("application/x-www-form-urlencoded"),
        ok: (200, JSON),
    },
    Operation {
        method: "post",
        path: "/events/poll",
        tag: "events",
        summary: "RFC 8936 poll: the tenant's SETs, acknowledging earlier ones",
        auth: Auth::Tenant,
        body: Some(JSON),
        ok: (200, JSON),
    },
    Operation {
        method: "get",
        path: "/.well-known/jwks.json",
        tag: "events",
        summary: "The keys the polled SETs are signed with (JWKS)",
        auth: Auth::None,
        body: None,
        ok: (200, JSON),
    },
    Operation {
        method: "get",
        path: "/scim/v2/ServiceProviderConfig",
        tag: "discovery",
        summary: "What this service provider supports (RFC 7643 §5)",
        auth: Auth::Tenant,
        body: None,
        ok: (200, SCIM),
    },
    Operation {
        method: "get",
        path: "/scim/v2/Schemas",
        tag: "discovery",
        summary: "Every schema, with its attributes",
        auth: Auth::Tenant,
        body: None,
        ok: (200, SCIM),
    },
    Operation {
        method: "get",
        path: "/scim/v2/Schemas/{id}",
        tag: "discovery",
        summary: "One schema, by its URN",
        auth: Auth::Tenant,
        body: None,
        ok: (200, SCIM),
    },
    Operation {
        method: "get",
        path: "/scim/v2/ResourceTypes",
        tag: "discovery",
        summary: "Every resource type",
        auth: Auth::Tenant,
        body: None,
        ok: (200, SCIM),
    },
    Operation {
        method: "get",
        path: "/scim/v2/ResourceTypes/{id}",
        tag: "discovery",
        summary: "One resource type, by name",
        auth: Auth::Tenant,
        body: None,
        ok: (200, SCIM),
    },
    Operation {
        method: "post",
        path: "/scim/v2/.search",
        tag: "resources",
        summary: "Search every resource type (RFC 7644 §3.4.3)",
        auth: Auth::Tenant,
        body: Some(SCIM),
        ok: (200, SCIM),
    },
    Operation {
        method: "post",
        path: "/scim/v2/Bulk",
        tag: "bulk",
        summary: "Bulk operations (RFC 7644 §3.7); `Prefer: respond-async` answers 202 with a job",
        auth: Auth::Tenant,
        body: Some(SCIM),
        ok: (200, SCIM),
    },
    Operation {
        method: "get",
        path: "/scim/v2/BulkJobs/{id}",
        tag: "bulk",
        summary: "An asynchronous bulk job: its status, progress and, once completed, response",
        auth: Auth::Tenant,
        body: None,
        ok: (200, SCIM),
    },
    Operation {
        method: "get",
        path: "/scim/v2/Licenses",
        tag: "licenses",
        summary: "The tenant's license pools: seats, used, available",
        auth: Auth::Tenant,
        body: None,
        ok: (200, SCIM),
    },
    Operation {
        method: "get",
        path: "/scim/v2/Licenses/{sku}",
        tag: "licenses",
        summary: "One license pool",
        auth: Auth::Tenant,
        body: None,
        ok: (200, SCIM),
    },
    Operation {
        method: "get",
        path: "/scim/v2/Entitlements",
        tag: "licenses",
        summary: "The tenant's license pools as entitlements (draft-ietf-scim-roles-entitlements): value, display, totalAssignmentsPermitted and Used",
        auth: Auth::Tenant,
        body: None,
        ok: (200, SCIM),
    },
    Operation {
        method: "get",
        path: "/scim/v2/Entitlements/{id}",
        tag: "licenses",
        summary: "One license pool as an entitlement (id = sku)",
        auth: Auth::Tenant,
        body: None,
        ok: (200, SCIM),
    },
    Operation {
        method: "get",
        path: "/scim/v2/Roles",
        tag: "licenses",
        summary: "The role values the tenant maps to license pools",
        auth: Auth::Tenant,
        body: None,
        ok: (200, SCIM),
    },
    Operation {
        method: "get",
        path: "/scim/v2/Roles/{id}",
        tag: "licenses",
        summary: "One mapped role value (id = the value)",
        auth: Auth::Tenant,
        body: None,
        ok: (200, SCIM),
    },
];

/// `GET /openapi.json`.
pub(crate) fn openapi(state: &AppState) -> Response {
    Reply::new(http::StatusCode::OK).json(&document(&state.registry))
}

/// The whole document.
pub fn document(registry: &SchemaRegistry) -> Value {
    let mut paths = Map::new();
    for op in OPERATIONS {
        add(&mut paths, op.path, op.method, operation(op));
    }
    let mut schemas = Map::new();
    for rt in registry.resource_types() {
        let name = rt.kind.as_str();
        schemas.insert(name.to_owned(), resource_schema(registry, rt.kind));
        for (path, method, op) in resource_operations(rt.kind) {
            add(&mut paths, &path, method, op);
        }
    }
    for (path, method, op) in crate::management::openapi::paths() {
        add(&mut paths, &path, method, op);
    }
    for (name, schema) in crate::management::openapi::schemas() {
        schemas.insert(name.to_owned(), schema);
    }
    schemas.insert("Error".into(), error_schema());
    schemas.insert("ListResponse".into(), list_schema());
    schemas.insert("PatchOp".into(), patch_schema());
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "SCIM license server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "SCIM 2.0 (RFC 7643, RFC 7644) with per-seat license assignment. \
                            The tenant is the credential's: every SCIM path answers for the \
                            caller's tenant only. The Management API (/api/v1, tag \
                            `management`) is the vendor's: API keys, RFC 9457 problems.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "A tenant token (`token issue`) or an access token from /oauth/token"},
                "basic": {"type": "http", "scheme": "basic",
                          "description": "An OAuth client's id and secret (`client create`)"},
                "metricsToken": {"type": "http", "scheme": "bearer",
                                 "description": "The operator's --metrics-token"},
                "apiKey": crate::management::openapi::security_scheme(),
                "adminSession": {"type": "apiKey", "in": "cookie", "name": "__Host-scim_admin",
                                 "description": "The dashboard's session, opened by a login link of `scim-server admin login-link`"},
            },
        },
    })
}

fn add(paths: &mut Map<String, Value>, path: &str, method: &str, op: Value) {
    let entry = paths
        .entry(path.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(methods) = entry {
        methods.insert(method.to_owned(), op);
    }
}

fn operation(op: &Operation) -> Value {
    let mut out = json!({
        "tags": [op.tag],
        "summary": op.summary,
        "operationId": operation_id(op.method, op.path),
        "responses": responses(op.ok.0, op.ok.1, None),
    });
    if let Some(media) = op.body {
        out["requestBody"] =
            json!({"required": true, "content": {media: {"schema": {"type": "object"}}}});
    }
    add_parameters(&mut out, op.path);
    if op.path == "/admin/login" {
        out["parameters"] = json!([
            {"name": "code", "in": "query", "required": true, "schema": {"type": "string"},
             "description": "The secret of a login link from `admin login-link`"},
            {"name": "next", "in": "query", "required": false, "schema": {"type": "string"},
             "description": "A dashboard path (under /admin) to open after logging in"},
        ]);
    }
    out["security"] = security(op.auth);
    out
}

/// `get /scim/v2/Users/{id}` → `getScimV2UsersById`.
pub(crate) fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_owned();
    for part in path.split(['/', '.', '-']).filter(|p| !p.is_empty()) {
        let part = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(param) => format!("By{}", capitalise(param)),
            None => capitalise(part),
        };
        id.push_str(&part);
    }
    id
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

fn add_parameters(op: &mut Value, path: &str) {
    let params: Vec<Value> = path
        .split('/')
        .filter_map(|p| p.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    if !params.is_empty() {
        op["parameters"] = Value::Array(params);
    }
}

fn security(auth: Auth) -> Value {
    match auth {
        Auth::None => json!([]),
        Auth::Tenant => json!([{"bearer": []}, {"basic": []}]),
        Auth::Client => json!([{"basic": []}, {}]),
        Auth::Admin => json!([{"adminSession": []}]),
        Auth::Metrics => json!([{"metricsToken": []}]),
    }
}

/// The success response (without a body for 204 and 303) and the errors every operation
/// may answer: SCIM errors, or pages for the dashboard's HTML.
fn responses(status: u16, media: &str, schema: Option<Value>) -> Value {
    let schema = schema.unwrap_or_else(|| json!({"type": "object"}));
    let success = match status {
        204 => json!({"description": "Done; no body"}),
        303 => {
            json!({"description": "Redirect to the page named by `next`, with the session cookie",
                      "headers": {"Location": {"schema": {"type": "string"}},
                                  "Set-Cookie": {"schema": {"type": "string"}}}})
        }
        _ => json!({"description": "Success", "content": {media: {"schema": schema}}}),
    };
    let mut out = json!({ status.to_string(): success });
    if media == "text/html" || status == 303 {
        for (code, what) in [
            (
                401,
                "Not logged in, or the login link was used, expired or wrong (a page saying how to log in)",
            ),
            (404, "No such tenant"),
            (503, "The store is unavailable"),
        ] {
            out[code.to_string()] = json!({"description": what, "content": {"text/html": {"schema": {"type": "string"}}}});
        }
        return out;
    }
    for (code, what) in [
        (400, "Invalid request (scimType says why)"),
        (401, "Missing or refused credential"),
        (404, "No such resource or endpoint"),
        (429, "Over the tenant's rate limit (see Retry-After)"),
        (503, "The store is unavailable"),
    ] {
        out[code.to_string()] = json!({
            "description": what,
            "content": {SCIM: {"schema": {"$ref": "#/components/schemas/Error"}}},
        });
    }
    out
}

/// The endpoints of one resource type.
fn resource_operations(kind: ResourceKind) -> Vec<(String, &'static str, Value)> {
    let endpoint = kind.endpoint();
    let name = kind.as_str();
    let one = json!({"$ref": format!("#/components/schemas/{name}")});
    let list = json!({"$ref": "#/components/schemas/ListResponse"});
    let collection = format!("/scim/v2/{endpoint}");
    let item = format!("/scim/v2/{endpoint}/{{id}}");
    let search = format!("/scim/v2/{endpoint}/.search");
    let op = |method: &str,
              path: &str,
              summary: String,
              body: Option<&Value>,
              status: u16,
              out: Option<&Value>| {
        let mut op = json!({
            "tags": [endpoint],
            "summary": summary,
            "operationId": operation_id(method, path),
            "responses": responses(status, SCIM, out.cloned()),
            "security": security(Auth::Tenant),
        });
        if let Some(body) = body {
            op["requestBody"] = json!({"required": true, "content": {SCIM: {"schema": body}, JSON: {"schema": body}}});
            for (code, what) in [
                (
                    409,
                    "Uniqueness: the userName, externalId or displayName is taken",
                ),
                (412, "If-Match names another version"),
                (
                    413,
                    "The body is larger than the limit /ServiceProviderConfig advertises",
                ),
            ] {
                op["responses"][code.to_string()] = json!({
                    "description": what,
                    "content": {SCIM: {"schema": {"$ref": "#/components/schemas/Error"}}},
                });
            }
        }
        add_parameters(&mut op, path);
        op
    };
    let patch = json!({"$ref": "#/components/schemas/PatchOp"});
    let mut list_op = op(
        "get",
        &collection,
        format!("List or filter {endpoint} (filter, sortBy, startIndex, count, attributes)"),
        None,
        200,
        Some(&list),
    );
    list_op["parameters"] = json!(
        [
            ("filter", "string"),
            ("sortBy", "string"),
            ("sortOrder", "string"),
            ("startIndex", "integer"),
            ("count", "integer"),
            ("attributes", "string"),
            ("excludedAttributes", "string"),
        ]
        .iter()
        .map(|(p, ty)| json!({"name": p, "in": "query", "required": false, "schema": {"type": ty}}))
        .collect::<Vec<_>>()
    );
    vec![
        (collection.clone(), "get", list_op),
        (
            collection.clone(),
            "post",
            op(
                "post",
                &collection,
                format!("Create a {name}"),
                Some(&one),
                201,
                Some(&one),
            ),
        ),
        (
            search.clone(),
            "post",
            op(
                "post",
                &search,
                format!("Search {endpoint} (RFC 7644 §3.4.3)"),
                Some(&json!({"type": "object"})),
                200,
                Some(&list),
            ),
        ),
        (
            item.clone(),
            "get",
            op(
                "get",
                &item,
                format!("Read a {name}"),
                None,
                200,
                Some(&one),
            ),
        ),
        (
            item.clone(),
            "put",
            op(
                "put",
                &item,
                format!("Replace a {name}"),
                Some(&one),
                200,
                Some(&one),
            ),
        ),
        (
            item.clone(),
            "patch",
            op(
                "patch",
                &item,
                format!("Modify a {name} (RFC 7644 §3.5.2)"),
                Some(&patch),
                200,
                Some(&one),
            ),
        ),
        (
            item.clone(),
            "delete",
            op("delete", &item, format!("Delete a {name}"), None, 204, None),
        ),
    ]
}

/// A resource type's JSON Schema: the common attributes, its core schema's, and each
/// extension under its URN.
fn resource_schema(registry: &SchemaRegistry, kind: ResourceKind) -> Value {
    let mut properties = Map::new();
    properties.insert(
        "schemas".into(),
        json!({"type": "array", "items": {"type": "string"}}),
    );
    let mut required = vec![Value::from("schemas")];
    let core = registry.core_schema(kind);
    let attributes = registry
        .common_attributes()
        .iter()
        .chain(core.iter().flat_map(|schema| schema.attributes.iter()));
    for attribute in attributes {
        if attribute.required && attribute.mutability != Mutability::ReadOnly {
            required.push(attribute.name.into());
        }
        properties.insert(attribute.name.into(), attribute_schema(attribute));
    }
    for extension in registry.extensions(kind) {
        properties.insert(
            extension.id.into(),
            object_schema(extension.description, &extension.attributes),
        );
    }
    json!({
        "type": "object",
        "description": core.map_or("", |schema| schema.description),
        "properties": properties,
        "required": required,
    })
}

fn object_schema(description: &str, attributes: &[AttributeDef]) -> Value {
    let properties: Map<String, Value> = attributes
        .iter()
        .map(|a| (a.name.to_owned(), attribute_schema(a)))
        .collect();
    json!({"type": "object", "description": description, "properties": properties})
}

fn attribute_schema(attribute: &AttributeDef) -> Value {
    let mut one = match attribute.ty {
        AttrType::String => json!({"type": "string"}),
        AttrType::Boolean => json!({"type": "boolean"}),
        AttrType::Decimal => json!({"type": "number"}),
        AttrType::Integer => json!({"type": "integer"}),
        AttrType::DateTime => json!({"type": "string", "format": "date-time"}),
        AttrType::Binary => json!({"type": "string", "contentEncoding": "base64"}),
        AttrType::Reference => json!({"type": "string", "format": "uri-reference"}),
        AttrType::Complex => object_schema("", &attribute.sub_attributes),
    };
    if !attribute.canonical_values.is_empty() {
        one["examples"] = json!(attribute.canonical_values);
    }
    let mut schema = if attribute.multi_valued {
        json!({"type": "array", "items": one})
    } else {
        one
    };
    schema["description"] = attribute.description.as_ref().into();
    match attribute.mutability {
        Mutability::ReadOnly => schema["readOnly"] = true.into(),
        Mutability::WriteOnly => schema["writeOnly"] = true.into(),
        Mutability::ReadWrite | Mutability::Immutable => {}
    }
    schema
}

fn error_schema() -> Value {
    json!({
        "type": "object",
        "description": "A SCIM error (RFC 7644 §3.12)",
        "properties": {
            "schemas": {"type": "array", "items": {"const": "urn:ietf:params:scim:api:messages:2.0:Error"}},
            "status": {"type": "string", "description": "The HTTP status, as a string"},
            "scimType": {"type": "string", "description": "The SCIM error keyword (invalidValue, uniqueness, …)"},
            "detail": {"type": "string"},
        },
        "required": ["schemas", "status"],
    })
}

fn list_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "schemas": {"type": "array", "items": {"const": "urn:ietf:params:scim:api:messages:2.0:ListResponse"}},
            "totalResults": {"type": "integer"},
            "startIndex": {"type": "integer"},
            "itemsPerPage": {"type": "integer"},
            "Resources": {"type": "array", "items": {"type": "object"}},
        },
        "required": ["schemas", "totalResults"],
    })
}

fn patch_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "schemas": {"type": "array", "items": {"const": "urn:ietf:params:scim:api:messages:2.0:PatchOp"}},
            "Operations": {"type": "array", "items": {
                "type": "object",
                "properties": {
                    "op": {"type": "string", "description": "add, remove or replace (any case)"},
                    "path": {"type": "string"},
                    "value": {},
                },
                "required": ["op"],
            }},
        },
        "required": ["schemas", "Operations"],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_resource_type_is_documented_with_its_attributes() {
        let doc = document(&SchemaRegistry::standard());
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        for path in [
            "/scim/v2/Users",
            "/scim/v2/Users/{id}",
            "/scim/v2/Groups/.search",
        ] {
            assert!(paths.contains_key(path), "{path}");
        }
        let user = &doc["components"]["schemas"]["User"];
        assert_eq!(user["properties"]["userName"]["type"], "string");
        assert_eq!(user["properties"]["emails"]["type"], "array");
        assert_eq!(user["properties"]["id"]["readOnly"], true);
        assert!(
            user["required"]
                .as_array()
                .unwrap()
                .contains(&"userName".into())
        );
        let enterprise =
            &user["properties"]["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"];
        assert_eq!(enterprise["properties"]["manager"]["type"], "object");
        let ids: Vec<&str> = paths
            .values()
            .flat_map(|methods| methods.as_object().unwrap().values())
            .map(|op| op["operationId"].as_str().unwrap())
            .collect();
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "operation ids are unique: {ids:?}");
        assert!(ids.contains(&"getScimV2UsersById"), "{ids:?}");
    }
}
