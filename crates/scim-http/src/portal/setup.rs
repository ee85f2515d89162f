//! Guided setup per IdP (`/portal/setup/{idp}`): the exact fields to fill in that IdP with
//! this tenant's real base URL; a button that creates the credential the IdP needs (an
//! OAuth client for Entra ID, a bearer token for the others; shown once) and sets the
//! tenant's compatibility profile; then a status page that waits for the IdP's first
//! request with that credential and says so.

use http::StatusCode;
use scim_core::activity::ActivityQuery;
use scim_core::service::{FederationRequest, TenantError, TenantUpdate, TokenLifetime};

use scim_core::tenant::Tenant;

use super::{check_session, form_session, page, tenant_page};
use crate::admin::html::esc;
use crate::admin::unavailable;
use crate::request::Request;
use crate::response::Response;
use crate::state::AppState;

/// Requests of the activity looked through for the new credential's first one.
const LOOKED_AT: usize = 200;

/// An identity provider the portal guides.
struct Idp {
    slug: &'static str,
    name: &'static str,
    /// The compatibility profile its requests need.
    profile: &'static str,
    /// The credential it takes; `None`: it has no SCIM client.
    credential: Option<Credential>,
    /// Where in the IdP, step by step (HTML).
    steps: &'static str,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Credential {
    OAuthClient,
    BearerToken,
}

const IDPS: [Idp; 6] = [
    Idp {
        slug: "entra",
        name: "Microsoft Entra ID",
        profile: "entra",
        credential: Some(Credential::OAuthClient),
        steps: "<ol><li><em>Enterprise applications</em> → your application → \
                <em>Provisioning</em> → <em>Provisioning Mode</em>: <strong>Automatic</strong>.</li>\
                <li><em>Authentication Method</em>: <strong>OAuth2 Client Credentials Grant</strong>.</li>\
                <li>Fill in the fields below, then <strong>Test Connection</strong> and <strong>Save</strong>.</li></ol>",
    },
    Idp {
        slug: "okta",
        name: "Okta",
        profile: "okta",
        credential: Some(Credential::BearerToken),
        steps: "<ol><li>Your app integration → <em>Provisioning</em> → <em>Integration</em> → \
                <strong>Configure API Integration</strong> → <em>Enable API integration</em>.</li>\
                <li><em>Authentication Mode</em>: <strong>HTTP Header</strong>.</li>\
                <li>Fill in the fields below, then <strong>Test API Credentials</strong> and <strong>Save</strong>; \
                turn on <em>Create Users</em>, <em>Update User Attributes</em> and <em>Deactivate Users</em> \
                under <em>To App</em>.</li></ol>",
    },
    Idp {
        slug: "onelogin",
        name: "OneLogin",
        profile: "standard",
        credential: Some(Credential::BearerToken),
        steps: "<ol><li>Your SCIM application → <em>Configuration</em>.</li>\
                <li>Fill in the fields below and <strong>Enable</strong> the API connection; \
                then turn provisioning on under <em>Provisioning</em>.</li></ol>",
    },
    Idp {
        slug: "jumpcloud",
        name: "JumpCloud",
        profile: "standard",
        credential: Some(Credential::BearerToken),
        steps: "<ol><li>Your application → <em>Identity Management</em> → <strong>SCIM 2.0</strong>.</li>\
                <li>Fill in the fields below, then <strong>Test Connection</strong> and <strong>Activate</strong>.</li></ol>",
    },
    Idp {
        slug: "generic",
        name: "Another SCIM client",
        profile: "standard",
        credential: Some(Credential::BearerToken),
        steps: "<ol><li>Give your SCIM 2.0 client (RFC 7644) the base URL and the bearer token \
                below (<code>Authorization: Bearer …</code>).</li></ol>",
    },
    Idp {
        slug: "google",
        name: "Google Workspace",
        profile: "standard",
        credential: None,
        steps: "<p>Google Workspace provisions users automatically only to the applications in \
                its own catalogue; it has no SCIM client for other applications, so it cannot \
                connect here directly.</p><p>What works: keep Google as your directory and \
                provision through an IdP that speaks SCIM (Microsoft Entra ID, Okta, OneLogin, \
                JumpCloud), which can sync users from Google Workspace, or ask your vendor \
                about importing users from a file.</p>",
    },
];

