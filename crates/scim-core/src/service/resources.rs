//! Create, read, replace, delete and list Users and Groups of one tenant.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::plan::{plan_create, plan_patch, plan_replace};
use super::turns::Turns;
use crate::compat::Deactivation;
use crate::context::{Caller, WriteContext};
use crate::error::{ScimError, ScimResult, StoreError};
use crate::events::ResourceEvent;
use crate::filter::{self, Filter};
use crate::patch::{MemberChange, PatchRequest, parse_patch};
use crate::path::AttrPath;
use crate::ports::{Clock, IdGenerator, ResourceRepository};
use crate::query::{ListPage, ListQuery};
use crate::resource::{
    Expand, MEMBERS, MembershipChange, NewMember, Resource, ResourceKind, member_reference,
};
use crate::schema::SchemaRegistry;
use crate::tenant::TenantId;

/// How often a write without `If-Match` is re-planned when a concurrent write got there
/// first. Writers of one resource take turns within a process ([`Turns`]), so only a
/// writer of another process (a replica, the CLI) can get in between; each lost attempt is
/// another writer's success, so this bound is never reached short of a hundred replicas
/// writing one resource at once. Past it the client is told to retry (503).
const WRITE_ATTEMPTS: usize = 100;

/// An `If-Match` condition (RFC 7232 §3.1 as SCIM uses it, RFC 7644 §3.14).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Precondition {
    /// No condition.
    #[default]
    None,
    /// `If-Match: *`
    Any,
    /// `If-Match: W/"3", "4"`: the opaque tags, weakness ignored (SCIM's ETags are weak and
    /// clients send them back as they got them).
    OneOf(Vec<String>),
}

impl Precondition {
    /// Parses an `If-Match` header value.
    pub fn parse_if_match(header: &str) -> Self {
        if header.trim() == "*" {
            return Self::Any;
        }
        Self::OneOf(
            header
                .split(',')
                .map(|tag| {
                    tag.trim()
                        .trim_start_matches("W/")
                        .trim_matches('"')
                        .to_owned()
                })
                .filter(|tag| !tag.is_empty())
                .collect(),
        )
    }

    /// Whether a tag of the condition names `version` (`*` names every version; no
    /// condition names none).
    pub fn names_version(&self, version: i64) -> bool {
        match self {
            Self::None => false,
            Self::Any => true,
            Self::OneOf(tags) => tags.contains(&version.to_string()),
        }
    }

    fn check(&self, resource: &Resource) -> ScimResult<()> {
        if *self == Self::None || self.names_version(resource.meta.version) {
            Ok(())
        } else {
            Err(ScimError::PreconditionFailed(format!(
                "If-Match does not match the current version {}",
                resource.meta.etag()
            )))
        }
    }
}

/// The resource use cases.
#[derive(Clone)]
pub struct ResourceService {
    pub(super) repo: Arc<dyn ResourceRepository>,
    pub(super) registry: Arc<SchemaRegistry>,
    pub(super) clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    /// Writers of one resource take turns.
    turns: Arc<Turns>,
}

impl ResourceService {
    /// On the store, validating against `registry`.
    pub fn new(
        repo: Arc<dyn ResourceRepository>,
        registry: Arc<SchemaRegistry>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
    ) -> Self {
        Self {
            repo,
            registry,
            clock,
            ids,
            turns: Arc::default(),
        }
    }

    /// The schemas it validates against.
    pub fn registry(&self) -> &SchemaRegistry {
        &self.registry
    }

    /// The registry `caller`'s tenant writes against: the server's, with the tenant's own
    /// attributes when the caller carries them.
    pub fn registry_of<'a>(&'a self, caller: &'a Caller) -> &'a SchemaRegistry {
        caller
            .schema
            .as_ref()
            .map_or(&self.registry, |schema| &schema.0)
    }

