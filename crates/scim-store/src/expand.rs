//! Membership reads: `members` of groups and `groups` of users, computed from the rows of
//! `group_members` for many resources at once (a page, or the candidates of a filter), never
//! one query per resource.
//!
//! - `members`: one query for the members of all the groups, in the order the members were
//!   created: `{"value": id, "type": "User"|"Group", "display": …}`, `display` being the
//!   label the client added the member with, else the member's own (its displayName, else
//!   its userName), so that a group shows who its members are.
//! - `groups`: one query for the groups the users are direct members of, then one per level
//!   of nesting for the groups those are members of, until no new group turns up (so cycles
//!   end). Direct groups come first, then indirect ones, each in the order the groups were
//!   created: `{"value": id, "display": …, "type": "direct"|"indirect"}`.
//!
//! A group's `display` in `groups` is its `display` column (its displayName). A `display`
//! is left out when there is none.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet, VecDeque};

use diesel::prelude::*;
use scim_core::resource::{member_reference, membership_attribute};
use scim_core::{Expand, ResourceKind, StoreError};
use serde_json::Value;

use crate::assignments::load_held;
use crate::connection::{DbConnection, load_per_backend};
use crate::errors::from_diesel;
use crate::members::CHUNK;
use crate::rows::StoredResource;
use crate::schema::{group_members, resources};

/// Fills the computed attribute `expand` asks for into each of the resources (all of `kind`).
pub(crate) fn expand(
    connection: &mut DbConnection,
    tenant: &str,
    resources: &mut [StoredResource],
    kind: ResourceKind,
    expand: Expand,
) -> Result<(), StoreError> {
    if !expand.applies_to(kind) || resources.is_empty() {
        return Ok(());
    }
    let seqs: Vec<i64> = resources.iter().map(|stored| stored.seq).collect();
    if kind == ResourceKind::User && expand.licenses {
        let mut held = load_held(connection, tenant, &seqs)?;
        for stored in resources.iter_mut() {
            let licenses = held.remove(&stored.seq).unwrap_or_default();
            stored.resource.show_licenses(&licenses);
        }
    }
    if !(expand.members && kind == ResourceKind::Group
        || expand.groups && kind == ResourceKind::User)
    {
        return Ok(());
    }
    let mut computed = match kind {
        ResourceKind::Group => members_of(connection, tenant, &seqs)?,
        ResourceKind::User => groups_of(connection, tenant, &seqs)?,
    };
    let attribute = membership_attribute(kind);
    for stored in resources {
        match computed.remove(&stored.seq) {
            Some(values) if !values.is_empty() => {
                stored
                    .resource
                    .attributes
                    .insert(attribute.to_owned(), Value::Array(values));
            }
            _ => {
                stored.resource.attributes.remove(attribute);
            }
        }
    }
    Ok(())
}

/// The members of each group, by the group's `seq`.
fn members_of(
    connection: &mut DbConnection,
    tenant: &str,
    group_seqs: &[i64],
) -> Result<HashMap<i64, Vec<Value>>, StoreError> {
    let mut members: HashMap<i64, Vec<Value>> = HashMap::new();
    for chunk in group_seqs.chunks(CHUNK) {
        let rows = group_members::table
            .inner_join(resources::table.on(resources::seq.eq(group_members::member_seq)))
            .filter(resources::tenant_id.eq(tenant))
            .filter(group_members::group_seq.eq_any(chunk))
            .order((group_members::group_seq, group_members::member_seq))
            .select((
                group_members::group_seq,
                resources::id,
                resources::kind,
                group_members::display,
                resources::display,
            ))
            .load::<(i64, String, String, Option<String>, Option<String>)>(connection)
            .map_err(from_diesel)?;
        for (group, id, kind, label, own) in rows {
            let member = member_reference(&id, label.or(own).as_deref(), &kind);
            members.entry(group).or_default().push(member);
        }
    }
    Ok(members)
}

/// A group as a user's `groups` show it.
#[derive(Debug)]
struct GroupInfo {
    id: String,
    display: Option<String>,
}

/// The groups of each user, direct and indirect, by the user's `seq`.
pub(crate) fn groups_of(
    connection: &mut DbConnection,
    tenant: &str,
    user_seqs: &[i64],
) -> Result<HashMap<i64, Vec<Value>>, StoreError> {
    // The groups each resource (user or group) is a direct member of, ascending by `seq`,
    // loaded level by level.
    let mut parents: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut groups: HashMap<i64, GroupInfo> = HashMap::new();
    let mut frontier = user_seqs.to_vec();
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for chunk in frontier.chunks(CHUNK) {
            let rows = group_members::table
                .inner_join(resources::table.on(resources::seq.eq(group_members::group_seq)))
                .filter(resources::tenant_id.eq(tenant))
                .filter(group_members::member_seq.eq_any(chunk))
                .order((group_members::member_seq, group_members::group_seq))
                .select((
                    group_members::member_seq,
                    group_members::group_seq,
                    resources::id,
                    resources::display,
                ));
            let rows: Vec<(i64, i64, String, Option<String>)> =
                load_per_backend!(connection, rows).map_err(from_diesel)?;
            for (member, group, id, display) in rows {
                parents.entry(member).or_default().push(group);
                if let Entry::Vacant(entry) = groups.entry(group) {
                    entry.insert(GroupInfo { id, display });
                    next.push(group);
                }
            }
        }
        frontier = next;
    }

    let mut out = HashMap::with_capacity(user_seqs.len());
    for &user in user_seqs {
        let direct = parents.get(&user).map(Vec::as_slice).unwrap_or_default();
        let mut seen: HashSet<i64> = direct.iter().copied().collect();
        let mut queue: VecDeque<i64> = direct.iter().copied().collect();
        let mut indirect = Vec::new();
        while let Some(group) = queue.pop_front() {
            for &parent in parents.get(&group).map(Vec::as_slice).unwrap_or_default() {
                if seen.insert(parent) {
                    indirect.push(parent);
                    queue.push_back(parent);
                }
            }
        }
        indirect.sort_unstable();
        let typed = direct
            .iter()
            .map(|seq| (seq, "direct"))
            .chain(indirect.iter().map(|seq| (seq, "indirect")));
        let values = typed
            .filter_map(|(seq, membership)| {
                let info = groups.get(seq)?;
                Some(member_reference(
                    &info.id,
                    info.display.as_deref(),
                    membership,
                ))
            })
            .collect();
        out.insert(user, values);
    }
    Ok(out)
}
