//! The PatchOp request body (RFC 7644 §3.5.2).

use serde_json::Value;

use super::path::PatchPath;
use crate::error::{ScimError, ScimResult};

/// The schema URI every PATCH body names in `schemas`.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The most operations one PATCH request may carry (413 beyond it, as `/Bulk` answers
/// beyond `maxOperations`): identity providers send a few at a time, and a request is
/// applied as one unit, so its size must stay bounded.
pub const MAX_PATCH_OPERATIONS: usize = 1000;

/// An operation name; compared case-insensitively (Entra ID sends `Replace`, `Add`,
/// `Remove`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOp {
    /// `add` (§3.5.2.1): adds values to the target, or sets it when single-valued.
    Add,
    /// `replace` (§3.5.2.3): replaces the target's value.
    Replace,
    /// `remove` (§3.5.2.2): removes the target's value, or the values the path's filter
    /// selects.
    Remove,
}

/// One element of `Operations`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    /// What the operation does.
    pub op: PatchOp,
    /// `None` when the client sent no `path` (or an empty one): the target is the resource.
    pub path: Option<PatchPath>,
    /// The operation's `value`: always present for `add` and `replace`, where an explicit
    /// `null` (RFC 7643 §2.5: unassigned) clears the target; `None` for a `remove` without
    /// one.
    pub value: Option<Value>,
}

/// A parsed PatchOp request: its operations, in order. They apply atomically.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PatchRequest {
    /// The elements of `Operations`, in request order.
    pub operations: Vec<PatchOperation>,
}

/// Parses a PatchOp body: `schemas` must name the PatchOp schema, `Operations` must be an
/// array (empty is fine: nothing changes).
pub fn parse_patch(body: &Value) -> ScimResult<PatchRequest> {
    let Value::Object(fields) = body else {
        return Err(ScimError::InvalidSyntax(
            "a PATCH body must be a JSON object".into(),
        ));
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let names_schema = field("schemas")
        .and_then(Value::as_array)
        .is_some_and(|schemas| {
            schemas.iter().any(|s| {
                s.as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP_SCHEMA))
            })
        });
    if !names_schema {
        return Err(ScimError::InvalidSyntax(format!(
            "'schemas' must contain '{PATCH_OP_SCHEMA}'"
        )));
    }
    let operations = match field("Operations") {
        Some(Value::Array(ops)) => ops,
        Some(_) => {
            return Err(ScimError::InvalidSyntax(
                "'Operations' must be an array".into(),
            ));
        }
        None => return Err(ScimError::InvalidSyntax("'Operations' is required".into())),
    };
    if operations.len() > MAX_PATCH_OPERATIONS {
        return Err(ScimError::PayloadTooLarge(format!(
            "the request has {} operations; at most {MAX_PATCH_OPERATIONS} are accepted in one \
             PATCH",
            operations.len()
        )));
    }
    let operations = operations
        .iter()
        .enumerate()
        .map(|(i, op)| parse_operation(i, op))
        .collect::<ScimResult<_>>()?;
    Ok(PatchRequest { operations })
}