    /// Creates a resource. A Group's `members` are stored as membership rows in the same
    /// transaction; the answer then shows them as a read would (with `type` and `display`).
    pub async fn create(
        &self,
        caller: &Caller,
        kind: ResourceKind,
        body: &Value,
    ) -> ScimResult<Resource> {
        let now = self.clock.now();
        let mut resource =
            plan_create(self.registry_of(caller), kind, body, self.ids.new_id(), now)?;
        let (changes, event) = self.prepare_insert(&mut resource)?;
        let ctx = WriteContext::new(caller, now).with_events(vec![event]);
        let licenses = self
            .repo
            .insert(&ctx, &resource, &changes)
            .await
            .map_err(|e| write_error(e, &resource))?;
        if kind == ResourceKind::User {
            // A new user is in no group; the write said what it holds: nothing to read.
            resource.show_licenses(&licenses);
            return Ok(resource);
        }
        let shown = Expand {
            members: !changes.is_empty(),
            groups: false,
            licenses: kind == ResourceKind::User,
        };
        self.as_read(&caller.tenant, resource, shown).await
    }

    /// Takes a new resource's members out of it (they are rows) and makes its create event,
    /// which shows them as the request named them.
    pub(super) fn prepare_insert(
        &self,
        resource: &mut Resource,
    ) -> ScimResult<(Vec<MembershipChange>, ResourceEvent)> {
        let core = self
            .registry
            .resource_type(resource.kind)
            .map(|rt| rt.schema)
            .unwrap_or_default();
        let event = ResourceEvent::created(resource, Value::Object(resource.to_document(core)));
        let members = take_members(resource)?;
        let changes = if members.is_empty() {
            Vec::new()
        } else {
            vec![MembershipChange::Add(members)]
        };
        Ok((changes, event))
    }

    /// A new resource id (for callers that plan references before creating).
    pub fn new_id(&self) -> String {
        self.ids.new_id()
    }

    /// The resource, with the computed attributes `expand` asks for.
    pub async fn get(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
        expand: Expand,
    ) -> ScimResult<Resource> {
        check_id(kind, id)?;
        self.repo
            .get(tenant, kind, id, expand)
            .await
            .map_err(|e| store_error(e, kind))?
            .ok_or_else(|| not_found(kind, id))
    }

    /// Replaces a resource. A Group's members become exactly the ones the body names; a
    /// User keeps its (readOnly) `groups`, which the answer shows.
    pub async fn replace(
        &self,
        caller: &Caller,
        kind: ResourceKind,
        id: &str,
        body: &Value,
        precondition: &Precondition,
    ) -> ScimResult<Resource> {
        let tenant = &caller.tenant;
        let _turn = self.turns.take(tenant, kind, id).await;
        for _ in 0..WRITE_ATTEMPTS {
            let now = self.clock.now();
            let Some(planned) = self
                .plan_replacement(caller, kind, id, body, precondition, now)
                .await?
            else {
                let shown = Expand {
                    members: false,
                    groups: true,
                    licenses: true,
                };
                return self
                    .apply_deactivation_policy(caller, self.get(tenant, kind, id, shown).await?)
                    .await;
            };
            match self.commit(caller, now, &planned).await {
                Ok(()) => {
                    let shown = Expand {
                        members: planned.changes.len() > 1,
                        groups: kind == ResourceKind::User,
                        licenses: kind == ResourceKind::User,
                    };
                    let written = self.as_read(tenant, planned.resource, shown).await?;
                    return self.apply_deactivation_policy(caller, written).await;
                }
                Err(StoreError::VersionMismatch) if *precondition == Precondition::None => continue,
                Err(e) => return Err(write_error(e, &planned.resource)),
            }
        }
        Err(conflicting_writes())
    }

    /// Plans a replacement from the resource as it is now. A group's members are replaced
    /// wholesale and a user's groups and licenses are not the client's to write, so none is
    /// read before.
    pub(super) async fn plan_replacement(
        &self,
        caller: &Caller,
        kind: ResourceKind,
        id: &str,
        body: &Value,
        precondition: &Precondition,
        now: DateTime<Utc>,
    ) -> ScimResult<Option<PlannedWrite>> {
        let tenant = &caller.tenant;
        let existing = self.get(tenant, kind, id, Expand::default()).await?;
        precondition.check(&existing)?;
        let mut replaced = plan_replace(self.registry_of(caller), &existing, body, now)?;
        // A user PUT as it is stored (Okta sends the whole user at every sync) writes
        // nothing: no new version, no event. A group's members are rows, replaced always.
        if kind == ResourceKind::User && replaced.attributes == existing.attributes {
            return Ok(None);
        }
        let members = take_members(&mut replaced)?;
        let mut changes = Vec::new();
        if kind == ResourceKind::Group {
            changes.push(MembershipChange::RemoveAll);
            if !members.is_empty() {
                changes.push(MembershipChange::Add(members));
            }
        }
        Ok(Some(PlannedWrite {
            expected_version: existing.meta.version,
            event: ResourceEvent::replaced(&existing, &replaced, body),
            resource: replaced,
            changes,
        }))
    }

