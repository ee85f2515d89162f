//! `ResourceRepository`: Users and Groups, group membership as rows, lists answered by the
//! core's own evaluator.

use std::collections::{HashSet, VecDeque};

use async_trait::async_trait;
use scim_core::fold::fold_key;
use scim_core::license::{HeldLicense, SeatPolicy};
use scim_core::ports::{BatchWrite, ResourceRepository};
use scim_core::query::{self, ListPage, ListQuery};
use scim_core::resource::{member_reference, membership_attribute};
use scim_core::schema::LICENSE_USER_EXTENSION;
use scim_core::tenant::TenantId;
use scim_core::{
    Expand, MembershipChange, NewMember, Resource, ResourceKind, StoreError, WriteContext,
};
use serde_json::{Map, Value};

use crate::{Membership, MemoryStore, TenantData};

#[async_trait]
impl ResourceRepository for MemoryStore {
    async fn insert(
        &self,
        ctx: &WriteContext,
        resource: &Resource,
        members: &[MembershipChange],
    ) -> Result<Vec<HeldLicense>, StoreError> {
        let write = BatchWrite::Insert {
            resource: resource.clone(),
            members: members.to_vec(),
            events: ctx.events.clone(),
        };
        self.write(&ctx.tenant, |data| {
            data.apply(ctx, &write)?;
            // What a new user holds now (a group holds nothing).
            let held = (resource.kind == ResourceKind::User)
                .then(|| data.licenses.get(&resource.id).cloned())
                .flatten();
            Ok(held.unwrap_or_default())
        })
    }

    async fn write_batch(
        &self,
        ctx: &WriteContext,
        writes: &[BatchWrite],
    ) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        self.write(&ctx.tenant, |data| {
            // One transaction; each write in a "savepoint" of its own: a copy kept only
            // when that write succeeds.
            Ok(writes
                .iter()
                .map(|write| {
                    let mut savepoint = data.clone();
                    let result = savepoint.apply(ctx, write);
                    if result.is_ok() {
                        *data = savepoint;
                    }
                    result
                })
                .collect())
        })
    }

    async fn get(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
        expand: Expand,
    ) -> Result<Option<Resource>, StoreError> {
        Ok(self
            .read(tenant, |data| {
                let resource = data.find(kind, id)?;
                Some(data.expanded(resource, expand))
            })
            .flatten())
    }

    async fn update(
        &self,
        ctx: &WriteContext,
        resource: &Resource,
        expected_version: i64,
        members: &[MembershipChange],
    ) -> Result<(), StoreError> {
        let write = BatchWrite::Update {
            resource: resource.clone(),
            expected_version,
            members: members.to_vec(),
            events: ctx.events.clone(),
        };
        self.write(&ctx.tenant, |data| data.apply(ctx, &write))
    }

    async fn delete(
        &self,
        ctx: &WriteContext,
        kind: ResourceKind,
        id: &str,
        expected_version: Option<i64>,
    ) -> Result<(), StoreError> {
        let write = BatchWrite::Delete {
            kind,
            id: id.to_owned(),
            expected_version,
            events: ctx.events.clone(),
        };
        self.write(&ctx.tenant, |data| data.apply(ctx, &write))
    }

    async fn list(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        query: &ListQuery,
        expand: Expand,
    ) -> Result<ListPage, StoreError> {
        // Filters and sorts may read the computed attributes (`groups`, `members`, the
        // licenses): load what they read as well as what the caller asked for, let the
        // core's evaluator answer, then drop what was loaded only for it.
        // A tenant with attributes of its own has its query checked against its registry.
        let registry = query
            .schema
            .as_ref()
            .map_or(&*self.registry, |schema| &*schema.0);
        let read = query.reads_computed(kind, registry);
        let loaded = Expand {
            members: expand.members || read.members,
            groups: expand.groups || read.groups,
            licenses: expand.licenses || read.licenses,
        };
        let keyed = self
            .read(tenant, |data| {
                data.resources
                    .iter()
                    .zip(&data.keys)
                    .filter(|(resource, _)| resource.kind == kind)
                    .map(|(resource, key)| (*key, data.expanded(resource, loaded)))
                    .collect()
            })
            .unwrap_or_default();
        // A cursor page is cut by the keys, which follow creation order.
        let mut page = query::apply_in_memory_keyed(keyed, kind, registry, query);
        let unwanted = loaded.minus(expand).attributes(kind);
        for resource in &mut page.resources {
            for attribute in &unwanted {
                resource.attributes.remove(*attribute);
            }
        }
        Ok(page)
    }
}

