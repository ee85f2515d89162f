//! Applying PATCH operations to a resource's attributes (RFC 7644 §3.5.2.1–3).
//!
//! Operations apply in order to a working copy; the first error discards it (a PATCH is
//! atomic). The result then passes the validation a PUT body passes (`validate_resource`
//! and `merge_for_replace`), so a PATCH can produce nothing a PUT could not.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::dialect;
use super::path::PatchPath;
use super::request::{PatchOp, PatchOperation, PatchRequest};
use crate::error::{ScimError, ScimResult};
use crate::filter::Filter;
use crate::filter::eval::{CompiledFilter, compares_folded, resolve_attr};
use crate::fold::fold_key;
use crate::path::AttrPath;
use crate::resource::{MEMBERS, ResourceKind};
use crate::schema::{AttributeDef, Mutability, SchemaRegistry};
use crate::validate::{check_attribute, merge_for_replace, validate_resource};

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

    /// RFC 7644 §3.5.2.1.
    fn add(&mut self, target: &Target<'r>, value: &Value) -> ScimResult<()> {
        match (&target.selector, target.sub) {
            (Some(selector), _) => self.write_selected(PatchOp::Add, target, selector, value),
            (None, Some(sub)) => self.write_sub(target, sub, value),
            (None, None) if target.attr.multi_valued => self.append(target, value),
            (None, None) if target.attr.is_complex() => self.merge(target, value),
            (None, None) => self.set(target, value),
        }
    }

    /// RFC 7644 §3.5.2.3.
    fn replace(&mut self, target: &Target<'r>, value: &Value) -> ScimResult<()> {
        match (&target.selector, target.sub) {
            (Some(selector), _) => self.write_selected(PatchOp::Replace, target, selector, value),
            (None, Some(sub)) => self.write_sub(target, sub, value),
            (None, None) if target.attr.multi_valued => self.set(target, value),
            // "Sub-attributes that are not specified in the value are left unchanged."
            (None, None) if target.attr.is_complex() => self.merge(target, value),
            (None, None) => self.set(target, value),
        }
    }

    /// RFC 7644 §3.5.2.2.
    fn remove(&mut self, target: &Target<'r>, value: Option<&Value>) -> ScimResult<()> {
        if let Some(sub) = target.sub.filter(|sub| sub.required) {
            return Err(required_removed(&format!(
                "{}.{}",
                target.attr.name, sub.name
            )));
        }
        match (&target.selector, target.sub, value) {
            (None, None, Some(listed)) if target.attr.multi_valued => {
                self.remove_listed(target, listed)?;
            }
            (None, None, _) => {
                if let Some(slot) = self.slot_if_present(target)? {
                    slot.shift_remove(target.attr.name);
                }
            }
            (None, Some(sub), _) => self.remove_sub(target, sub, None)?,
            (Some(selector), None, _) => {
                if let Some(elements) = self.elements_if_present(target)? {
                    elements.retain(|element| !selector.matches(element));
                }
            }
            (Some(selector), Some(sub), _) => self.remove_sub(target, sub, Some(selector))?,
        }
        if target.attr.required && !self.current(target).is_some_and(is_assigned) {
            return Err(required_removed(target.attr.name));
        }
        Ok(())
    }

    /// Replaces the whole attribute (an add of a simple single-valued attribute, a replace of
    /// a simple or multi-valued one).
    fn set(&mut self, target: &Target<'r>, value: &Value) -> ScimResult<()> {
        let checked = check_attribute(target.attr, value, &target.path)?;
        let slot = self.slot(target)?;
        match checked {
            Some(checked) => {
                slot.insert(target.attr.name.to_owned(), checked);
            }
            None => {
                slot.shift_remove(target.attr.name);
            }
        }
        Ok(())
    }

    /// Adds values to a multi-valued attribute, skipping values it holds already.
    fn append(&mut self, target: &Target<'r>, value: &Value) -> ScimResult<()> {
        let Some(Value::Array(new)) = check_attribute(target.attr, value, &target.path)? else {
            return Ok(());
        };
        let elements = self.elements(target)?;
        let mut written = Vec::with_capacity(new.len());
        for item in new {
            if !elements.contains(&item) {
                elements.push(item);
                written.push(elements.len() - 1);
            }
        }
        keep_one_primary(elements, &written);
        Ok(())
    }

    /// Sets the sub-attributes of a single-valued complex attribute the value names; the
    /// others stay.
    /// Sub-attributes the value sets to `null` are cleared.
    fn merge(&mut self, target: &Target<'r>, value: &Value) -> ScimResult<()> {
        let cleared = nulled_sub_attributes(target.attr, value);
        let new = match check_attribute(target.attr, value, &target.path)? {
            Some(Value::Object(new)) => new,
            _ if cleared.is_empty() => return Ok(()),
            _ => Map::new(),
        };
        let slot = self.slot(target)?;
        let entry = slot
            .entry(target.attr.name)
            .or_insert_with(|| Value::Object(Map::new()));
        merge_into(target.attr, entry, new, &target.path)?;
        for sub in cleared {
            set_sub(entry, sub, None, &target.path)?;
        }
        Ok(())
    }

    /// `attr.sub` without a filter: the sub-attribute of a single-valued complex attribute,
    /// or of every element of a multi-valued one (creating the first element when there is
    /// none).
    fn write_sub(
        &mut self,
        target: &Target<'r>,
        sub: &AttributeDef,
        value: &Value,
    ) -> ScimResult<()> {
        let checked = check_attribute(sub, value, &target.path)?;
        if !target.attr.multi_valued {
            let slot = self.slot(target)?;
            let entry = slot
                .entry(target.attr.name)
                .or_insert_with(|| Value::Object(Map::new()));
            return set_sub(entry, sub, checked, &target.path);
        }
        let elements = self.elements(target)?;
        if elements.is_empty() {
            if let Some(checked) = checked {
                let mut element = Map::new();
                element.insert(sub.name.to_owned(), checked);
                elements.push(Value::Object(element));
            }
            return Ok(());
        }
        for element in elements.iter_mut() {
            set_sub(element, sub, checked.clone(), &target.path)?;
        }
        Ok(())
    }

    /// A write through `attr[filter]` or `attr[filter].sub`: to every matching element, or
    /// to a new element built from the filter's `eq` comparisons when none matches (Entra
    /// ID's way of setting `emails[type eq "work"].value`). Other filters that match nothing
    /// are 400 `noTarget` (RFC 7644 §3.5.2.3), and so is `replace` of whole elements.
    fn write_selected(
        &mut self,
        op: PatchOp,
        target: &Target<'r>,
        selector: &Selector,
        value: &Value,
    ) -> ScimResult<()> {
        let write = match target.sub {
            Some(sub) => ElementWrite::Sub(sub, check_attribute(sub, value, &target.path)?),
            None => ElementWrite::Element(one_element(target.attr, value, &target.path)?),
        };
        let attr = target.attr;
        let elements = self.elements(target)?;
        let matched = selector.matching(elements);
        let written = if matched.is_empty() {
            let creatable = op == PatchOp::Add || target.sub.is_some();
            let fields = dialect::element_from_filter(&selector.filter)
                .filter(|_| creatable)
                .ok_or_else(|| {
                    ScimError::NoTarget(format!(
                        "no value of '{}' matches [{}]",
                        attr.name, selector.filter
                    ))
                })?;
            match new_element(attr, fields, write, &target.path)? {
                Some(element) => {
                    elements.push(element);
                    vec![elements.len() - 1]
                }
                None => Vec::new(),
            }
        } else {
            for &i in &matched {
                if let Some(element) = elements.get_mut(i) {
                    write_element(op, attr, element, &write, &target.path)?;
                }
            }
            matched
        };
        keep_one_primary(elements, &written);
        Ok(())
    }

    /// Removes the elements a value list names: by `value` when the attribute has one (Entra
    /// ID's member removal), else by equality of the whole element.
    fn remove_listed(&mut self, target: &Target<'r>, listed: &Value) -> ScimResult<()> {
        let attr = target.attr;
        let by_value = attr.sub_attribute("value").filter(|_| attr.is_complex());
        if let Some(value_def) = by_value {
            let folded = compares_folded(value_def);
            let key = |text: &str| {
                if folded {
                    fold_key(text)
                } else {
                    text.to_owned()
                }
            };
            let ids: HashSet<String> = dialect::listed_values(listed, &target.path)?
                .iter()
                .map(|id| key(id))
                .collect();
            if let Some(elements) = self.elements_if_present(target)? {
                elements.retain(|element| {
                    let id = element.get(value_def.name).and_then(Value::as_str);
                    !id.is_some_and(|id| ids.contains(&key(id)))
                });
            }
            return Ok(());
        }
        let Some(Value::Array(listed)) = check_attribute(attr, listed, &target.path)? else {
            return Ok(());
        };
        if let Some(elements) = self.elements_if_present(target)? {
            elements.retain(|element| !listed.contains(element));
        }
        Ok(())
    }

    /// Unassigns `sub` of the attribute: of its value when single-valued, of the selected
    /// elements (all without a selector) when multi-valued.
    fn remove_sub(
        &mut self,
        target: &Target<'r>,
        sub: &AttributeDef,
        selector: Option<&Selector>,
    ) -> ScimResult<()> {
        let multi_valued = target.attr.multi_valued;
        let Some(slot) = self.slot_if_present(target)? else {
            return Ok(());
        };
        let Some(value) = slot.get_mut(target.attr.name) else {
            return Ok(());
        };
        if !multi_valued {
            return set_sub(value, sub, None, &target.path);
        }
        let Value::Array(elements) = value else {
            return Err(ScimError::Internal);
        };
        for element in elements.iter_mut() {
            if selector.is_none_or(|s| s.matches(element)) {
                set_sub(element, sub, None, &target.path)?;
            }
        }
        Ok(())
    }

    /// A Group's `members`, stored apart: operations become [`MemberChange`]s.
    fn change_members(
        &mut self,
        op: PatchOp,
        target: &Target<'r>,
        value: Option<&Value>,
    ) -> ScimResult<()> {
        if let Some(sub) = target.sub {
            return Err(ScimError::Mutability(format!(
                "'{}' cannot be changed: 'members.{}' is {}; add or remove the member instead",
                target.path,
                sub.name,
                if sub.mutability == Mutability::ReadOnly {
                    "readOnly"
                } else {
                    "immutable"
                }
            )));
        }
        match (op, &target.selector) {
            (PatchOp::Add, None) => {
                let members = members(target.attr, required(op, value)?)?;
                if !members.is_empty() {
                    self.members.push(MemberChange::Add(members));
                }
            }
            (PatchOp::Replace, None) => {
                let members = members(target.attr, required(op, value)?)?;
                self.members.push(MemberChange::RemoveAll);
                if !members.is_empty() {
                    self.members.push(MemberChange::Add(members));
                }
            }
            (PatchOp::Remove, None) => match value {
                None => self.members.push(MemberChange::RemoveAll),
                Some(listed) => {
                    let ids = dialect::listed_values(listed, &target.path)?;
                    if !ids.is_empty() {
                        self.members.push(MemberChange::RemoveValues(ids));
                    }
                }
            },
            (PatchOp::Remove, Some(selector)) => {
                self.members
                    .push(match dialect::value_ids(&selector.filter) {
                        Some(ids) => MemberChange::RemoveValues(ids),
                        None => MemberChange::RemoveMatching(selector.filter.clone()),
                    });
            }
            (PatchOp::Add | PatchOp::Replace, Some(_)) => {
                return Err(ScimError::InvalidPath(format!(
                    "'{}': members are added or replaced through the path 'members' with a \
                     list of members; a value filter selects members to remove",
                    target.path
                )));
            }
        }
        Ok(())
    }

    /// The current value of the target's attribute.
    fn current(&self, target: &Target<'_>) -> Option<&Value> {
        let container = match target.extension {
            None => &self.attributes,
            Some(urn) => self.attributes.get(urn)?.as_object()?,
        };
        container.get(target.attr.name)
    }

    /// The object holding the target's attribute: the resource, or its extension's object
    /// (created when missing).
    fn slot(&mut self, target: &Target<'_>) -> ScimResult<&mut Map<String, Value>> {
        let Some(urn) = target.extension else {
            return Ok(&mut self.attributes);
        };
        self.attributes
            .entry(urn)
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .ok_or(ScimError::Internal)
    }

    /// The object holding the target's attribute, when there is one.
    fn slot_if_present(
        &mut self,
        target: &Target<'_>,
    ) -> ScimResult<Option<&mut Map<String, Value>>> {
        let Some(urn) = target.extension else {
            return Ok(Some(&mut self.attributes));
        };
        match self.attributes.get_mut(urn) {
            None => Ok(None),
            Some(Value::Object(extension)) => Ok(Some(extension)),
            Some(_) => Err(ScimError::Internal),
        }
    }

    /// The elements of the target's multi-valued attribute (an empty list when unassigned).
    fn elements(&mut self, target: &Target<'_>) -> ScimResult<&mut Vec<Value>> {
        let name = target.attr.name;
        match self
            .slot(target)?
            .entry(name)
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            Value::Array(elements) => Ok(elements),
            _ => Err(ScimError::Internal),
        }
    }

    /// The elements of the target's multi-valued attribute, when it has any.
    fn elements_if_present(&mut self, target: &Target<'_>) -> ScimResult<Option<&mut Vec<Value>>> {
        let name = target.attr.name;
        let Some(slot) = self.slot_if_present(target)? else {
            return Ok(None);
        };
        match slot.get_mut(name) {
            None => Ok(None),
            Some(Value::Array(elements)) => Ok(Some(elements)),
            Some(_) => Err(ScimError::Internal),
        }
    }
}

