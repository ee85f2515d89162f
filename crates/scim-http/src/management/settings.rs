//! A tenant's webhooks (push receivers of its events, RFC 8935) and its own attributes.

use http::StatusCode;
use scim_core::events::OAuthClient;
use scim_core::schema::{TenantAttribute, default_custom_schema};
use scim_core::service::NewReceiver;
use serde::Deserialize;
use serde_json::{Value, json};

use super::paging::{PageRequest, page, time_key};
use super::problem::{Kind, Problem};
use super::{ApiResult, Call, json, no_content};
use crate::response::Response;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewWebhook {
    url: String,
    /// The HS256 secret (32 bytes at least); absent: one is made.
    secret: Option<String>,
    #[serde(default, deserialize_with = "super::optional_object")]
    oauth: Option<WebhookOAuth>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct WebhookOAuth {
    token_url: String,
    client_id: String,
    client_secret: String,
    scope: Option<String>,
}

/// `POST /api/v1/tenants/{slug}/webhooks` `{"url", "secret"?, "oauth"?}` → 201 with the
/// receiver and its `secret` (the only time it is shown).
pub(super) async fn add_webhook(call: &Call<'_>, slug: &str) -> ApiResult<Response> {
    let new: NewWebhook = call.body()?;
    let oauth = new.oauth.map(|oauth| OAuthClient {
        token_url: oauth.token_url,
        client_id: oauth.client_id,
        client_secret: oauth.client_secret,
        scope: oauth.scope,
    });
    let receivers = &call.state.receivers;
    let receiver = receivers
        .add(
            slug,
            NewReceiver {
                url: new.url,
                secret: new.secret,
                oauth,
            },
        )
        .await?;
    // Shown from what was written, with nothing delivered yet: no second read that could
    // fail after the receiver exists.
    let secret = receiver.secret.clone();
    let added = scim_core::events::ReceiverStatus {
        receiver,
        delivered: 0,
        retried: 0,
        dead_lettered: 0,
        pending: 0,
        oldest_pending: None,
    };
    let mut body = added.to_json(call.state.clock.now());
    body["secret"] = Value::String(secret);
    Ok(json(StatusCode::CREATED, &body))
}

/// `GET /api/v1/tenants/{slug}/webhooks`: the receivers and how their deliveries go.
pub(super) async fn list_webhooks(call: &Call<'_>, slug: &str) -> ApiResult<Response> {
    let request = PageRequest::of(&call.params()?)?;
    let now = call.state.clock.now();
    let receivers = call.state.receivers.list(slug).await?;
    let body = page(
        receivers,
        |status| time_key(&status.receiver.created, &status.receiver.id),
        &request,
        |status| status.to_json(now),
    );
    Ok(json(StatusCode::OK, &body))
}

/// `DELETE /api/v1/tenants/{slug}/webhooks/{id}` → 204; its queue goes with it.
pub(super) async fn remove_webhook(call: &Call<'_>, slug: &str, id: &str) -> ApiResult<Response> {
    call.state.receivers.remove(slug, id).await?;
    Ok(no_content())
}

/// `GET /api/v1/tenants/{slug}/webhooks/{id}/dead-letters`: the deliveries given up on,
/// oldest first.
pub(super) async fn dead_letters(call: &Call<'_>, slug: &str, id: &str) -> ApiResult<Response> {
    let receivers = &call.state.receivers;
    known_receiver(call, slug, id).await?;
    let dead = receivers.dead_letters(slug, Some(id)).await?;
    let data: Vec<Value> = dead.iter().map(|letter| letter.to_json()).collect();
    Ok(json(
        StatusCode::OK,
        &json!({"data": data, "next_cursor": null}),
    ))
}

/// `POST /api/v1/tenants/{slug}/webhooks/{id}/redrive` → 200 `{"queued": n}`: the dead
/// letters are due again now, with a fresh count of attempts.
pub(super) async fn redrive(call: &Call<'_>, slug: &str, id: &str) -> ApiResult<Response> {
    known_receiver(call, slug, id).await?;
    let queued = call.state.receivers.redrive(slug, Some(id)).await?;
    Ok(json(StatusCode::OK, &json!({"queued": queued})))
}

async fn known_receiver(call: &Call<'_>, slug: &str, id: &str) -> ApiResult<()> {
    let known = call
        .state
        .receivers
        .list(slug)
        .await?
        .iter()
        .any(|status| status.receiver.id == id);
    if known {
        Ok(())
    } else {
        Err(Problem::new(
            Kind::NotFound,
            format!("no webhook '{id}' in tenant '{slug}'"),
        ))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewAttribute {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    resource_type: Option<String>,
    schema: Option<String>,
    #[serde(default)]
    multi_valued: bool,
    #[serde(default)]
    case_exact: bool,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    description: String,
}

/// `GET /api/v1/tenants/{slug}/attributes`: the tenant's own attributes.
pub(super) async fn list_attributes(call: &Call<'_>, slug: &str) -> ApiResult<Response> {
    let tenant = call.tenant(slug).await?;
    let data: Vec<Value> = tenant.custom_attributes.iter().map(attribute).collect();
    Ok(json(
        StatusCode::OK,
        &json!({"data": data, "next_cursor": null}),
    ))
}

/// `POST /api/v1/tenants/{slug}/attributes` → 201 with the attribute: published in the
/// tenant's `/Schemas`, validated, filtered and patched like the built-in ones.
pub(super) async fn add_attribute(call: &Call<'_>, slug: &str) -> ApiResult<Response> {
    let new: NewAttribute = call.body()?;
    let resource_type = new.resource_type.unwrap_or_else(|| "User".to_owned());
    let added = TenantAttribute {
        schema: new
            .schema
            .unwrap_or_else(|| default_custom_schema(&resource_type).to_owned()),
        resource_type,
        name: new.name,
        ty: new.ty,
        multi_valued: new.multi_valued,
        case_exact: new.case_exact,
        required: new.required,
        description: new.description,
    };
    call.state
        .tenants
        .add_custom_attribute(slug, added.clone())
        .await?;
    Ok(json(StatusCode::CREATED, &attribute(&added)))
}

/// `DELETE /api/v1/tenants/{slug}/attributes/{id}` (the `id` is `<schema URN>:<name>`) →
/// 204. Values already stored are no longer shown.
pub(super) async fn remove_attribute(call: &Call<'_>, slug: &str, id: &str) -> ApiResult<Response> {
    let (schema, name) = id.rsplit_once(':').ok_or_else(|| {
        Problem::new(
            Kind::NotFound,
            format!("no attribute '{id}': name it <schema URN>:<name>"),
        )
    })?;
    call.state
        .tenants
        .remove_custom_attribute(slug, schema, name)
        .await?;
    Ok(no_content())
}

/// An attribute as the API shows it, with its `id` (`<schema URN>:<name>`).
fn attribute(attribute: &TenantAttribute) -> Value {
    let mut shown = serde_json::to_value(attribute).unwrap_or_default();
    shown["id"] = Value::String(format!("{}:{}", attribute.schema, attribute.name));
    shown
}