impl TenantData {
    /// One write: the resource change, its events, and the licenses of the users it
    /// affects brought in line with the rules (a missing seat fails the whole write).
    pub(crate) fn apply(
        &mut self,
        ctx: &WriteContext,
        write: &BatchWrite,
    ) -> Result<(), StoreError> {
        let (kind, id, events) = match write {
            BatchWrite::Insert {
                resource, events, ..
            }
            | BatchWrite::Update {
                resource, events, ..
            } => (resource.kind, resource.id.as_str(), events),
            BatchWrite::Delete {
                kind, id, events, ..
            } => (*kind, id.as_str(), events),
        };
        // The users whose licenses this resource decides, before and after the write.
        let mut affected = self.users_decided_by(kind, id);
        // A deletion's events name the externalId it had.
        let mut events = events.clone();
        if let BatchWrite::Delete { .. } = write {
            let stored = self
                .find(kind, id)
                .and_then(|r| r.str_attribute("externalId"));
            for event in &mut events {
                event.external_id = event.external_id.take().or(stored.map(str::to_owned));
            }
        }
        match write {
            BatchWrite::Insert {
                resource, members, ..
            } => self.insert(resource, members)?,
            BatchWrite::Update {
                resource,
                expected_version,
                members,
                ..
            } => self.update(resource, *expected_version, members)?,
            BatchWrite::Delete {
                kind,
                id,
                expected_version,
                ..
            } => self.delete(*kind, id, *expected_version)?,
        }
        affected.extend(self.users_decided_by(kind, id));
        self.record(ctx.at, events);
        self.reconcile(ctx, &affected, SeatPolicy::Strict)?;
        Ok(())
    }

    fn insert(
        &mut self,
        resource: &Resource,
        members: &[MembershipChange],
    ) -> Result<(), StoreError> {
        if self.find(resource.kind, &resource.id).is_some() {
            return Err(StoreError::Conflict {
                attribute: "id".into(),
            });
        }
        self.check_unique(resource)?;
        self.resources.push(stored(resource));
        self.last_key += 1;
        self.keys.push(self.last_key);
        self.change_members(&resource.id, members)
    }

    fn update(
        &mut self,
        resource: &Resource,
        expected_version: i64,
        members: &[MembershipChange],
    ) -> Result<(), StoreError> {
        let at = self
            .position(resource.kind, &resource.id)
            .ok_or(StoreError::NotFound)?;
        if self.resources[at].meta.version != expected_version {
            return Err(StoreError::VersionMismatch);
        }
        self.check_unique(resource)?;
        self.resources[at] = stored(resource);
        self.change_members(&resource.id, members)
    }

    fn delete(
        &mut self,
        kind: ResourceKind,
        id: &str,
        expected_version: Option<i64>,
    ) -> Result<(), StoreError> {
        let at = self.position(kind, id).ok_or(StoreError::NotFound)?;
        if expected_version.is_some_and(|version| version != self.resources[at].meta.version) {
            return Err(StoreError::VersionMismatch);
        }
        self.resources.remove(at);
        self.keys.remove(at);
        // The groups it was a member of changed: they get a new version.
        let parents = self.parents(kind, id);
        for group in &mut self.resources {
            if group.kind == ResourceKind::Group && parents.contains(&group.id) {
                group.meta.version += 1;
            }
        }
        self.members.retain(|row| {
            let is_it = row.member == id && row.kind == kind;
            let its_own = kind == ResourceKind::Group && row.group == id;
            !is_it && !its_own
        });
        Ok(())
    }

    /// userName is unique per tenant by its fold key (NFC + full case folding).
    fn check_unique(&self, resource: &Resource) -> Result<(), StoreError> {
        let Some(name) = resource.str_attribute("userName") else {
            return Ok(());
        };
        let key = fold_key(name);
        let taken = self.resources.iter().any(|other| {
            other.kind == ResourceKind::User
                && other.id != resource.id
                && other.str_attribute("userName").map(fold_key) == Some(key.clone())
        });
        if taken {
            return Err(StoreError::Conflict {
                attribute: "userName".into(),
            });
        }
        Ok(())
    }

    /// Applies a group's membership changes in order. A member is a User or Group of the
    /// tenant (a User when both have the id), never the group itself.
    fn change_members(
        &mut self,
        group: &str,
        changes: &[MembershipChange],
    ) -> Result<(), StoreError> {
        for change in changes {
            match change {
                MembershipChange::Add(new) => {
                    for member in new {
                        self.add_member(group, member)?;
                    }
                }
                MembershipChange::Remove(ids) => self
                    .members
                    .retain(|row| row.group != group || !ids.contains(&row.member)),
                MembershipChange::RemoveAll => self.members.retain(|row| row.group != group),
            }
        }
        Ok(())
    }

    /// Adds one member to a group, unless it is one already (it keeps its `display`).
    fn add_member(&mut self, group: &str, member: &NewMember) -> Result<(), StoreError> {
        let id = member.id.as_str();
        let kind = if self.find(ResourceKind::User, id).is_some() {
            ResourceKind::User
        } else if id != group && self.find(ResourceKind::Group, id).is_some() {
            ResourceKind::Group
        } else {
            return Err(StoreError::InvalidReference { value: id.into() });
        };
        let known = (self.members.iter())
            .any(|row| row.group == group && row.member == id && row.kind == kind);
        if !known {
            self.members.push(Membership {
                group: group.to_owned(),
                member: id.to_owned(),
                kind,
                display: member.display.clone(),
            });
        }
        Ok(())
    }