fn idp(slug: &str) -> Option<&'static Idp> {
    IDPS.iter().find(|idp| idp.slug == slug)
}

/// `GET /portal/setup`: the IdPs to choose from.
pub(crate) async fn choose(req: &Request, state: &AppState) -> Response {
    let (_, tenant) = match check_session(req, state).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let mut body = String::from("<h1>Connect your identity provider</h1><section><ul>");
    for idp in &IDPS {
        body.push_str(&format!(
            "<li><a href=\"/portal/setup/{slug}\">{name}</a></li>",
            slug = idp.slug,
            name = idp.name
        ));
    }
    body.push_str("</ul></section>");
    tenant_page(&tenant, "Connect", &body)
}

/// `GET /portal/setup/{idp}`: the IdP's fields, and the button that creates its
/// credential.
pub(crate) async fn guide(req: &Request, state: &AppState, slug: &str) -> Response {
    let (tenant, idp) = match session_and_idp(req, state, slug).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let origin = crate::render::origin(req, &state.config);
    let mut body = format!(
        "<h1>{name}</h1><section><h2>In {name}</h2>{steps}",
        name = idp.name,
        steps = idp.steps
    );
    if idp.credential.is_some() {
        body.push_str(&fields(idp, &origin, None));
        body.push_str(&format!(
            "<form method=\"post\" action=\"/portal/setup/{slug}\">\
             <button type=\"submit\" data-action=\"create-credential\">Create the credential</button> \
             <span class=\"muted\">It is shown once; {name} keeps it. This also sets this \
             organisation's compatibility profile to <code>{profile}</code>.</span></form>",
            slug = idp.slug,
            name = idp.name,
            profile = idp.profile,
        ));
    }
    body.push_str("</section>");
    if idp.slug == "entra" {
        body.push_str(FEDERATION_FORM);
    }
    tenant_page(&tenant, idp.name, &body)
}

/// Entra's workload identity federation: the four values its connectivity page shows.
const FEDERATION_FORM: &str = "<section><h2>Or: workload identity federation (no secret)</h2>\
    <p>Where Entra offers <strong>Workload Identity Federation</strong>, pick it and \
    <em>Select Workload Identity</em>; copy the four values it shows here. Then give Entra \
    the Client ID this makes, the Token Endpoint and the Tenant URL above.</p>\
    <form method=\"post\" action=\"/portal/setup/entra/federation\">\
    <p><label for=\"issuer\">Issuer</label><br><input id=\"issuer\" name=\"issuer\" size=\"70\" required></p>\
    <p><label for=\"jwks_url\">JWKS URL</label><br><input id=\"jwks_url\" name=\"jwks_url\" size=\"70\" required></p>\
    <p><label for=\"subject\">Subject</label><br><input id=\"subject\" name=\"subject\" size=\"70\" required></p>\
    <p><label for=\"audience\">Audience</label><br><input id=\"audience\" name=\"audience\" size=\"70\" required></p>\
    <p><button type=\"submit\" data-action=\"federate\">Trust this workload identity</button></p>\
    </form></section>";

/// The form of [`FEDERATION_FORM`].
#[derive(serde::Deserialize)]
struct FederationForm {
    issuer: String,
    jwks_url: String,
    subject: String,
    audience: String,
}

