//! Validation of client input against the schema registry (RFC 7643 §2): the one path every
//! create and replace takes from JSON to the attributes the core stores.
//!
//! Decisions (see `docs/validation.md`):
//! - attribute names match case-insensitively and are stored under their canonical spelling;
//! - readOnly attributes sent by a client (`id`, `meta`, `groups`, the license extension) are
//!   ignored, as RFC 7643 §2.2 allows;
//! - `null` and empty arrays mean "unassigned" and are dropped;
//! - an attribute the schema does not define is rejected (400 `invalidSyntax`) naming it,
//!   so a mis-mapped IdP attribute shows up in the IdP's provisioning log instead of being
//!   lost silently;
//! - booleans also arrive as the strings `"true"`/`"false"` (any case: Entra ID sends
//!   `"False"`) and are stored as JSON booleans;
//! - a plain string where a complex attribute with a `value` sub-attribute belongs (Entra ID
//!   sends `manager` as the manager's id) is taken as `{"value": <string>}`;
//! - `password` is validated and then dropped: a license server has no use for it, and what
//!   is never stored cannot leak;
//! - text no store can hold is refused up front, naming the attribute (400 `invalidValue`),
//!   identically on every store: U+0000 (PostgreSQL's text cannot hold it), and values of
//!   the attributes the stores index (`userName`, `externalId`, `displayName`) longer than
//!   [`MAX_KEY_BYTES`], as sent or once case-folded (an index entry has a size limit).
//!   Unpaired UTF-16 surrogates never get this far: they are not Unicode, and the JSON
//!   reader refuses them.

use chrono::DateTime;
use serde_json::{Map, Value};

use crate::error::{ScimError, ScimResult};
use crate::path::AttrPath;
use crate::resource::ResourceKind;
use crate::schema::{AttrType, AttributeDef, Mutability, Schema, SchemaRegistry};

/// The most bytes (UTF-8) a value of an indexed attribute (`userName`, `externalId`,
/// `displayName`) may hold, as sent and once case-folded: far above what directories allow
/// (Entra ID's userPrincipalName is at most 113 characters, a displayName 256), and safely
/// below what a database index entry can hold.
pub const MAX_KEY_BYTES: usize = 1024;

/// The core attributes both stores keep in indexed columns.
const INDEXED: [&str; 3] = ["userName", "externalId", "displayName"];

/// The legacy Microsoft group schema URI Entra ID sends in a group's `schemas`; accepted and
/// ignored.
pub const ENTRA_LEGACY_GROUP_SCHEMA: &str =
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";

/// Validates a create or replace body of `kind` and returns the attributes to store:
/// canonical names, core attributes and `externalId` at the top level, extension attributes
/// in an object under their URN.
pub fn validate_resource(
    registry: &SchemaRegistry,
    kind: ResourceKind,
    body: &Value,
) -> ScimResult<Map<String, Value>> {
    let Value::Object(input) = body else {
        return Err(ScimError::InvalidSyntax(
            "the request body must be a JSON object".into(),
        ));
    };
    let core = registry
        .core_schema(kind)
        .ok_or_else(|| ScimError::NotFound(format!("resource type {kind} is not served")))?;
    check_schemas(registry, kind, core, input)?;

    let mut out = Map::new();
    for (key, value) in input {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some(extension) = registry.extension(kind, key) {
            let Value::Object(ext_input) = value else {
                if value.is_null() {
                    continue;
                }
                return Err(ScimError::InvalidValue(format!(
                    "'{key}' must be an object of extension attributes"
                )));
            };
            for (name, value) in ext_input {
                let def = extension
                    .attribute(name)
                    .ok_or_else(|| unknown(name, extension.id))?;
                put(&mut out, Some(extension.id), def, value)?;
            }
            continue;
        }
        let (extension, def) = top_level_attribute(registry, kind, key, core)?;
        put(&mut out, extension, def, value)?;
    }
    check_required(registry, kind, core, &out)?;
    Ok(out)
}

