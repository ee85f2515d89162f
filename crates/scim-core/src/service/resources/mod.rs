//! Create, read, replace, delete and list Users and Groups of one tenant.

use std::sync::Arc;

use serde_json::Value;

use super::plan::plan_create;
use super::turns::Turns;
use crate::context::{Caller, WriteContext};
use crate::error::{ScimError, ScimResult, StoreError};
use crate::events::ResourceEvent;
use crate::ports::{Clock, IdGenerator, ResourceRepository};
use crate::query::{ListPage, ListQuery};
use crate::resource::{Expand, MembershipChange, Resource, ResourceKind};
use crate::schema::SchemaRegistry;
use crate::tenant::TenantId;

/// How often a write without `If-Match` is re-planned when a concurrent write got there
/// first. Writers of one resource take turns within a process ([`Turns`]), so only a
/// writer of another process (a replica, the CLI) can get in between; each lost attempt is
/// another writer's success, so this bound is never reached short of a hundred replicas
/// writing one resource at once. Past it the client is told to retry (503).
const WRITE_ATTEMPTS: usize = 100;

mod members;
use members::take_members;
mod precondition;
mod updates;

pub use precondition::Precondition;

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

#[cfg(test)]
mod tests;
