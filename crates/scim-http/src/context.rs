//! What every resource handler starts from: the state, the resource type of the route,
//! the authenticated caller, the query string and the base URL.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, web};
use scim_core::project::Projection;
use scim_core::tenant::TenantId;
use scim_core::{Resource, ResourceKind, ScimError};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::params::QueryParams;
use crate::render::{base_url, resource_response};
use crate::state::AppState;

pub(crate) struct ResourceContext {
    pub(crate) state: web::Data<AppState>,
    pub(crate) kind: ResourceKind,
    pub(crate) caller: Caller,
    pub(crate) params: QueryParams,
    pub(crate) base: String,
}

impl ResourceContext {
    pub(crate) fn tenant(&self) -> &TenantId {
        &self.caller.0.tenant
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
            &self.state.registry,
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
            &self.state.registry,
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
        let caller = Caller::from_request(req, payload);
        let base = state.as_ref().map(|s| base_url(req, &s.config));
        Box::pin(async move {
            // Authentication first: an anonymous caller learns nothing about its request.
            let caller = caller.await?;
            let (Some(state), Some(kind), Some(base)) = (state, kind, base) else {
                return Err(ApiError(ScimError::Internal));
            };
            Ok(Self {
                state,
                kind,
                caller,
                params: params?,
                base,
            })
        })
    }
}