    /// Commits a planned update.
    async fn commit(
        &self,
        caller: &Caller,
        now: DateTime<Utc>,
        planned: &PlannedWrite,
    ) -> Result<(), StoreError> {
        self.repo
            .update(
                &WriteContext::new(caller, now).with_events(vec![planned.event.clone()]),
                &planned.resource,
                planned.expected_version,
                &planned.changes,
            )
            .await
    }

    /// Applies a PATCH request (RFC 7644 §3.5.2). A Group's member operations become
    /// membership changes that cost what they name, whatever the group's size. A request
    /// that changes nothing (an empty `Operations`, say) writes nothing and keeps the
    /// version. The answer is the resource as a read with `expand` shows it.
    pub async fn patch(
        &self,
        caller: &Caller,
        kind: ResourceKind,
        id: &str,
        body: &Value,
        precondition: &Precondition,
        expand: Expand,
    ) -> ScimResult<Resource> {
        let tenant = &caller.tenant;
        let request = parse_patch(body)?;
        let _turn = self.turns.take(tenant, kind, id).await;
        for _ in 0..WRITE_ATTEMPTS {
            let now = self.clock.now();
            let planned = match self
                .plan_patching(caller, kind, id, (&request, body), precondition, now)
                .await?
            {
                Some(planned) => planned,
                None => {
                    return self
                        .apply_deactivation_policy(
                            caller,
                            self.get(tenant, kind, id, expand).await?,
                        )
                        .await;
                }
            };
            match self.commit(caller, now, &planned).await {
                Ok(()) => {
                    let written = self.get(tenant, kind, id, expand).await?;
                    return self.apply_deactivation_policy(caller, written).await;
                }
                Err(StoreError::VersionMismatch) if *precondition == Precondition::None => continue,
                Err(e) => return Err(write_error(e, &planned.resource)),
            }
        }
        Err(conflicting_writes())
    }

    /// Plans a PATCH from the resource as it is now; `None` when it changes nothing.
    pub(super) async fn plan_patching(
        &self,
        caller: &Caller,
        kind: ResourceKind,
        id: &str,
        (request, body): (&PatchRequest, &Value),
        precondition: &Precondition,
        now: DateTime<Utc>,
    ) -> ScimResult<Option<PlannedWrite>> {
        let tenant = &caller.tenant;
        let existing = self.get(tenant, kind, id, Expand::default()).await?;
        precondition.check(&existing)?;
        let (patched, member_changes) =
            plan_patch(self.registry_of(caller), &existing, request, now)?;
        let changes = self
            .membership_changes(caller, &existing, member_changes)
            .await?;
        if changes.is_empty() && patched.attributes == existing.attributes {
            return Ok(None);
        }
        Ok(Some(PlannedWrite {
            expected_version: existing.meta.version,
            event: ResourceEvent::patched(&existing, &patched, body),
            resource: patched,
            changes,
        }))
    }

