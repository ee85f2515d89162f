//! Writing several resources in one transaction (the bulk engine's unit of work): each
//! operation is planned exactly as its single request would be, then all are committed by
//! one [`ResourceRepository::write_batch`](crate::ports::ResourceRepository::write_batch),
//! each in a savepoint, so a failure undoes only its own operation.

use serde_json::Value;

use super::plan::plan_create;
use super::resources::{
    PlannedWrite, Precondition, ResourceService, delete_error, store_error, write_error,
};
use crate::context::{Caller, WriteContext};
use crate::error::{ScimError, ScimResult, StoreError};
use crate::events::ResourceEvent;
use crate::patch::parse_patch;
use crate::ports::BatchWrite;
use crate::resource::{Resource, ResourceKind};

/// One operation of a batch. A create's id is chosen by the caller (planned beforehand, so
/// that references among the batch's operations resolve).
#[derive(Debug, Clone, PartialEq)]
pub enum BatchOp {
    /// Creates a resource with the id given.
    Create {
        /// User or Group.
        kind: ResourceKind,
        /// The resource\'s id.
        id: String,
        /// The request body (a resource, or a PatchOp).
        body: Value,
    },
    /// Replaces a resource (PUT).
    Replace {
        /// User or Group.
        kind: ResourceKind,
        /// The resource\'s id.
        id: String,
        /// The request body (a resource, or a PatchOp).
        body: Value,
        /// The version the client wrote against (`If-Match`, or the operation\'s `version`).
        precondition: Precondition,
    },
    /// Patches a resource (RFC 7644 §3.5.2).
    Patch {
        /// User or Group.
        kind: ResourceKind,
        /// The resource\'s id.
        id: String,
        /// The request body (a resource, or a PatchOp).
        body: Value,
        /// The version the client wrote against (`If-Match`, or the operation\'s `version`).
        precondition: Precondition,
    },
    /// Deletes a resource.
    Delete {
        /// User or Group.
        kind: ResourceKind,
        /// The resource\'s id.
        id: String,
        /// The version the client wrote against (`If-Match`, or the operation\'s `version`).
        precondition: Precondition,
    },
}

impl BatchOp {
    /// The resource type it writes.
    pub fn kind(&self) -> ResourceKind {
        match self {
            Self::Create { kind, .. }
            | Self::Replace { kind, .. }
            | Self::Patch { kind, .. }
            | Self::Delete { kind, .. } => *kind,
        }
    }

    /// The id of the resource it writes.
    pub fn id(&self) -> &str {
        match self {
            Self::Create { id, .. }
            | Self::Replace { id, .. }
            | Self::Patch { id, .. }
            | Self::Delete { id, .. } => id,
        }
    }

    fn precondition(&self) -> &Precondition {
        match self {
            Self::Create { .. } => &Precondition::None,
            Self::Replace { precondition, .. }
            | Self::Patch { precondition, .. }
            | Self::Delete { precondition, .. } => precondition,
        }
    }
}

/// A batch operation ready to commit: the write, and the resource it leaves (none for a
/// delete).
enum Ready {
    Write(BatchWrite, Option<Resource>),
    /// A PATCH (or a user's PUT) that changes nothing: no write, the resource as it is.
    Unchanged(Resource),
}

impl ResourceService {
    /// Runs the operations in one transaction, in order, each in a savepoint. The results
    /// are in the operations' order: the resource as written (as planned: its new version,
    /// without computed attributes), none for a delete, or the error the single request
    /// would have got. An update that lost a race with another writer (no `If-Match`) is
    /// re-planned and written on its own afterwards, as a single request would be.
    pub async fn write_batch(
        &self,
        caller: &Caller,
        ops: &[BatchOp],
    ) -> Vec<ScimResult<Option<Resource>>> {
        let now = self.clock.now();
        let mut results: Vec<Option<ScimResult<Option<Resource>>>> = vec![None; ops.len()];
        let mut writes = Vec::new();
        let mut pending = Vec::new();
        for (slot, op) in ops.iter().enumerate() {
            match self.ready(caller, op, now).await {
                Ok(Ready::Write(write, answer)) => {
                    writes.push(write);
                    pending.push((slot, answer));
                }
                Ok(Ready::Unchanged(resource)) => results[slot] = Some(Ok(Some(resource))),
                Err(error) => results[slot] = Some(Err(error)),
            }
        }
        let mut raced = Vec::new();
        if !writes.is_empty() {
            let ctx = WriteContext::new(caller, now);
            match self.repo.write_batch(&ctx, &writes).await {
                Ok(outcomes) => {
                    for (((slot, answer), write), outcome) in
                        pending.into_iter().zip(&writes).zip(outcomes)
                    {
                        let op = &ops[slot];
                        results[slot] = Some(match outcome {
                            Ok(()) => Ok(answer),
                            Err(StoreError::VersionMismatch)
                                if *op.precondition() == Precondition::None =>
                            {
                                raced.push(slot);
                                continue;
                            }
                            Err(error) => Err(failed(error, op, write)),
                        });
                    }
                }
                Err(error) => {
                    // Nothing was written (the store unreachable): every write fails alike.
                    let error = store_error(error, ops[pending[0].0].kind());
                    for (slot, _) in pending {
                        results[slot] = Some(Err(error.clone()));
                    }
                }
            }
        }
        for slot in raced {
            results[slot] = Some(self.write_alone(caller, &ops[slot]).await);
        }
        results
            .into_iter()
            .map(|result| result.unwrap_or(Err(ScimError::Internal)))
            .collect()
    }

