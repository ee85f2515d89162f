//! The operator's dashboard at `/admin`: server-rendered HTML, no script.
//!
//! Never behind a SCIM credential: an operator runs `scim-server admin login-link --tenant
//! acme` (or `--all-tenants`), opens the one-time link it prints (`/admin/login?code=…`),
//! and the server answers with a session cookie and a redirect to the page the link
//! names. The session sees what the link was made for: one tenant (every other tenant's
//! page answers as an unknown tenant's) or every tenant. It ends after 12 hours, on
//! logout (the button on every page: `POST /admin/logout`), or when the operator revokes
//! it (`admin revoke`).
//!
//! The cookie is `__Host-scim_admin`: `Secure`, `Path=/`, no `Domain` (so no other host
//! or path can set or shadow it), `HttpOnly`, `SameSite=Lax`. `Lax`, not `Strict`: a link
//! clicked in a mail or chat is a cross-site navigation, and a `Strict` cookie would be
//! left off the redirect that follows, spending the link for nothing. The pages change
//! nothing; the one form (logout) is a POST, which `Lax` keeps from other sites, and which
//! is refused unless the browser says it comes from this origin (CSRF). A `Secure` cookie
//! needs HTTPS (browsers make an exception for localhost): logging in over plain HTTP to
//! another host is refused with a page saying so.

mod charts;
pub(crate) mod html;
mod pages;

use http::StatusCode;
use http::header::{
    CACHE_CONTROL, COOKIE, HeaderValue, LOCATION, REFERRER_POLICY, RETRY_AFTER, SET_COOKIE,
};
use scim_core::ScimError;
use scim_core::admin::{AdminSession, Revocation, SessionScope};
use scim_core::service::admin::SESSION_LIFETIME;
use scim_core::service::{AdminError, LookupLimit, TenantError};

use crate::request::Request;
use crate::response::{Reply, Response};
use crate::state::AppState;
use html::{esc, page, page_for};

/// The session cookie's name: `__Host-` makes browsers insist on `Secure`, `Path=/` and
/// no `Domain`.
const SESSION_COOKIE: &str = "__Host-scim_admin";

const LOGIN_HELP: &str = "<p>Make a login link on the server with \
    <code>scim-server admin login-link</code> and open it in this browser; it works once, \
    for a few minutes.</p>";

