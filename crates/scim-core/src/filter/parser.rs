//! Filter parser (to be written).
use super::ast::Filter;
use crate::error::ScimError;

/// Parses a filter expression.
pub fn parse(_text: &str) -> Result<Filter, ScimError> {
    Err(ScimError::InvalidFilter("not yet implemented".into()))
}
