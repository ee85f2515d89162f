//! The schema registry and the schemas it holds.

pub mod attribute;
pub mod catalog;
pub mod custom;
pub mod enterprise_user;
pub mod group;
pub mod license;
pub mod registry;
pub mod user;

pub use attribute::{AttrType, AttributeDef, Mutability, Returned, Uniqueness};
pub use catalog::{Catalog, Dialect};
pub use custom::{
    CUSTOM_GROUP_SCHEMA, CUSTOM_USER_SCHEMA, TenantAttribute, TenantSchema, TenantSchemas,
    check_custom, default_custom_schema,
};
pub use enterprise_user::ENTERPRISE_USER_SCHEMA;
pub use group::GROUP_SCHEMA;
pub use license::{LICENSE_SCHEMA, LICENSE_USER_EXTENSION};
pub use registry::{ResolvedAttr, ResourceTypeDef, Schema, SchemaExtension, SchemaRegistry};
pub use user::USER_SCHEMA;
