//! What every resource handler starts from: the state, the resource type of the route,
//! the authenticated caller, the query string and the base URL.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, dev::Payload, web};
use scim_core::project::Projection;
use scim_core::schema::TenantSchema;
use scim_core::tenant::TenantId;
use scim_core::{Resource, ResourceKind, SchemaRegistry, ScimError};
use serde_json::Value;

use crate::auth::Authenticated;
use crate::body::{Body, json_body};
use crate::error::{ApiError, ApiResult};
use crate::params::QueryParams;
use crate::render::{base_url, resource_response};
use crate::state::AppState;

pub(crate) struct ResourceContext {
    pub(crate) state: web::Data<AppState>,
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

/// The id the server gave the request (echoed as `X-Request-Id`); its middleware puts it in
/// the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// `METHOD /path (request <id>)`: what the writes of a request are audited with.
pub(crate) fn cause_of(req: &HttpRequest) -> String {
    match req.extensions().get::<RequestId>() {
        Some(RequestId(id)) => format!("{} {} (request {id})", req.method(), req.path()),
        None => format!("{} {}", req.method(), req.path()),
    }
}

impl ResourceContext {
    pub(crate) fn tenant(&self) -> &TenantId {
        &self.caller.0.tenant
    }

    /// The caller as the core's writes record it: tenant, credential id and cause.
    pub(crate) fn writer(&self) -> scim_core::Caller {
        scim_core::Caller::new(
            self.caller.0.tenant.clone(),
            format!("token:{}", self.caller.0.credential_id),
            self.cause.clone(),
        )
        .with_schema(self.schema.clone())
        .with_deactivation(self.caller.0.compatibility.on_deactivate)
    }

    /// The request body, as the tenant's compatibility profile reads it.
    pub(crate) fn body(&self, req: &HttpRequest, body: Body, limit: usize) -> ApiResult<Value> {
        let body = json_body(req, body, limit)?;
        Ok(self.caller.0.compatibility.read_body(body)?)
    }

    /// A bulk body (`/Bulk`, `POST /Users?bulk=true`), as the tenant's profile reads it.
    pub(crate) fn bulk_body(
        &self,
        req: &HttpRequest,
        body: Body,
        limit: usize,
    ) -> ApiResult<Value> {
        let body = json_body(req, body, limit)?;
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
    pub(crate) fn respond(
        &self,
        status: StatusCode,
        resource: &Resource,
    ) -> ApiResult<HttpResponse> {
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

impl FromRequest for ResourceContext {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let kind = req
            .app_data::<web::Data<ResourceKind>>()
            .map(|k| *k.get_ref());
        let params = QueryParams::of(req);
        let caller = Authenticated::from_request(req, payload);
        let base = state.as_ref().map(|s| base_url(req, &s.config));
        let cause = cause_of(req);
        Box::pin(async move {
            // Authentication first: an anonymous caller learns nothing about its request.
            let caller = caller.await?;
            let (Some(state), Some(kind), Some(base)) = (state, kind, base) else {
                return Err(ApiError(ScimError::Internal));
            };
            let (registry, schema) = state.schemas.resolve(&caller.0.custom_attributes);
            Ok(Self {
                state,
                kind,
                caller,
                params: params?,
                base,
                cause,
                registry,
                schema,
            })
        })
    }
}