/// Whether an `add` to the target adds values to a list (a multi-valued attribute, whole
/// or through a filter) rather than setting one.
fn adds_values(target: &Target<'_>) -> bool {
    target.attr.multi_valued && target.sub.is_none()
}

/// The sub-attributes of `attr` a complex value names with `null` (RFC 7643 §2.5: to be
/// unassigned).
fn nulled_sub_attributes<'a>(attr: &'a AttributeDef, value: &Value) -> Vec<&'a AttributeDef> {
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
fn required(op: PatchOp, value: Option<&Value>) -> ScimResult<&Value> {
    value.ok_or_else(|| ScimError::InvalidSyntax(format!("'{op:?}' needs a 'value'")))
}

fn required_removed(name: &str) -> ScimError {
    ScimError::Mutability(format!("'{name}' is required and cannot be removed"))
}

/// Whether a value counts as assigned: not `null`, `[]` or `{}`.
fn is_assigned(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Array(items) => !items.is_empty(),
        Value::Object(fields) => !fields.is_empty(),
        _ => true,
    }
}

/// The one element written through `attr[filter]`: an object, or an array holding one.
fn one_element(
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
fn first_object(checked: Option<Value>) -> Option<Map<String, Value>> {
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
fn new_element(
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
fn write_element(
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
fn merge_into(
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
fn check_immutable_subs(
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

fn immutable(path: &str, sub: &AttributeDef) -> ScimError {
    ScimError::Mutability(format!(
        "'{path}': '{}' is immutable and already has a value",
        sub.name
    ))
}

/// Sets (or, with `None`, unassigns) one sub-attribute of a complex value.
fn set_sub(
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
fn keep_one_primary(elements: &mut [Value], written: &[usize]) {
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
fn members(def: &AttributeDef, value: &Value) -> ScimResult<Vec<Member>> {
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

fn member(def: &AttributeDef, item: &Value) -> ScimResult<Member> {
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