    /// The store's membership changes for the PATCH engine's member operations. Removal by
    /// an arbitrary filter (`members[type eq "User"]`) reads the members to find which ones
    /// match — as the operations before it in the request left them (RFC 7644 §3.5.2:
    /// operations apply in order), so a member added earlier in the request can match.
    async fn membership_changes(
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

    /// Deletes a resource (`If-Match` checked), revoking a user's licenses in the same write.
    pub async fn delete(
        &self,
        caller: &Caller,
        kind: ResourceKind,
        id: &str,
        precondition: &Precondition,
    ) -> ScimResult<()> {
        let expected = self
            .delete_expectation(&caller.tenant, kind, id, precondition)
            .await?;
        let event = ResourceEvent::deleted(kind, id, None);
        self.repo
            .delete(
                &WriteContext::new(caller, self.clock.now()).with_events(vec![event]),
                kind,
                id,
                expected,
            )
            .await
            .map_err(|e| delete_error(e, kind, id))
    }

    /// The version a delete must find: none without a precondition (nothing is read), the
    /// current one once the precondition holds.
    pub(super) async fn delete_expectation(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
        precondition: &Precondition,
    ) -> ScimResult<Option<i64>> {
        check_id(kind, id)?;
        if *precondition == Precondition::None {
            return Ok(None);
        }
        let existing = self.get(tenant, kind, id, Expand::default()).await?;
        precondition.check(&existing)?;
        Ok(Some(existing.meta.version))
    }

    /// A page of the resources the query selects, with the computed attributes `expand`
    /// asks for (filters and sorts see them either way).
    pub async fn list(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        query: &ListQuery,
        expand: Expand,
    ) -> ScimResult<ListPage> {
        self.repo
            .list(tenant, kind, query, expand)
            .await
            .map_err(|e| store_error(e, kind))
    }

    /// The written resource as a read shows it with the computed attributes `expand` asks
    /// for (a group's members, a user's groups and the licenses the write gave it); the
    /// resource as planned when nothing is asked for, or when it is gone already.
    /// A user a PUT or PATCH left with `active=false`, when the caller's tenant deletes
    /// deactivated users ([`Deactivation::Delete`]): deleted, the answer still showing it.
    /// The delete names the version written, so a reactivation that got in between wins;
    /// when it does (or the user is already gone) the user is left as it is. (`/Bulk`
    /// operations and POSTs keep deactivated users: an IdP that creates a disabled user
    /// would otherwise create it again at every cycle.)
    async fn apply_deactivation_policy(
        &self,
        caller: &Caller,
        written: Resource,
    ) -> ScimResult<Resource> {
        let inactive = written.attributes.get("active") == Some(&Value::Bool(false));
        if caller.deactivation != Deactivation::Delete
            || !inactive
            || written.kind != ResourceKind::User
        {
            return Ok(written);
        }
        let this_version = Precondition::OneOf(vec![written.meta.version.to_string()]);
        match self
            .delete(caller, written.kind, &written.id, &this_version)
            .await
        {
            Ok(()) | Err(ScimError::PreconditionFailed(_) | ScimError::NotFound(_)) => Ok(written),
            Err(error) => Err(error),
        }
    }

    async fn as_read(
        &self,
        tenant: &TenantId,
        written: Resource,
        expand: Expand,
    ) -> ScimResult<Resource> {
        if !expand.applies_to(written.kind) {
            return Ok(written);
        }
        let read = self
            .repo
            .get(tenant, written.kind, &written.id, expand)
            .await
            .map_err(|e| store_error(e, written.kind))?;
        Ok(read.unwrap_or(written))
    }
}

/// An update planned from the resource as it was read: written only if it still has that
/// version.
pub(super) struct PlannedWrite {
    pub(super) expected_version: i64,
    pub(super) resource: Resource,
    pub(super) changes: Vec<MembershipChange>,
    /// Its event (the store adds the license events).
    pub(super) event: ResourceEvent,
}

/// A failed delete as the client sees it.
pub(super) fn delete_error(error: StoreError, kind: ResourceKind, id: &str) -> ScimError {
    match error {
        StoreError::NotFound => not_found(kind, id),
        other => store_error(other, kind),
    }
}

/// Takes a Group's `members` out of its validated attributes (membership is stored as rows)
/// and returns their ids, in order. Users have none. The members' `type` is not needed: the
/// store knows what each id is.
fn take_members(resource: &mut Resource) -> ScimResult<Vec<NewMember>> {
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

/// Maps a failed write of `resource`: a group named as its own member gets a detail of its
/// own; everything else as [`store_error`].
pub(super) fn write_error(error: StoreError, resource: &Resource) -> ScimError {
    match error {
        StoreError::InvalidReference { value } if value == resource.id => {
            ScimError::InvalidValue(format!("group '{value}' cannot be a member of itself"))
        }
        other => store_error(other, resource.kind),
    }
}

/// An id holding U+0000 names no resource (no store can hold one): 404 without asking
/// the store, which could not even compare with it.
fn check_id(kind: ResourceKind, id: &str) -> ScimResult<()> {
    if id.contains('\0') {
        return Err(ScimError::NotFound(format!("{kind} not found")));
    }
    Ok(())
}

fn not_found(kind: ResourceKind, id: &str) -> ScimError {
    ScimError::NotFound(format!("{kind} {id} not found"))
}

/// A write without `If-Match` that lost every attempt to writers of other processes: the
/// resource is too busy to be written now, which no precondition of the client's explains
/// (a 412 would tell an IdP its request was wrong), so it is told to retry.
fn conflicting_writes() -> ScimError {
    ScimError::Unavailable
}

/// Maps a storage failure to what the client sees ([`StoreError::into_scim`]). The causes
/// of `Unavailable` and `Corrupt` are logged by the adapter that saw them.
pub(super) fn store_error(error: StoreError, kind: ResourceKind) -> ScimError {
    error.into_scim(kind.as_str())
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

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    use super::*;
    use crate::ports::{MockClock, MockIdGenerator, MockResourceRepository};
    use crate::schema::{GROUP_SCHEMA, USER_SCHEMA};

    fn service(repo: MockResourceRepository) -> ResourceService {
        service_with_ids(repo, "u1")
    }

    /// A service whose new resources all get the id `id`.
    fn service_with_ids(repo: MockResourceRepository, id: &'static str) -> ResourceService {
        let mut clock = MockClock::new();
        clock
            .expect_now()
            .returning(|| Utc.timestamp_opt(1_700_000_000, 0).unwrap());
        let mut ids = MockIdGenerator::new();
        ids.expect_new_id().returning(move || id.to_owned());
        ResourceService::new(
            Arc::new(repo),
            Arc::new(SchemaRegistry::standard()),
            Arc::new(clock),
            Arc::new(ids),
        )
    }

    fn tenant() -> TenantId {
        TenantId("t1".into())
    }

    fn caller() -> Caller {
        Caller::new(tenant(), "token:k1", "POST /Users (request r1)")
    }

    #[tokio::test]
    async fn create_inserts_the_planned_resource() {
        let mut repo = MockResourceRepository::new();
        repo.expect_insert()
            .withf(|t, r, m| {
                let plain =
                    WriteContext::new(&caller(), Utc.timestamp_opt(1_700_000_000, 0).unwrap());
                // The write carries its create event, with the resource as created.
                let created = match &t.events[..] {
                    [event] => event.events.get(crate::events::PROV_CREATE_FULL),
                    _ => None,
                };
                t.clone().with_events(Vec::new()) == plain
                    && t.events[0].subject == "/Users/u1"
                    && created.is_some_and(|payload| {
                        payload["data"]["userName"] == "a"
                            && payload["data"]["id"] == "u1"
                            && payload["version"] == "W/\"1\""
                    })
                    && r.id == "u1"
                    && r.str_attribute("userName") == Some("a")
                    && m.is_empty()
            })
            .times(1)
            .returning(|ctx, _, _| {
                Ok(vec![crate::license::HeldLicense {
                    sku: "pro".into(),
                    source: crate::license::LicenseSource::Direct,
                    assigned: ctx.at,
                }])
            });
        // The write says what the new user holds: the answer shows it, with no read.
        repo.expect_get().never();
        let body = json!({"schemas": [USER_SCHEMA], "userName": "a"});
        let created = service(repo)
            .create(&caller(), ResourceKind::User, &body)
            .await
            .unwrap();
        assert_eq!(created.meta.version, 1);
        let extension = &created.attributes[crate::schema::LICENSE_USER_EXTENSION];
        assert_eq!(extension["licenses"][0]["sku"], "pro");
        assert_eq!(extension["licenses"][0]["source"], "direct");
    }

    #[tokio::test]
    async fn duplicate_user_name_is_a_uniqueness_error() {
        let mut repo = MockResourceRepository::new();
        repo.expect_insert().returning(|_, _, _| {
            Err(StoreError::Conflict {
                attribute: "userName".into(),
            })
        });
        let body = json!({"schemas": [USER_SCHEMA], "userName": "a"});
        let err = service(repo)
            .create(&caller(), ResourceKind::User, &body)
            .await
            .unwrap_err();
        assert_eq!((err.status(), err.scim_type()), (409, Some("uniqueness")));
        assert!(err.detail().contains("userName"));
    }

    fn stored(version: i64) -> Resource {
        let registry = SchemaRegistry::standard();
        let body = json!({"schemas": [USER_SCHEMA], "userName": "a"});
        let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let mut r = plan_create(&registry, ResourceKind::User, &body, "u1".into(), now).unwrap();
        r.meta.version = version;
        r
    }

    #[tokio::test]
    async fn replace_checks_if_match_and_retries_races_without_it() {
        let mut repo = MockResourceRepository::new();
        repo.expect_get()
            .returning(|_, _, _, _| Ok(Some(stored(3))));
        let svc = service(repo);
        let body = json!({"schemas": [USER_SCHEMA], "userName": "b"});
        let stale = Precondition::parse_if_match("W/\"2\"");
        let err = svc
            .replace(&caller(), ResourceKind::User, "u1", &body, &stale)
            .await
            .unwrap_err();
        assert_eq!(err.status(), 412);

        let mut repo = MockResourceRepository::new();
        repo.expect_get()
            .withf(|_, _, _, e| !e.licenses)
            .times(2)
            .returning(|_, _, _, _| Ok(Some(stored(3))));
        repo.expect_get()
            .withf(|_, _, _, e| e.licenses && e.groups)
            .times(1)
            .returning(|_, _, _, _| Ok(None));
        let mut seq = mockall::Sequence::new();
        repo.expect_update()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _, _| Err(StoreError::VersionMismatch));
        repo.expect_update()
            .withf(|_, r, v, m| *v == 3 && r.meta.version == 4 && m.is_empty())
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _, _| Ok(()));
        let replaced = service(repo)
            .replace(
                &caller(),
                ResourceKind::User,
                "u1",
                &body,
                &Precondition::None,
            )
            .await
            .unwrap();
        assert_eq!(replaced.str_attribute("userName"), Some("b"));
    }

