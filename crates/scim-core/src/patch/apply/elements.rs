//! Values and elements: what a written value must be, and how elements and their
//! sub-attributes are written.

use serde_json::{Map, Value};

use crate::error::{ScimError, ScimResult};
use crate::patch::request::PatchOp;
use crate::schema::{AttributeDef, Mutability};
use crate::validate::check_attribute;

use super::*;

/// Whether an `add` to the target adds values to a list (a multi-valued attribute, whole
/// or through a filter) rather than setting one.
pub(super) fn adds_values(target: &Target<'_>) -> bool {
    target.attr.multi_valued && target.sub.is_none()
}

/// The sub-attributes of `attr` a complex value names with `null` (RFC 7643 §2.5: to be
/// unassigned).
pub(super) fn nulled_sub_attributes<'a>(
    attr: &'a AttributeDef,
    value: &Value,
) -> Vec<&'a AttributeDef> {
    let Value::Object(fields) = value else {
        return Vec::new();
    };
    fields
        .iter()
        .filter(|(_, v)| v.is_null())
        .filter_map(|(name, _)| attr.sub_attribute(name))
        .filter(|sub| !matches!(sub.mutability, Mutability::ReadOnly))
        .collect()
}

/// The value of an add or replace, which the request parser guarantees.
pub(super) fn required(op: PatchOp, value: Option<&Value>) -> ScimResult<&Value> {
    value.ok_or_else(|| ScimError::InvalidSyntax(format!("'{op:?}' needs a 'value'")))
}

pub(super) fn required_removed(name: &str) -> ScimError {
    ScimError::Mutability(format!("'{name}' is required and cannot be removed"))
}

/// Whether a value counts as assigned: not `null`, `[]` or `{}`.
pub(super) fn is_assigned(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Array(items) => !items.is_empty(),
        Value::Object(fields) => !fields.is_empty(),
        _ => true,
    }
}

/// The one element written through `attr[filter]`: an object, or an array holding one.
pub(super) fn one_element(
    attr: &AttributeDef,
    value: &Value,
    path: &str,
) -> ScimResult<Option<Map<String, Value>>> {
    if value.as_array().is_some_and(|items| items.len() != 1) {
        return Err(ScimError::InvalidValue(format!(
            "'{path}' selects values of '{}': 'value' must be one object",
            attr.name
        )));
    }
    Ok(first_object(check_attribute(attr, value, path)?))
}

/// The first element of a checked multi-valued value, as an object.
pub(super) fn first_object(checked: Option<Value>) -> Option<Map<String, Value>> {
    match checked? {
        Value::Array(items) => match items.into_iter().next()? {
            Value::Object(fields) => Some(fields),
            _ => None,
        },
        _ => None,
    }
}

/// The element to create when `attr[filter]` matched nothing: the filter's fields plus what
/// the operation writes, checked as one element of `attr`.
pub(super) fn new_element(
    attr: &AttributeDef,
    mut fields: Map<String, Value>,
    write: ElementWrite<'_>,
    path: &str,
) -> ScimResult<Option<Value>> {
    match write {
        ElementWrite::Sub(_, None) | ElementWrite::Element(None) => return Ok(None),
        ElementWrite::Sub(sub, Some(value)) => {
            fields.insert(sub.name.to_owned(), value);
        }
        ElementWrite::Element(Some(element)) => fields.extend(element),
    }
    Ok(first_object(check_attribute(attr, &Value::Object(fields), path)?).map(Value::Object))
}

/// Writes into one selected element: its sub-attribute, or the whole element (merged by an
/// add, replaced by a replace).
pub(super) fn write_element(
    op: PatchOp,
    attr: &AttributeDef,
    element: &mut Value,
    write: &ElementWrite<'_>,
    path: &str,
) -> ScimResult<()> {
    match write {
        ElementWrite::Sub(sub, value) => set_sub(element, sub, value.clone(), path),
        ElementWrite::Element(new) => {
            let new = new.clone().unwrap_or_default();
            if op == PatchOp::Add {
                return merge_into(attr, element, new, path);
            }
            check_immutable_subs(attr, element, &new, path)?;
            *element = Value::Object(new);
            Ok(())
        }
    }
}

