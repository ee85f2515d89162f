//! What `members` and `groups` must be, computed from a plain list of memberships the way
//! the contract defines them, independently of any store: the documents the property test
//! hands to `apply_in_memory` as the expected answer.
//!
//! - `members` of a group: its members in the order they were created, each
//!   `{"value", "display", "type": "User"|"Group"}`, `display` being the label the member
//!   was added with, else the member's own (displayName, else userName);
//! - `groups` of a user: the groups it is a direct member of, then those it is in through
//!   nested groups (each group once, cycles included), each part in the order the groups
//!   were created, `{"value", "display", "type": "direct"|"indirect"}`;
//! - a group's `display` in `groups` is its displayName; `display`, and both attributes, are
//!   left out when empty.

use std::collections::{HashMap, HashSet};

use scim_core::resource::member_reference;
use scim_core::{Resource, ResourceKind};
use serde_json::Value;

/// The resources of one tenant in the order they were created, and who is in which group.
#[derive(Debug, Default)]
pub struct Memberships {
    /// `(id, kind, display)` in creation order.
    created: Vec<(String, ResourceKind, Option<String>)>,
    /// The members of each group id: member id → the label it was added with.
    members: HashMap<String, HashMap<String, Option<String>>>,
}

impl Memberships {
    /// Records a resource; call in the order they were created.
    pub fn created(&mut self, resource: &Resource) {
        let display = resource.display();
        self.created.push((
            resource.id.clone(),
            resource.kind,
            display.map(str::to_owned),
        ));
    }

    /// The label an IdP would add a recorded resource with: its displayName, else its
    /// userName.
    pub fn label(&self, id: &str) -> Option<String> {
        self.created
            .iter()
            .find(|(created, _, _)| created == id)
            .and_then(|(_, _, display)| display.clone())
    }

    /// Records that `member` is in `group`, added with `display`; a member added again
    /// keeps its first label, as the stores do.
    pub fn add(&mut self, group: &str, member: &str, display: Option<String>) {
        self.members
            .entry(group.to_owned())
            .or_default()
            .entry(member.to_owned())
            .or_insert(display);
    }

    /// The resource with the computed attribute of its kind.
    pub fn expanded(&self, resource: &Resource) -> Resource {
        let (name, values) = match resource.kind {
            ResourceKind::Group => ("members", self.members_of(&resource.id)),
            ResourceKind::User => ("groups", self.groups_of(&resource.id)),
        };
        let mut expanded = resource.clone();
        expanded.attributes.remove(name);
        if !values.is_empty() {
            expanded
                .attributes
                .insert(name.to_owned(), Value::Array(values));
        }
        expanded
    }

    fn members_of(&self, group: &str) -> Vec<Value> {
        let Some(members) = self.members.get(group) else {
            return Vec::new();
        };
        self.created
            .iter()
            .filter_map(|(id, kind, own)| {
                let label = members.get(id)?;
                let display = label.as_deref().or(own.as_deref());
                Some(member_reference(id, display, kind.as_str()))
            })
            .collect()
    }

    fn groups_of(&self, user: &str) -> Vec<Value> {
        let containing = |member: &str| -> Vec<&str> {
            self.created
                .iter()
                .filter(|(id, _, _)| {
                    self.members
                        .get(id)
                        .is_some_and(|members| members.contains_key(member))
                })
                .map(|(id, _, _)| id.as_str())
                .collect()
        };
        let direct = containing(user);
        let mut reached: HashSet<&str> = direct.iter().copied().collect();
        let mut pending = direct.clone();
        while let Some(group) = pending.pop() {
            for parent in containing(group) {
                if reached.insert(parent) {
                    pending.push(parent);
                }
            }
        }
        let in_order = |wanted: &dyn Fn(&str) -> bool, kind: &str| -> Vec<Value> {
            self.created
                .iter()
                .filter(|(id, _, _)| wanted(id))
                .map(|(id, _, display)| member_reference(id, display.as_deref(), kind))
                .collect()
        };
        let mut groups = in_order(&|id| direct.contains(&id), "direct");
        groups.extend(in_order(
            &|id| reached.contains(id) && !direct.contains(&id),
            "indirect",
        ));
        groups
    }
}
