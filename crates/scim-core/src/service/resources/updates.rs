//! Replacing (PUT) and patching (PATCH) a resource: planned from the resource as it is,
//! committed only if it still has that version, re-planned when another writer won.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    PlannedWrite, Precondition, ResourceService, WRITE_ATTEMPTS, conflicting_writes, take_members,
    write_error,
};
use crate::compat::Deactivation;
use crate::context::{Caller, WriteContext};
use crate::error::{ScimError, ScimResult, StoreError};
use crate::events::ResourceEvent;
use crate::patch::{PatchRequest, parse_patch};
use crate::resource::{Expand, MembershipChange, Resource, ResourceKind};
use crate::service::plan::{plan_patch, plan_replace};

impl ResourceService {
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
    pub(in crate::service) async fn plan_replacement(
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
    pub(in crate::service) async fn plan_patching(
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
}
