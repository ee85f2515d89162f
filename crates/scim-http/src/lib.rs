//! The HTTP adapter: SCIM 2.0 (RFC 7644) as a function of HTTP requests, [`ScimApi::handle`],
//! on the `http` crate's types. It turns requests into calls of the core's use cases and
//! core results into SCIM JSON; it holds no business rule. Thin adapters put it behind a
//! server: [`actix`] (the server's) and [`axum`] (for services that embed it next to their
//! own routes). Who a caller is, is an [`Authenticator`]'s to say: the server's credentials
//! by default, a host service's own scheme when it brings one. The same function serves
//! the vendor's Management API under `/api/v1` (API keys, RFC 9457 problems).

mod activity;
mod address;
mod admin;
mod api;
mod auth;
mod body;
mod context;
mod error;
mod handlers;
mod headers;
mod limits;
mod management;
mod openapi;
mod params;
mod portal;
mod rate;
mod render;
mod request;
mod response;
mod routes;
mod sets;
mod state;

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "axum")]
pub mod axum;

pub use address::TrustedProxies;
pub use api::ScimApi;
pub use auth::{Authenticator, PeerCertificate, TenantCredentials};
pub use error::ApiError;
pub use handlers::events::PollSlots;
pub use handlers::health::HealthCheck;
pub use handlers::oauth::TokenIssuance;
pub use headers::add_security_headers;
pub use limits::{AddressLimits, MAX_LOOKUPS_IN_FLIGHT};
pub use management::problem::{PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_PREFIX};
pub use openapi::document as openapi_document;
pub use rate::{RateLimit, RateLimiter};
pub use request::{BodyTooLarge, ClientAddr, RequestId, Secure};
pub use response::{AuthenticatedTenant, MatchedRoute, Response};
pub use sets::{SetSigner, SignerError};
pub use state::{AppState, HttpConfig};

/// The SCIM media type (RFC 7644 §8.1).
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";
