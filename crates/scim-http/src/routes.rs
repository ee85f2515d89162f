//! The route table.

use actix_web::{FromRequest, Handler, HttpRequest, HttpResponse, Responder, web};
use scim_core::{ResourceKind, ScimError};

use crate::admin;
use crate::error::ApiError;
use crate::handlers::{bulk, discovery, events, health, licenses, oauth, resources, search};
use crate::state::AppState;

/// Mounts the SCIM API under `/scim/v2` plus `/healthz`; every unknown path answers a SCIM
/// 404 and every wrong method a SCIM 405. Reads answer HEAD as they answer GET (the same
/// status and headers, `ETag` included; the HTTP layer leaves the body out).
pub fn configure(cfg: &mut web::ServiceConfig, state: AppState) {
    // Bodies are read whole up to the limit (plus one byte, so "over the limit" is seen).
    let payload = web::PayloadConfig::new(state.config.max_body_bytes + 1);
    let bulk_limit = state.config.bulk_max_payload_bytes;
    let kinds: Vec<ResourceKind> = state
        .registry
        .resource_types()
        .iter()
        .map(|rt| rt.kind)
        .collect();
    cfg.app_data(web::Data::new(state)).app_data(payload);
    cfg.service(readable("/healthz", health::healthz));
    cfg.service(readable("/readyz", health::readyz));
    cfg.service(readable("/openapi.json", crate::openapi::openapi));
    cfg.service(readable("/admin", admin::overview));
    // GET only: a HEAD (a mail scanner's) must not spend a one-time login link.
    cfg.service(endpoint("/admin/login").route(web::get().to(admin::login)));
    cfg.service(readable("/admin/tenants/{slug}", admin::tenant));
    cfg.service(endpoint("/admin/logout").route(web::post().to(admin::logout)));
    cfg.service(endpoint("/oauth/token").route(web::post().to(oauth::token)));
    cfg.service(endpoint("/events/poll").route(web::post().to(events::poll)));
    cfg.service(readable("/.well-known/jwks.json", events::jwks));
    let mut api = web::scope("/scim/v2")
        .service(readable(
            "/ServiceProviderConfig",
            discovery::get_service_provider_config,
        ))
        .service(readable("/Schemas", discovery::list_schemas))
        .service(readable("/Schemas/{id}", discovery::get_schema))
        .service(readable("/ResourceTypes", discovery::list_resource_types))
        .service(readable(
            "/ResourceTypes/{id}",
            discovery::get_resource_type,
        ))
        .service(endpoint("/.search").route(web::post().to(search::search_all)))
        .service(
            endpoint("/Bulk")
                .app_data(web::PayloadConfig::new(bulk_limit + 1))
                .route(web::post().to(bulk::bulk)),
        )
        .service(readable("/BulkJobs/{id}", bulk::get_job))
        .service(readable("/Licenses", licenses::list))
        .service(readable("/Licenses/{sku}", licenses::get))
        .service(web::resource("/Me").to(me))
        .service(web::resource("/Me/{rest:.*}").to(me));
    for kind in kinds {
        api = api.service(resource_scope(kind, bulk_limit));
    }
    cfg.service(api.default_service(web::to(not_found)));
    cfg.default_service(web::to(not_found));
}

/// The routes of a resource type. `/Users` reads bodies up to the bulk limit, for
/// `POST /Users?bulk=true`; other requests are held to the normal limit when parsed.
fn resource_scope(kind: ResourceKind, bulk_limit: usize) -> actix_web::Scope {
    let scope = web::scope(&format!("/{}", kind.endpoint())).app_data(web::Data::new(kind));
    let scope = if kind == ResourceKind::User {
        scope.app_data(web::PayloadConfig::new(bulk_limit + 1))
    } else {
        scope
    };
    scope
        .service(readable("", resources::list).route(web::post().to(resources::create)))
        .service(endpoint("/.search").route(web::post().to(resources::search)))
        .service(
            readable("/{id}", resources::get)
                .route(web::put().to(resources::replace))
                .route(web::patch().to(resources::patch))
                .route(web::delete().to(resources::delete)),
        )
}

/// An endpoint that `handler` answers for GET and HEAD.
fn readable<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: Handler<Args> + Clone,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    endpoint(path)
        .route(web::get().to(handler.clone()))
        .route(web::head().to(handler))
}

/// A resource whose unrouted methods answer a SCIM 405.
pub fn endpoint(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    let error = ApiError(ScimError::NotFound(format!(
        "no such endpoint: {}",
        req.path()
    )));
    actix_web::ResponseError::error_response(&error)
}

/// `/Me` (RFC 7644 §3.11): credentials here belong to identity providers and clients, never
/// to a user, so there is no "me" to serve; 501 as the RFC asks of servers without it,
/// once the caller is authenticated.
async fn me(_caller: crate::auth::Authenticated) -> HttpResponse {
    let error = ApiError(ScimError::NotImplemented(
        "/Me is not supported: this server's credentials belong to identity providers and \
         OAuth clients, not to users"
            .into(),
    ));
    actix_web::ResponseError::error_response(&error)
}

async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    let error = ApiError(ScimError::MethodNotAllowed(format!(
        "{} is not allowed on {}",
        req.method(),
        req.path()
    )));
    actix_web::ResponseError::error_response(&error)
}
