//! Parsing a BulkRequest into entries, each an operation or the reason it is not one.

use serde_json::Value;

use crate::error::{ScimError, ScimResult};
use crate::resource::ResourceKind;

/// The schema a BulkRequest body must list (RFC 7644 §3.7).
pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// The schema of a BulkResponse body (RFC 7644 §3.7).
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
/// What a string starts with when it references the resource a POST of the same request
/// creates: `bulkId:<bulkId>`.
pub const BULK_ID_PREFIX: &str = "bulkId:";

/// What the server accepts in one request (advertised in `/ServiceProviderConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkLimits {
    /// `maxOperations`: operations one request may hold; more fail the whole request (413).
    pub max_operations: usize,
}

/// What a bulk operation does (RFC 7644 §3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkMethod {
    /// Creates a resource (its path is a resource type: `/Users`).
    Post,
    /// Replaces a resource.
    Put,
    /// Modifies a resource with a PatchOp (RFC 7644 §3.5.2).
    Patch,
    /// Deletes a resource.
    Delete,
}

impl BulkMethod {
    /// The method as HTTP spells it: `POST`, `PUT`, `PATCH`, `DELETE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

/// One operation, checked for shape (its `data` is checked when it runs).
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOperation {
    /// What it does.
    pub method: BulkMethod,
    /// Its `bulkId`: required for POST, the name later operations reference its resource by.
    pub bulk_id: Option<String>,
    /// The resource type its path names.
    pub kind: ResourceKind,
    /// The id of the path (`/Users/<id>`): absent for POST; may be `bulkId:<id>`.
    pub id: Option<String>,
    /// `version`: the ETag the operation requires (`If-Match`).
    pub version: Option<String>,
    /// The resource (POST, PUT) or the PatchOp body (PATCH); `None` for DELETE.
    pub data: Option<Value>,
}

/// One element of `Operations` as sent, and what it parsed to.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkEntry {
    /// The method as sent (for the response, also when unknown).
    pub method: String,
    /// `bulkId` as sent.
    pub bulk_id: Option<String>,
    /// `path` as sent; empty when absent.
    pub path: String,
    /// The operation, or why the element is not one (which fails that element alone).
    pub operation: Result<BulkOperation, ScimError>,
}

/// A BulkRequest (RFC 7644 §3.7), parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkRequest {
    /// Stop after this many failed operations (`failOnErrors`); `None`: never.
    pub fail_on_errors: Option<usize>,
    /// The elements of `Operations`, in request order.
    pub entries: Vec<BulkEntry>,
}

/// Parses a BulkRequest body. Whole-request problems are errors here; a malformed
/// operation is an entry whose `operation` is the error.
pub fn parse_bulk(body: &Value, limits: &BulkLimits) -> ScimResult<BulkRequest> {
    let Value::Object(body) = body else {
        return Err(ScimError::InvalidSyntax(
            "a BulkRequest must be a JSON object".into(),
        ));
    };
    let schemas_ok = body
        .get("schemas")
        .and_then(Value::as_array)
        .is_some_and(|schemas| schemas.iter().any(|s| s == BULK_REQUEST_SCHEMA));
    if !schemas_ok {
        return Err(ScimError::InvalidSyntax(format!(
            "'schemas' must contain {BULK_REQUEST_SCHEMA}"
        )));
    }
    let operations = field(body, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::InvalidSyntax("'Operations' must be a list".into()))?;
    if operations.len() > limits.max_operations {
        return Err(ScimError::PayloadTooLarge(format!(
            "the request has {} operations; at most {} are accepted (maxOperations)",
            operations.len(),
            limits.max_operations
        )));
    }
    let fail_on_errors = match field(body, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(value) => match value.as_u64() {
            Some(n) if n >= 1 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            _ => {
                return Err(ScimError::InvalidValue(
                    "'failOnErrors' must be an integer of 1 or more".into(),
                ));
            }
        },
    };
    Ok(BulkRequest {
        fail_on_errors,
        entries: operations.iter().map(parse_entry).collect(),
    })
}

