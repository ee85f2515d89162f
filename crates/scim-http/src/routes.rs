//! The route table: which handler answers which method on which path. Every unknown path
//! answers a SCIM 404 and every wrong method a SCIM 405. Reads answer HEAD as they answer
//! GET (the same status and headers, `ETag` included; the HTTP server leaves the body
//! out).

use http::Method;
use percent_encoding::percent_decode_str;
use scim_core::schema::Catalog;
use scim_core::{ResourceKind, ScimError};

use crate::admin;
use crate::auth::authenticate;
use crate::context::ResourceContext;
use crate::error::{ApiError, ApiResult, respond};
use crate::handlers::{bulk, discovery, events, health, licenses, oauth, resources, search};
use crate::request::Request;
use crate::response::Response;
use crate::state::AppState;

/// A path the API serves, with what its pattern names.
enum Route {
    Healthz,
    Readyz,
    OpenApi,
    Admin,
    AdminLogin,
    AdminTenant(String),
    AdminPortal(String),
    AdminLogout,
    Portal,
    PortalOpen,
    PortalLogout,
    PortalSetup,
    PortalActivity,
    PortalCredentials,
    PortalRotate,
    PortalRevoke,
    PortalLicenses,
    PortalPreview,
    PortalMap,
    PortalGuide(String),
    PortalStatus(String),
    PortalFederate,
    OAuthToken,
    EventsPoll,
    Jwks,
    ServiceProviderConfig,
    Schemas,
    Schema(String),
    ResourceTypes,
    ResourceType(String),
    SearchAll,
    Bulk,
    BulkJob(String),
    /// `/Licenses`, `/Entitlements`, `/Roles`.
    Catalog(Catalog),
    CatalogItem(Catalog, String),
    Me,
    Resources(ResourceKind),
    ResourceSearch(ResourceKind),
    Resource(ResourceKind, String),
}

impl Route {
    /// What a SCIM request of this route addressed, for the tenant's activity log (its
    /// kind, and the id its path names); `None` for what is not SCIM provisioning (health,
    /// the dashboard, the token endpoint, the event poll, the JWK Set, OpenAPI).
    fn activity(&self) -> Option<(&'static str, Option<String>)> {
        let kind = |kind: &'static str| Some((kind, None));
        match self {
            Self::Healthz
            | Self::Readyz
            | Self::OpenApi
            | Self::Admin
            | Self::AdminLogin
            | Self::AdminTenant(_)
            | Self::AdminPortal(_)
            | Self::AdminLogout
            | Self::Portal
            | Self::PortalOpen
            | Self::PortalLogout
            | Self::PortalSetup
            | Self::PortalActivity
            | Self::PortalCredentials
            | Self::PortalRotate
            | Self::PortalRevoke
            | Self::PortalLicenses
            | Self::PortalPreview
            | Self::PortalMap
            | Self::PortalFederate
            | Self::PortalGuide(_)
            | Self::PortalStatus(_)
            | Self::OAuthToken
            | Self::EventsPoll
            | Self::Jwks => None,
            Self::ServiceProviderConfig => kind("ServiceProviderConfig"),
            Self::Schemas | Self::Schema(_) => kind("Schema"),
            Self::ResourceTypes | Self::ResourceType(_) => kind("ResourceType"),
            Self::SearchAll => kind("Search"),
            Self::Bulk => kind("Bulk"),
            Self::BulkJob(id) => Some(("Bulk", Some(id.clone()))),
            Self::Catalog(catalog) => kind(catalog.resource_type()),
            Self::CatalogItem(catalog, id) => Some((catalog.resource_type(), Some(id.clone()))),
            Self::Me => kind("Me"),
            Self::Resources(resource) | Self::ResourceSearch(resource) => kind(resource.as_str()),
            Self::Resource(resource, id) => Some((resource.as_str(), Some(id.clone()))),
        }
    }
}

/// The methods a route answers.
#[derive(Clone, Copy)]
enum Methods {
    /// GET and HEAD.
    Read,
    /// GET only (a HEAD, a mail scanner's, must not spend a one-time login link).
    GetOnly,
    Post,
    /// GET, HEAD and POST (a list and its create).
    ReadPost,
    /// GET, HEAD, PUT, PATCH and DELETE (one resource).
    ReadWrite,
    /// Whatever the method (`/Me`).
    Any,
}

