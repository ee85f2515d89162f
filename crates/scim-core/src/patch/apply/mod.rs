//! Applying PATCH operations to a resource's attributes (RFC 7644 §3.5.2.1–3).
//!
//! Operations apply in order to a working copy; the first error discards it (a PATCH is
//! atomic). The result then passes the validation a PUT body passes (`validate_resource`
//! and `merge_for_replace`), so a PATCH can produce nothing a PUT could not.

use serde_json::{Map, Value};

use super::dialect;
use super::path::PatchPath;
use super::request::{PatchOp, PatchOperation, PatchRequest};
use crate::error::{ScimError, ScimResult};
use crate::filter::Filter;
use crate::filter::eval::{CompiledFilter, resolve_attr};
use crate::path::AttrPath;
use crate::resource::{MEMBERS, ResourceKind};
use crate::schema::{AttributeDef, Mutability, SchemaRegistry};
use crate::validate::{merge_for_replace, validate_resource};

mod elements;
mod writes;

use elements::*;

/// A member named by an `add` or `replace` of a Group's `members`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The id of the member: a User or a Group of the same tenant.
    pub value: String,
    /// `User` or `Group` (canonical spelling) when the client sent `type`.
    pub kind: Option<String>,
    /// The `display` the client labelled the member with, echoed on reads.
    pub display: Option<String>,
}

/// A change to a multi-valued attribute stored apart from the resource's attributes: the
/// members of a Group, kept as membership rows.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberChange {
    /// Adds these members; members already present stay as they are.
    Add(Vec<Member>),
    /// Removes the members with these ids; ids that are no member are ignored.
    RemoveValues(Vec<String>),
    /// Removes the members that satisfy this filter. Its paths name member sub-attributes
    /// (`value`, `display`, `type`, `$ref`), as inside `members[…]`; it has been checked.
    RemoveMatching(Filter),
    /// Removes every member.
    RemoveAll,
}

/// What a PATCH request turns a resource into.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOutcome {
    /// The new attributes, validated like a PUT body (see
    /// [`Resource::attributes`](crate::resource::Resource)).
    pub attributes: Map<String, Value>,
    /// The changes to the attribute stored apart (a Group's `members`), in request order.
    pub members: Vec<MemberChange>,
}

/// Applies `request` to the `attributes` of a resource of `kind`.
///
/// For Groups, `members` is stored apart: operations on it never touch `attributes` and come
/// back as [`MemberChange`]s. Errors are RFC 7644 §3.12 errors; their detail names the
/// operation (`Operations[2]: …`).
pub fn apply_patch(
    registry: &SchemaRegistry,
    kind: ResourceKind,
    attributes: &Map<String, Value>,
    request: &PatchRequest,
) -> ScimResult<PatchOutcome> {
    let mut engine = Engine {
        registry,
        kind,
        attributes: attributes.clone(),
        members: Vec::new(),
    };
    for (index, operation) in request.operations.iter().enumerate() {
        engine
            .apply_operation(operation)
            .map_err(|e| in_operation(index, e))?;
    }
    let patched = revalidate(registry, kind, attributes, engine.attributes)?;
    Ok(PatchOutcome {
        attributes: patched,
        members: engine.members,
    })
}

/// Prefixes the detail of an operation's error with the operation's index.
fn in_operation(index: usize, error: ScimError) -> ScimError {
    let at = |detail: String| format!("Operations[{index}]: {detail}");
    match error {
        ScimError::InvalidPath(d) => ScimError::InvalidPath(at(d)),
        ScimError::InvalidValue(d) => ScimError::InvalidValue(at(d)),
        ScimError::InvalidSyntax(d) => ScimError::InvalidSyntax(at(d)),
        ScimError::NoTarget(d) => ScimError::NoTarget(at(d)),
        ScimError::Mutability(d) => ScimError::Mutability(at(d)),
        other => other,
    }
}