/// Sets the sub-attributes `new` names on the complex value `into`.
pub(super) fn merge_into(
    attr: &AttributeDef,
    into: &mut Value,
    new: Map<String, Value>,
    path: &str,
) -> ScimResult<()> {
    let mut merged = match into {
        Value::Object(old) => old.clone(),
        _ => return Err(ScimError::Internal),
    };
    merged.extend(new);
    check_immutable_subs(attr, into, &merged, path)?;
    *into = Value::Object(merged);
    Ok(())
}

/// An immutable sub-attribute may be given a value, not changed.
pub(super) fn check_immutable_subs(
    attr: &AttributeDef,
    old: &Value,
    new: &Map<String, Value>,
    path: &str,
) -> ScimResult<()> {
    for sub in attr
        .sub_attributes
        .iter()
        .filter(|s| s.mutability == Mutability::Immutable)
    {
        if let Some(before) = old.get(sub.name)
            && new.get(sub.name) != Some(before)
        {
            return Err(immutable(path, sub));
        }
    }
    Ok(())
}

pub(super) fn immutable(path: &str, sub: &AttributeDef) -> ScimError {
    ScimError::Mutability(format!(
        "'{path}': '{}' is immutable and already has a value",
        sub.name
    ))
}

/// Sets (or, with `None`, unassigns) one sub-attribute of a complex value.
pub(super) fn set_sub(
    element: &mut Value,
    sub: &AttributeDef,
    value: Option<Value>,
    path: &str,
) -> ScimResult<()> {
    let Value::Object(fields) = element else {
        return Err(ScimError::Internal);
    };
    if sub.mutability == Mutability::Immutable
        && fields
            .get(sub.name)
            .is_some_and(|before| Some(before) != value.as_ref())
    {
        return Err(immutable(path, sub));
    }
    match value {
        Some(value) => {
            fields.insert(sub.name.to_owned(), value);
        }
        None => {
            fields.shift_remove(sub.name);
        }
    }
    Ok(())
}

/// Keeps `"primary": true` unique (RFC 7643 §2.4): when an element just written is primary,
/// every other element stops being so.
pub(super) fn keep_one_primary(elements: &mut [Value], written: &[usize]) {
    let is_primary = |e: &Value| e.get("primary").and_then(Value::as_bool) == Some(true);
    let chosen = written
        .iter()
        .any(|&i| elements.get(i).is_some_and(is_primary));
    if !chosen {
        return;
    }
    for (i, element) in elements.iter_mut().enumerate() {
        if !written.contains(&i)
            && is_primary(element)
            && let Some(fields) = element.as_object_mut()
        {
            fields.insert("primary".to_owned(), Value::Bool(false));
        }
    }
}

/// The members an add or replace names, checked against the `members` attribute.
pub(super) fn members(def: &AttributeDef, value: &Value) -> ScimResult<Vec<Member>> {
    let items = match value {
        Value::Array(items) => items.as_slice(),
        single => std::slice::from_ref(single),
    };
    items
        .iter()
        .filter(|item| !item.is_null())
        .map(|item| member(def, item))
        .collect()
}

pub(super) fn member(def: &AttributeDef, item: &Value) -> ScimResult<Member> {
    let fields = first_object(check_attribute(def, item, def.name)?).unwrap_or_default();
    let value = fields
        .get("value")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ScimError::InvalidValue(
                "every element of 'members' needs a 'value': the id of a User or Group".into(),
            )
        })?
        .to_owned();
    let kind = match fields.get("type").and_then(Value::as_str) {
        None => None,
        Some(kind) if kind.eq_ignore_ascii_case("User") => Some("User".to_owned()),
        Some(kind) if kind.eq_ignore_ascii_case("Group") => Some("Group".to_owned()),
        Some(kind) => {
            return Err(ScimError::InvalidValue(format!(
                "'members.type' must be 'User' or 'Group', not '{kind}'"
            )));
        }
    };
    // `display` is readOnly, so the check dropped it; it is read as sent.
    let display = item
        .as_object()
        .and_then(|raw| raw.iter().find(|(k, _)| k.eq_ignore_ascii_case("display")))
        .and_then(|(_, v)| v.as_str())
        .map(str::to_owned);
    if display.as_deref().is_some_and(|d| d.contains('\0')) {
        return Err(ScimError::InvalidValue(
            "'members.display' holds U+0000 (NUL), which SCIM text cannot contain".into(),
        ));
    }
    Ok(Member {
        value,
        kind,
        display,
    })
}