impl Methods {
    fn allow(self, method: &Method) -> bool {
        let read = *method == Method::GET || *method == Method::HEAD;
        match self {
            Self::Read => read,
            Self::GetOnly => *method == Method::GET,
            Self::Post => *method == Method::POST,
            Self::ReadPost => read || *method == Method::POST,
            Self::ReadWrite => {
                read || [Method::PUT, Method::PATCH, Method::DELETE].contains(method)
            }
            Self::Any => true,
        }
    }
}

impl Route {
    /// The route of `path`, for the resource types of `kinds`; `None`: no such endpoint.
    fn of(path: &str, kinds: &[ResourceKind]) -> Option<Self> {
        let fixed = match path {
            "/healthz" => Some(Self::Healthz),
            "/readyz" => Some(Self::Readyz),
            "/openapi.json" => Some(Self::OpenApi),
            "/admin" => Some(Self::Admin),
            "/admin/login" => Some(Self::AdminLogin),
            "/admin/logout" => Some(Self::AdminLogout),
            "/portal" => Some(Self::Portal),
            "/portal/open" => Some(Self::PortalOpen),
            "/portal/logout" => Some(Self::PortalLogout),
            "/portal/setup" => Some(Self::PortalSetup),
            "/portal/activity" => Some(Self::PortalActivity),
            "/portal/credentials" => Some(Self::PortalCredentials),
            "/portal/credentials/rotate" => Some(Self::PortalRotate),
            "/portal/credentials/revoke" => Some(Self::PortalRevoke),
            "/portal/licenses" => Some(Self::PortalLicenses),
            "/portal/licenses/preview" => Some(Self::PortalPreview),
            "/portal/licenses/apply" => Some(Self::PortalMap),
            "/oauth/token" => Some(Self::OAuthToken),
            "/events/poll" => Some(Self::EventsPoll),
            "/.well-known/jwks.json" => Some(Self::Jwks),
            _ => None,
        };
        if fixed.is_some() {
            return fixed;
        }
        if let Some(rest) = path.strip_prefix("/portal/setup/") {
            return match rest.split_once('/') {
                None => segment(rest).map(Self::PortalGuide),
                Some(("entra", "federation")) => Some(Self::PortalFederate),
                Some((idp, "status")) => segment(idp).map(Self::PortalStatus),
                Some(_) => None,
            };
        }
        if let Some(rest) = path.strip_prefix("/admin/tenants/") {
            return match rest.split_once('/') {
                None => segment(rest).map(Self::AdminTenant),
                Some((slug, "portal")) => segment(slug).map(Self::AdminPortal),
                Some(_) => None,
            };
        }
        let rest = path.strip_prefix("/scim/v2/")?;
        if rest == "Me" || rest.starts_with("Me/") {
            return Some(Self::Me);
        }
        let (first, second) = match rest.split_once('/') {
            Some((first, second)) => (first, Some(second)),
            None => (rest, None),
        };
        let kind = kinds.iter().find(|kind| kind.endpoint() == first).copied();
        Some(match (first, second) {
            ("ServiceProviderConfig", None) => Self::ServiceProviderConfig,
            ("Schemas", None) => Self::Schemas,
            ("Schemas", Some(id)) => Self::Schema(segment(id)?),
            ("ResourceTypes", None) => Self::ResourceTypes,
            ("ResourceTypes", Some(id)) => Self::ResourceType(segment(id)?),
            (".search", None) => Self::SearchAll,
            ("Bulk", None) => Self::Bulk,
            ("BulkJobs", Some(id)) => Self::BulkJob(segment(id)?),
            (endpoint, None) if Catalog::at(endpoint).is_some() => {
                Self::Catalog(Catalog::at(endpoint)?)
            }
            (endpoint, Some(id)) if Catalog::at(endpoint).is_some() => {
                Self::CatalogItem(Catalog::at(endpoint)?, segment(id)?)
            }
            (_, None) => Self::Resources(kind?),
            (_, Some(".search")) => Self::ResourceSearch(kind?),
            (_, Some(id)) => Self::Resource(kind?, segment(id)?),
        })
    }

    fn methods(&self) -> Methods {
        match self {
            Self::AdminLogin | Self::PortalOpen => Methods::GetOnly,
            Self::PortalGuide(_) => Methods::ReadPost,
            Self::AdminLogout
            | Self::AdminPortal(_)
            | Self::PortalLogout
            | Self::PortalRotate
            | Self::PortalRevoke
            | Self::PortalPreview
            | Self::PortalMap
            | Self::PortalFederate
            | Self::OAuthToken
            | Self::EventsPoll
            | Self::SearchAll
            | Self::Bulk
            | Self::ResourceSearch(_) => Methods::Post,
            Self::Resources(_) => Methods::ReadPost,
            Self::Resource(..) => Methods::ReadWrite,
            Self::Me => Methods::Any,
            _ => Methods::Read,
        }
    }