    /// Without `If-Match`, losing races to writers of other processes is never a 412: the
    /// write is planned again until it lands (here after 40 lost attempts), and a resource
    /// too busy to write even after [`WRITE_ATTEMPTS`] answers 503 (retry), never 412.
    #[tokio::test]
    async fn patches_without_if_match_outlast_lost_races() {
        let body = json!({"schemas": [crate::patch::PATCH_OP_SCHEMA], "Operations": [
            {"op": "replace", "path": "title", "value": "x"},
        ]});
        let patch = |lost: usize| {
            let mut repo = MockResourceRepository::new();
            repo.expect_get()
                .returning(|_, _, _, _| Ok(Some(stored(3))));
            let mut seq = mockall::Sequence::new();
            repo.expect_update()
                .times(lost.min(WRITE_ATTEMPTS))
                .in_sequence(&mut seq)
                .returning(|_, _, _, _| Err(StoreError::VersionMismatch));
            if lost < WRITE_ATTEMPTS {
                repo.expect_update()
                    .times(1)
                    .in_sequence(&mut seq)
                    .returning(|_, _, _, _| Ok(()));
            }
            let svc = service(repo);
            let body = body.clone();
            async move {
                svc.patch(
                    &caller(),
                    ResourceKind::User,
                    "u1",
                    &body,
                    &Precondition::None,
                    Expand::default(),
                )
                .await
            }
        };
        let patched = patch(40).await.unwrap();
        assert_eq!(patched.str_attribute("userName"), Some("a"));
        let err = patch(WRITE_ATTEMPTS).await.unwrap_err();
        assert_eq!(err.status(), 503, "{err}");
    }