/// Validates the patched attributes as a PUT body and carries the readOnly attributes of
/// `existing` over, exactly as a replace does.
fn revalidate(
    registry: &SchemaRegistry,
    kind: ResourceKind,
    existing: &Map<String, Value>,
    mut patched: Map<String, Value>,
) -> ScimResult<Map<String, Value>> {
    let core = registry
        .core_schema(kind)
        .ok_or_else(|| ScimError::NotFound(format!("resource type {kind} is not served")))?;
    let mut schemas = vec![Value::String(core.id.to_owned())];
    schemas.extend(
        patched
            .keys()
            .filter(|key| registry.extension(kind, key).is_some())
            .map(|key| Value::String(key.clone())),
    );
    patched.insert("schemas".to_owned(), Value::Array(schemas));
    let validated = validate_resource(registry, kind, &Value::Object(patched))?;
    merge_for_replace(registry, kind, existing, validated)
}

struct Engine<'r> {
    registry: &'r SchemaRegistry,
    kind: ResourceKind,
    attributes: Map<String, Value>,
    members: Vec<MemberChange>,
}

/// What an operation (or one entry of a path-less value) targets, resolved against the
/// registry.
struct Target<'r> {
    /// The path as the client wrote it, for messages.
    path: String,
    extension: Option<&'static str>,
    attr: &'r AttributeDef,
    sub: Option<&'r AttributeDef>,
    selector: Option<Selector>,
}

impl Target<'_> {
    fn is_read_only(&self) -> bool {
        self.attr.mutability == Mutability::ReadOnly
            || self
                .sub
                .is_some_and(|s| s.mutability == Mutability::ReadOnly)
    }
}

/// A value filter of a path, compiled to select elements of its attribute.
struct Selector {
    filter: Filter,
    compiled: CompiledFilter,
    extension: Option<&'static str>,
    attr: &'static str,
}

impl Selector {
    /// Whether one element of the attribute satisfies the filter.
    fn matches(&self, element: &Value) -> bool {
        let mut doc = Map::new();
        let list = Value::Array(vec![element.clone()]);
        match self.extension {
            None => {
                doc.insert(self.attr.to_owned(), list);
            }
            Some(urn) => {
                let mut extension = Map::new();
                extension.insert(self.attr.to_owned(), list);
                doc.insert(urn.to_owned(), Value::Object(extension));
            }
        }
        self.compiled.matches(&doc)
    }

    /// The indices of the elements that match.
    fn matching(&self, elements: &[Value]) -> Vec<usize> {
        elements
            .iter()
            .enumerate()
            .filter(|(_, element)| self.matches(element))
            .map(|(i, _)| i)
            .collect()
    }
}

/// What a write through `attr[filter]` puts into each selected element.
enum ElementWrite<'r> {
    /// `attr[filter].sub`: the sub-attribute's checked value (`None`: unassigned).
    Sub(&'r AttributeDef, Option<Value>),
    /// `attr[filter]`: a whole element (`None`: an empty one).
    Element(Option<Map<String, Value>>),
}

impl<'r> Engine<'r> {
    fn apply_operation(&mut self, operation: &PatchOperation) -> ScimResult<()> {
        let Some(path) = &operation.path else {
            return self.apply_pathless(operation);
        };
        if let Some(urn) = dialect::schema_of_path(self.registry, self.kind, path) {
            return self.apply_schema(operation, urn);
        }
        let target = self.resolve(path).map_err(ScimError::InvalidPath)?;
        if target.is_read_only() {
            return Err(ScimError::Mutability(format!(
                "'{}' is readOnly and cannot be changed",
                target.path
            )));
        }
        self.apply_target(operation.op, &target, operation.value.as_ref())
    }

    /// A path-less add or replace: each attribute of the value object as if it had been sent
    /// with its own path. ReadOnly attributes (IdPs echo `id` and `meta` back) are ignored.
    fn apply_pathless(&mut self, operation: &PatchOperation) -> ScimResult<()> {
        let fields = match (operation.op, &operation.value) {
            (PatchOp::Remove, _) => {
                return Err(ScimError::NoTarget("'remove' needs a 'path'".into()));
            }
            (_, Some(Value::Object(fields))) => fields,
            _ => {
                return Err(ScimError::InvalidSyntax(
                    "without a 'path', 'value' must be an object of attributes".into(),
                ));
            }
        };
        self.apply_fields(operation.op, fields)
    }