    /// The route's pattern: what metrics label the request with.
    fn pattern(&self) -> &'static str {
        match self {
            Self::Healthz => "/healthz",
            Self::Readyz => "/readyz",
            Self::OpenApi => "/openapi.json",
            Self::Admin => "/admin",
            Self::AdminLogin => "/admin/login",
            Self::AdminTenant(_) => "/admin/tenants/{slug}",
            Self::AdminPortal(_) => "/admin/tenants/{slug}/portal",
            Self::AdminLogout => "/admin/logout",
            Self::Portal => "/portal",
            Self::PortalOpen => "/portal/open",
            Self::PortalLogout => "/portal/logout",
            Self::PortalSetup => "/portal/setup",
            Self::PortalActivity => "/portal/activity",
            Self::PortalCredentials => "/portal/credentials",
            Self::PortalRotate => "/portal/credentials/rotate",
            Self::PortalRevoke => "/portal/credentials/revoke",
            Self::PortalLicenses => "/portal/licenses",
            Self::PortalPreview => "/portal/licenses/preview",
            Self::PortalMap => "/portal/licenses/apply",
            Self::PortalGuide(_) => "/portal/setup/{idp}",
            Self::PortalStatus(_) => "/portal/setup/{idp}/status",
            Self::PortalFederate => "/portal/setup/entra/federation",
            Self::OAuthToken => "/oauth/token",
            Self::EventsPoll => "/events/poll",
            Self::Jwks => "/.well-known/jwks.json",
            Self::ServiceProviderConfig => "/scim/v2/ServiceProviderConfig",
            Self::Schemas => "/scim/v2/Schemas",
            Self::Schema(_) => "/scim/v2/Schemas/{id}",
            Self::ResourceTypes => "/scim/v2/ResourceTypes",
            Self::ResourceType(_) => "/scim/v2/ResourceTypes/{id}",
            Self::SearchAll => "/scim/v2/.search",
            Self::Bulk => "/scim/v2/Bulk",
            Self::BulkJob(_) => "/scim/v2/BulkJobs/{id}",
            Self::Catalog(Catalog::Licenses) => "/scim/v2/Licenses",
            Self::CatalogItem(Catalog::Licenses, _) => "/scim/v2/Licenses/{sku}",
            Self::Catalog(Catalog::Entitlements) => "/scim/v2/Entitlements",
            Self::CatalogItem(Catalog::Entitlements, _) => "/scim/v2/Entitlements/{id}",
            Self::Catalog(Catalog::Roles) => "/scim/v2/Roles",
            Self::CatalogItem(Catalog::Roles, _) => "/scim/v2/Roles/{id}",
            Self::Me => "/scim/v2/Me",
            Self::Resources(ResourceKind::User) => "/scim/v2/Users",
            Self::Resources(ResourceKind::Group) => "/scim/v2/Groups",
            Self::ResourceSearch(ResourceKind::User) => "/scim/v2/Users/.search",
            Self::ResourceSearch(ResourceKind::Group) => "/scim/v2/Groups/.search",
            Self::Resource(ResourceKind::User, _) => "/scim/v2/Users/{id}",
            Self::Resource(ResourceKind::Group, _) => "/scim/v2/Groups/{id}",
        }
    }
}

