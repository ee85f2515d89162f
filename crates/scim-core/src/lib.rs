#![warn(missing_docs)]
//! The domain of the SCIM license server, free of I/O: schemas, resources, filters, list
//! queries, validation, the PATCH engine, the license engine, the ports and the use cases
//! built on them.
//!
//! # Three ways to use it
//!
//! - **Serve SCIM from your own storage.** Implement the storage ports of [`ports`]
//!   (all of them: [`ports::Storage`]) on your database, wire every use case on it with
//!   [`service::Services::on`], and serve them with `scim-http` (one function on `http`
//!   types, with actix-web and axum adapters) or your own HTTP layer. `scim-memory` is the
//!   reference store, `scim-testkit`'s contract suite holds yours to the same guarantees,
//!   and `docs/embedding.md` says what each port must guarantee. A store writes storage
//!   only: every license decision is the engine's.
//! - **Decide licenses.** [`license`] turns a user's entitlements, roles and groups into the
//!   skus it should hold, and its engine ([`license::LicensePlan`]) decides against the
//!   pools' seats what to assign, revoke, leave waiting or refuse, with the audit entries
//!   and events of each change.
//! - **Unit-test license rules.** [`license::Licensing`] states a tenant in a few lines and
//!   runs the engine, synchronously, with no store, runtime or mock.
//!
//! ```
//! use scim_core::filter;
//! use scim_core::license::Licensing;
//! use scim_core::{ResourceKind, SchemaRegistry};
//! use serde_json::json;
//!
//! // RFC 7644 filters, evaluated against a resource as the schemas type it
//! // (userName is case-insensitive).
//! let registry = SchemaRegistry::standard();
//! let filter = filter::parse(r#"userName eq "BJensen" and active eq true"#).unwrap();
//! let user = json!({"userName": "bjensen", "active": true});
//! let user = user.as_object().unwrap();
//! assert!(filter::matches(&filter, ResourceKind::User, &registry, user));
//!
//! // Two users want the one seat of `pro`: the first in creation order gets it.
//! let mut tenant = Licensing::new()
//!     .pool("pro", 1)
//!     .rule("role Admin -> pro")
//!     .user("A", "role:admin")
//!     .user("B", "role:ADMIN");
//! assert_eq!(
//!     tenant.reevaluate(),
//!     ["A +pro (direct)", "pro exhausted 1/1", "B waits for pro"]
//! );
//! ```
//!
//! The core reads no clock, no network and no disk: time comes from the
//! [`ports::Clock`], ids from [`ports::IdGenerator`]; the `mock` feature exposes `mockall`
//! mocks of every port.

pub mod activity;
pub mod admin;
pub mod api_key;
pub mod bulk;
pub mod compat;
pub mod context;
pub mod error;
pub mod events;
pub mod federation;
pub mod filter;
pub mod fold;
pub mod idempotency;
pub mod license;
pub mod list_request;
pub mod outbound;
pub mod paging;
pub mod patch;
pub mod path;
pub mod portal;
pub mod ports;
pub mod project;
pub mod query;
pub mod resource;
pub mod schema;
pub mod secrets;
pub mod service;
pub mod tenant;
pub mod validate;

pub use context::{Caller, WriteContext};
pub use error::{ScimError, ScimResult, StoreError};
pub use path::AttrPath;
pub use resource::{Expand, MembershipChange, Meta, NewMember, Resource, ResourceKind};
pub use schema::SchemaRegistry;

/// The Rust examples of `docs/licensing.md`, compiled and run as doctests so the guide
/// cannot drift from the engine.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/licensing.md")]
pub struct LicensingGuide;
