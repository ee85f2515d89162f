//! Filter evaluator (to be written).
use serde_json::{Map, Value};

use super::ast::Filter;
use crate::error::ScimError;
use crate::resource::ResourceKind;
use crate::schema::SchemaRegistry;

/// Checks a filter against the registry.
pub fn check(
    _filter: &Filter,
    _kind: ResourceKind,
    _registry: &SchemaRegistry,
) -> Result<(), ScimError> {
    Ok(())
}

/// Evaluates a checked filter against a resource document.
pub fn matches(
    _filter: &Filter,
    _kind: ResourceKind,
    _registry: &SchemaRegistry,
    _doc: &Map<String, Value>,
) -> bool {
    false
}