    /// Applies each attribute of a path-less value as if sent with its own path, ignoring
    /// readOnly ones.
    fn apply_fields(&mut self, op: PatchOp, fields: &Map<String, Value>) -> ScimResult<()> {
        for (path, value) in dialect::split_pathless_value(self.registry, self.kind, fields)? {
            let target = self.resolve(&path).map_err(ScimError::InvalidSyntax)?;
            if !target.is_read_only() {
                self.apply_target(op, &target, Some(value))?;
            }
        }
        Ok(())
    }

    /// An operation whose path is a schema URN (`urn:…:enterprise:2.0:User`): an add or
    /// replace sets the attributes of that schema its value object holds, as a path-less
    /// one whose value holds them under the URN; a remove removes every attribute of an
    /// extension (the core schema's attributes cannot all go).
    fn apply_schema(&mut self, operation: &PatchOperation, urn: &'static str) -> ScimResult<()> {
        let op = match (operation.op, &operation.value) {
            (_, Some(Value::Null)) => PatchOp::Remove,
            (op, _) => op,
        };
        match op {
            PatchOp::Remove if self.is_core(urn) => Err(ScimError::Mutability(format!(
                "'{urn}' is the core schema of the resource; remove its attributes one by one"
            ))),
            PatchOp::Remove => {
                self.attributes.shift_remove(urn);
                Ok(())
            }
            PatchOp::Add | PatchOp::Replace => {
                let value = required(operation.op, operation.value.as_ref())?;
                if !value.is_object() {
                    return Err(ScimError::InvalidValue(format!(
                        "the value for '{urn}' must be an object of the attributes of that schema"
                    )));
                }
                let mut fields = Map::new();
                fields.insert(urn.to_owned(), value.clone());
                self.apply_fields(operation.op, &fields)
            }
        }
    }

    fn is_core(&self, urn: &str) -> bool {
        self.registry
            .resource_type(self.kind)
            .is_some_and(|rt| rt.schema == urn)
    }

