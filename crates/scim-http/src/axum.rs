//! The API as an axum router: mount it next to the service's own routes
//! (`Router::merge`). Serve with `into_make_service_with_connect_info::<SocketAddr>()` so
//! that per-address limits see the client's address.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::routing::any;
use bytes::Bytes;

use crate::api::ScimApi;
use crate::request::{BodyTooLarge, ClientAddr};

/// The paths the API serves, each handed to [`ScimApi::handle`]; the router's other paths
/// and its fallback stay the service's.
pub fn router<S: Clone + Send + Sync + 'static>(api: ScimApi) -> Router<S> {
    let paths = [
        "/scim/v2",
        "/scim/v2/{*rest}",
        "/oauth/token",
        "/events/poll",
        "/.well-known/jwks.json",
        "/healthz",
        "/readyz",
        "/openapi.json",
        "/admin",
        "/admin/{*rest}",
    ];
    let mut router = Router::new();
    for path in paths {
        router = router.route(path, any(serve));
    }
    router.with_state(api)
}

async fn serve(State(api): State<ScimApi>, request: Request) -> http::Response<Body> {
    let (mut parts, body) = request.into_parts();
    let limit = api.body_limit();
    let bytes = match axum::body::to_bytes(body, limit + 1).await {
        Ok(bytes) if bytes.len() <= limit => bytes,
        Ok(_) => too_large(&mut parts),
        Err(error) if is_length_limit(&error) => too_large(&mut parts),
        Err(_) => return api.unreadable_body().map(Body::from),
    };
    if let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() {
        let peer = *peer;
        parts.extensions.insert(ClientAddr(peer));
    }
    let response = api.handle(http::Request::from_parts(parts, bytes)).await;
    response.map(Body::from)
}

fn too_large(parts: &mut http::request::Parts) -> Bytes {
    parts.extensions.insert(BodyTooLarge);
    Bytes::new()
}

/// Whether reading stopped at the limit (not a broken connection).
fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = source {
        if error.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = error.source();
    }
    false
}