/// `POST /portal/setup/entra/federation`: a federated client trusting the workload
/// identity Entra showed (RFC 7523), and the values to give Entra back.
pub(crate) async fn federate(req: &Request, state: &AppState) -> Response {
    let (tenant, idp) = match posted_session_and_idp(req, state, "entra").await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let Some(form) = req
        .body()
        .and_then(|body| serde_urlencoded::from_bytes::<FederationForm>(body).ok())
    else {
        return page(
            StatusCode::BAD_REQUEST,
            "Federation",
            "<h1>That form is not one of the portal's</h1><p><a href=\"/portal/setup/entra\">Back</a></p>",
        );
    };
    let request = FederationRequest {
        issuer: &form.issuer,
        jwks_url: &form.jwks_url,
        subject: &form.subject,
        audience: &form.audience,
    };
    let client = match state
        .tenants
        .create_federated_client(&tenant.slug, request, TokenLifetime::Never)
        .await
    {
        Ok(client) => client,
        Err(TenantError::InvalidSetting(why)) => {
            let body = format!(
                "<h1>{name}</h1><section><p class=\"bad\" data-field=\"refused\">{why}</p>\
                 <p><a href=\"/portal/setup/entra\">Back</a></p></section>",
                name = idp.name,
                why = esc(&why),
            );
            return tenant_page(&tenant, idp.name, &body);
        }
        Err(error) => return unavailable(&error.to_string()),
    };
    if let Err(refused) = set_profile(state, &tenant, idp).await {
        return refused;
    }
    let origin = crate::render::origin(req, &state.config);
    let body = format!(
        "<h1>{name}</h1><section><h2>Give Entra these</h2><table>\
         <tr><th scope=\"row\">Client ID</th><td><code data-field=\"client-id\">{id}</code></td></tr>\
         <tr><th scope=\"row\">Token URL</th><td><code data-field=\"token-url\">{origin}/oauth/token</code></td></tr>\
         <tr><th scope=\"row\">SCIM URL</th><td><code data-field=\"base-url\">{origin}/scim/v2?aadOptscim062020</code></td></tr>\
         </table><p>Then <strong>Test Connection</strong> in Entra. \
         <a href=\"/portal/setup/entra/status?credential=client:{id}\" data-action=\"check-connection\">Check the connection</a></p></section>",
        name = idp.name,
        id = esc(&client.id),
        origin = esc(&origin),
    );
    tenant_page(&tenant, idp.name, &body)
}

/// `POST /portal/setup/{idp}`: creates the IdP's credential (shown on this answer only)
/// and sets the tenant's compatibility profile.
pub(crate) async fn create(req: &Request, state: &AppState, slug: &str) -> Response {
    let (tenant, idp) = match posted_session_and_idp(req, state, slug).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let Some(kind) = idp.credential else {
        return unknown_idp();
    };
    let made = match kind {
        Credential::OAuthClient => state
            .tenants
            .create_client(&tenant.slug, TokenLifetime::Default)
            .await
            .map(|(client, secret)| Made {
                credential: format!("client:{}", client.id),
                id: Some(client.id),
                secret,
            }),
        Credential::BearerToken => state
            .tenants
            .issue_new_token(&tenant.slug, TokenLifetime::Default)
            .await
            .map(|(token, secret)| Made {
                credential: format!("token:{}", token.id),
                id: None,
                secret,
            }),
    };
    let made = match made {
        Ok(made) => made,
        Err(error) => return unavailable(&error.to_string()),
    };
    if let Err(refused) = set_profile(state, &tenant, idp).await {
        return refused;
    }
    let origin = crate::render::origin(req, &state.config);
    let body = format!(
        "<h1>{name}</h1><section><h2>Your credential</h2>\
         <p class=\"warn\">Copy it into {name} now: it is shown this once, and kept here only as a hash.</p>\
         {fields}<p><a href=\"/portal/setup/{slug}/status?credential={credential}\" \
         data-action=\"check-connection\">I have saved it in {name}: check the connection</a></p></section>",
        name = idp.name,
        fields = fields(idp, &origin, Some(&made)),
        slug = idp.slug,
        credential = esc(&made.credential),
    );
    tenant_page(&tenant, idp.name, &body)
}

/// `GET /portal/setup/{idp}/status?credential=token:<id>`: whether the IdP's first request
/// with the credential arrived; the page refreshes itself until it has.
pub(crate) async fn status(req: &Request, state: &AppState, slug: &str) -> Response {
    let (tenant, idp) = match session_and_idp(req, state, slug).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let credential = query
        .iter()
        .find(|(name, _)| name == "credential")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    // The tenant's own activity only: another tenant's credential id finds nothing here.
    let latest = match state
        .activity
        .list(&tenant.id, &ActivityQuery::latest(LOOKED_AT))
        .await
    {
        Ok(latest) => latest,
        Err(error) => return unavailable(&error.to_string()),
    };
    let first = latest
        .iter()
        .filter(|entry| entry.credential == credential)
        .min_by_key(|entry| entry.seq);
    let body = match first {
        Some(entry) => {
            let ago = (state.clock.now() - entry.at).num_seconds().max(0);
            format!(
                "<h1>{name}</h1><section><p class=\"ok\" data-field=\"connection\">Connected: \
                 first request from {client} {ago} s ago ({method} {kind}, {status}).</p>\
                 <p><a href=\"/portal\">See its requests</a></p></section>",
                name = idp.name,
                client = esc(&entry.client),
                method = esc(&entry.method),
                kind = esc(&entry.resource_type),
                status = entry.status,
            )
        }
        None => format!(
            "<h1>{name}</h1><section><p data-field=\"connection\">Waiting for {name}'s first \
             request with this credential… This page checks again every 5 seconds.</p></section>",
            name = idp.name,
        ),
    };
    let mut response = tenant_page(&tenant, idp.name, &body);
    if first.is_none()
        && let Ok(value) = http::HeaderValue::from_str("5")
    {
        response.headers_mut().insert("refresh", value);
    }
    response
}