    /// Resolves a path; the error is a detail naming what does not resolve.
    fn resolve(&self, path: &PatchPath) -> Result<Target<'r>, String> {
        if path.attr.urn.is_none() && path.attr.attr.eq_ignore_ascii_case("schemas") {
            return Err("'schemas' follows from the attributes and cannot be patched".into());
        }
        let full = AttrPath {
            sub: path.sub.clone(),
            ..path.attr.clone()
        };
        let resolved = resolve_attr(self.kind, self.registry, &full)?;
        let selector = match &path.filter {
            None => None,
            Some(filter) => Some(self.selector(resolved.extension, resolved.attr, filter)?),
        };
        Ok(Target {
            path: path.to_string(),
            extension: resolved.extension,
            attr: resolved.attr,
            sub: resolved.sub,
            selector,
        })
    }

    fn selector(
        &self,
        extension: Option<&'static str>,
        attr: &'r AttributeDef,
        filter: &Filter,
    ) -> Result<Selector, String> {
        if !(attr.multi_valued && attr.is_complex()) {
            return Err(format!(
                "'{}' is not a multi-valued complex attribute, so a value filter cannot select \
                 values of it",
                attr.name
            ));
        }
        let value_path = Filter::ValuePath {
            path: AttrPath {
                urn: extension.map(str::to_owned),
                attr: attr.name.to_owned(),
                sub: None,
            },
            filter: Box::new(filter.clone()),
        };
        let compiled = CompiledFilter::compile(&value_path, self.kind, self.registry)
            .map_err(|e| format!("invalid value filter '{filter}': {}", e.detail()))?;
        Ok(Selector {
            filter: filter.clone(),
            compiled,
            extension,
            attr: attr.name,
        })
    }

    fn apply_target(
        &mut self,
        op: PatchOp,
        target: &Target<'r>,
        value: Option<&Value>,
    ) -> ScimResult<()> {
        // `null` is "unassigned" (RFC 7643 §2.5, where it equals `[]`): a replace of it
        // clears the target, as a remove does, and so does an add to a single value; an
        // add of it to a multi-valued attribute adds nothing.
        let (op, value) = match value {
            Some(Value::Null) if op == PatchOp::Add && adds_values(target) => return Ok(()),
            Some(Value::Null) => (PatchOp::Remove, None),
            _ => (op, value),
        };
        if self.kind == ResourceKind::Group
            && target.extension.is_none()
            && target.attr.name == MEMBERS
        {
            return self.change_members(op, target, value);
        }
        let immutable_before = (target.attr.mutability == Mutability::Immutable)
            .then(|| self.current(target).cloned())
            .flatten();
        match op {
            PatchOp::Add => self.add(target, required(op, value)?),
            PatchOp::Replace => self.replace(target, required(op, value)?),
            PatchOp::Remove => self.remove(target, value),
        }?;
        match immutable_before {
            Some(before) if self.current(target) != Some(&before) => Err(ScimError::Mutability(
                format!("'{}' is immutable and already has a value", target.path),
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::GROUP_SCHEMA;

    /// `members` of the Group schema: the one attribute with immutable sub-attributes.
    fn members_def() -> AttributeDef {
        let registry = SchemaRegistry::standard();
        let attr = registry
            .schema(GROUP_SCHEMA)
            .unwrap()
            .attribute(MEMBERS)
            .unwrap();
        attr.clone()
    }

    #[test]
    fn immutable_sub_attributes_may_be_given_a_value_but_not_changed() {
        let def = members_def();
        let value_def = def.sub_attribute("value").unwrap();
        let cases = [
            (json!({}), Some(json!("a")), true),
            (json!({"value": "a"}), Some(json!("a")), true),
            (json!({"value": "a"}), Some(json!("b")), false),
            (json!({"value": "a"}), None, false),
            (json!({"type": "User"}), None, true),
        ];
        for (before, value, allowed) in cases {
            let mut element = before.clone();
            let result = set_sub(&mut element, value_def, value.clone(), "members.value");
            assert_eq!(result.is_ok(), allowed, "{before} ← {value:?}");
            if let Err(err) = result {
                assert_eq!(err.scim_type(), Some("mutability"));
                assert_eq!(element, before, "a refused write changes nothing");
            }
        }
    }

    #[test]
    fn whole_element_writes_keep_immutable_sub_attributes() {
        let def = members_def();
        let cases = [
            (PatchOp::Add, json!({"display": "x"}), true),
            (PatchOp::Add, json!({"value": "b"}), false),
            (
                PatchOp::Replace,
                json!({"value": "a", "display": "x"}),
                true,
            ),
            (PatchOp::Replace, json!({"value": "b"}), false),
            (PatchOp::Replace, json!({"display": "x"}), false),
        ];
        for (op, new, allowed) in cases {
            let mut element = json!({"value": "a"});
            let write = ElementWrite::Element(new.as_object().cloned());
            let result = write_element(op, &def, &mut element, &write, "members[value eq \"a\"]");
            assert_eq!(result.is_ok(), allowed, "{op:?} {new}");
            if let Err(err) = result {
                assert_eq!(err.scim_type(), Some("mutability"));
            }
        }
    }

    #[test]
    fn one_primary_is_kept() {
        let cases = [
            (
                json!([{"primary": true}, {"primary": true}]),
                vec![1],
                json!([{"primary": false}, {"primary": true}]),
            ),
            (
                json!([{"primary": true}, {"primary": false}]),
                vec![1],
                json!([{"primary": true}, {"primary": false}]),
            ),
            (
                json!([{"primary": true}, {}]),
                vec![],
                json!([{"primary": true}, {}]),
            ),
            (
                json!([{"primary": true}, {"primary": true}]),
                vec![7],
                json!([{"primary": true}, {"primary": true}]),
            ),
        ];
        for (before, written, expected) in cases {
            let mut elements = before.as_array().cloned().unwrap();
            keep_one_primary(&mut elements, &written);
            assert_eq!(Value::Array(elements), expected, "{before} {written:?}");
        }
    }
}