/// Keeps `mutability: immutable` attributes from changing and carries the server-managed
/// (readOnly) attributes of `existing` into a replacement.
pub fn merge_for_replace(
    registry: &SchemaRegistry,
    kind: ResourceKind,
    existing: &Map<String, Value>,
    mut replacement: Map<String, Value>,
) -> ScimResult<Map<String, Value>> {
    for schema in schemas_of(registry, kind) {
        let is_core = registry
            .core_schema(kind)
            .is_some_and(|c| c.id == schema.id);
        let old = if is_core {
            Some(existing)
        } else {
            existing.get(schema.id).and_then(Value::as_object)
        };
        let Some(old) = old else { continue };
        for def in &schema.attributes {
            let Some(old_value) = old.get(def.name) else {
                continue;
            };
            let new_slot = if is_core {
                Some(&mut replacement)
            } else {
                replacement
                    .entry(schema.id)
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut()
            };
            let Some(new) = new_slot else { continue };
            match def.mutability {
                Mutability::ReadOnly => {
                    new.insert(def.name.to_owned(), old_value.clone());
                }
                Mutability::Immutable if new.get(def.name).is_some_and(|v| v != old_value) => {
                    return Err(ScimError::Mutability(format!(
                        "'{}' is immutable and cannot be changed",
                        def.name
                    )));
                }
                _ => {}
            }
        }
        if !is_core
            && replacement
                .get(schema.id)
                .is_some_and(|v| v.as_object().is_some_and(Map::is_empty))
        {
            replacement.remove(schema.id);
        }
    }
    Ok(replacement)
}

fn schemas_of(registry: &SchemaRegistry, kind: ResourceKind) -> Vec<&Schema> {
    registry
        .core_schema(kind)
        .into_iter()
        .chain(registry.extensions(kind))
        .collect()
}

/// `schemas` is required and must name the core schema; every URN must be one `kind` has.
fn check_schemas(
    registry: &SchemaRegistry,
    kind: ResourceKind,
    core: &Schema,
    input: &Map<String, Value>,
) -> ScimResult<()> {
    let schemas = input
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("schemas"))
        .map(|(_, v)| v)
        .ok_or_else(|| {
            ScimError::InvalidSyntax(format!(
                "'schemas' is required and must contain '{}'",
                core.id
            ))
        })?;
    let Value::Array(urns) = schemas else {
        return Err(ScimError::InvalidSyntax(
            "'schemas' must be an array of schema URNs".into(),
        ));
    };
    let mut has_core = false;
    for urn in urns {
        let Value::String(urn) = urn else {
            return Err(ScimError::InvalidSyntax(
                "'schemas' must be an array of schema URNs".into(),
            ));
        };
        if urn.eq_ignore_ascii_case(core.id) {
            has_core = true;
        } else if kind == ResourceKind::Group && urn.eq_ignore_ascii_case(ENTRA_LEGACY_GROUP_SCHEMA)
        {
            // Entra ID still names this schema on groups; it defines nothing we keep.
        } else if registry.extension(kind, urn).is_none() {
            return Err(ScimError::InvalidValue(format!(
                "schema '{urn}' is not a schema of the {kind} resource type"
            )));
        }
    }
    if has_core {
        Ok(())
    } else {
        Err(ScimError::InvalidSyntax(format!(
            "'schemas' must contain '{}'",
            core.id
        )))
    }
}

/// A top-level key: a common or core attribute, or a fully qualified `urn:…:attr` path.
fn top_level_attribute<'r>(
    registry: &'r SchemaRegistry,
    kind: ResourceKind,
    key: &str,
    core: &Schema,
) -> ScimResult<(Option<&'static str>, &'r AttributeDef)> {
    if let Some(def) = registry.core_attribute(kind, key) {
        return Ok((None, def));
    }
    if let Ok(
        path @ AttrPath {
            urn: Some(_),
            sub: None,
            ..
        },
    ) = AttrPath::parse(key)
        && let Some(resolved) = registry.resolve(kind, &path)
    {
        return Ok((resolved.extension, resolved.attr));
    }
    Err(unknown(key, core.id))
}

fn unknown(name: &str, schema: &str) -> ScimError {
    ScimError::InvalidSyntax(format!(
        "attribute '{name}' is not defined by schema '{schema}'"
    ))
}

/// Validates one attribute and stores it (unless it is readOnly, writeOnly-and-unstored,
/// or unassigned).
fn put(
    out: &mut Map<String, Value>,
    extension: Option<&'static str>,
    def: &AttributeDef,
    value: &Value,
) -> ScimResult<()> {
    let checked = check_attribute(def, value, def.name)?;
    if def.mutability == Mutability::ReadOnly || def.mutability == Mutability::WriteOnly {
        return Ok(());
    }
    let Some(checked) = checked else {
        return Ok(());
    };
    if extension.is_none() && INDEXED.contains(&def.name) {
        check_key_length(def.name, &checked)?;
    }
    let target = match extension {
        None => out,
        Some(urn) => match out
            .entry(urn)
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
        {
            Some(target) => target,
            None => return Err(ScimError::Internal),
        },
    };
    target.insert(def.name.to_owned(), checked);
    Ok(())
}

