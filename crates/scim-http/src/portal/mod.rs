//! The customer's portal at `/portal`: the enterprise's IT admin opens a setup link the
//! vendor made for their tenant (`/portal/open?code=…`) and gets a session of that tenant
//! only, in the cookie `__Host-scim_portal` (`Secure`, `Path=/`, no `Domain`, `HttpOnly`,
//! `SameSite=Lax`, as the operator's dashboard's). Every page reads the tenant from the
//! session, never from the address, so no page can show another tenant. Forms are POSTs
//! refused unless the browser says they come from this origin (CSRF); logging out ends
//! the session. Server-rendered, no script, the dashboard's strict CSP.

use http::StatusCode;
use http::header::{CACHE_CONTROL, LOCATION, REFERRER_POLICY, SET_COOKIE};
use scim_core::activity::ActivityQuery;
use scim_core::portal::PortalGrant;
use scim_core::resource::format_time;
use scim_core::tenant::Tenant;

mod activity;
mod credentials;
mod health;
mod licenses;
mod setup;

pub(crate) use activity::activity;
pub(crate) use credentials::{list as credentials, revoke as revoke_credential, rotate};
pub(crate) use licenses::{apply, list as licenses, preview};
pub(crate) use setup::{choose, create, federate, guide, status};

use crate::admin::html::{Site, esc, page_of};
use crate::admin::{
    cookie, foreign_post, forget_cookie, https, is_loopback_host, limited_lookup, too_many,
    unavailable,
};
use crate::request::Request;
use crate::response::{Reply, Response};
use crate::state::AppState;

/// The portal's session cookie.
const SESSION_COOKIE: &str = "__Host-scim_portal";

/// The portal, as its pages' header names it.
const PORTAL: Site = Site {
    home: "/portal",
    name: "Provisioning portal",
    logout: "/portal/logout",
};

const LINK_HELP: &str = "<p>Ask your vendor for a new setup link for your organisation, \
    and open it in this browser.</p>";

/// Entries of the activity the overview shows.
const RECENT: usize = 20;

pub(super) fn page(status: StatusCode, title: &str, body: &str) -> Response {
    page_of(&PORTAL, status, title, body, None)
}

/// A page of the session's tenant: its header names the tenant and has the logout button.
pub(super) fn tenant_page(tenant: &Tenant, title: &str, body: &str) -> Response {
    page_of(
        &PORTAL,
        StatusCode::OK,
        title,
        body,
        Some(&esc(&tenant.name)),
    )
}

/// `GET /portal/open?code=…`: opens a session with a setup link's code.
pub(crate) async fn open(req: &Request, state: &AppState) -> Response {
    if let Err(limited) = state.limit_address(state.config.trusted_proxies.client_of(req.parts())) {
        return too_many(&limited);
    }
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let Some(code) = query
        .iter()
        .find(|(name, _)| name == "code")
        .map(|(_, code)| code.as_str())
        .filter(|code| !code.is_empty())
    else {
        return page(
            StatusCode::BAD_REQUEST,
            "Setup link",
            &format!("<h1>This address needs a setup link's code</h1>{LINK_HELP}"),
        );
    };
    if !https(req, state) && !is_loopback_host(req) {
        return page(
            StatusCode::BAD_REQUEST,
            "Setup link",
            "<h1>The portal needs HTTPS</h1><p>Its session cookie is <code>Secure</code>: \
             browsers keep it only over HTTPS. Ask your vendor for a link to its HTTPS \
             address.</p>",
        );
    }
    // A setup link is a credential: held to the per-address limit on lookups.
    let opened = match limited_lookup(req, state, state.portal.open(code)).await {
        Ok(opened) => opened,
        Err(limited) => return limited,
    };
    match opened {
        Ok(Some(opened)) => {
            let seconds = (opened.session.expires - opened.session.created).num_seconds();
            let cookie = format!(
                "{SESSION_COOKIE}={}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={seconds}",
                opened.secret
            );
            Reply::new(StatusCode::SEE_OTHER)
                .header(SET_COOKIE, &cookie)
                .header(LOCATION, "/portal")
                .header(REFERRER_POLICY, "no-referrer")
                .header(CACHE_CONTROL, "no-store")
                .finish()
        }
        Ok(None) => page(
            StatusCode::UNAUTHORIZED,
            "Setup link",
            &format!(
                "<h1>This setup link does not work</h1><p>It has expired, was revoked, or \
                 was mistyped.</p>{LINK_HELP}"
            ),
        ),
        Err(error) => unavailable(&error.to_string()),
    }
}

