//! How the Management API shows what the core holds: one function per representation, so
//! a tenant, a pool or a rule looks the same in every answer that carries it.

use scim_core::license::{MappingRule, Pool};
use scim_core::resource::format_time;
use scim_core::service::UserLicenses;
use scim_core::tenant::{StoredClient, StoredToken, Tenant};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The ETag of a tenant: of what a PATCH changes, not of the URL it is reached at.
pub(super) fn tenant_etag(tenant: &Tenant) -> String {
    etag(&tenant_fields(tenant))
}

/// The ETag of a pool: of what a PUT sets (its seats and name), not of its use, which
/// every provisioning request moves.
pub(super) fn pool_etag(pool: &Pool) -> String {
    etag(
        &json!({"sku": pool.sku, "name": pool.display_name, "seats": pool.seats,
                 "policy": pool.policy.as_str(), "overage": pool.policy.allowance(),
                 "starts": pool.term.starts.as_ref().map(format_time),
                 "ends": pool.term.ends.as_ref().map(format_time)}),
    )
}

/// The weak ETag of a representation: 16 hex digits of the SHA-256 of its JSON.
fn etag(body: &Value) -> String {
    let digest = Sha256::digest(body.to_string().as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("W/\"{hex}\"")
}

/// A tenant, with the SCIM base URL its IdP is given (`origin` is how callers reach us).
pub(super) fn tenant(tenant: &Tenant, origin: &str) -> Value {
    let mut shown = tenant_fields(tenant);
    shown["scimBaseUrl"] = json!(format!("{origin}/scim/v2"));
    shown
}

/// What a tenant is, whatever URL it is reached at.
fn tenant_fields(tenant: &Tenant) -> Value {
    json!({
        "slug": tenant.slug,
        "name": tenant.name,
        "created": format_time(&tenant.created),
        "profile": tenant.compatibility.name(),
        "settings": {
            "patchResponse": tenant.compatibility.patch_response,
            "onDeactivate": tenant.compatibility.on_deactivate,
        },
        "clientCertificates": tenant.client_certs,
    })
}

/// A SCIM bearer token, never its secret.
pub(super) fn token(token: &StoredToken) -> Value {
    json!({
        "id": token.id,
        "hint": format!("{}…", token.hint),
        "created": format_time(&token.created),
        "expiresAt": token.expires.as_ref().map(format_time),
    })
}

/// An OAuth client, never its secret: how it authenticates (`secret` or `federation`)
/// and, for a federated one, what it trusts.
pub(super) fn client(client: &StoredClient, origin: &str) -> Value {
    json!({
        "client_id": client.id,
        "authentication": client.auth.name(),
        "federation": client.federation(),
        "created": format_time(&client.created),
        "expiresAt": client.expires.as_ref().map(format_time),
        "tokenEndpoint": format!("{origin}/oauth/token"),
    })
}

/// A license pool and its use.
pub(super) fn pool(pool: &Pool) -> Value {
    json!({
        "sku": pool.sku,
        "name": pool.display_name,
        "seats": pool.seats,
        "used": pool.used,
        "available": pool.available(),
        "policy": pool.policy.as_str(),
        "overage": pool.policy.allowance(),
        "overageUsed": pool.overage_used(),
        "pending": pool.pending,
        "starts": pool.term.starts.as_ref().map(format_time),
        "ends": pool.term.ends.as_ref().map(format_time),
    })
}

/// A mapping rule, with its id.
pub(super) fn rule(rule: &MappingRule) -> Value {
    json!({
        "id": rule.id(),
        "source": rule.source.as_str(),
        "value": rule.value,
        "sku": rule.sku,
    })
}

/// A user and the licenses it holds (the license lookup).
pub(super) fn user_licenses(found: &UserLicenses) -> Value {
    let licenses: Vec<_> = found
        .licenses
        .iter()
        .map(|held| {
            json!({
                "sku": held.sku,
                "source": held.source.as_str(),
                "assigned": format_time(&held.assigned),
                "status": held.status.as_str(),
            })
        })
        .collect();
    json!({
        "user": {"id": found.id, "userName": found.user_name, "active": found.active},
        "licenses": licenses,
    })
}
