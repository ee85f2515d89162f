//! The domain of the SCIM license server, free of I/O: schemas, resources, filters, list
//! queries, validation, the ports and the use cases built on them.

pub mod admin;
pub mod bulk;
pub mod compat;
pub mod context;
pub mod error;
pub mod events;
pub mod filter;
pub mod fold;
pub mod license;
pub mod list_request;
pub mod outbound;
pub mod paging;
pub mod patch;
pub mod path;
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