/// `GET /admin/login?code=…[&next=/admin/…]`: exchanges a login link for a session.
pub(crate) async fn login(req: &Request, state: &AppState) -> Response {
    if let Err(limited) = state.limit_address(state.config.trusted_proxies.client_of(req.parts())) {
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
    if !https(req, state) && !is_loopback_host(req) {
        return page(
            StatusCode::BAD_REQUEST,
            "Log in",
            "<h1>The dashboard needs HTTPS</h1><p>Its session cookie is <code>Secure</code>: \
             browsers keep it only over HTTPS (or on localhost). Serve HTTPS \
             (<code>--tls-cert</code>, or a TLS proxy with <code>--public-url https://…</code>) \
             and make the link with that address. The link was not used.</p>",
        );
    }
    // Decided before the link is spent, so that no answer after it can fail.
    let next = next_page(param("next"));
    match state.admin.open_session(code).await {
        Ok(Some((session, _))) => {
            let cookie = format!(
                "{SESSION_COOKIE}={session}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={}",
                SESSION_LIFETIME.num_seconds()
            );
            Reply::new(StatusCode::SEE_OTHER)
                .header(SET_COOKIE, &cookie)
                .header(LOCATION, next)
                .header(REFERRER_POLICY, "no-referrer")
                .header(CACHE_CONTROL, "no-store")
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
pub(crate) fn https(req: &Request, state: &AppState) -> bool {
    match &state.config.public_url {
        Some(url) => url.starts_with("https://"),
        None => req.origin().starts_with("https://"),
    }
}

/// Whether the request's `Host` is this machine (where browsers keep `Secure` cookies
/// over plain HTTP).
pub(crate) fn is_loopback_host(req: &Request) -> bool {
    let origin = req.origin();
    let host = origin
        .split_once("://")
        .map_or(origin.as_str(), |(_, host)| host);
    let name = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `POST /admin/logout`: ends the session and forgets its cookie. Only from a page of
/// this origin (the browser's `Origin` or `Sec-Fetch-Site` says so).
pub(crate) async fn logout(req: &Request, state: &AppState) -> Response {
    if let Err(limited) = state.limit_address(state.config.trusted_proxies.client_of(req.parts())) {
        return too_many(&limited);
    }
    if let Some(refused) = foreign_post(
        req,
        state,
        "Log out",
        "Log out from a page of the dashboard",
    ) {
        return refused;
    }
    if let Some(secret) = session_cookie(req)
        && scim_core::tenant::is_secret_shaped(&secret)
    {
        let which = Revocation::Secret(scim_core::tenant::TokenHash::of(&secret));
        if let Err(error) = state.admin.revoke(&which).await {
            return unavailable(&error.to_string());
        }
    }
    forget_cookie(
        page(
            StatusCode::OK,
            "Logged out",
            &format!("<h1>Logged out</h1>{LOGIN_HELP}"),
        ),
        SESSION_COOKIE,
    )
}

/// `response`, telling the browser to forget the session cookie `name`.
pub(crate) fn forget_cookie(mut response: Response, name: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{name}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0"
    )) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    response
}

/// Runs `lookup` of a browser credential (a login link, a session) under the client
/// address's limit on credential lookups, telling the limit whether it found nothing;
/// the page to answer when the address is held back.
pub(crate) async fn limited_lookup<T, E>(
    req: &Request,
    state: &AppState,
    lookup: impl std::future::Future<Output = Result<Option<T>, E>>,
) -> Result<Result<Option<T>, E>, Response> {
    let limit = state.lookup_limit(state.config.trusted_proxies.client_of(req.parts()));
    let mut permit = limit.begin_lookup().map_err(|limited| too_many(&limited))?;
    let found = lookup.await;
    permit.answered(matches!(found, Ok(None)));
    Ok(found)
}

/// Whether a state-changing request comes from a page of this server: `Sec-Fetch-Site:
/// same-origin`, or an `Origin` with this server's scheme and host.
fn from_this_origin(req: &Request, state: &AppState) -> bool {
    let header = |name: &str| req.header(name);
    if let Some(site) = header("sec-fetch-site") {
        return site == "same-origin";
    }
    let Some(origin) = header("origin") else {
        return false;
    };
    let ours = match &state.config.public_url {
        Some(url) => origin_of(url).to_owned(),
        None => req.origin(),
    };
    origin.eq_ignore_ascii_case(&ours)
}

/// The refusal (403, `title`, saying to `do_this` from a page of the site) of a form POST
/// that does not come from this origin (CSRF); `None` when it does.
pub(crate) fn foreign_post(
    req: &Request,
    state: &AppState,
    title: &str,
    do_this: &str,
) -> Option<Response> {
    (!from_this_origin(req, state)).then(|| {
        page(
            StatusCode::FORBIDDEN,
            title,
            &format!("<h1>Refused</h1><p>{do_this}.</p>"),
        )
    })
}

/// A URL's origin as a browser's `Origin` header writes it: scheme, host and port, no path.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    match url[after_scheme..].find('/') {
        Some(at) => &url[..after_scheme + at],
        None => url,
    }
}

/// How a page's header names what the session sees.
fn sees(session: &AdminSession, slug: Option<&str>) -> String {
    match (&session.scope, slug) {
        (SessionScope::AllTenants, _) => "All tenants".to_owned(),
        (SessionScope::Tenant(_), Some(slug)) => format!("Tenant {}", esc(slug)),
        (SessionScope::Tenant(_), None) => "One tenant".to_owned(),
    }
}

/// `GET /admin`: the tenants the session sees, and their pools.
pub(crate) async fn overview(req: &Request, state: &AppState) -> Response {
    let session = match check_session(req, state).await {
        Ok(session) => session,
        Err(refused) => return refused,
    };
    match state.admin.overview(&session.scope).await {
        Ok(tenants) => {
            let slug = match session.scope {
                SessionScope::Tenant(_) => tenants.first().map(|(t, _)| t.slug.as_str()),
                SessionScope::AllTenants => None,
            };
            // Each tenant's provisioning over the last day, as its own portal shows it.
            let mut health = Vec::with_capacity(tenants.len());
            for (tenant, _) in &tenants {
                health.push(state.activity.last_day(&tenant.id).await.ok());
            }
            let body = format!(
                "{}{}",
                pages::overview(&tenants),
                pages::provisioning(&tenants, &health, state.clock.now())
            );
            page_for(
                StatusCode::OK,
                "Tenants",
                &body,
                Some(&sees(&session, slug)),
            )
        }
        Err(error) => failed(&error),
    }
}

/// `POST /admin/tenants/{slug}/portal`: opens the tenant's portal as its admin sees it,
/// through a setup link of an hour made for the purpose (same-origin forms only, for a
/// tenant the session sees).
pub(crate) async fn open_portal(req: &Request, state: &AppState, slug: &str) -> Response {
    if let Some(refused) = foreign_post(
        req,
        state,
        "Refused",
        "Open a portal from a page of the dashboard",
    ) {
        return refused;
    }
    let session = match check_session(req, state).await {
        Ok(session) => session,
        Err(refused) => return refused,
    };
    // A tenant the session does not see answers as an unknown one.
    match state.tenants.tenant(slug).await {
        Ok(tenant) if session.scope.covers(&tenant.id) => {}
        Ok(_) | Err(TenantError::UnknownTenant(_)) => {
            return failed(&AdminError::Tenant(TenantError::UnknownTenant(
                slug.to_owned(),
            )));
        }
        Err(error) => return unavailable(&error.to_string()),
    }
    match state.portal.create_link(slug, Some(1)).await {
        Ok((_, code)) => Reply::new(StatusCode::SEE_OTHER)
            .header(LOCATION, &scim_core::portal::setup_url("", &code))
            .header(CACHE_CONTROL, "no-store")
            .finish(),
        Err(error) => unavailable(&error.to_string()),
    }
}

/// `GET /admin/tenants/{slug}`: one tenant's seats, history, changes, risks, deliveries.
pub(crate) async fn tenant(req: &Request, state: &AppState, slug: &str) -> Response {
    let session = match check_session(req, state).await {
        Ok(session) => session,
        Err(refused) => return refused,
    };
    match state.admin.tenant_dashboard(slug, &session.scope).await {
        Ok(dashboard) => page_for(
            StatusCode::OK,
            &dashboard.tenant.slug,
            &pages::tenant(&dashboard),
            Some(&sees(&session, Some(&dashboard.tenant.slug))),
        ),
        Err(error) => failed(&error),
    }
}

/// The live session the request's cookie names; else the page to answer.
async fn check_session(req: &Request, state: &AppState) -> Result<AdminSession, Response> {
    let Some(secret) = session_cookie(req) else {
        return Err(login_needed());
    };
    // A session is a credential: its lookups are held to the same per-address limit.
    match limited_lookup(req, state, state.admin.session(&secret)).await? {
        Ok(Some(session)) => Ok(session),
        Ok(None) => Err(login_needed()),
        Err(error) => Err(unavailable(&error.to_string())),
    }
}

fn session_cookie(req: &Request) -> Option<String> {
    cookie(req, SESSION_COOKIE)
}

/// The value of the request's cookie `wanted`.
pub(crate) fn cookie(req: &Request, wanted: &str) -> Option<String> {
    req.headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.to_owned())
}

/// 429: the client address is over the per-address limit.
pub(crate) fn too_many(limited: &ScimError) -> Response {
    let mut response = page(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many requests",
        &format!(
            "<h1>Too many requests</h1><p>{}.</p>",
            esc(&limited.to_string())
        ),
    );
    if let ScimError::RateLimited { retry_after } = limited
        && let Ok(value) = HeaderValue::from_str(&retry_after.to_string())
    {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
    response
}

fn login_needed() -> Response {
    page(
        StatusCode::UNAUTHORIZED,
        "Log in",
        &format!("<h1>Log in to the dashboard</h1>{LOGIN_HELP}"),
    )
}

fn failed(error: &AdminError) -> Response {
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

pub(crate) fn unavailable(cause: &str) -> Response {
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
    fn origins_leave_the_path_out() {
        assert_eq!(
            origin_of("https://scim.example.com/base/"),
            "https://scim.example.com"
        );
        assert_eq!(
            origin_of("https://scim.example.com:8443"),
            "https://scim.example.com:8443"
        );
        assert_eq!(origin_of("http://127.0.0.1:8080/"), "http://127.0.0.1:8080");
    }

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
