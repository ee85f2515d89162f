//! The tenant's SCIM credentials in the portal (`/portal/credentials`): every bearer token
//! and OAuth client with its expiry and last use, and rotation with overlap — *rotate*
//! makes a second credential of the same kind (shown once) while the first keeps working;
//! the admin switches the IdP to it, then *completes* the rotation (the old one is
//! revoked) or *cancels* it (the new one is). Every form is a POST checked to come from
//! this origin, and names credentials of the session's tenant only.

use std::collections::HashMap;

use http::StatusCode;
use http::header::LOCATION;
use scim_core::activity::ActivityQuery;
use scim_core::resource::format_time;
use scim_core::service::{TenantError, TokenLifetime};
use scim_core::tenant::Tenant;
use serde::Deserialize;

use super::{check_session, form_session, page, tenant_page};
use crate::admin::html::esc;
use crate::admin::unavailable;
use crate::request::Request;
use crate::response::{Reply, Response};
use crate::state::AppState;

/// Requests of the activity looked through for each credential's last use.
const LOOKED_AT: usize = 1_000;

/// A credential a form names.
#[derive(Deserialize)]
struct Named {
    kind: String,
    id: String,
}

/// `GET /portal/credentials`.
pub(crate) async fn list(req: &Request, state: &AppState) -> Response {
    let (_, tenant) = match check_session(req, state).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let tokens = state.tenants.list_tokens(&tenant.slug).await;
    let clients = state.tenants.list_clients(&tenant.slug).await;
    let recent = state
        .activity
        .list(&tenant.id, &ActivityQuery::latest(LOOKED_AT))
        .await;
    let (tokens, clients, recent) = match (tokens, clients, recent) {
        (Ok(tokens), Ok(clients), Ok(recent)) => (tokens, clients, recent),
        _ => return unavailable("the credentials could not be read"),
    };
    // Newest first: the first entry of a credential is its last use.
    let mut last_use: HashMap<&str, String> = HashMap::new();
    for entry in &recent {
        last_use
            .entry(entry.credential.as_str())
            .or_insert_with(|| format!("{} ({})", format_time(&entry.at), entry.client));
    }
    let used = |credential: &str| {
        last_use
            .get(credential)
            .map_or_else(|| "not lately".to_owned(), Clone::clone)
    };
    let mut rows = String::new();
    let mut row = |kind: &str, id: &str, shown: &str, created, expires: Option<_>, rotate: bool| {
        let credential = format!("{kind}:{id}");
        let expires = expires.as_ref().map_or("never".to_owned(), format_time);
        let rotate = if rotate {
            form("rotate", kind, id, "Rotate", "rotate")
        } else {
            String::new()
        };
        rows.push_str(&format!(
            "<tr data-credential=\"{credential}\"><td>{label}</td><td><code>{shown}</code></td>\
             <td>{created}</td><td>{expires}</td><td data-field=\"last-use\">{used}</td>\
             <td>{rotate} {revoke}</td></tr>",
            credential = esc(&credential),
            label = if kind == "token" {
                "Bearer token"
            } else {
                "OAuth client"
            },
            shown = esc(shown),
            created = esc(&format_time(created)),
            expires = esc(&expires),
            used = esc(&used(&credential)),
            revoke = form("revoke", kind, id, "Revoke", "revoke"),
        ));
    };
    for token in tokens.iter().filter(|token| token.client.is_none()) {
        let hint = format!("{}…", token.hint);
        row(
            "token",
            &token.id,
            &hint,
            &token.created,
            token.expires,
            true,
        );
    }
    for client in &clients {
        let secret = client.secret_hash().is_some();
        row(
            "client",
            &client.id,
            &client.id,
            &client.created,
            client.expires,
            secret,
        );
    }
    let body = format!(
        "<h1>Credentials</h1><section><p>Rotate a credential without breaking your identity \
         provider: <strong>Rotate</strong> makes a second one while the first keeps working; \
         put it in your identity provider, then complete the rotation.</p>\
         <table><thead><tr><th scope=\"col\">Kind</th><th scope=\"col\">Credential</th>\
         <th scope=\"col\">Created</th><th scope=\"col\">Expires</th><th scope=\"col\">Last used</th>\
         <th scope=\"col\">Actions</th></tr></thead><tbody>{rows}</tbody></table></section>"
    );
    tenant_page(&tenant, "Credentials", &body)
}

