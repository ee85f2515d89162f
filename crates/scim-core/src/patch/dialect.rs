//! The shapes identity providers send besides the RFC's own, normalised here once so the
//! engine applies plain RFC 7644 operations.
//!
//! - Entra ID's path-less `replace` carries paths as keys: `"name.givenName"`,
//!   `"urn:…:enterprise:2.0:User:department"`, even `"emails[type eq \"work\"].value"`. Every
//!   key of a path-less value is therefore read as a path, and the entry applied as if it
//!   were an operation of its own ([`split_pathless_value`]). A schema URN as a key (the
//!   RFC's nesting of extension attributes) contributes one entry per attribute inside it.
//! - Entra ID writes `emails[type eq "work"].value` whether or not a work email exists; when
//!   none does, the `eq` comparisons of the filter describe the element to create
//!   ([`element_from_filter`]).
//! - Entra ID removes members with `"path": "members", "value": [{"value": "<id>"}]`: the
//!   `value`s of such a list name the elements to remove ([`listed_values`]).
//! - Okta (and most clients) remove one member with `members[value eq "<id>"]`; a filter that
//!   only compares `value` for equality names ids directly ([`value_ids`]).
//!
//! Capitalised op names (`"Replace"`), string booleans (`"False"`) and `manager` as a plain
//! id string are handled where every request passes: the request parser and
//! [`check_attribute`](crate::validate::check_attribute).

use serde_json::{Map, Value};

use super::path::PatchPath;
use crate::error::{ScimError, ScimResult};
use crate::filter::{CompValue, CompareOp, Filter};
use crate::path::AttrPath;
use crate::resource::ResourceKind;
use crate::schema::SchemaRegistry;

/// The entries of a path-less `add` or `replace` value, each with the path it stands for, in
/// the order the client sent them. `schemas` is skipped (also inside a schema URN key's
/// object), and so is a schema URN key whose value is `null`. Keys that are no path are 400 `invalidSyntax`, as unknown attributes of a
/// PUT body are.
pub(super) fn split_pathless_value<'v>(
    registry: &SchemaRegistry,
    kind: ResourceKind,
    fields: &'v Map<String, Value>,
) -> ScimResult<Vec<(PatchPath, &'v Value)>> {
    let mut entries = Vec::with_capacity(fields.len());
    for (key, value) in fields {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        let Some(urn) = schema_named(registry, kind, key) else {
            entries.push((key_path(key)?, value));
            continue;
        };
        match value {
            Value::Null => {}
            Value::Object(inner) => {
                // SCIM client libraries that model an extension as an object of its own
                // serialise its `schemas` inside it.
                let inner = inner
                    .iter()
                    .filter(|(name, _)| !name.eq_ignore_ascii_case("schemas"));
                for (name, value) in inner {
                    entries.push((key_path(&format!("{urn}:{name}"))?, value));
                }
            }
            _ => {
                return Err(ScimError::InvalidValue(format!(
                    "'{key}' must be an object of the attributes of that schema"
                )));
            }
        }
    }
    Ok(entries)
}

/// The core or extension schema of `kind` that a path names as a whole
/// (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`, parsed as the attribute
/// `User` of the URN `…:2.0`), if it does.
pub(super) fn schema_of_path(
    registry: &SchemaRegistry,
    kind: ResourceKind,
    path: &PatchPath,
) -> Option<&'static str> {
    if path.filter.is_some() || path.sub.is_some() {
        return None;
    }
    let urn = path.attr.urn.as_deref()?;
    schema_named(registry, kind, &format!("{urn}:{}", path.attr.attr))
}

/// The core or extension schema of `kind` whose URN is `key`.
fn schema_named(registry: &SchemaRegistry, kind: ResourceKind, key: &str) -> Option<&'static str> {
    let core = registry
        .resource_type(kind)
        .map(|rt| rt.schema)
        .filter(|core| core.eq_ignore_ascii_case(key));
    core.or_else(|| registry.extension(kind, key).map(|schema| schema.id))
}

fn key_path(key: &str) -> ScimResult<PatchPath> {
    PatchPath::parse(key).map_err(|e| {
        ScimError::InvalidSyntax(format!(
            "'{key}' is not an attribute of the resource ({})",
            e.detail()
        ))
    })
}

/// The element a write through `attr[filter]` creates when no element matches: the
/// sub-attributes the filter compares with `eq` (`type eq "work"` → `{"type": "work"}`).
/// `None` unless the filter is a conjunction of such comparisons, consistent with itself.
pub(super) fn element_from_filter(filter: &Filter) -> Option<Map<String, Value>> {
    let mut fields = Map::new();
    collect_equalities(filter, &mut fields).then_some(fields)
}

fn collect_equalities(filter: &Filter, fields: &mut Map<String, Value>) -> bool {
    match filter {
        Filter::Compare {
            path:
                AttrPath {
                    urn: None,
                    attr,
                    sub: None,
                },
            op: CompareOp::Eq,
            value,
        } => {
            let Some(value) = literal(value) else {
                return false;
            };
            match fields.get(attr) {
                Some(existing) => *existing == value,
                None => {
                    fields.insert(attr.clone(), value);
                    true
                }
            }
        }
        Filter::And(left, right) => {
            collect_equalities(left, fields) && collect_equalities(right, fields)
        }
        _ => false,
    }
}

fn literal(value: &CompValue) -> Option<Value> {
    match value {
        CompValue::Null => None,
        CompValue::Bool(b) => Some(Value::Bool(*b)),
        CompValue::Number(n) => Some(Value::Number(n.clone())),
        CompValue::Str(s) => Some(Value::String(s.clone())),
    }
}

