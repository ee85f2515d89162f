//! A group's members: taken out of a written body (they are rows) and turned from the
//! PATCH engine's member operations into the store's membership changes.

use serde_json::Value;

use super::{ResourceService, store_error};
use crate::context::Caller;
use crate::error::{ScimError, ScimResult};
use crate::filter::{self, Filter};
use crate::patch::MemberChange;
use crate::path::AttrPath;
use crate::resource::{
    Expand, MEMBERS, MembershipChange, NewMember, Resource, ResourceKind, member_reference,
};
use crate::schema::SchemaRegistry;
use crate::tenant::TenantId;

impl ResourceService {
    /// The store's membership changes for the PATCH engine's member operations. Removal by
    /// an arbitrary filter (`members[type eq "User"]`) reads the members to find which ones
    /// match — as the operations before it in the request left them (RFC 7644 §3.5.2:
    /// operations apply in order), so a member added earlier in the request can match.
    pub(super) async fn membership_changes(
        &self,
        caller: &Caller,
        group: &Resource,
        changes: Vec<MemberChange>,
    ) -> ScimResult<Vec<MembershipChange>> {
        let tenant = &caller.tenant;
        let filters_members = changes
            .iter()
            .any(|change| matches!(change, MemberChange::RemoveMatching(_)));
        // The members as the changes so far leave them; read only when a filter needs them.
        let mut members: Vec<Value> = if filters_members {
            let current = self
                .get(tenant, group.kind, &group.id, Expand::MEMBERS)
                .await?;
            member_list(&current).to_vec()
        } else {
            Vec::new()
        };
        let mut out = Vec::with_capacity(changes.len());
        for change in changes {
            out.push(match change {
                MemberChange::Add(added) => {
                    if filters_members {
                        self.follow_additions(tenant, &mut members, &added).await?;
                    }
                    MembershipChange::Add(
                        added
                            .into_iter()
                            .map(|m| NewMember {
                                id: m.value,
                                display: m.display,
                            })
                            .collect(),
                    )
                }
                MemberChange::RemoveValues(ids) => {
                    members.retain(|member| !ids.iter().any(|id| member_id(member) == Some(id)));
                    MembershipChange::Remove(ids)
                }
                MemberChange::RemoveAll => {
                    members.clear();
                    MembershipChange::RemoveAll
                }
                MemberChange::RemoveMatching(filter) => {
                    let ids =
                        matching_members(self.registry_of(caller), group.kind, &members, filter);
                    members.retain(|member| !ids.iter().any(|id| member_id(member) == Some(id)));
                    MembershipChange::Remove(ids)
                }
            });
        }
        Ok(out)
    }

    /// Adds to `members` the references a read would show for the added members that are
    /// not members yet (a User or a Group of the tenant; ids that are neither are left out:
    /// the store refuses the request for them).
    async fn follow_additions(
        &self,
        tenant: &TenantId,
        members: &mut Vec<Value>,
        added: &[crate::patch::Member],
    ) -> ScimResult<()> {
        for member in added {
            if members.iter().any(|m| member_id(m) == Some(&member.value)) {
                continue;
            }
            for kind in [ResourceKind::User, ResourceKind::Group] {
                let found = self
                    .repo
                    .get(tenant, kind, &member.value, Expand::default())
                    .await
                    .map_err(|e| store_error(e, kind))?;
                if found.is_some() {
                    members.push(member_reference(
                        &member.value,
                        member.display.as_deref(),
                        kind.as_str(),
                    ));
                    break;
                }
            }
        }
        Ok(())
    }
}

/// Takes a Group's `members` out of its validated attributes (membership is stored as rows)
/// and returns their ids, in order. Users have none. The members' `type` is not needed: the
/// store knows what each id is.
pub(super) fn take_members(resource: &mut Resource) -> ScimResult<Vec<NewMember>> {
    if resource.kind != ResourceKind::Group {
        return Ok(Vec::new());
    }
    let Some(members) = resource.attributes.remove(MEMBERS) else {
        return Ok(Vec::new());
    };
    let members = match members {
        Value::Array(members) => members,
        single => vec![single],
    };
    members
        .iter()
        .map(|member| {
            let id = member.get("value").and_then(Value::as_str).ok_or_else(|| {
                ScimError::InvalidValue(
                    "every element of 'members' needs a 'value': the id of a User or Group".into(),
                )
            })?;
            Ok(NewMember {
                id: id.to_owned(),
                display: member
                    .get("display")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            })
        })
        .collect()
}

/// The ids of the `members` that satisfy `filter` (over member sub-attributes).
fn matching_members(
    registry: &SchemaRegistry,
    kind: ResourceKind,
    members: &[Value],
    filter: Filter,
) -> Vec<String> {
    let path = AttrPath::new(MEMBERS);
    let filter = Filter::ValuePath {
        path,
        filter: Box::new(filter),
    };
    members
        .iter()
        .filter(|member| {
            let mut doc = serde_json::Map::new();
            doc.insert(MEMBERS.to_owned(), Value::Array(vec![(*member).clone()]));
            filter::matches(&filter, kind, registry, &doc)
        })
        .filter_map(|member| member_id(member).map(str::to_owned))
        .collect()
}

/// A group's `members` as a read shows them (none when not loaded).
fn member_list(group: &Resource) -> &[Value] {
    group
        .attributes
        .get(MEMBERS)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn member_id(member: &Value) -> Option<&str> {
    member.get("value").and_then(Value::as_str)
}
