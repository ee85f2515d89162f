//! The route table.

use actix_web::{HttpRequest, HttpResponse, web};
use scim_core::{ResourceKind, ScimError};

use crate::admin;
use crate::error::ApiError;
use crate::handlers::{bulk, discovery, events, health, licenses, oauth, resources, search};
use crate::state::AppState;

/// Mounts the SCIM API under `/scim/v2` plus `/healthz`; every unknown path answers a SCIM
/// 404 and every wrong method a SCIM 405.
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
    cfg.service(endpoint("/healthz").route(web::get().to(health::healthz)));
    cfg.service(endpoint("/readyz").route(web::get().to(health::readyz)));
    cfg.service(endpoint("/openapi.json").route(web::get().to(crate::openapi::openapi)));
    cfg.service(endpoint("/admin").route(web::get().to(admin::overview)));
    cfg.service(endpoint("/admin/login").route(web::get().to(admin::login)));
    cfg.service(endpoint("/admin/tenants/{slug}").route(web::get().to(admin::tenant)));
    cfg.service(endpoint("/oauth/token").route(web::post().to(oauth::token)));
    cfg.service(endpoint("/events/poll").route(web::post().to(events::poll)));
    cfg.service(endpoint("/.well-known/jwks.json").route(web::get().to(events::jwks)));
    let mut api = web::scope("/scim/v2")
        .service(
            endpoint("/ServiceProviderConfig")
                .route(web::get().to(discovery::get_service_provider_config)),
        )
        .service(endpoint("/Schemas").route(web::get().to(discovery::list_schemas)))
        .service(endpoint("/Schemas/{id}").route(web::get().to(discovery::get_schema)))
        .service(endpoint("/ResourceTypes").route(web::get().to(discovery::list_resource_types)))
        .service(endpoint("/ResourceTypes/{id}").route(web::get().to(discovery::get_resource_type)))
        .service(endpoint("/.search").route(web::post().to(search::search_all)))
        .service(
            endpoint("/Bulk")
                .app_data(web::PayloadConfig::new(bulk_limit + 1))
                .route(web::post().to(bulk::bulk)),
        )
        .service(endpoint("/BulkJobs/{id}").route(web::get().to(bulk::get_job)))
        .service(endpoint("/Licenses").route(web::get().to(licenses::list)))
        .service(endpoint("/Licenses/{sku}").route(web::get().to(licenses::get)));
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
        .service(
            endpoint("")
                .route(web::get().to(resources::list))
                .route(web::post().to(resources::create)),
        )
        .service(endpoint("/.search").route(web::post().to(resources::search)))
        .service(
            endpoint("/{id}")
                .route(web::get().to(resources::get))
                .route(web::put().to(resources::replace))
                .route(web::patch().to(resources::patch))
                .route(web::delete().to(resources::delete)),
        )
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

async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    let error = ApiError(ScimError::MethodNotAllowed(format!(
        "{} is not allowed on {}",
        req.method(),
        req.path()
    )));
    actix_web::ResponseError::error_response(&error)
}