/// Sets the tenant's compatibility profile to the one `idp`'s requests need.
async fn set_profile(state: &AppState, tenant: &Tenant, idp: &Idp) -> Result<(), Response> {
    let update = TenantUpdate {
        profile: Some(idp.profile.to_owned()),
        ..TenantUpdate::default()
    };
    match state.tenants.update_tenant(&tenant.slug, &update).await {
        Ok(_) => Ok(()),
        Err(error) => Err(unavailable(&error.to_string())),
    }
}

/// A credential just made.
struct Made {
    /// How the activity log names it.
    credential: String,
    /// An OAuth client's id.
    id: Option<String>,
    secret: String,
}

/// The fields to fill in the IdP for the server at `origin`, with the credential when it
/// was just made. Entra's Tenant URL carries Microsoft's SCIM-compliance flag.
fn fields(idp: &Idp, origin: &str, made: Option<&Made>) -> String {
    let hidden = "<span class=\"muted\">(created with the button below)</span>";
    let code =
        |field: &str, value: &str| format!("<code data-field=\"{field}\">{}</code>", esc(value));
    let secret = |made: Option<&Made>| {
        made.map_or_else(|| hidden.to_owned(), |made| code("secret", &made.secret))
    };
    let row = |label: &str, value: &str| {
        format!("<tr><th scope=\"row\">{label}</th><td>{value}</td></tr>")
    };
    let base = code("base-url", &format!("{origin}/scim/v2"));
    let rows = match idp.slug {
        "entra" => [
            row(
                "Tenant URL",
                &code("base-url", &format!("{origin}/scim/v2?aadOptscim062020")),
            ),
            row(
                "Token Endpoint",
                &code("token-url", &format!("{origin}/oauth/token")),
            ),
            row(
                "Client Identifier",
                &made
                    .and_then(|made| made.id.as_deref())
                    .map_or_else(|| hidden.to_owned(), |id| code("client-id", id)),
            ),
            row("Client Secret", &secret(made)),
        ]
        .concat(),
        "okta" => [
            row("SCIM connector base URL", &base),
            row("Unique identifier field for users", "<code>userName</code>"),
            row("Authorization (the API token)", &secret(made)),
        ]
        .concat(),
        "onelogin" => [
            row("SCIM Base URL", &base),
            row("SCIM Bearer Token", &secret(made)),
        ]
        .concat(),
        "jumpcloud" => [row("Base URL", &base), row("Token Key", &secret(made))].concat(),
        _ => [row("Base URL", &base), row("Bearer token", &secret(made))].concat(),
    };
    format!("<table>{rows}</table>")
}

/// The session's tenant and the IdP of `slug`; else the page to answer.
async fn session_and_idp(
    req: &Request,
    state: &AppState,
    slug: &str,
) -> Result<(Tenant, &'static Idp), Response> {
    let (_, tenant) = check_session(req, state).await?;
    let idp = idp(slug).ok_or_else(unknown_idp)?;
    Ok((tenant, idp))
}

/// [`session_and_idp`] for a form POST, refused unless it comes from a page of the portal.
async fn posted_session_and_idp(
    req: &Request,
    state: &AppState,
    slug: &str,
) -> Result<(Tenant, &'static Idp), Response> {
    let (_, tenant) =
        form_session(req, state, "Create credentials from a page of the portal").await?;
    let idp = idp(slug).ok_or_else(unknown_idp)?;
    Ok((tenant, idp))
}

fn unknown_idp() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Not found",
        "<h1>No such identity provider</h1><p><a href=\"/portal/setup\">Choose yours</a></p>",
    )
}
