//! The vendor's API keys: what the product's own systems (billing, sign-up, authorisation
//! checks) present to the Management API at `/api/v1`. A key belongs to the vendor, not to a
//! tenant; its scopes say what it may do (DESIGN.md "Management API").

use std::fmt;

use chrono::{DateTime, Utc};

use crate::tenant::{TokenHash, has_secret_shape};

/// Every API key starts with this, so a leaked one is recognisable (secret scanners) and
/// never mistaken for a SCIM credential (`scim_…`), which never opens `/api/v1`.
pub const API_KEY_PREFIX: &str = "scimkey_";

/// Whether `text` has the shape of an API key: [`API_KEY_PREFIX`] and
/// [`SECRET_CHARS`](crate::tenant::SECRET_CHARS)
/// base64url characters. Anything else is refused without asking the store.
pub fn is_api_key_shaped(text: &str) -> bool {
    has_secret_shape(text, API_KEY_PREFIX)
}

/// What a key may do. `admin` may do everything; a `…:write` scope includes its `…:read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// Everything.
    Admin,
    /// Read tenants, their settings, attributes, webhooks, usage and audit.
    TenantsRead,
    /// Create, change and delete tenants, their attributes and webhooks.
    TenantsWrite,
    /// Read pools, rules and users' licenses.
    LicensesRead,
    /// Sell seats (pools) and map values to them (rules).
    LicensesWrite,
    /// Issue and revoke a tenant's SCIM tokens and OAuth clients.
    CredentialsWrite,
    /// Make setup links for the customer's portal.
    PortalWrite,
    /// Read a tenant's event feed.
    EventsRead,
}

impl Scope {
    /// Every scope, in the order they are documented.
    pub const ALL: [Scope; 8] = [
        Scope::Admin,
        Scope::TenantsRead,
        Scope::TenantsWrite,
        Scope::LicensesRead,
        Scope::LicensesWrite,
        Scope::CredentialsWrite,
        Scope::PortalWrite,
        Scope::EventsRead,
    ];

    /// The scope's name (`tenants:read`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::TenantsRead => "tenants:read",
            Self::TenantsWrite => "tenants:write",
            Self::LicensesRead => "licenses:read",
            Self::LicensesWrite => "licenses:write",
            Self::CredentialsWrite => "credentials:write",
            Self::PortalWrite => "portal:write",
            Self::EventsRead => "events:read",
        }
    }

    /// The scope of `name`; `None` for a name no scope has.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == name)
    }

    /// Whether holding `self` allows what `needed` guards.
    pub fn allows(self, needed: Scope) -> bool {
        self == needed
            || self == Self::Admin
            || matches!(
                (self, needed),
                (Self::TenantsWrite, Self::TenantsRead) | (Self::LicensesWrite, Self::LicensesRead)
            )
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An API key as stored: never its secret, only its hash.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Its id, shown in listings and named by `api-key revoke`.
    pub id: String,
    /// What the operator called it (`billing`).
    pub name: String,
    /// What it may do; never empty.
    pub scopes: Vec<Scope>,
    /// The SHA-256 of the key.
    pub hash: TokenHash,
    /// The first characters of the key, to tell keys apart in listings.
    pub hint: String,
    /// When it was made.
    pub created: DateTime<Utc>,
    /// When it stops working; `None`: never.
    pub expires: Option<DateTime<Utc>>,
    /// When it last opened a request (recorded at most once a minute).
    pub last_used: Option<DateTime<Utc>>,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

impl ApiKey {
    /// Whether it still works at `now`.
    pub fn is_valid_at(&self, now: DateTime<Utc>) -> bool {
        self.expires.is_none_or(|expires| now < expires)
    }

    /// Whether one of its scopes allows what `needed` guards.
    pub fn allows(&self, needed: Scope) -> bool {
        self.scopes.iter().any(|scope| scope.allows(needed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::SECRET_CHARS;

    #[test]
    fn scopes_parse_and_imply_as_documented() {
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()), Some(scope));
            assert!(Scope::Admin.allows(scope));
            assert!(scope.allows(scope));
        }
        assert_eq!(Scope::parse("tenants"), None);
        assert_eq!(Scope::parse("ADMIN"), None);
        assert!(Scope::TenantsWrite.allows(Scope::TenantsRead));
        assert!(Scope::LicensesWrite.allows(Scope::LicensesRead));
        assert!(!Scope::TenantsRead.allows(Scope::TenantsWrite));
        assert!(!Scope::TenantsWrite.allows(Scope::LicensesRead));
        assert!(!Scope::CredentialsWrite.allows(Scope::Admin));
    }

    #[test]
    fn only_key_shaped_text_is_looked_up() {
        let key = format!("{API_KEY_PREFIX}{}", "a".repeat(SECRET_CHARS));
        assert!(is_api_key_shaped(&key));
        assert!(!is_api_key_shaped(&format!(
            "scim_{}",
            "a".repeat(SECRET_CHARS)
        )));
        assert!(!is_api_key_shaped(&key[..key.len() - 1]));
        assert!(!is_api_key_shaped(&format!("{key}=")));
    }
}