/// `GET /portal`: the tenant's connection, seats and latest provisioning activity.
pub(crate) async fn home(req: &Request, state: &AppState) -> Response {
    let (session, tenant) = match check_session(req, state).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let base = format!("{}/scim/v2", crate::render::origin(req, &state.config));
    let pools = match state.licenses.pools(&tenant.id).await {
        Ok(pools) => pools,
        Err(error) => return unavailable(&error.to_string()),
    };
    let recent = match state
        .activity
        .list(&tenant.id, &ActivityQuery::latest(RECENT))
        .await
    {
        Ok(recent) => recent,
        Err(error) => return unavailable(&error.to_string()),
    };
    let mut body = format!(
        "<h1>{name}</h1>\
         <section><h2>Connect your identity provider</h2>\
         <p>SCIM base URL (the <em>Tenant URL</em>): <code data-field=\"scim-base-url\">{base}</code></p>\
         <p><a href=\"/portal/setup\" data-action=\"setup\">Set up your identity provider step by step</a> · \
         <a href=\"/portal/credentials\" data-action=\"credentials\">Credentials and their rotation</a></p>\
         <p class=\"muted\">This session ends {ends}.</p></section>",
        name = esc(&tenant.name),
        base = esc(&base),
        ends = esc(&format_time(&session.expires)),
    );
    body.push_str(&health::section(state, &tenant).await);
    body.push_str("<section><h2>Licenses</h2>");
    if pools.is_empty() {
        body.push_str("<p class=\"muted\">No licenses bought yet.</p>");
    } else {
        body.push_str(&licenses::pool_table(&pools));
    }
    body.push_str(
        "<p><a href=\"/portal/licenses\" data-action=\"licenses\">Map groups, roles and \
         entitlements to licenses</a></p>",
    );
    body.push_str("</section><section><h2>Latest provisioning requests</h2>");
    body.push_str(&activity::table(&recent));
    body.push_str("<p><a href=\"/portal/activity\">All requests, filtered</a></p>");
    body.push_str("</section>");
    tenant_page(&tenant, &tenant.name, &body)
}

/// `POST /portal/logout`: ends the session and forgets its cookie, only from a page of
/// this origin.
pub(crate) async fn logout(req: &Request, state: &AppState) -> Response {
    if let Err(limited) = state.limit_address(state.config.trusted_proxies.client_of(req.parts())) {
        return too_many(&limited);
    }
    if let Some(refused) = foreign_post(req, state, "Log out", "Log out from a page of the portal")
    {
        return refused;
    }
    if let Some(secret) = cookie(req, SESSION_COOKIE)
        && let Err(error) = state.portal.logout(&secret).await
    {
        return unavailable(&error.to_string());
    }
    forget_cookie(
        page(
            StatusCode::OK,
            "Logged out",
            &format!("<h1>Logged out</h1>{LINK_HELP}"),
        ),
        SESSION_COOKIE,
    )
}

/// A form POST's session and its tenant: refused unless the browser says the form comes
/// from a page of this origin (CSRF; `do_this` says where to), or without a session.
pub(super) async fn form_session(
    req: &Request,
    state: &AppState,
    do_this: &str,
) -> Result<(PortalGrant, Tenant), Response> {
    if let Some(refused) = foreign_post(req, state, "Refused", do_this) {
        return Err(refused);
    }
    check_session(req, state).await
}

/// The session the request's cookie names and its tenant; else the page to answer.
pub(super) async fn check_session(
    req: &Request,
    state: &AppState,
) -> Result<(PortalGrant, Tenant), Response> {
    let session_needed = || {
        page(
            StatusCode::UNAUTHORIZED,
            "Setup link",
            &format!("<h1>Open your setup link</h1>{LINK_HELP}"),
        )
    };
    let Some(secret) = cookie(req, SESSION_COOKIE) else {
        return Err(session_needed());
    };
    match limited_lookup(req, state, state.portal.session(&secret)).await? {
        Ok(Some(found)) => Ok(found),
        Ok(None) => Err(session_needed()),
        Err(error) => Err(unavailable(&error.to_string())),
    }
}
