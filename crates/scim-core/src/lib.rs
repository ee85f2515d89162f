//! The domain of the SCIM license server, free of I/O: schemas, resources, filters, list
//! queries, validation, the ports and the use cases built on them.

pub mod error;
pub mod filter;
pub mod fold;
pub mod path;
pub mod ports;
pub mod query;
pub mod resource;
pub mod schema;
pub mod tenant;

pub use error::{ScimError, ScimResult, StoreError};
pub use path::AttrPath;
pub use resource::{Meta, Resource, ResourceKind};
pub use schema::SchemaRegistry;
