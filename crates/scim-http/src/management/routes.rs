//! The Management API's route table: which handler answers which method on which path,
//! and the scope each needs.

use http::Method;
use scim_core::api_key::Scope;

use crate::routes::segment;

/// A path under `/api/v1`, with what its pattern names (`slug` first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ApiRoute {
    Tenants,
    Tenant(String),
    Tokens(String),
    Token(String, String),
    Clients(String),
    Client(String, String),
    Pools(String),
    Pool(String, String),
    TrueUp(String, String),
    Rules(String),
    Rule(String, String),
    RulePreviews(String),
    Licenses(String),
    UserLicenses(String, String),
    Usage(String),
    Audit(String),
    Activity(String),
    SetupLinks(String),
    SetupLink(String, String),
    Events(String),
    Webhooks(String),
    Webhook(String, String),
    DeadLetters(String, String),
    Redrive(String, String),
    Attributes(String),
    Attribute(String, String),
}

/// The base path of the Management API.
pub(crate) const BASE: &str = "/api/v1";

impl ApiRoute {
    /// The route of `path` (under [`BASE`]); `None`: no such resource.
    pub(super) fn of(path: &str) -> Option<Self> {
        let rest = path.strip_prefix(BASE)?.strip_prefix('/')?;
        let parts: Vec<&str> = rest.split('/').collect();
        // A segment holding U+0000 names nothing any store holds.
        let seg = |i: usize| {
            parts
                .get(i)
                .and_then(|text| segment(text))
                .filter(|decoded| !decoded.contains('\0'))
        };
        Some(match parts.as_slice() {
            ["tenants"] => Self::Tenants,
            ["tenants", _] => Self::Tenant(seg(1)?),
            ["tenants", _, "tokens"] => Self::Tokens(seg(1)?),
            ["tenants", _, "tokens", _] => Self::Token(seg(1)?, seg(3)?),
            ["tenants", _, "clients"] => Self::Clients(seg(1)?),
            ["tenants", _, "clients", _] => Self::Client(seg(1)?, seg(3)?),
            ["tenants", _, "pools"] => Self::Pools(seg(1)?),
            ["tenants", _, "pools", _] => Self::Pool(seg(1)?, seg(3)?),
            ["tenants", _, "pools", _, "true-up"] => Self::TrueUp(seg(1)?, seg(3)?),
            ["tenants", _, "rules"] => Self::Rules(seg(1)?),
            ["tenants", _, "rules", _] => Self::Rule(seg(1)?, seg(3)?),
            ["tenants", _, "rule-previews"] => Self::RulePreviews(seg(1)?),
            ["tenants", _, "licenses"] => Self::Licenses(seg(1)?),
            ["tenants", _, "users", _, "licenses"] => Self::UserLicenses(seg(1)?, seg(3)?),
            ["tenants", _, "usage"] => Self::Usage(seg(1)?),
            ["tenants", _, "audit"] => Self::Audit(seg(1)?),
            ["tenants", _, "activity"] => Self::Activity(seg(1)?),
            ["tenants", _, "setup-links"] => Self::SetupLinks(seg(1)?),
            ["tenants", _, "setup-links", _] => Self::SetupLink(seg(1)?, seg(3)?),
            ["tenants", _, "events"] => Self::Events(seg(1)?),
            ["tenants", _, "webhooks"] => Self::Webhooks(seg(1)?),
            ["tenants", _, "webhooks", _] => Self::Webhook(seg(1)?, seg(3)?),
            ["tenants", _, "webhooks", _, "dead-letters"] => Self::DeadLetters(seg(1)?, seg(3)?),
            ["tenants", _, "webhooks", _, "redrive"] => Self::Redrive(seg(1)?, seg(3)?),
            ["tenants", _, "attributes"] => Self::Attributes(seg(1)?),
            ["tenants", _, "attributes", _] => Self::Attribute(seg(1)?, seg(3)?),
            _ => return None,
        })
    }