/// Checks `value` against `def`; `None` means unassigned (null, empty array, empty object).
pub fn check_attribute(def: &AttributeDef, value: &Value, path: &str) -> ScimResult<Option<Value>> {
    if value.is_null() {
        return Ok(None);
    }
    if !def.multi_valued {
        if value.is_array() {
            return Err(ScimError::InvalidValue(format!(
                "'{path}' is single-valued, not an array"
            )));
        }
        return check_single(def, value, path);
    }
    // A lone value where an array belongs is taken as a one-element array.
    let items = match value {
        Value::Array(items) => items.as_slice(),
        single => std::slice::from_ref(single),
    };
    let mut checked = Vec::with_capacity(items.len());
    for item in items {
        if item.is_array() {
            return Err(ScimError::InvalidValue(format!(
                "'{path}' cannot hold nested arrays"
            )));
        }
        if let Some(item) = check_single(def, item, path)? {
            checked.push(item);
        }
    }
    if def.is_complex() {
        let primaries = checked
            .iter()
            .filter(|item| item.get("primary").and_then(Value::as_bool) == Some(true))
            .count();
        if primaries > 1 {
            return Err(ScimError::InvalidValue(format!(
                "at most one value of '{path}' may have \"primary\": true"
            )));
        }
    }
    Ok((!checked.is_empty()).then_some(Value::Array(checked)))
}

fn check_single(def: &AttributeDef, value: &Value, path: &str) -> ScimResult<Option<Value>> {
    if value.is_null() {
        return Ok(None);
    }
    let wrong = |expected: &str| {
        ScimError::InvalidValue(format!(
            "'{path}' must be {expected}, not {}",
            json_kind(value)
        ))
    };
    let checked = match def.ty {
        AttrType::String | AttrType::Reference => match value {
            Value::String(text) => {
                check_text(text, path)?;
                value.clone()
            }
            _ => return Err(wrong("a string")),
        },
        AttrType::Binary => match value {
            Value::String(s) if is_base64(s) => value.clone(),
            Value::String(_) => return Err(wrong("base64-encoded binary")),
            _ => return Err(wrong("a base64-encoded string")),
        },
        AttrType::Boolean => match value {
            Value::Bool(_) => value.clone(),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
            _ => return Err(wrong("a boolean")),
        },
        AttrType::Integer => match value {
            Value::Number(n) if n.is_i64() || n.is_u64() => value.clone(),
            _ => return Err(wrong("an integer")),
        },
        AttrType::Decimal => match value {
            Value::Number(_) => value.clone(),
            _ => return Err(wrong("a number")),
        },
        AttrType::DateTime => match value {
            Value::String(s) if DateTime::parse_from_rfc3339(s).is_ok() => value.clone(),
            Value::String(_) => return Err(wrong("an RFC 3339 dateTime")),
            _ => return Err(wrong("an RFC 3339 dateTime string")),
        },
        AttrType::Complex => return check_complex(def, value, path),
    };
    Ok(Some(checked))
}

/// Refuses text no store can hold: U+0000.
fn check_text(text: &str, path: &str) -> ScimResult<()> {
    if text.contains('\0') {
        return Err(ScimError::InvalidValue(format!(
            "'{path}' holds U+0000 (NUL), which SCIM text cannot contain"
        )));
    }
    Ok(())
}

/// Refuses a value of an indexed attribute longer than [`MAX_KEY_BYTES`], as sent or once
/// case-folded (the form the stores index).
fn check_key_length(name: &str, value: &Value) -> ScimResult<()> {
    let Value::String(text) = value else {
        return Ok(());
    };
    let too_long = |bytes: usize, how: &str| {
        ScimError::InvalidValue(format!(
            "'{name}' is too long{how}: {bytes} bytes of UTF-8, at most {MAX_KEY_BYTES} are \
             accepted"
        ))
    };
    if text.len() > MAX_KEY_BYTES {
        return Err(too_long(text.len(), ""));
    }
    let folded = crate::fold::fold_key(text).len();
    if folded > MAX_KEY_BYTES {
        return Err(too_long(folded, " once case-folded"));
    }
    Ok(())
}

