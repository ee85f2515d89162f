//! Tenants and the bearer credentials that choose them.

#![warn(missing_docs)]

use std::fmt;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::compat::Compatibility;
use crate::federation::Federation;
use crate::schema::TenantAttribute;

/// The store's identifier of a tenant. Every resource port takes one, so a query that
/// forgets its tenant does not compile.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TenantId(pub String);

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An enterprise customer: its directory, credentials, pools and events are its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Its stable id (what every row of it carries).
    pub id: TenantId,
    /// The operator's name for the tenant (`acme`), unique.
    pub slug: String,
    /// Its display name.
    pub name: String,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// SHA-256 fingerprints ([`cert_fingerprint`]) of the client certificates the tenant's
    /// requests must present over TLS; empty: none required.
    pub client_certs: Vec<String>,
    /// The attributes the tenant's administrator defined (`scim-server schema add`).
    pub custom_attributes: Vec<TenantAttribute>,
    /// How the server meets the tenant's identity provider (`tenant set --profile`).
    pub compatibility: Compatibility,
}

impl Tenant {
    /// A new tenant with the default settings: no pinned certificate, no attributes of its
    /// own, the standard compatibility profile.
    pub fn new(id: TenantId, slug: &str, name: &str, created: DateTime<Utc>) -> Self {
        Self {
            id,
            slug: slug.to_owned(),
            name: name.to_owned(),
            created,
            client_certs: Vec::new(),
            custom_attributes: Vec::new(),
            compatibility: Compatibility::default(),
        }
    }
}

