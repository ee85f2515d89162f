//! The operator's dashboard at `/admin`: server-rendered HTML, no script.
//!
//! Never behind a SCIM credential: an operator runs `scim-server admin login-link`, opens
//! the one-time link it prints (`/admin/login?code=…`), and the server answers with a
//! session cookie (`HttpOnly`, `SameSite=Lax`, `Secure` over HTTPS, 12 hours) and a
//! redirect to the page the link names. `Lax`, not `Strict`: a link clicked in a mail or
//! chat is a cross-site navigation, and a `Strict` cookie would be left off the redirect
//! that follows, spending the link for nothing. The dashboard only has GET pages, which
//! change nothing, so `Lax` gives away no cross-site write.

mod charts;
mod html;
mod pages;

use actix_web::http::StatusCode;
use actix_web::http::header::{COOKIE, LOCATION, SET_COOKIE};
use actix_web::{HttpRequest, HttpResponse, web};
use scim_core::ScimError;
use scim_core::service::admin::SESSION_LIFETIME;
use scim_core::service::{AdminError, TenantError};

use crate::state::AppState;
use html::{esc, page};

/// The session cookie's name.
const SESSION_COOKIE: &str = "scim_admin";

const LOGIN_HELP: &str = "<p>Make a login link on the server with \
    <code>scim-server admin login-link</code> and open it in this browser; it works once, \
    for a few minutes.</p>";

/// `GET /admin/login?code=…[&next=/admin/…]`: exchanges a login link for a session.
pub(crate) async fn login(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Err(limited) = state.limit_address(state.config.trusted_proxies.client_of(&req)) {
        return too_many(&limited);
    }
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let Some(code) = param("code").filter(|c| !c.is_empty()) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Log in",
            &format!(
                "<h1>Log in</h1><p>This address needs the code of a login link.</p>{LOGIN_HELP}"
            ),
        );
    };
    // Decided before the link is spent, so that no answer after it can fail.
    let next = next_page(param("next"));
    match state.admin.open_session(code).await {
        Ok(Some(session)) => {
            let secure = if https(&req, &state) { "; Secure" } else { "" };
            let cookie = format!(
                "{SESSION_COOKIE}={session}; Path=/admin; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
                SESSION_LIFETIME.num_seconds()
            );
            HttpResponse::SeeOther()
                .insert_header((SET_COOKIE, cookie))
                .insert_header((LOCATION, next))
                .insert_header(("Referrer-Policy", "no-referrer"))
                .insert_header(("Cache-Control", "no-store"))
                .finish()
        }
        Ok(None) => page(
            StatusCode::UNAUTHORIZED,
            "Log in",
            &format!(
                "<h1>This login link does not work</h1><p>It was used already, has expired, \
                 or was mistyped.</p>{LOGIN_HELP}"
            ),
        ),
        Err(error) => unavailable(&error.to_string()),
    }
}

/// Where a login goes: a dashboard page the link named, else the overview. Only paths
/// under `/admin`, in visible ASCII, are followed, so a link cannot send the browser
/// elsewhere nor make a header that cannot be sent.
fn next_page(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if (path == "/admin" || path.starts_with("/admin/"))
                && !path.contains("//")
                && !path.contains('\\')
                && path.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            path
        }
        _ => "/admin",
    }
}

/// Whether the browser reached us over HTTPS: the public URL's scheme when one is
/// configured (a proxy may not say), else the request's.
fn https(req: &HttpRequest, state: &AppState) -> bool {
    match &state.config.public_url {
        Some(url) => url.starts_with("https://"),
        None => req.connection_info().scheme() == "https",
    }
}

/// `GET /admin`: every tenant and its pools.
pub(crate) async fn overview(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Err(refused) = check_session(&req, &state).await {
        return refused;
    }
    match state.admin.overview().await {
        Ok(tenants) => page(StatusCode::OK, "Tenants", &pages::overview(&tenants)),
        Err(error) => failed(&error),
    }
}

/// `GET /admin/tenants/{slug}`: one tenant's seats, history, changes, risks, deliveries.
pub(crate) async fn tenant(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> HttpResponse {
    if let Err(refused) = check_session(&req, &state).await {
        return refused;
    }
    match state.admin.tenant_dashboard(&slug).await {
        Ok(dashboard) => page(
            StatusCode::OK,
            &dashboard.tenant.slug,
            &pages::tenant(&dashboard),
        ),
        Err(error) => failed(&error),
    }
}

/// Passes when the request carries a live session cookie; else the page to answer.
async fn check_session(req: &HttpRequest, state: &AppState) -> Result<(), HttpResponse> {
    let Some(secret) = session_cookie(req) else {
        return Err(login_needed());
    };
    if let Err(limited) = state.limit_address(state.config.trusted_proxies.client_of(req)) {
        return Err(too_many(&limited));
    }
    match state.admin.session_valid(&secret).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(login_needed()),
        Err(error) => Err(unavailable(&error.to_string())),
    }
}

fn session_cookie(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get_all(COOKIE)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// 429: the client address is over the per-address limit.
fn too_many(limited: &ScimError) -> HttpResponse {
    let mut response = page(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many requests",
        &format!(
            "<h1>Too many requests</h1><p>{}.</p>",
            esc(&limited.to_string())
        ),
    );
    if let ScimError::RateLimited { retry_after } = limited
        && let Ok(value) = actix_web::http::header::HeaderValue::from_str(&retry_after.to_string())
    {
        response
            .headers_mut()
            .insert(actix_web::http::header::RETRY_AFTER, value);
    }
    response
}

fn login_needed() -> HttpResponse {
    page(
        StatusCode::UNAUTHORIZED,
        "Log in",
        &format!("<h1>Log in to the dashboard</h1>{LOGIN_HELP}"),
    )
}

fn failed(error: &AdminError) -> HttpResponse {
    match error {
        AdminError::Tenant(TenantError::UnknownTenant(slug)) => page(
            StatusCode::NOT_FOUND,
            "No such tenant",
            &format!(
                "<h1>No tenant '{}'</h1><p><a href=\"/admin\">All tenants</a></p>",
                esc(slug)
            ),
        ),
        other => unavailable(&other.to_string()),
    }
}

fn unavailable(cause: &str) -> HttpResponse {
    tracing::warn!(error = %cause, "dashboard unavailable");
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Unavailable",
        "<h1>The store is unavailable</h1><p>Try again in a moment.</p>",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_only_lead_to_dashboard_pages() {
        let cases = [
            (None, "/admin"),
            (Some("/admin/tenants/acme"), "/admin/tenants/acme"),
            (Some("/admin"), "/admin"),
            (Some("https://evil.example/admin"), "/admin"),
            (Some("//evil.example/admin"), "/admin"),
            (Some("/admin//evil.example"), "/admin"),
            (Some("/administrator"), "/admin"),
            (Some("/admin/\\evil"), "/admin"),
            (Some("/admin/tenants/acme\r\nSet-Cookie: x=1"), "/admin"),
            (Some("/admin/tenants/zoë"), "/admin"),
        ];
        for (next, expected) in cases {
            assert_eq!(next_page(next), expected, "{next:?}");
        }
    }
}
