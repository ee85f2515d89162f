//! What each operation does to the working copy: `add`, `replace`, `remove` and the
//! writes they are made of (RFC 7644 §3.5.2.1–3).

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::error::{ScimError, ScimResult};
use crate::filter::eval::compares_folded;
use crate::fold::fold_key;
use crate::patch::dialect;
use crate::patch::request::PatchOp;
use crate::schema::{AttributeDef, Mutability};
use crate::validate::check_attribute;

use super::*;

impl<'r> Engine<'r> {
    /// RFC 7644 §3.5.2.1.
    pub(super) fn add(&mut self, target: &Target<'r>, value: &Value) -> ScimResult<()> {
        match (&target.selector, target.sub) {
            (Some(selector), _) => self.write_selected(PatchOp::Add, target, selector, value),
            (None, Some(sub)) => self.write_sub(target, sub, value),
            (None, None) if target.attr.multi_valued => self.append(target, value),
            (None, None) if target.attr.is_complex() => self.merge(target, value),
            (None, None) => self.set(target, value),
        }
    }

    /// RFC 7644 §3.5.2.3.
    pub(super) fn replace(&mut self, target: &Target<'r>, value: &Value) -> ScimResult<()> {
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
    pub(super) fn remove(&mut self, target: &Target<'r>, value: Option<&Value>) -> ScimResult<()> {
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
    pub(super) fn set(&mut self, target: &Target<'r>, value: &Value) -> ScimResult<()> {
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
    pub(super) fn append(&mut self, target: &Target<'r>, value: &Value) -> ScimResult<()> {
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
    pub(super) fn merge(&mut self, target: &Target<'r>, value: &Value) -> ScimResult<()> {
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
    pub(super) fn write_sub(
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
    pub(super) fn write_selected(
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
    pub(super) fn remove_listed(&mut self, target: &Target<'r>, listed: &Value) -> ScimResult<()> {
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
    pub(super) fn remove_sub(
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
    pub(super) fn change_members(
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
    pub(super) fn current(&self, target: &Target<'_>) -> Option<&Value> {
        let container = match target.extension {
            None => &self.attributes,
            Some(urn) => self.attributes.get(urn)?.as_object()?,
        };
        container.get(target.attr.name)
    }

    /// The object holding the target's attribute: the resource, or its extension's object
    /// (created when missing).
    pub(super) fn slot(&mut self, target: &Target<'_>) -> ScimResult<&mut Map<String, Value>> {
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
    pub(super) fn slot_if_present(
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
    pub(super) fn elements(&mut self, target: &Target<'_>) -> ScimResult<&mut Vec<Value>> {
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
    pub(super) fn elements_if_present(
        &mut self,
        target: &Target<'_>,
    ) -> ScimResult<Option<&mut Vec<Value>>> {
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