fn check_complex(def: &AttributeDef, value: &Value, path: &str) -> ScimResult<Option<Value>> {
    let Value::Object(input) = value else {
        // Entra ID sends `manager` as the manager's id: a plain string stands for the `value`
        // sub-attribute of a complex attribute that has one.
        if let (Value::String(text), Some(sub)) = (value, def.sub_attribute("value")) {
            let mut input = Map::new();
            input.insert(sub.name.to_owned(), Value::String(text.clone()));
            return check_complex(def, &Value::Object(input), path);
        }
        return Err(ScimError::InvalidValue(format!(
            "'{path}' must be an object, not {}",
            json_kind(value)
        )));
    };
    let mut out = Map::new();
    for (name, sub_value) in input {
        let sub = def.sub_attribute(name).ok_or_else(|| {
            ScimError::InvalidSyntax(format!("'{path}' has no sub-attribute '{name}'"))
        })?;
        let sub_path = format!("{path}.{}", sub.name);
        let checked = check_single(sub, sub_value, &sub_path)?;
        if sub.mutability == Mutability::ReadOnly || sub.mutability == Mutability::WriteOnly {
            continue;
        }
        if let Some(checked) = checked {
            out.insert(sub.name.to_owned(), checked);
        }
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

fn check_required(
    registry: &SchemaRegistry,
    kind: ResourceKind,
    core: &Schema,
    out: &Map<String, Value>,
) -> ScimResult<()> {
    for def in core.attributes.iter().filter(|d| d.required) {
        if !out.contains_key(def.name) {
            return Err(ScimError::InvalidValue(format!(
                "'{}' is required",
                def.name
            )));
        }
    }
    for extension in registry.extensions(kind) {
        let Some(Value::Object(ext)) = out.get(extension.id) else {
            continue;
        };
        for def in extension.attributes.iter().filter(|d| d.required) {
            if !ext.contains_key(def.name) {
                return Err(ScimError::InvalidValue(format!(
                    "'{}:{}' is required",
                    extension.id, def.name
                )));
            }
        }
    }
    Ok(())
}

fn is_base64(text: &str) -> bool {
    text.bytes().all(|b| {
        b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_' | b'\r' | b'\n')
    })
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::{ENTERPRISE_USER_SCHEMA, LICENSE_USER_EXTENSION, USER_SCHEMA};

    fn validate(body: &Value) -> ScimResult<Map<String, Value>> {
        let registry = SchemaRegistry::standard();
        validate_resource(&registry, ResourceKind::User, body)
    }

    #[test]
    fn canonicalises_names_and_drops_read_only_and_password() {
        let out = validate(&json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "USERNAME": "bjensen",
            "id": "client-chosen",
            "meta": {"version": "W/\"9\""},
            "externalid": "ext-1",
            "password": "t1meMa$heen",
            "groups": [{"value": "g1"}],
            "name": {"GivenName": "Barbara"},
            "active": "False",
            "emails": [{"value": "b@example.com", "type": "work", "primary": true}],
            ENTERPRISE_USER_SCHEMA: {"Department": "Sales", "manager": {"value": "m1", "displayName": "ignored"}},
            LICENSE_USER_EXTENSION: {"licenses": [{"sku": "pro"}]},
        }))
        .unwrap();
        assert_eq!(
            Value::Object(out),
            json!({
                "userName": "bjensen",
                "externalId": "ext-1",
                "name": {"givenName": "Barbara"},
                "active": false,
                "emails": [{"value": "b@example.com", "type": "work", "primary": true}],
                ENTERPRISE_USER_SCHEMA: {"department": "Sales", "manager": {"value": "m1"}},
            })
        );
    }

    #[test]
    fn accepts_qualified_extension_keys_and_drops_nulls() {
        let out = validate(&json!({
            "schemas": [USER_SCHEMA],
            "userName": "x",
            "title": null,
            "emails": [],
            format!("{ENTERPRISE_USER_SCHEMA}:department"): "Ops",
        }))
        .unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"userName": "x", ENTERPRISE_USER_SCHEMA: {"department": "Ops"}})
        );
    }

    #[test]
    fn rejects_bad_input_precisely() {
        let cases = [
            (json!([1]), "invalidSyntax", "JSON object"),
            (
                json!({"userName": "x"}),
                "invalidSyntax",
                "'schemas' is required",
            ),
            (
                json!({"schemas": USER_SCHEMA, "userName": "x"}),
                "invalidSyntax",
                "array",
            ),
            (
                json!({"schemas": ["urn:x"], "userName": "x"}),
                "invalidValue",
                "urn:x",
            ),
            (
                json!({"schemas": [USER_SCHEMA]}),
                "invalidValue",
                "'userName' is required",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": 7}),
                "invalidValue",
                "'userName' must be a string, not a number",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "x", "shoeSize": 9}),
                "invalidSyntax",
                "'shoeSize'",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "x", "active": "yes"}),
                "invalidValue",
                "'active' must be a boolean",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "x", "name": "Bob"}),
                "invalidValue",
                "'name' must be an object",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "x", "name": {"nick": "B"}}),
                "invalidSyntax",
                "no sub-attribute 'nick'",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": ["x"]}),
                "invalidValue",
                "single-valued",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "x", "emails": [{"value": 1}]}),
                "invalidValue",
                "'emails.value'",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "x", "emails": [{"value": "a", "primary": true}, {"value": "b", "primary": true}]}),
                "invalidValue",
                "primary",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "x", "x509Certificates": [{"value": "not base64!"}]}),
                "invalidValue",
                "base64",
            ),
            // Text no store can hold, refused naming where it is.
            (
                json!({"schemas": [USER_SCHEMA], "userName": "nul\u{0}here"}),
                "invalidValue",
                "'userName' holds U+0000",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "x", "name": {"givenName": "a\u{0}"}}),
                "invalidValue",
                "'name.givenName' holds U+0000",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "x", "emails": [{"value": "\u{0}"}]}),
                "invalidValue",
                "'emails.value' holds U+0000",
            ),
            (
                json!({"schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA], "userName": "x", ENTERPRISE_USER_SCHEMA: {"department": "\u{0}"}}),
                "invalidValue",
                "'department' holds U+0000",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "u".repeat(MAX_KEY_BYTES + 1)}),
                "invalidValue",
                "'userName' is too long: 1025 bytes",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "x", "externalId": "é".repeat(513)}),
                "invalidValue",
                "'externalId' is too long: 1026 bytes",
            ),
            // U+1F88 (3 bytes) folds to U+1F00 U+03B9 (5 bytes): short as sent, too long
            // once folded.
            (
                json!({"schemas": [USER_SCHEMA], "userName": "x", "displayName": "\u{1F88}".repeat(300)}),
                "invalidValue",
                "'displayName' is too long once case-folded: 1500 bytes",
            ),
        ];
        for (body, scim_type, detail) in cases {
            let err = validate(&body).unwrap_err();
            assert_eq!(err.scim_type(), Some(scim_type), "{body}: {err}");
            assert!(err.detail().contains(detail), "{body}: {err}");
        }
    }

    #[test]
    fn indexed_values_up_to_the_limit_are_kept() {
        let long = "u".repeat(MAX_KEY_BYTES);
        let out = validate(
            &json!({"schemas": [USER_SCHEMA], "userName": long, "title": "t".repeat(100_000)}),
        )
        .unwrap();
        assert_eq!(out["userName"].as_str().map(str::len), Some(MAX_KEY_BYTES));
        assert_eq!(
            out["title"].as_str().map(str::len),
            Some(100_000),
            "unindexed text is not limited"
        );
    }

    #[test]
    fn takes_a_plain_string_as_the_value_of_a_complex_attribute() {
        let out = validate(&json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "userName": "x",
            "roles": ["admin"],
            ENTERPRISE_USER_SCHEMA: {"manager": "26118915-6090-4610-87e4-49d8ca9f808d"},
        }))
        .unwrap();
        assert_eq!(out["roles"], json!([{"value": "admin"}]));
        assert_eq!(
            out[ENTERPRISE_USER_SCHEMA],
            json!({"manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}})
        );
    }

    #[test]
    fn replacement_keeps_read_only_values() {
        let registry = SchemaRegistry::standard();
        let existing = json!({
            "userName": "a",
            "groups": [{"value": "g1"}],
            LICENSE_USER_EXTENSION: {"licenses": [{"sku": "pro", "source": "direct"}]},
        });
        let replacement = json!({"userName": "b"});
        let merged = merge_for_replace(
            &registry,
            ResourceKind::User,
            existing.as_object().unwrap(),
            replacement.as_object().unwrap().clone(),
        )
        .unwrap();
        assert_eq!(
            Value::Object(merged),
            json!({
                "userName": "b",
                "groups": [{"value": "g1"}],
                LICENSE_USER_EXTENSION: {"licenses": [{"sku": "pro", "source": "direct"}]},
            })
        );
    }
}