    pub(crate) fn position(&self, kind: ResourceKind, id: &str) -> Option<usize> {
        self.resources
            .iter()
            .position(|resource| resource.kind == kind && resource.id == id)
    }

    pub(crate) fn find(&self, kind: ResourceKind, id: &str) -> Option<&Resource> {
        self.position(kind, id).map(|at| &self.resources[at])
    }

    /// The groups `id` is a direct member of.
    fn parents(&self, kind: ResourceKind, id: &str) -> Vec<String> {
        self.members
            .iter()
            .filter(|row| row.kind == kind && row.member == id)
            .map(|row| row.group.clone())
            .collect()
    }

    /// The groups a user is in: directly, then through nested groups; each once, each
    /// part in the groups' creation order.
    pub(crate) fn groups_of(&self, user: &str) -> (Vec<&Resource>, Vec<&Resource>) {
        let direct = self.parents(ResourceKind::User, user);
        let mut seen: HashSet<String> = direct.iter().cloned().collect();
        let mut queue: VecDeque<String> = direct.iter().cloned().collect();
        while let Some(group) = queue.pop_front() {
            for parent in self.parents(ResourceKind::Group, &group) {
                if seen.insert(parent.clone()) {
                    queue.push_back(parent);
                }
            }
        }
        let groups = self
            .resources
            .iter()
            .filter(|resource| resource.kind == ResourceKind::Group);
        groups
            .filter(|group| seen.contains(&group.id))
            .partition(|group| direct.contains(&group.id))
    }

    /// The users whose licenses `kind`/`id` decides: a user itself, or every user in a
    /// group directly or through nested groups.
    fn users_decided_by(&self, kind: ResourceKind, id: &str) -> Vec<String> {
        if kind == ResourceKind::User {
            return vec![id.to_owned()];
        }
        let mut users = Vec::new();
        let mut seen = HashSet::from([id.to_owned()]);
        let mut queue = VecDeque::from([id.to_owned()]);
        while let Some(group) = queue.pop_front() {
            for row in self.members.iter().filter(|row| row.group == group) {
                match row.kind {
                    ResourceKind::User => users.push(row.member.clone()),
                    ResourceKind::Group if seen.insert(row.member.clone()) => {
                        queue.push_back(row.member.clone());
                    }
                    ResourceKind::Group => {}
                }
            }
        }
        users
    }

    /// The resource with the computed attributes `expand` asks for.
    fn expanded(&self, resource: &Resource, expand: Expand) -> Resource {
        let mut resource = resource.clone();
        let attributes = &mut resource.attributes;
        match resource.kind {
            ResourceKind::Group if expand.members => {
                // In the members' creation order.
                let members: Vec<Value> = self
                    .resources
                    .iter()
                    .filter_map(|member| {
                        let row = self.members.iter().find(|row| {
                            row.group == resource.id
                                && row.member == member.id
                                && row.kind == member.kind
                        })?;
                        // The client's label, else the member's own.
                        let display = row.display.as_deref().or(member.display());
                        Some(member_reference(&row.member, display, row.kind.as_str()))
                    })
                    .collect();
                set_or_remove(
                    attributes,
                    membership_attribute(ResourceKind::Group),
                    members,
                );
            }
            ResourceKind::User => {
                if expand.groups {
                    let (direct, indirect) = self.groups_of(&resource.id);
                    let typed = direct
                        .into_iter()
                        .map(|g| (g, "direct"))
                        .chain(indirect.into_iter().map(|g| (g, "indirect")));
                    let groups = typed
                        .map(|(g, how)| {
                            member_reference(&g.id, g.str_attribute("displayName"), how)
                        })
                        .collect();
                    set_or_remove(attributes, membership_attribute(ResourceKind::User), groups);
                }
                if expand.licenses {
                    let held = self.licenses.get(&resource.id).map(Vec::as_slice);
                    resource.show_licenses(held.unwrap_or_default());
                }
            }
            ResourceKind::Group => {}
        }
        resource
    }
}

/// A resource as stored: without the attributes computed on reads.
fn stored(resource: &Resource) -> Resource {
    let mut stored = resource.clone();
    stored
        .attributes
        .remove(membership_attribute(resource.kind));
    stored.attributes.remove(LICENSE_USER_EXTENSION);
    stored
}

fn set_or_remove(attributes: &mut Map<String, Value>, name: &str, values: Vec<Value>) {
    if values.is_empty() {
        attributes.remove(name);
    } else {
        attributes.insert(name.to_owned(), Value::Array(values));
    }
}