/// A one-button form posting `kind` and `id` to `/portal/credentials/{action}`; the
/// button's `data-action` is `marker`.
fn form(action: &str, kind: &str, id: &str, label: &str, marker: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/portal/credentials/{action}\" class=\"inline\">\
         <input type=\"hidden\" name=\"kind\" value=\"{kind}\">\
         <input type=\"hidden\" name=\"id\" value=\"{id}\">\
         <button type=\"submit\" data-action=\"{marker}\" data-id=\"{id}\">{label}</button></form>",
        kind = esc(kind),
        id = esc(id),
    )
}

/// The session's tenant and the credential a same-origin form names; else the page.
async fn posted(req: &Request, state: &AppState) -> Result<(Tenant, Named), Response> {
    let (_, tenant) =
        form_session(req, state, "Change credentials from a page of the portal").await?;
    let named = req
        .body()
        .and_then(|body| serde_urlencoded::from_bytes::<Named>(body).ok())
        .filter(|named| named.kind == "token" || named.kind == "client")
        .ok_or_else(|| {
            page(
                StatusCode::BAD_REQUEST,
                "Credentials",
                "<h1>That form is not one of the portal's</h1>\
                 <p><a href=\"/portal/credentials\">Credentials</a></p>",
            )
        })?;
    Ok((tenant, named))
}

/// `POST /portal/credentials/revoke`: revokes a credential of the tenant.
pub(crate) async fn revoke(req: &Request, state: &AppState) -> Response {
    let (tenant, named) = match posted(req, state).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let revoked = if named.kind == "token" {
        state.tenants.revoke_token(&tenant.slug, &named.id).await
    } else {
        state.tenants.revoke_client(&tenant.slug, &named.id).await
    };
    match revoked {
        Ok(()) => Reply::new(StatusCode::SEE_OTHER)
            .header(LOCATION, "/portal/credentials")
            .finish(),
        Err(TenantError::UnknownToken(_) | TenantError::UnknownClient(_)) => page(
            StatusCode::NOT_FOUND,
            "Credentials",
            "<h1>No such credential</h1><p><a href=\"/portal/credentials\">Credentials</a></p>",
        ),
        Err(error) => unavailable(&error.to_string()),
    }
}

/// `POST /portal/credentials/rotate`: a second credential of the same kind, shown once,
/// with the forms that complete or cancel the rotation.
pub(crate) async fn rotate(req: &Request, state: &AppState) -> Response {
    let (tenant, old) = match posted(req, state).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    // The old credential must be the tenant's: otherwise nothing is made.
    let known = if old.kind == "token" {
        state.tenants.list_tokens(&tenant.slug).await.map(|tokens| {
            tokens
                .iter()
                .any(|token| token.id == old.id && token.client.is_none())
        })
    } else {
        state
            .tenants
            .list_clients(&tenant.slug)
            .await
            .map(|clients| {
                clients
                    .iter()
                    .any(|client| client.id == old.id && client.secret_hash().is_some())
            })
    };
    match known {
        Ok(true) => {}
        Ok(false) => {
            return page(
                StatusCode::NOT_FOUND,
                "Credentials",
                "<h1>No such credential</h1><p><a href=\"/portal/credentials\">Credentials</a></p>",
            );
        }
        Err(error) => return unavailable(&error.to_string()),
    }
    let made = if old.kind == "token" {
        state
            .tenants
            .issue_new_token(&tenant.slug, TokenLifetime::Default)
            .await
            .map(|(token, secret)| (token.id, None, secret))
    } else {
        state
            .tenants
            .create_client(&tenant.slug, TokenLifetime::Default)
            .await
            .map(|(client, secret)| (client.id.clone(), Some(client.id), secret))
    };
    let (new_id, client_id, secret) = match made {
        Ok(made) => made,
        Err(error) => return unavailable(&error.to_string()),
    };
    let client_row = client_id.map_or_else(String::new, |id| {
        format!(
            "<tr><th scope=\"row\">Client Identifier</th><td><code data-field=\"client-id\">{}</code></td></tr>",
            esc(&id)
        )
    });
    let body = format!(
        "<h1>Rotation under way</h1><section>\
         <p class=\"warn\">The new credential is shown this once. Both work until you complete \
         or cancel the rotation.</p><table>{client_row}\
         <tr><th scope=\"row\">New secret</th><td><code data-field=\"secret\">{secret}</code></td></tr></table>\
         <p>1. Put it in your identity provider and test the connection. \
         2. {complete} — the old credential stops working. Or {cancel} — the new one does.</p>\
         </section>",
        secret = esc(&secret),
        complete = form(
            "revoke",
            &old.kind,
            &old.id,
            "Complete the rotation",
            "complete"
        ),
        cancel = form(
            "revoke",
            &old.kind,
            &new_id,
            "Cancel the rotation",
            "cancel"
        ),
    );
    tenant_page(&tenant, "Rotation", &body)
}