/// A member of an object, its name compared case-insensitively (RFC 7643 §2.1).
fn field<'v>(object: &'v serde_json::Map<String, Value>, name: &str) -> Option<&'v Value> {
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

fn parse_entry(value: &Value) -> BulkEntry {
    let text = |name: &str| -> Option<String> {
        value
            .as_object()
            .and_then(|object| field(object, name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let method = text("method").unwrap_or_default();
    let bulk_id = text("bulkId");
    let path = text("path").unwrap_or_default();
    let operation = parse_operation(value, &method, bulk_id.clone(), &path);
    BulkEntry {
        method,
        bulk_id,
        path,
        operation,
    }
}

fn parse_operation(
    value: &Value,
    method: &str,
    bulk_id: Option<String>,
    path: &str,
) -> ScimResult<BulkOperation> {
    let Value::Object(object) = value else {
        return Err(ScimError::InvalidSyntax(
            "an operation must be a JSON object".into(),
        ));
    };
    let method = match method.to_ascii_uppercase().as_str() {
        "POST" => BulkMethod::Post,
        "PUT" => BulkMethod::Put,
        "PATCH" => BulkMethod::Patch,
        "DELETE" => BulkMethod::Delete,
        "" => return Err(ScimError::InvalidSyntax("'method' is required".into())),
        other => {
            return Err(ScimError::InvalidSyntax(format!(
                "'method' must be POST, PUT, PATCH or DELETE, not '{other}'"
            )));
        }
    };
    if bulk_id.as_deref().is_some_and(str::is_empty) {
        return Err(ScimError::InvalidValue("'bulkId' must not be empty".into()));
    }
    if method == BulkMethod::Post && bulk_id.is_none() {
        return Err(ScimError::InvalidSyntax(
            "'bulkId' is required for POST (RFC 7644 §3.7)".into(),
        ));
    }
    let (kind, id) = parse_path(path)?;
    match (method, &id) {
        (BulkMethod::Post, Some(_)) => {
            return Err(ScimError::InvalidPath(format!(
                "POST goes to a resource type ('/Users', '/Groups'), not to '{path}'"
            )));
        }
        (BulkMethod::Put | BulkMethod::Patch | BulkMethod::Delete, None) => {
            return Err(ScimError::InvalidPath(format!(
                "{} needs a resource ('/Users/<id>'), not '{path}'",
                method.as_str()
            )));
        }
        _ => {}
    }
    let data = field(object, "data").filter(|d| !d.is_null()).cloned();
    match (method, &data) {
        (BulkMethod::Delete, _) => {}
        (_, Some(Value::Object(_))) => {}
        _ => {
            return Err(ScimError::InvalidSyntax(format!(
                "{} needs 'data': the resource or PatchOp body",
                method.as_str()
            )));
        }
    }
    let version = field(object, "version")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(BulkOperation {
        method,
        bulk_id,
        kind,
        id,
        version,
        data: if method == BulkMethod::Delete {
            None
        } else {
            data
        },
    })
}

/// `/Users`, `/Groups/<id>` (the leading `/` optional; a trailing one ignored).
fn parse_path(path: &str) -> ScimResult<(ResourceKind, Option<String>)> {
    let invalid = || {
        ScimError::InvalidPath(format!(
            "'{path}' is not '/Users', '/Groups', '/Users/<id>' or '/Groups/<id>'"
        ))
    };
    let trimmed = path.trim().trim_start_matches('/').trim_end_matches('/');
    let mut parts = trimmed.splitn(2, '/');
    let kind = match parts.next().unwrap_or_default() {
        endpoint if endpoint.eq_ignore_ascii_case("Users") => ResourceKind::User,
        endpoint if endpoint.eq_ignore_ascii_case("Groups") => ResourceKind::Group,
        _ => return Err(invalid()),
    };
    match parts.next() {
        None => Ok((kind, None)),
        Some(id) if !id.is_empty() && !id.contains('/') => Ok((kind, Some(id.to_owned()))),
        Some(_) => Err(invalid()),
    }
}
