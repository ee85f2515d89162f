//! What every resource handler starts from: the state, the resource type of the route,
//! the authenticated caller, the query string and the base URL.

use std::sync::Arc;

use http::StatusCode;
use scim_core::project::Projection;
use scim_core::schema::TenantSchema;
use scim_core::tenant::TenantId;
use scim_core::{Resource, ResourceKind, SchemaRegistry};
use serde_json::Value;

use crate::auth::{Authenticated, authenticate};
use crate::body::json_body;
use crate::error::ApiResult;
use crate::params::QueryParams;
use crate::render::{base_url, resource_response};
use crate::request::Request;
use crate::response::Response;
use crate::state::AppState;

pub(crate) struct ResourceContext<'a> {
    pub(crate) state: &'a AppState,
    pub(crate) kind: ResourceKind,
    pub(crate) caller: Authenticated,
    pub(crate) params: QueryParams,
    pub(crate) base: String,
    /// The registry of the caller's tenant: the server's, with the tenant's own attributes.
    pub(crate) registry: Arc<SchemaRegistry>,
    /// The tenant's schema when it has attributes of its own (for the core's writes and
    /// queries).
    pub(crate) schema: Option<TenantSchema>,
    /// `METHOD /path (request <id>)`: the cause the writes of this request are audited with.
    cause: String,
}

impl<'a> ResourceContext<'a> {
    /// Authenticates the request (first: an anonymous caller learns nothing about its
    /// request), then reads its query string and its tenant's schema.
    pub(crate) async fn new(
        req: &Request,
        state: &'a AppState,
        kind: ResourceKind,
    ) -> ApiResult<Self> {
        let caller = authenticate(req, state).await?;
        let params = QueryParams::of(req)?;
        let (registry, schema) = state.schemas.resolve(&caller.0.custom_attributes);
        Ok(Self {
            state,
            kind,
            caller,
            params,
            base: base_url(req, &state.config),
            cause: req.cause(),
            registry,
            schema,
        })
    }

    pub(crate) fn tenant(&self) -> &TenantId {
        &self.caller.0.tenant
    }

    /// The caller as the core's writes record it: tenant, credential id and cause.
    pub(crate) fn writer(&self) -> scim_core::Caller {
        scim_core::Caller::new(
            self.caller.0.tenant.clone(),
            self.caller.0.credential_id.clone(),
            self.cause.clone(),
        )
        .with_schema(self.schema.clone())
        .with_deactivation(self.caller.0.compatibility.on_deactivate)
    }

    /// The request body, as the tenant's compatibility profile reads it.
    pub(crate) fn body(&self, req: &Request, limit: usize) -> ApiResult<Value> {
        let body = json_body(req, limit)?;
        Ok(self.caller.0.compatibility.read_body(body)?)
    }

    /// A bulk body (`/Bulk`, `POST /Users?bulk=true`), as the tenant's profile reads it.
    pub(crate) fn bulk_body(&self, req: &Request, limit: usize) -> ApiResult<Value> {
        let body = json_body(req, limit)?;
        Ok(self.caller.0.compatibility.read_bulk_body(body)?)
    }

    /// The projection the query string asks for.
    pub(crate) fn projection(&self) -> ApiResult<Projection> {
        self.projection_of(
            self.params.get("attributes"),
            self.params.get("excludedAttributes"),
        )
    }

    pub(crate) fn projection_of(
        &self,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> ApiResult<Projection> {
        Ok(Projection::parse(
            &self.registry,
            self.kind,
            attributes,
            excluded,
        )?)
    }

    /// One resource as the response, projected as the query string asks.
    pub(crate) fn respond(&self, status: StatusCode, resource: &Resource) -> ApiResult<Response> {
        let projection = self.projection()?;
        Ok(resource_response(
            status,
            &self.registry,
            &self.base,
            resource,
            &projection,
        ))
    }
}
