//! `/ServiceProviderConfig`, `/Schemas` and `/ResourceTypes`, generated from the schema
//! registry and the configuration (RFC 7644 §4). They need no credentials: they describe
//! the server, not a tenant.

use std::sync::Arc;

use http::StatusCode;
use scim_core::events::EVENT_URIS;
use scim_core::paging::CURSOR_TIMEOUT_SECONDS;
use scim_core::query::{DEFAULT_COUNT, MAX_COUNT};
use scim_core::schema::catalog::roles_and_entitlements;
use scim_core::schema::{Catalog, Dialect};
use scim_core::{SchemaRegistry, ScimError};
use serde_json::{Value, json};

use crate::auth::{Authenticated, authenticate_if_any};
use crate::error::{ApiError, ApiResult};
use crate::render::{base_url, list_response, scim_json};
use crate::request::Request;
use crate::response::Response;
use crate::state::AppState;

pub(crate) const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

/// Advertises exactly what works; every feature claimed here is exercised by validators.
/// `caller`: the tenant a valid credential names, if any (its profile may want less).
pub(crate) fn service_provider_config(
    state: &AppState,
    base: &str,
    caller: Option<&Authenticated>,
) -> Value {
    let mut config = json!({
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "documentationUri": "https://github.com/scim-license/scim-license-server/blob/main/README.md",
        "patch": {"supported": true},
        "bulk": {
            "supported": true,
            "maxOperations": state.config.bulk_max_operations,
            "maxPayloadSize": state.config.bulk_max_payload_bytes,
        },
        "filter": {"supported": true, "maxResults": MAX_COUNT},
        // RFC 9865 §4: both methods; index stays the default (it was the only one before).
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": DEFAULT_COUNT,
            "maxPageSize": MAX_COUNT,
            "cursorTimeout": CURSOR_TIMEOUT_SECONDS,
        },
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A per-tenant bearer token issued with `scim-server token issue --tenant <slug>`, sent as 'Authorization: Bearer <token>'.",
            "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
            "primary": true,
        }, {
            "type": "oauth2",
            "name": "OAuth 2.0 client credentials",
            "description": "An OAuth 2.0 client created with `scim-server client create --tenant <slug>` obtains short-lived bearer tokens from POST /oauth/token (grant_type=client_credentials).",
            "specUri": "https://www.rfc-editor.org/rfc/rfc6749#section-4.4",
        }, {
            "type": "httpbasic",
            "name": "HTTP Basic",
            "description": "An OAuth 2.0 client's client_id and client_secret as HTTP Basic credentials.",
            "specUri": "https://www.rfc-editor.org/rfc/rfc7617",
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    });
    // RFC 9967 §4: asynchronous requests when the client asks (`Prefer: respond-async` on
    // /Bulk), and the SETs this server emits (webhooks and the poll feed). Clients whose
    // parsers predate RFC 9967 and refuse unknown attributes need it turned off.
    if state.config.advertise_security_events {
        config["securityEvents"] = json!({
            "asyncRequest": "request",
            "eventUris": EVENT_URIS,
        });
    }
    // draft-ietf-scim-roles-entitlements: what /Roles and /Entitlements list. A tenant of
    // the `strict` profile (RFC 7644 only) is not told of an expired draft.
    let strict = caller.is_some_and(|caller| caller.0.compatibility.strict());
    if state.config.advertise_roles_and_entitlements && !strict {
        config["RolesAndEntitlements"] = roles_and_entitlements();
    }
    config
}

pub(crate) async fn get_service_provider_config(req: &Request, state: &AppState) -> Response {
    let caller = authenticate_if_any(req, state).await;
    let base = base_url(req, &state.config);
    scim_json(
        StatusCode::OK,
        &service_provider_config(state, &base, caller.as_ref()),
    )
}

/// Whose shapes the caller's discovery is answered in: Okta's for a tenant of the `okta`
/// profile, else the IETF draft's.
fn dialect(caller: Option<&Authenticated>) -> Dialect {
    caller.map_or(Dialect::Ietf, |caller| {
        Dialect::of_profile(caller.0.compatibility.name())
    })
}

/// The registry a discovery request sees: the server's, and with a valid credential its
/// tenant's own attributes too (discovery needs no credential; a wrong one is ignored).
fn registry_for(state: &AppState, caller: Option<&Authenticated>) -> Arc<SchemaRegistry> {
    match caller {
        Some(caller) => state.schemas.registry(&caller.0.custom_attributes),
        None => Arc::clone(&state.registry),
    }
}

pub(crate) async fn list_schemas(req: &Request, state: &AppState) -> Response {
    let caller = authenticate_if_any(req, state).await;
    let base = base_url(req, &state.config);
    let registry = registry_for(state, caller.as_ref());
    let schemas: Vec<Value> = registry
        .schemas()
        .iter()
        .map(|s| registry.schema_json(s, &base))
        .collect();
    list_response(schemas.len() as u64, 1, &schemas)
}

pub(crate) async fn get_schema(req: &Request, state: &AppState, id: &str) -> ApiResult<Response> {
    let caller = authenticate_if_any(req, state).await;
    let base = base_url(req, &state.config);
    let registry = registry_for(state, caller.as_ref());
    let schema = registry
        .schema(id)
        .ok_or_else(|| ApiError(ScimError::NotFound(format!("schema {id} not found"))))?;
    Ok(scim_json(
        StatusCode::OK,
        &registry.schema_json(schema, &base),
    ))
}

pub(crate) async fn list_resource_types(req: &Request, state: &AppState) -> Response {
    let caller = authenticate_if_any(req, state).await;
    let base = base_url(req, &state.config);
    let registry = registry_for(state, caller.as_ref());
    let types: Vec<Value> = registry
        .resource_types()
        .iter()
        .map(|rt| registry.resource_type_json(rt, &base))
        .chain(
            Catalog::ALL.map(|catalog| catalog.resource_type_json(dialect(caller.as_ref()), &base)),
        )
        .collect();
    list_response(types.len() as u64, 1, &types)
}

pub(crate) async fn get_resource_type(
    req: &Request,
    state: &AppState,
    id: &str,
) -> ApiResult<Response> {
    let caller = authenticate_if_any(req, state).await;
    let base = base_url(req, &state.config);
    let catalog = Catalog::ALL
        .into_iter()
        .find(|catalog| catalog.resource_type().eq_ignore_ascii_case(id));
    if let Some(catalog) = catalog {
        let json = catalog.resource_type_json(dialect(caller.as_ref()), &base);
        return Ok(scim_json(StatusCode::OK, &json));
    }
    let registry = registry_for(state, caller.as_ref());
    let rt = registry
        .resource_types()
        .iter()
        .find(|rt| rt.kind.as_str().eq_ignore_ascii_case(id))
        .ok_or_else(|| ApiError(ScimError::NotFound(format!("resource type {id} not found"))))?;
    Ok(scim_json(
        StatusCode::OK,
        &registry.resource_type_json(rt, &base),
    ))
}