    #[tokio::test]
    async fn missing_resources_are_not_found() {
        let mut repo = MockResourceRepository::new();
        repo.expect_get().returning(|_, _, _, _| Ok(None));
        repo.expect_delete()
            .returning(|_, _, _, _| Err(StoreError::NotFound));
        let svc = service(repo);
        let err = svc
            .get(&tenant(), ResourceKind::User, "x", Expand::default())
            .await
            .unwrap_err();
        assert_eq!(err.status(), 404);
        let err = svc
            .delete(&caller(), ResourceKind::User, "x", &Precondition::None)
            .await
            .unwrap_err();
        assert_eq!(err.status(), 404);
    }

    const MEMBERS_ONLY: Expand = Expand::MEMBERS;

    /// Group `g1` as stored at `version`, with `attributes`.
    fn stored_group(version: i64, attributes: Value) -> Resource {
        let Value::Object(attributes) = attributes else {
            unreachable!()
        };
        let mut group = stored(version);
        group.kind = ResourceKind::Group;
        group.id = "g1".into();
        group.attributes = attributes;
        group
    }

    #[tokio::test]
    async fn create_group_stores_members_as_rows_and_answers_with_them() {
        let mut repo = MockResourceRepository::new();
        let mut seq = mockall::Sequence::new();
        repo.expect_insert()
            .withf(|_, r, m| {
                r.id == "g1"
                    && !r.attributes.contains_key("members")
                    && m == [MembershipChange::Add(vec![
                        NewMember::id("u1"),
                        NewMember {
                            id: "g2".into(),
                            display: Some("Ops".into()),
                        },
                    ])]
            })
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _| Ok(vec![]));
        let read = stored_group(
            1,
            json!({"displayName": "Admins", "members": [
                {"value": "u1", "type": "User", "display": "Alice"},
                {"value": "g2", "type": "Group", "display": "Ops"},
            ]}),
        );
        let answer = read.clone();
        repo.expect_get()
            .withf(|_, kind, id, expand| {
                *kind == ResourceKind::Group && id == "g1" && *expand == MEMBERS_ONLY
            })
            .times(1)
            .in_sequence(&mut seq)
            .returning(move |_, _, _, _| Ok(Some(answer.clone())));
        let body = json!({"schemas": [GROUP_SCHEMA], "displayName": "Admins",
            "members": [{"value": "u1"}, {"value": "g2", "type": "Group", "display": "Ops"}]});
        let created = service_with_ids(repo, "g1")
            .create(&caller(), ResourceKind::Group, &body)
            .await
            .unwrap();
        assert_eq!(created, read);
    }

    #[tokio::test]
    async fn create_group_without_members_changes_no_membership() {
        let mut repo = MockResourceRepository::new();
        repo.expect_insert()
            .withf(|_, r, m| r.str_attribute("displayName") == Some("Admins") && m.is_empty())
            .times(1)
            .returning(|_, _, _| Ok(vec![]));
        repo.expect_get().never();
        let body = json!({"schemas": [GROUP_SCHEMA], "displayName": "Admins", "members": []});
        let created = service_with_ids(repo, "g1")
            .create(&caller(), ResourceKind::Group, &body)
            .await
            .unwrap();
        assert_eq!(created.id, "g1");
        assert!(!created.attributes.contains_key("members"));
    }

    #[tokio::test]
    async fn replace_group_replaces_all_members() {
        let cases = [
            (
                json!([{"value": "u2"}, {"value": "u3"}]),
                vec![
                    MembershipChange::RemoveAll,
                    MembershipChange::Add(vec![NewMember::id("u2"), NewMember::id("u3")]),
                ],
                1,
            ),
            (json!([]), vec![MembershipChange::RemoveAll], 0),
        ];
        for (members, changes, rereads) in cases {
            let mut repo = MockResourceRepository::new();
            // The current group is read without its members, then re-read with them when
            // it has some.
            repo.expect_get()
                .withf(|_, _, _, expand| *expand == Expand::default())
                .times(1)
                .returning(|_, _, _, _| Ok(Some(stored_group(2, json!({"displayName": "A"})))));
            repo.expect_update()
                .withf(move |_, r, v, m| {
                    *v == 2
                        && r.meta.version == 3
                        && !r.attributes.contains_key("members")
                        && m == changes.as_slice()
                })
                .times(1)
                .returning(|_, _, _, _| Ok(()));
            repo.expect_get()
                .withf(|_, _, _, expand| *expand == MEMBERS_ONLY)
                .times(rereads)
                .returning(|_, _, _, _| Ok(Some(stored_group(3, json!({"displayName": "B"})))));
            let body = json!({"schemas": [GROUP_SCHEMA], "displayName": "B", "members": members});
            let replaced = service(repo)
                .replace(
                    &caller(),
                    ResourceKind::Group,
                    "g1",
                    &body,
                    &Precondition::None,
                )
                .await
                .unwrap();
            assert_eq!(replaced.str_attribute("displayName"), Some("B"));
        }
    }

    #[tokio::test]
    async fn replace_user_answers_with_its_groups_and_licenses() {
        let mut repo = MockResourceRepository::new();
        let groups = json!([{"value": "g1", "display": "A", "type": "direct"}]);
        let read_back = {
            let mut user = stored(2);
            user.attributes.insert("userName".into(), json!("b"));
            user.attributes.insert("groups".into(), groups.clone());
            user
        };
        let mut seq = mockall::Sequence::new();
        repo.expect_get()
            .withf(|_, _, _, expand| *expand == Expand::default())
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _, _| Ok(Some(stored(1))));
        repo.expect_update()
            .withf(|_, r, _, m| m.is_empty() && !r.attributes.contains_key("groups"))
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _, _| Ok(()));
        repo.expect_get()
            .withf(|_, _, _, expand| expand.groups && expand.licenses && !expand.members)
            .times(1)
            .in_sequence(&mut seq)
            .returning(move |_, _, _, _| Ok(Some(read_back.clone())));
        let body = json!({"schemas": [USER_SCHEMA], "userName": "b",
            "groups": [{"value": "forged"}]});
        let replaced = service(repo)
            .replace(
                &caller(),
                ResourceKind::User,
                "u1",
                &body,
                &Precondition::None,
            )
            .await
            .unwrap();
        assert_eq!(replaced.attributes.get("groups"), Some(&groups));
    }

    #[tokio::test]
    async fn bad_members_are_invalid_values() {
        // The members, the id the store reports as an invalid reference (none: the service
        // refuses before), and the detail the client reads.
        let cases = [
            (
                json!([{"value": "nope"}]),
                Some("nope"),
                "member 'nope' is not a User or Group of this tenant",
            ),
            (
                json!([{"value": "g1"}]),
                Some("g1"),
                "group 'g1' cannot be a member of itself",
            ),
            (
                json!([{"value": "u1"}, {"type": "User"}]),
                None,
                "every element of 'members' needs a 'value': the id of a User or Group",
            ),
        ];
        for (members, invalid, detail) in cases {
            let mut repo = MockResourceRepository::new();
            match invalid {
                Some(value) => {
                    repo.expect_insert().times(1).returning(move |_, _, _| {
                        Err(StoreError::InvalidReference {
                            value: value.to_owned(),
                        })
                    });
                }
                None => {
                    repo.expect_insert().never();
                }
            }
            let body = json!({"schemas": [GROUP_SCHEMA], "displayName": "A", "members": members});
            let err = service_with_ids(repo, "g1")
                .create(&caller(), ResourceKind::Group, &body)
                .await
                .unwrap_err();
            assert_eq!((err.status(), err.scim_type()), (400, Some("invalidValue")));
            assert_eq!(err.detail(), detail);
        }
    }

    #[tokio::test]
    async fn reads_pass_the_expansion_through() {
        let mut repo = MockResourceRepository::new();
        repo.expect_get()
            .withf(|_, _, _, expand| *expand == Expand::ALL)
            .times(1)
            .returning(|_, _, _, _| Ok(Some(stored(1))));
        repo.expect_list()
            .withf(|_, kind, _, expand| *kind == ResourceKind::Group && *expand == MEMBERS_ONLY)
            .times(1)
            .returning(|_, _, _, _| Ok(ListPage::new(0, Vec::new())));
        let svc = service(repo);
        svc.get(&tenant(), ResourceKind::User, "u1", Expand::ALL)
            .await
            .unwrap();
        let page = svc
            .list(
                &tenant(),
                ResourceKind::Group,
                &ListQuery::default(),
                MEMBERS_ONLY,
            )
            .await
            .unwrap();
        assert_eq!(page.total, 0);
    }

    #[test]
    fn if_match_parsing() {
        assert_eq!(Precondition::parse_if_match(" * "), Precondition::Any);
        assert_eq!(
            Precondition::parse_if_match("W/\"3\", \"4\""),
            Precondition::OneOf(vec!["3".into(), "4".into()])
        );
    }
}