/// The SHA-256 of a DER certificate, lowercase hex: how a pinned client certificate is
/// named.
pub fn cert_fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `slug` is acceptable: 1–63 characters of `a-z`, `0-9` and `-`, not starting
/// with `-`.
pub fn is_valid_slug(slug: &str) -> bool {
    (1..=63).contains(&slug.len())
        && !slug.starts_with('-')
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Every bearer token we issue starts with this, so leaked tokens are recognisable
/// (secret scanners) and never confused with other credentials.
pub const TOKEN_PREFIX: &str = "scim_";

/// Characters of a secret after [`TOKEN_PREFIX`]: 256 random bits, base64url without
/// padding.
pub const SECRET_CHARS: usize = 43;

/// Whether `text` has the shape of a secret this server issues (a token, an access token,
/// a client secret, a dashboard session): [`TOKEN_PREFIX`] and [`SECRET_CHARS`] base64url
/// characters. Anything else is refused without asking the store.
pub fn is_secret_shaped(text: &str) -> bool {
    has_secret_shape(text, TOKEN_PREFIX)
}

/// Whether `text` is `prefix` and [`SECRET_CHARS`] base64url characters.
pub fn has_secret_shape(text: &str, prefix: &str) -> bool {
    text.strip_prefix(prefix).is_some_and(|rest| {
        rest.len() == SECRET_CHARS
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// Whether `id` could be an OAuth client's id (ours are UUIDs): 1 to 64 ASCII letters,
/// digits and `-`.
pub fn is_client_id_shaped(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The SHA-256 of a token: what the store keeps instead of the token.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(pub String);

impl TokenHash {
    /// The hash of `secret`, as stored and looked up.
    pub fn of(secret: &str) -> Self {
        let digest = Sha256::digest(secret.as_bytes());
        Self(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Constant-time comparison, so that a near-miss takes as long as a miss.
    pub fn matches(&self, other: &TokenHash) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

/// A token as stored: never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    /// Its id, shown in listings and named by `token revoke`.
    pub id: String,
    /// The tenant it authenticates as.
    pub tenant: TenantId,
    /// The SHA-256 of the token.
    pub hash: TokenHash,
    /// The first characters of the token, shown in listings to tell tokens apart.
    pub hint: String,
    /// When it was issued.
    pub created: DateTime<Utc>,
    /// When it stops working; `None`: never.
    pub expires: Option<DateTime<Utc>>,
    /// The OAuth client that obtained it from `/oauth/token`; `None` for a token the
    /// operator issued.
    pub client: Option<String>,
}

/// An OAuth 2.0 client as stored: its id (the `client_id`) and how it authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredClient {
    /// The `client_id`.
    pub id: String,
    /// The tenant its tokens authenticate as.
    pub tenant: TenantId,
    /// Its secret's hash, or the trust its assertions are held to.
    pub auth: ClientAuth,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// When its secret stops working; `None`: never.
    pub expires: Option<DateTime<Utc>>,
}

/// How an OAuth client proves itself at `/oauth/token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAuth {
    /// With a secret (RFC 6749 §2.3.1), kept as its SHA-256.
    Secret(TokenHash),
    /// With a JWT its issuer signed (RFC 7523): workload identity federation.
    Federated(Federation),
}

impl ClientAuth {
    /// What the Management API and the CLI call it: `secret` or `federation`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Secret(_) => "secret",
            Self::Federated(_) => "federation",
        }
    }
}

impl StoredClient {
    /// The hash of its secret; `None` for a federated client, which has none.
    pub fn secret_hash(&self) -> Option<&TokenHash> {
        match &self.auth {
            ClientAuth::Secret(hash) => Some(hash),
            ClientAuth::Federated(_) => None,
        }
    }

    /// The trust its assertions are held to; `None` for a client with a secret.
    pub fn federation(&self) -> Option<&Federation> {
        match &self.auth {
            ClientAuth::Secret(_) => None,
            ClientAuth::Federated(federation) => Some(federation),
        }
    }

    /// Whether it still works at `now` (its secret, or its trust).
    pub fn is_valid_at(&self, now: DateTime<Utc>) -> bool {
        self.expires.is_none_or(|expires| now < expires)
    }
}

impl StoredToken {
    /// Whether it still works at `now`.
    pub fn is_valid_at(&self, now: DateTime<Utc>) -> bool {
        self.expires.is_none_or(|expires| now < expires)
    }
}

/// Who is calling: the tenant a credential chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The tenant the credential authenticates as.
    pub tenant: TenantId,
    /// Its slug, for logs and links.
    pub tenant_slug: String,
    /// The credential, named by its kind and id (never its secret): `token:<id>`,
    /// `client:<id>`, or an embedding service's own (`product-key:…`); what logs, the
    /// audit log's actor and the activity log name.
    pub credential_id: String,
    /// The client certificates the tenant requires (see [`Tenant::client_certs`]).
    pub client_certs: Vec<String>,
    /// The tenant's own attributes (see [`Tenant::custom_attributes`]), read with the
    /// credential.
    pub custom_attributes: Vec<TenantAttribute>,
    /// The tenant's compatibility settings, read with the credential.
    pub compatibility: Compatibility,
}

impl Principal {
    /// `tenant`'s caller, by the credential `credential_id` (its id, never its secret):
    /// what an authenticator returns.
    pub fn of(tenant: Tenant, credential_id: impl Into<String>) -> Self {
        Self {
            tenant: tenant.id,
            tenant_slug: tenant.slug,
            credential_id: credential_id.into(),
            client_certs: tenant.client_certs,
            custom_attributes: tenant.custom_attributes,
            compatibility: tenant.compatibility,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_sha256_hex_and_compare() {
        let hash = TokenHash::of("abc");
        assert_eq!(
            hash.0,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(hash.matches(&TokenHash::of("abc")));
        assert!(!hash.matches(&TokenHash::of("abd")));
        assert_eq!(format!("{hash:?}"), "TokenHash(..)");
    }

    #[test]
    fn secrets_and_client_ids_have_our_shape() {
        let secret = format!(
            "scim_{}",
            "aB3-_".repeat(9).chars().take(43).collect::<String>()
        );
        assert!(is_secret_shaped(&secret));
        for bad in [
            "scim_short",
            &secret[1..],
            &format!("{secret}x"),
            &secret.replace('a', "+"),
            &secret.replace('a', "\0"),
            "",
        ] {
            assert!(!is_secret_shaped(bad), "{bad}");
        }
        assert!(is_client_id_shaped("3f9c2a7e-1b2c-4d5e-8f90-123456789abc"));
        for bad in ["", "c 1", "c1\0", &"c".repeat(65), "c1:x"] {
            assert!(!is_client_id_shaped(bad), "{bad}");
        }
    }

    #[test]
    fn slugs() {
        for ok in ["acme", "a", "acme-corp-2"] {
            assert!(is_valid_slug(ok), "{ok}");
        }
        for bad in ["", "-acme", "Acme", "ac me", "acme_corp", &"a".repeat(64)] {
            assert!(!is_valid_slug(bad), "{bad}");
        }
    }
}

/// What one step of a tenant's deletion did ([`crate::ports::TenantDirectory::purge_tenant`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PurgeStep {
    /// Rows removed by the step.
    pub removed: u64,
    /// Whether the tenant is gone: its last rows and its directory entry were removed.
    pub finished: bool,
}