fn parse_operation(index: usize, op: &Value) -> ScimResult<PatchOperation> {
    let syntax = |why: String| ScimError::InvalidSyntax(format!("Operations[{index}]: {why}"));
    let Value::Object(fields) = op else {
        return Err(syntax("an operation must be an object".into()));
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let name = field("op")
        .and_then(Value::as_str)
        .ok_or_else(|| syntax("'op' is required".into()))?;
    let op = match name.to_ascii_lowercase().as_str() {
        "add" => PatchOp::Add,
        "replace" => PatchOp::Replace,
        "remove" => PatchOp::Remove,
        _ => {
            return Err(syntax(format!(
                "'op' must be add, replace or remove, not '{name}'"
            )));
        }
    };
    let path = match field("path") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.trim().is_empty() => None,
        Some(Value::String(text)) => Some(PatchPath::parse(text)?),
        Some(_) => return Err(syntax("'path' must be a string".into())),
    };
    // `"value": null` on add or replace means "unassigned" (RFC 7643 §2.5): the target is
    // cleared. On a remove, null is no value list.
    let value = match (op, field("value")) {
        (PatchOp::Remove, Some(Value::Null)) | (_, None) => None,
        (_, Some(value)) => Some(value.clone()),
    };
    match (op, &path, &value) {
        (PatchOp::Add | PatchOp::Replace, _, None) => {
            Err(syntax(format!("'{name}' needs a 'value'")))
        }
        (PatchOp::Add | PatchOp::Replace, None, Some(v)) if !v.is_object() => Err(syntax(
            "without a 'path', 'value' must be an object of attributes".into(),
        )),
        (PatchOp::Remove, None, _) => Err(ScimError::NoTarget(format!(
            "Operations[{index}]: 'remove' needs a 'path'"
        ))),
        _ => Ok(PatchOperation { op, path, value }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_operations_in_any_case() {
        let request = parse_patch(&json!({
            "schemas": [PATCH_OP_SCHEMA],
            "Operations": [
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "add", "value": {"title": "x"}},
                {"op": "REMOVE", "path": "emails[type eq \"work\"]"},
            ],
        }))
        .unwrap();
        let ops: Vec<PatchOp> = request.operations.iter().map(|o| o.op).collect();
        assert_eq!(ops, [PatchOp::Replace, PatchOp::Add, PatchOp::Remove]);
        assert!(
            parse_patch(&json!({"schemas": [PATCH_OP_SCHEMA], "Operations": []}))
                .unwrap()
                .operations
                .is_empty()
        );
    }

    #[test]
    fn rejects_malformed_requests_precisely() {
        let s = [PATCH_OP_SCHEMA];
        let cases = [
            (json!([]), "invalidSyntax"),
            (json!({"Operations": []}), "invalidSyntax"),
            (json!({"schemas": s}), "invalidSyntax"),
            (json!({"schemas": s, "Operations": {}}), "invalidSyntax"),
            (
                json!({"schemas": s, "Operations": [{"op": "move", "path": "a"}]}),
                "invalidSyntax",
            ),
            (
                json!({"schemas": s, "Operations": [{"path": "a", "value": 1}]}),
                "invalidSyntax",
            ),
            (
                json!({"schemas": s, "Operations": [{"op": "add", "path": "title"}]}),
                "invalidSyntax",
            ),
            (
                json!({"schemas": s, "Operations": [{"op": "replace", "value": "x"}]}),
                "invalidSyntax",
            ),
            (
                json!({"schemas": s, "Operations": [{"op": "remove"}]}),
                "noTarget",
            ),
            (
                json!({"schemas": s, "Operations": [{"op": "remove", "path": "emails[type"}]}),
                "invalidPath",
            ),
            (
                json!({"schemas": s, "Operations": [{"op": "add", "path": 7, "value": 1}]}),
                "invalidSyntax",
            ),
        ];
        for (body, scim_type) in cases {
            let err = parse_patch(&body).unwrap_err();
            assert_eq!(err.scim_type(), Some(scim_type), "{body}: {err}");
        }
    }

    #[test]
    fn operations_are_capped() {
        let op = json!({"op": "add", "path": "title", "value": "x"});
        let body =
            |n: usize| json!({"schemas": [PATCH_OP_SCHEMA], "Operations": vec![op.clone(); n]});
        assert_eq!(
            parse_patch(&body(MAX_PATCH_OPERATIONS))
                .unwrap()
                .operations
                .len(),
            MAX_PATCH_OPERATIONS
        );
        let err = parse_patch(&body(MAX_PATCH_OPERATIONS + 1)).unwrap_err();
        assert_eq!(err.status(), 413, "{err}");
        assert!(err.detail().contains("1001 operations"), "{err}");
    }
}
