//! The credential chooses the tenant: `Authorization: Bearer <token>`.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use scim_core::ScimError;
use scim_core::tenant::Principal;

use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated caller; extracting it authenticates the request.
pub(crate) struct Caller(pub Principal);

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req);
        Box::pin(async move {
            let state = state.ok_or(ApiError(ScimError::Internal))?;
            let token = token?;
            let principal = state.tenants.authenticate_bearer(&token).await?;
            tracing::Span::current()
                .record("tenant", principal.tenant_slug.as_str())
                .record("credential", principal.credential_id.as_str());
            Ok(Caller(principal))
        })
    }
}

fn bearer_token(req: &HttpRequest) -> Result<String, ApiError> {
    let missing = || {
        ApiError(ScimError::Unauthorized(
            "authentication required: send 'Authorization: Bearer <token>'".into(),
        ))
    };
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(missing)?;
    let value = value.to_str().map_err(|_| missing())?.trim();
    let (scheme, token) = value.split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(missing());
    }
    Ok(token.trim().to_owned())
}