    /// Plans an operation as its single request would.
    async fn ready(
        &self,
        caller: &Caller,
        op: &BatchOp,
        now: chrono::DateTime<chrono::Utc>,
    ) -> ScimResult<Ready> {
        let tenant = &caller.tenant;
        let update = |planned: PlannedWrite| {
            let answer = planned.resource.clone();
            Ready::Write(
                BatchWrite::Update {
                    resource: planned.resource,
                    expected_version: planned.expected_version,
                    members: planned.changes,
                    events: vec![planned.event],
                },
                Some(answer),
            )
        };
        Ok(match op {
            BatchOp::Create { kind, id, body } => {
                let mut resource =
                    plan_create(self.registry_of(caller), *kind, body, id.clone(), now)?;
                let (members, event) = self.prepare_insert(&mut resource)?;
                let answer = resource.clone();
                let events = vec![event];
                Ready::Write(
                    BatchWrite::Insert {
                        resource,
                        members,
                        events,
                    },
                    Some(answer),
                )
            }
            BatchOp::Replace {
                kind,
                id,
                body,
                precondition,
            } => match self
                .plan_replacement(caller, *kind, id, body, precondition, now)
                .await?
            {
                Some(planned) => update(planned),
                None => Ready::Unchanged(self.get(tenant, *kind, id, Default::default()).await?),
            },
            BatchOp::Patch {
                kind,
                id,
                body,
                precondition,
            } => {
                let request = parse_patch(body)?;
                match self
                    .plan_patching(caller, *kind, id, (&request, body), precondition, now)
                    .await?
                {
                    Some(planned) => update(planned),
                    None => {
                        Ready::Unchanged(self.get(tenant, *kind, id, Default::default()).await?)
                    }
                }
            }
            BatchOp::Delete {
                kind,
                id,
                precondition,
            } => Ready::Write(
                BatchWrite::Delete {
                    kind: *kind,
                    id: id.clone(),
                    expected_version: self
                        .delete_expectation(tenant, *kind, id, precondition)
                        .await?,
                    events: vec![ResourceEvent::deleted(*kind, id, None)],
                },
                None,
            ),
        })
    }

    /// An operation on its own, through its single request's use case.
    async fn write_alone(&self, caller: &Caller, op: &BatchOp) -> ScimResult<Option<Resource>> {
        match op {
            BatchOp::Create { kind, body, .. } => self.create(caller, *kind, body).await.map(Some),
            BatchOp::Replace {
                kind,
                id,
                body,
                precondition,
            } => self
                .replace(caller, *kind, id, body, precondition)
                .await
                .map(Some),
            BatchOp::Patch {
                kind,
                id,
                body,
                precondition,
            } => self
                .patch(caller, *kind, id, body, precondition, Default::default())
                .await
                .map(Some),
            BatchOp::Delete {
                kind,
                id,
                precondition,
            } => self
                .delete(caller, *kind, id, precondition)
                .await
                .map(|()| None),
        }
    }
}

/// A failed write as the client sees it.
fn failed(error: StoreError, op: &BatchOp, write: &BatchWrite) -> ScimError {
    match write {
        BatchWrite::Insert { resource, .. } | BatchWrite::Update { resource, .. } => {
            write_error(error, resource)
        }
        BatchWrite::Delete { .. } => delete_error(error, op.kind(), op.id()),
    }
}