/// The ids a `value eq "a" or value eq "b"` filter names; `None` for any other filter.
pub(super) fn value_ids(filter: &Filter) -> Option<Vec<String>> {
    match filter {
        Filter::Compare {
            path:
                AttrPath {
                    urn: None,
                    attr,
                    sub: None,
                },
            op: CompareOp::Eq,
            value: CompValue::Str(id),
        } if attr.eq_ignore_ascii_case("value") => Some(vec![id.clone()]),
        Filter::Or(left, right) => {
            let mut ids = value_ids(left)?;
            ids.extend(value_ids(right)?);
            Some(ids)
        }
        _ => None,
    }
}

/// The `value`s of a remove's value list: `[{"value": "a"}, {"value": "b"}]` (other
/// sub-attributes, such as Entra's `"$ref": null`, are ignored), a lone object, or plain
/// strings.
pub(super) fn listed_values(value: &Value, path: &str) -> ScimResult<Vec<String>> {
    let items = match value {
        Value::Array(items) => items.as_slice(),
        single => std::slice::from_ref(single),
    };
    items
        .iter()
        .map(|item| {
            let id = match item {
                Value::String(id) => Some(id.as_str()),
                Value::Object(fields) => fields
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("value"))
                    .and_then(|(_, v)| v.as_str()),
                _ => None,
            };
            id.map(str::to_owned).ok_or_else(|| {
                ScimError::InvalidValue(format!(
                    "to remove values of '{path}', each element of 'value' needs a string \
                     'value' naming one"
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::filter;

    fn values(entries: &[(PatchPath, &Value)]) -> Vec<(String, Value)> {
        entries
            .iter()
            .map(|(path, value)| (path.to_string(), (*value).clone()))
            .collect()
    }

    #[test]
    fn splits_entra_pathless_values_into_paths() {
        let registry = SchemaRegistry::standard();
        let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let value = json!({
            "schemas": ["ignored"],
            "displayName": "Pvlo",
            "emails[type eq \"work\"].value": "pvlo@example.com",
            "name.givenName": "Pvlo",
            format!("{enterprise}:employeeNumber"): "42",
            enterprise: {"department": "Sales", "manager": "m1"},
            "urn:ietf:params:scim:schemas:core:2.0:User": {"title": "Boss"},
        });
        let fields = value.as_object().unwrap();
        let entries = split_pathless_value(&registry, ResourceKind::User, fields).unwrap();
        assert_eq!(
            values(&entries),
            [
                ("displayName".into(), json!("Pvlo")),
                (
                    "emails[type eq \"work\"].value".into(),
                    json!("pvlo@example.com")
                ),
                ("name.givenName".into(), json!("Pvlo")),
                (format!("{enterprise}:employeeNumber"), json!("42")),
                (format!("{enterprise}:department"), json!("Sales")),
                (format!("{enterprise}:manager"), json!("m1")),
                (
                    "urn:ietf:params:scim:schemas:core:2.0:User:title".into(),
                    json!("Boss")
                ),
            ]
        );
    }

    #[test]
    fn rejects_keys_that_are_no_paths() {
        let registry = SchemaRegistry::standard();
        let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        for value in [
            json!({"a.b.c": 1}),
            json!({"1x": 1}),
            json!({enterprise: "Sales"}),
        ] {
            let fields = value.as_object().unwrap();
            let err = split_pathless_value(&registry, ResourceKind::User, fields).unwrap_err();
            assert!(
                matches!(err.scim_type(), Some("invalidSyntax" | "invalidValue")),
                "{value}: {err}"
            );
        }
    }

    #[test]
    fn builds_elements_from_equality_filters_only() {
        let cases = [
            ("type eq \"work\"", Some(json!({"type": "work"}))),
            (
                "type eq \"work\" and primary eq true",
                Some(json!({"type": "work", "primary": true})),
            ),
            (
                "type eq \"work\" and type eq \"work\"",
                Some(json!({"type": "work"})),
            ),
            ("type eq \"work\" and type eq \"home\"", None),
            ("type eq \"work\" or type eq \"home\"", None),
            ("value co \"@example.com\"", None),
            ("not (type eq \"work\")", None),
            ("type eq null", None),
        ];
        for (text, expected) in cases {
            let filter = filter::parse(text).unwrap();
            assert_eq!(
                element_from_filter(&filter).map(Value::Object),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn reads_member_ids_from_value_equalities() {
        let cases = [
            ("value eq \"a\"", Some(vec!["a"])),
            ("VALUE eq \"a\" or value eq \"b\"", Some(vec!["a", "b"])),
            (
                "(value eq \"a\" or value eq \"b\") or value eq \"c\"",
                Some(vec!["a", "b", "c"]),
            ),
            ("value eq \"a\" and type eq \"User\"", None),
            ("display eq \"a\"", None),
            ("value ne \"a\"", None),
            ("value eq \"a\" or display eq \"b\"", None),
        ];
        for (text, expected) in cases {
            let filter = filter::parse(text).unwrap();
            let expected = expected.map(|ids| ids.into_iter().map(String::from).collect());
            assert_eq!(value_ids(&filter), expected, "{text}");
        }
    }

    #[test]
    fn lists_removal_values() {
        let ok = [
            (
                json!([{"$ref": null, "value": "a"}, {"value": "b"}]),
                vec!["a", "b"],
            ),
            (json!({"Value": "a"}), vec!["a"]),
            (json!(["a", "b"]), vec!["a", "b"]),
            (json!([]), vec![]),
        ];
        for (value, expected) in ok {
            assert_eq!(
                listed_values(&value, "members").unwrap(),
                expected,
                "{value}"
            );
        }
        for value in [json!([{"display": "a"}]), json!([{"value": 7}]), json!(7)] {
            let err = listed_values(&value, "members").unwrap_err();
            assert_eq!(err.scim_type(), Some("invalidValue"), "{value}");
        }
    }
}
