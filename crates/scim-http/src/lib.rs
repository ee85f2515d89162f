//! The HTTP adapter: SCIM 2.0 over actix-web (RFC 7644). It turns requests into calls of
//! the core's use cases and core results into SCIM JSON; it holds no business rule.

mod address;
mod admin;
mod auth;
mod body;
mod context;
mod error;
mod handlers;
mod headers;
mod limits;
mod openapi;
mod params;
mod rate;
mod render;
mod routes;
mod sets;
mod state;

pub use address::TrustedProxies;
pub use auth::{AuthenticatedTenant, PeerCertificate};
pub use context::RequestId;
pub use error::ApiError;
pub use handlers::events::PollSlots;
pub use handlers::health::HealthCheck;
pub use handlers::oauth::TokenIssuance;
pub use headers::security_headers;
pub use limits::{AddressLimits, MAX_LOOKUPS_IN_FLIGHT};
pub use openapi::document as openapi_document;
pub use rate::{RateLimit, RateLimiter};
pub use routes::{configure, endpoint};
pub use sets::{SetSigner, SignerError};
pub use state::{AppState, HttpConfig};

/// The SCIM media type (RFC 7644 §8.1).
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";