/// One path segment, percent-decoded; `None` when it is empty, holds a `/`, or is not
/// UTF-8 once decoded.
pub(crate) fn segment(text: &str) -> Option<String> {
    if text.is_empty() || text.contains('/') {
        return None;
    }
    percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

/// Answers `req`: the handler of its route, or the SCIM error of a path or method the API
/// does not serve. Also names the route matched, for metrics.
pub(crate) async fn dispatch(req: &Request, state: &AppState) -> (Option<&'static str>, Response) {
    let management = req
        .path()
        .strip_prefix(crate::management::BASE)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    if management {
        return crate::management::dispatch(req, state).await;
    }
    let kinds: Vec<ResourceKind> = state
        .registry
        .resource_types()
        .iter()
        .map(|rt| rt.kind)
        .collect();
    let Some(route) = Route::of(req.path(), &kinds) else {
        let error = ScimError::NotFound(format!("no such endpoint: {}", req.path()));
        return (None, ApiError(error).response());
    };
    let pattern = route.pattern();
    if !route.methods().allow(req.method()) {
        let error = ScimError::MethodNotAllowed(format!(
            "{} is not allowed on {}",
            req.method(),
            req.path()
        ));
        return (Some(pattern), ApiError(error).response());
    }
    let activity = route.activity();
    let result = answer(route, req, state).await;
    if let Some((kind, id)) = activity {
        let (status, refusal) = match &result {
            Ok(response) => (response.status().as_u16(), None),
            Err(error) => (error.0.status(), Some(&error.0)),
        };
        crate::activity::record(req, state, kind, id.as_deref(), status, refusal);
    }
    (Some(pattern), respond(result))
}

/// The handler's answer.
async fn answer(route: Route, req: &Request, state: &AppState) -> ApiResult<Response> {
    let method = req.method();
    let read = *method == Method::GET || *method == Method::HEAD;
    Ok(match route {
        Route::Healthz => health::healthz(state).await,
        Route::Readyz => health::readyz(state).await,
        Route::OpenApi => crate::openapi::openapi(state),
        Route::Admin => admin::overview(req, state).await,
        Route::AdminLogin => admin::login(req, state).await,
        Route::Portal => crate::portal::home(req, state).await,
        Route::PortalOpen => crate::portal::open(req, state).await,
        Route::PortalLogout => crate::portal::logout(req, state).await,
        Route::PortalSetup => crate::portal::choose(req, state).await,
        Route::PortalActivity => crate::portal::activity(req, state).await,
        Route::PortalCredentials => crate::portal::credentials(req, state).await,
        Route::PortalRotate => crate::portal::rotate(req, state).await,
        Route::PortalRevoke => crate::portal::revoke_credential(req, state).await,
        Route::PortalLicenses => crate::portal::licenses(req, state).await,
        Route::PortalPreview => crate::portal::preview(req, state).await,
        Route::PortalMap => crate::portal::apply(req, state).await,
        Route::PortalGuide(idp) if *method == Method::POST => {
            crate::portal::create(req, state, &idp).await
        }
        Route::PortalGuide(idp) => crate::portal::guide(req, state, &idp).await,
        Route::PortalStatus(idp) => crate::portal::status(req, state, &idp).await,
        Route::PortalFederate => crate::portal::federate(req, state).await,
        Route::AdminTenant(slug) => admin::tenant(req, state, &slug).await,
        Route::AdminPortal(slug) => admin::open_portal(req, state, &slug).await,
        Route::AdminLogout => admin::logout(req, state).await,
        Route::OAuthToken => oauth::token(req, state).await,
        Route::EventsPoll => events::poll(req, state).await?,
        Route::Jwks => events::jwks(state),
        Route::ServiceProviderConfig => discovery::get_service_provider_config(req, state).await,
        Route::Schemas => discovery::list_schemas(req, state).await,
        Route::Schema(id) => discovery::get_schema(req, state, &id).await?,
        Route::ResourceTypes => discovery::list_resource_types(req, state).await,
        Route::ResourceType(id) => discovery::get_resource_type(req, state, &id).await?,
        Route::SearchAll => search::search_all(req, state).await?,
        Route::Bulk => bulk::bulk(req, state).await?,
        Route::BulkJob(id) => bulk::get_job(req, state, &id).await?,
        Route::Catalog(catalog) => licenses::list(req, state, catalog).await?,
        Route::CatalogItem(catalog, id) => licenses::get(req, state, catalog, &id).await?,
        Route::Me => me(req, state).await?,
        Route::Resources(kind) => {
            let ctx = ResourceContext::new(req, state, kind).await?;
            if read {
                resources::list(ctx).await?
            } else {
                resources::create(req, ctx).await?
            }
        }
        Route::ResourceSearch(kind) => {
            let ctx = ResourceContext::new(req, state, kind).await?;
            resources::search(req, ctx).await?
        }
        Route::Resource(kind, id) => {
            let ctx = ResourceContext::new(req, state, kind).await?;
            match *method {
                Method::PUT => resources::replace(req, ctx, &id).await?,
                Method::PATCH => resources::patch(req, ctx, &id).await?,
                Method::DELETE => resources::delete(req, ctx, &id).await?,
                _ => resources::get(req, ctx, &id).await?,
            }
        }
    })
}

/// `/Me` (RFC 7644 §3.11): credentials here belong to identity providers and clients, never
/// to a user, so there is no "me" to serve; 501 as the RFC asks of servers without it,
/// once the caller is authenticated.
async fn me(req: &Request, state: &AppState) -> ApiResult<Response> {
    authenticate(req, state).await?;
    Err(ApiError(ScimError::NotImplemented(
        "/Me is not supported: this server's credentials belong to identity providers and \
         OAuth clients, not to users"
            .into(),
    )))
}
