//! The API as an actix-web service: every request actix routes here is handed to
//! [`ScimApi::handle`] as it came, and its answer sent back as it is.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use bytes::Bytes;

use crate::api::ScimApi;
use crate::auth::PeerCertificate;
use crate::headers::add_security_headers;
use crate::request::{BodyTooLarge, ClientAddr, RequestId, Secure};
use crate::response::{AuthenticatedTenant, MatchedRoute};

/// Serves the API for every path the app does not route itself (mount the app's own
/// routes, `/metrics` say, before this). A request's extensions get the tenant it
/// authenticated as ([`AuthenticatedTenant`]) and the route it matched ([`MatchedRoute`]),
/// for the app's middleware to log and count.
pub fn configure(cfg: &mut web::ServiceConfig, api: ScimApi) {
    // Bodies are read whole up to the limit (plus one byte, so "over the limit" is seen).
    let payload = web::PayloadConfig::new(api.body_limit() + 1);
    cfg.app_data(web::Data::new(api)).app_data(payload);
    cfg.default_service(web::to(serve));
}

async fn serve(
    req: HttpRequest,
    body: Result<web::Bytes, actix_web::Error>,
    api: web::Data<ScimApi>,
) -> HttpResponse {
    let mut request = http::Request::new(Bytes::new());
    *request.method_mut() =
        http::Method::from_bytes(req.method().as_str().as_bytes()).unwrap_or_default();
    *request.uri_mut() = req.uri().to_string().parse().unwrap_or_default();
    for (name, value) in req.headers() {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_str().as_bytes()),
            http::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            request.headers_mut().append(name, value);
        }
    }
    let extensions = request.extensions_mut();
    match body {
        Ok(bytes) if bytes.len() <= api.body_limit() => *request.body_mut() = bytes,
        Ok(_) => {
            extensions.insert(BodyTooLarge);
        }
        Err(error) if error.as_response_error().status_code().as_u16() == 413 => {
            extensions.insert(BodyTooLarge);
        }
        Err(_) => return to_actix(&req, api.unreadable_body()),
    }
    let extensions = request.extensions_mut();
    if let Some(peer) = req.peer_addr() {
        extensions.insert(ClientAddr(peer));
    }
    if req.app_config().secure() {
        extensions.insert(Secure);
    }
    if let Some(certificate) = req.conn_data::<PeerCertificate>() {
        extensions.insert(certificate.clone());
    }
    if let Some(id) = req.extensions().get::<RequestId>() {
        extensions.insert(id.clone());
    }
    let response = api.handle(request).await;
    to_actix(&req, response)
}

/// The API's response as actix sends it; what it names (tenant, route) goes in the
/// request's extensions.
fn to_actix(req: &HttpRequest, response: http::Response<Bytes>) -> HttpResponse {
    let (parts, body) = response.into_parts();
    if let Some(tenant) = parts.extensions.get::<AuthenticatedTenant>() {
        req.extensions_mut().insert(tenant.clone());
    }
    if let Some(route) = parts.extensions.get::<MatchedRoute>() {
        req.extensions_mut().insert(*route);
    }
    let status = actix_web::http::StatusCode::from_u16(parts.status.as_u16())
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut out = HttpResponse::build(status);
    for (name, value) in &parts.headers {
        if let (Ok(name), Ok(value)) = (
            actix_web::http::header::HeaderName::from_bytes(name.as_str().as_bytes()),
            actix_web::http::header::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            out.append_header((name, value));
        }
    }
    out.body(body)
}

/// The middleware adding the headers every response carries
/// (`actix_web::middleware::from_fn(security_headers)`), for the app's own routes (the
/// API's responses carry them already).
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let https = req
        .app_data::<web::Data<ScimApi>>()
        .is_some_and(|api| api.state().config.https);
    let mut response = next.call(req).await?;
    let mut headers = http::HeaderMap::new();
    add_security_headers(&mut headers, https);
    for (name, value) in &headers {
        let existing = response.headers().contains_key(name.as_str());
        // `Cache-Control` is only a default: a handler's own policy stays.
        if existing && name == http::header::CACHE_CONTROL {
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            actix_web::http::header::HeaderName::from_bytes(name.as_str().as_bytes()),
            actix_web::http::header::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    Ok(response)
}

/// A resource of the app's own (`/metrics`) whose other methods answer a SCIM 405, as the
/// API's paths do.
pub fn endpoint(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    let error = scim_core::ScimError::MethodNotAllowed(format!(
        "{} is not allowed on {}",
        req.method(),
        req.path()
    ));
    to_actix(&req, crate::ApiError(error).response())
}