    /// The methods the route allows, as an `Allow` header lists them.
    pub(super) fn allow(&self) -> &'static str {
        match self {
            Self::Tenants
            | Self::Tokens(_)
            | Self::Clients(_)
            | Self::Rules(_)
            | Self::Webhooks(_)
            | Self::SetupLinks(_)
            | Self::Attributes(_) => "GET, HEAD, POST",
            Self::Webhook(..) | Self::Attribute(..) | Self::SetupLink(..) => "DELETE",
            Self::Redrive(..) | Self::RulePreviews(_) => "POST",
            Self::Tenant(_) => "GET, HEAD, PATCH, DELETE",
            Self::Token(..) | Self::Client(..) => "DELETE",
            Self::Pool(..) => "GET, HEAD, PUT",
            Self::Rule(..) => "GET, HEAD, DELETE",
            Self::Pools(_)
            | Self::TrueUp(..)
            | Self::Licenses(_)
            | Self::UserLicenses(..)
            | Self::Usage(_)
            | Self::Audit(_)
            | Self::Activity(_)
            | Self::Events(_)
            | Self::DeadLetters(..) => "GET, HEAD",
        }
    }

    /// The scope `method` on the route needs; `None`: the route does not allow it.
    pub(super) fn scope(&self, method: &Method) -> Option<Scope> {
        let read = *method == Method::GET || *method == Method::HEAD;
        let post = *method == Method::POST;
        let delete = *method == Method::DELETE;
        match self {
            Self::Tenants if read => Some(Scope::TenantsRead),
            Self::Tenants if post => Some(Scope::TenantsWrite),
            Self::Tenant(_) if read => Some(Scope::TenantsRead),
            Self::Tenant(_) if *method == Method::PATCH || delete => Some(Scope::TenantsWrite),
            Self::Tokens(_) | Self::Clients(_) if read => Some(Scope::TenantsRead),
            Self::Tokens(_) | Self::Clients(_) if post => Some(Scope::CredentialsWrite),
            Self::Token(..) | Self::Client(..) if delete => Some(Scope::CredentialsWrite),
            Self::Pools(_) | Self::Pool(..) | Self::Rules(_) | Self::Rule(..) if read => {
                Some(Scope::LicensesRead)
            }
            Self::Pool(..) if *method == Method::PUT => Some(Scope::LicensesWrite),
            Self::Rules(_) if post => Some(Scope::LicensesWrite),
            Self::Rule(..) if delete => Some(Scope::LicensesWrite),
            // A preview writes nothing.
            Self::RulePreviews(_) if post => Some(Scope::LicensesRead),
            Self::Licenses(_)
            | Self::UserLicenses(..)
            | Self::Usage(_)
            | Self::Audit(_)
            | Self::TrueUp(..)
                if read =>
            {
                Some(Scope::LicensesRead)
            }
            Self::Events(_) if read => Some(Scope::EventsRead),
            Self::SetupLinks(_) if read => Some(Scope::TenantsRead),
            Self::SetupLinks(_) if post => Some(Scope::PortalWrite),
            Self::SetupLink(..) if delete => Some(Scope::PortalWrite),
            Self::Webhooks(_) | Self::Attributes(_) | Self::DeadLetters(..) | Self::Activity(_)
                if read =>
            {
                Some(Scope::TenantsRead)
            }
            Self::Webhooks(_) | Self::Attributes(_) | Self::Redrive(..) if post => {
                Some(Scope::TenantsWrite)
            }
            Self::Webhook(..) | Self::Attribute(..) if delete => Some(Scope::TenantsWrite),
            _ => None,
        }
    }

    /// The route's pattern: what metrics label the request with.
    pub(super) fn pattern(&self) -> &'static str {
        match self {
            Self::Tenants => "/api/v1/tenants",
            Self::Tenant(_) => "/api/v1/tenants/{slug}",
            Self::Tokens(_) => "/api/v1/tenants/{slug}/tokens",
            Self::Token(..) => "/api/v1/tenants/{slug}/tokens/{id}",
            Self::Clients(_) => "/api/v1/tenants/{slug}/clients",
            Self::Client(..) => "/api/v1/tenants/{slug}/clients/{client_id}",
            Self::Pools(_) => "/api/v1/tenants/{slug}/pools",
            Self::Pool(..) => "/api/v1/tenants/{slug}/pools/{sku}",
            Self::TrueUp(..) => "/api/v1/tenants/{slug}/pools/{sku}/true-up",
            Self::Rules(_) => "/api/v1/tenants/{slug}/rules",
            Self::Rule(..) => "/api/v1/tenants/{slug}/rules/{id}",
            Self::RulePreviews(_) => "/api/v1/tenants/{slug}/rule-previews",
            Self::Licenses(_) => "/api/v1/tenants/{slug}/licenses",
            Self::UserLicenses(..) => "/api/v1/tenants/{slug}/users/{id}/licenses",
            Self::Usage(_) => "/api/v1/tenants/{slug}/usage",
            Self::Audit(_) => "/api/v1/tenants/{slug}/audit",
            Self::Activity(_) => "/api/v1/tenants/{slug}/activity",
            Self::SetupLinks(_) => "/api/v1/tenants/{slug}/setup-links",
            Self::SetupLink(..) => "/api/v1/tenants/{slug}/setup-links/{id}",
            Self::Events(_) => "/api/v1/tenants/{slug}/events",
            Self::Webhooks(_) => "/api/v1/tenants/{slug}/webhooks",
            Self::Webhook(..) => "/api/v1/tenants/{slug}/webhooks/{id}",
            Self::DeadLetters(..) => "/api/v1/tenants/{slug}/webhooks/{id}/dead-letters",
            Self::Redrive(..) => "/api/v1/tenants/{slug}/webhooks/{id}/redrive",
            Self::Attributes(_) => "/api/v1/tenants/{slug}/attributes",
            Self::Attribute(..) => "/api/v1/tenants/{slug}/attributes/{id}",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_route_and_decoded_segments() {
        assert_eq!(ApiRoute::of("/api/v1/tenants"), Some(ApiRoute::Tenants));
        assert_eq!(
            ApiRoute::of("/api/v1/tenants/acme/pools/pro%20plus"),
            Some(ApiRoute::Pool("acme".into(), "pro plus".into()))
        );
        assert_eq!(
            ApiRoute::of("/api/v1/tenants/acme/users/u1/licenses"),
            Some(ApiRoute::UserLicenses("acme".into(), "u1".into()))
        );
        for unknown in [
            "/api/v1",
            "/api/v1/",
            "/api/v1/tenants/",
            "/api/v1/tenants//tokens",
            "/api/v1/tenants/acme/nothing",
            "/api/v2/tenants",
            "/api/v1/tenants/acme/pools/pro/extra",
            "/api/v1/tenants/ac%00me",
        ] {
            assert_eq!(ApiRoute::of(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn writes_need_write_scopes_and_reads_read_scopes() {
        let tenant = ApiRoute::Tenant("acme".into());
        assert_eq!(tenant.scope(&Method::GET), Some(Scope::TenantsRead));
        assert_eq!(tenant.scope(&Method::DELETE), Some(Scope::TenantsWrite));
        assert_eq!(tenant.scope(&Method::POST), None);
        let tokens = ApiRoute::Tokens("acme".into());
        assert_eq!(tokens.scope(&Method::POST), Some(Scope::CredentialsWrite));
        let pool = ApiRoute::Pool("acme".into(), "pro".into());
        assert_eq!(pool.scope(&Method::PUT), Some(Scope::LicensesWrite));
        assert_eq!(pool.scope(&Method::HEAD), Some(Scope::LicensesRead));
        assert_eq!(
            ApiRoute::Events("acme".into()).scope(&Method::GET),
            Some(Scope::EventsRead)
        );
    }
}
