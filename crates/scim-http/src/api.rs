//! The whole API as one function: an HTTP request in, its response out, on the `http`
//! crate's types. The adapters (`actix`, `axum`) only move requests and responses between
//! their server and this.

use std::sync::Arc;

use bytes::Bytes;
use scim_core::ScimError;

use crate::auth::Authenticator;
use crate::error::ApiError;
use crate::headers::add_security_headers;
use crate::request::Request;
use crate::response::{MatchedRoute, Response};
use crate::routes::dispatch;
use crate::state::AppState;

/// The SCIM API (with `/oauth/token`, the RFC 8936 poll, the JWK Set, health, OpenAPI and
/// the operator's dashboard) on one [`AppState`].
///
/// ```no_run
/// # async fn example(api: scim_http::ScimApi) {
/// let request = http::Request::get("/scim/v2/Users?filter=userName%20eq%20%22ada%22")
///     .header("authorization", "Bearer scim_…")
///     .body(bytes::Bytes::new())
///     .unwrap();
/// let response = api.handle(request).await;
/// assert_eq!(response.status(), 200);
/// # }
/// ```
#[derive(Clone)]
pub struct ScimApi {
    state: Arc<AppState>,
}

impl ScimApi {
    pub fn new(state: AppState) -> Self {
        Self {
            state: Arc::new(state),
        }
    }

    /// The API with its callers authenticated by `authenticator` (a host service's own
    /// scheme) instead of the server's credentials.
    #[must_use]
    pub fn with_authenticator(self, authenticator: Arc<dyn Authenticator>) -> Self {
        let state = (*self.state).clone().with_authenticator(authenticator);
        Self::new(state)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The most bytes of a body an adapter reads; past them it stops and marks the request
    /// [`crate::BodyTooLarge`] (the API answers 413 where the route reads its body).
    pub fn body_limit(&self) -> usize {
        let config = &self.state.config;
        config.max_body_bytes.max(config.bulk_max_payload_bytes)
    }

    /// The answer to a request whose body could not be read (the client went away or sent
    /// a malformed chunk).
    pub fn unreadable_body(&self) -> Response {
        let error = ScimError::InvalidSyntax("the request body could not be read".into());
        self.finish(ApiError(error).response())
    }

    /// Answers one request. The response's extensions carry the tenant it authenticated as
    /// ([`crate::AuthenticatedTenant`]) and the route it matched ([`MatchedRoute`]).
    pub async fn handle(&self, request: http::Request<Bytes>) -> Response {
        let request = Request::new(request);
        let (route, response) = dispatch(&request, &self.state).await;
        let mut response = self.finish(response);
        if let Some(route) = route {
            response.extensions_mut().insert(MatchedRoute(route));
        }
        if let Some(tenant) = request.into_tenant() {
            response.extensions_mut().insert(tenant);
        }
        response
    }

    fn finish(&self, mut response: Response) -> Response {
        add_security_headers(response.headers_mut(), self.state.config.https);
        response
    }
}
