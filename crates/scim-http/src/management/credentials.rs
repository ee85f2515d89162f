//! A tenant's SCIM credentials: bearer tokens (`/tokens`) and OAuth clients (`/clients`).
//! A secret is in the answer that creates it and nowhere else.

use http::StatusCode;
use scim_core::service::{FederationRequest, TokenLifetime};
use serde::Deserialize;
use serde_json::Value;

use super::paging::{PageRequest, page, time_key};
use super::views;
use super::{ApiResult, Call, json, no_content};
use crate::response::Response;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewToken {
    /// 1 to 3650; absent: the default (a year).
    expires_in_days: Option<u32>,
}

/// `POST /api/v1/tenants/{slug}/tokens` `{"expiresInDays"?: n}` → 201 `{"id", "token",
/// "expiresAt", …}`: the only time the token is shown.
pub(super) async fn issue_token(call: &Call<'_>, slug: &str) -> ApiResult<Response> {
    let new: NewToken = call.body()?;
    let lifetime = lifetime(new.expires_in_days)?;
    let (token, secret) = call.state.tenants.issue_new_token(slug, lifetime).await?;
    let mut body = views::token(&token);
    body["token"] = Value::String(secret);
    Ok(json(StatusCode::CREATED, &body))
}

/// The lifetime `expiresInDays` asks for: 1 to 3650 days, a year when absent.
fn lifetime(days: Option<u32>) -> ApiResult<TokenLifetime> {
    match days {
        None => Ok(TokenLifetime::Default),
        Some(days @ 1..=3650) => Ok(TokenLifetime::Days(days)),
        Some(days) => Err(super::problem::Problem::new(
            super::problem::Kind::InvalidValue,
            format!("expiresInDays must be 1 to 3650, not {days}"),
        )),
    }
}

/// `GET /api/v1/tenants/{slug}/tokens`: ids, hints and expiry, oldest first.
pub(super) async fn list_tokens(call: &Call<'_>, slug: &str) -> ApiResult<Response> {
    let request = PageRequest::of(&call.params()?)?;
    let tokens = call.state.tenants.list_tokens(slug).await?;
    let body = page(
        tokens,
        |token| time_key(&token.created, &token.id),
        &request,
        views::token,
    );
    Ok(json(StatusCode::OK, &body))
}

/// `DELETE /api/v1/tenants/{slug}/tokens/{id}` → 204.
pub(super) async fn revoke_token(call: &Call<'_>, slug: &str, id: &str) -> ApiResult<Response> {
    call.state.tenants.revoke_token(slug, id).await?;
    Ok(no_content())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewClient {
    /// 1 to 3650; absent: a year for a secret, never for a federated client.
    expires_in_days: Option<u32>,
    /// Present: a federated client that holds no secret.
    #[serde(default, deserialize_with = "super::optional_object")]
    federation: Option<NewFederation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewFederation {
    issuer: String,
    jwks_url: String,
    subject: String,
    audience: String,
}

/// `POST /api/v1/tenants/{slug}/clients` `{"expiresInDays"?: n}` → 201 `{"client_id",
/// "client_secret", "expiresAt", …}`: the only time the secret is shown. A secret
/// expires after a year unless told otherwise; rotate by creating a second client,
/// switching the IdP to it, then revoking the first.
///
/// With `"federation": {"issuer", "jwksUrl", "subject", "audience"}` (what Entra's
/// workload identity federation shows), a federated client: no secret, its access tokens
/// obtained with assertions its issuer signs (RFC 7523); it expires only when asked to.
pub(super) async fn create_client(call: &Call<'_>, slug: &str) -> ApiResult<Response> {
    let new: NewClient = call.body()?;
    let origin = call.req.origin();
    let Some(trust) = new.federation else {
        let lifetime = lifetime(new.expires_in_days)?;
        let (client, secret) = call.state.tenants.create_client(slug, lifetime).await?;
        let mut body = views::client(&client, &origin);
        body["client_secret"] = Value::String(secret);
        return Ok(json(StatusCode::CREATED, &body));
    };
    let lifetime = match new.expires_in_days {
        None => TokenLifetime::Never,
        days => lifetime(days)?,
    };
    let request = FederationRequest {
        issuer: &trust.issuer,
        jwks_url: &trust.jwks_url,
        subject: &trust.subject,
        audience: &trust.audience,
    };
    let client = call
        .state
        .tenants
        .create_federated_client(slug, request, lifetime)
        .await?;
    Ok(json(StatusCode::CREATED, &views::client(&client, &origin)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewSetupLink {
    /// 1 to 720; absent: a week.
    expires_in_hours: Option<u32>,
}

/// `POST /api/v1/tenants/{slug}/setup-links` `{"expiresInHours"?: n}` → 201 `{"id",
/// "url", "expiresAt", …}`: the link the customer's admin opens to reach the tenant's
/// portal (the only time its code is shown).
pub(super) async fn create_setup_link(call: &Call<'_>, slug: &str) -> ApiResult<Response> {
    let new: NewSetupLink = call.body()?;
    let (link, code) = call
        .state
        .portal
        .create_link(slug, new.expires_in_hours)
        .await?;
    let mut body = link.to_json();
    body["url"] = Value::String(scim_core::portal::setup_url(
        &crate::render::origin(call.req, &call.state.config),
        &code,
    ));
    Ok(json(StatusCode::CREATED, &body))
}

/// `GET /api/v1/tenants/{slug}/setup-links`: the links that work, oldest first (never
/// their codes).
pub(super) async fn list_setup_links(call: &Call<'_>, slug: &str) -> ApiResult<Response> {
    let request = PageRequest::of(&call.params()?)?;
    let links = call.state.portal.links(slug).await?;
    let body = page(
        links,
        |link| time_key(&link.created, &link.id),
        &request,
        scim_core::portal::PortalGrant::to_json,
    );
    Ok(json(StatusCode::OK, &body))
}

/// `DELETE /api/v1/tenants/{slug}/setup-links/{id}` → 204; the portal sessions it opened
/// end with it.
pub(super) async fn revoke_setup_link(
    call: &Call<'_>,
    slug: &str,
    id: &str,
) -> ApiResult<Response> {
    call.state.portal.revoke_link(slug, id).await?;
    Ok(no_content())
}

/// `GET /api/v1/tenants/{slug}/clients`, oldest first.
pub(super) async fn list_clients(call: &Call<'_>, slug: &str) -> ApiResult<Response> {
    let request = PageRequest::of(&call.params()?)?;
    let clients = call.state.tenants.list_clients(slug).await?;
    let origin = call.req.origin();
    let body = page(
        clients,
        |client| time_key(&client.created, &client.id),
        &request,
        |client| views::client(client, &origin),
    );
    Ok(json(StatusCode::OK, &body))
}

/// `DELETE /api/v1/tenants/{slug}/clients/{client_id}` → 204; the access tokens it
/// obtained go with it.
pub(super) async fn revoke_client(call: &Call<'_>, slug: &str, id: &str) -> ApiResult<Response> {
    call.state.tenants.revoke_client(slug, id).await?;
    Ok(no_content())
}
