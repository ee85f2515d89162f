//! Executing a BulkRequest (RFC 7644 §3.7) with the same use cases single requests use, so
//! validation, license rules and seat limits apply exactly as they do there.
//!
//! Operations run in [`execution_order`], operations caught in reference cycles last. They
//! are committed in batched transactions of up to 100 ([`ResourceService::write_batch`]),
//! each in a savepoint of its own, so a failing operation never undoes its neighbours' work;
//! a batch is cut before an operation on a resource it already writes, which is planned
//! from what that write leaves. With `failOnErrors`, everything runs one by one so that
//! processing stops exactly after the n-th failure. Groups that reference each other through
//! `members` (a cycle) are created without those members first and get them with a PATCH
//! once every group of the cycle exists (RFC 7644 §3.7.1); other cycles fail with 409.
//!
//! An asynchronous job runs through the same engine with a [`JobRun`]: after every step (a
//! batch, the cycles) its outcomes are checkpointed; its POSTs create
//! ids [`derived_id`] from the job; and an attempt resuming after a crash skips the
//! operations checkpointed and recognises, in the one step that may have committed without
//! its checkpoint, the resources that step created and the deletes it made.

use async_trait::async_trait;
use serde_json::Value;

use super::resources::ResourceService;
use crate::bulk::{
    BulkEntry, BulkLimits, BulkMethod, BulkOperation, BulkOutcome, BulkRequest, parse_bulk,
};
use crate::context::Caller;
use crate::error::{ScimError, ScimResult};
use crate::filter::{CompValue, CompareOp, Filter};
use crate::path::AttrPath;
use crate::query::ListQuery;
use crate::resource::{Expand, ResourceKind};

mod run;

/// /Bulk (RFC 7644 §3.7) and `POST /Users?bulk=true`: operations planned in order, written in batches.
#[derive(Clone)]
pub struct BulkService {
    resources: ResourceService,
    limits: BulkLimits,
}

/// What a job's run does after a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterCheckpoint {
    Go,
    /// Stop here; the job is resumed from this checkpoint later (its slice is over).
    Pause,
}

/// Where the outcomes of a job's steps go.
#[async_trait]
pub(crate) trait Checkpoints: Send + Sync {
    /// Stores the outcomes so far (those not stored yet); an error stops the run.
    async fn checkpoint(&mut self, outcomes: &[BulkOutcome]) -> ScimResult<AfterCheckpoint>;
}

/// A job's run: its id (for derived ids), the outcomes of earlier attempts, whether an
/// earlier attempt may have written past its last checkpoint, and the checkpoints.
pub(crate) struct JobRun<'j> {
    pub job_id: &'j str,
    pub outcomes: Vec<BulkOutcome>,
    pub resumed: bool,
    pub checkpoints: &'j mut dyn Checkpoints,
}

impl BulkService {
    /// On the resource service, held to `limits`.
    pub fn new(resources: ResourceService, limits: BulkLimits) -> Self {
        Self { resources, limits }
    }

    /// The limits a request is held to.
    pub fn limits(&self) -> BulkLimits {
        self.limits
    }

    /// Runs a BulkRequest body. A whole-request problem is the error; otherwise every
    /// processed operation has an outcome, until `failOnErrors` failures stop the rest.
    pub async fn execute(&self, caller: &Caller, body: &Value) -> ScimResult<Vec<BulkOutcome>> {
        let request = parse_bulk(body, &self.limits)?;
        self.run(caller, &request, None).await
    }

    /// `POST /Users?bulk=true`, our extension: a ListResponse-shaped body whose `Resources`
    /// are users to create, or to replace when a user with that userName exists (compared
    /// as userName always is). Runs through the same engine as `/Bulk`, in request order;
    /// one outcome per resource.
    pub async fn upsert_users(
        &self,
        caller: &Caller,
        body: &Value,
    ) -> ScimResult<Vec<BulkOutcome>> {
        let resources = body
            .as_object()
            .and_then(|object| {
                object
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case("Resources"))
                    .map(|(_, value)| value)
            })
            .and_then(Value::as_array)
            .ok_or_else(|| {
                ScimError::InvalidSyntax(
                    "a bulk upsert is a ListResponse-shaped object with 'Resources': a list \
                     of users"
                        .into(),
                )
            })?;
        if resources.len() > self.limits.max_operations {
            return Err(ScimError::PayloadTooLarge(format!(
                "the request has {} resources; at most {} are accepted (maxOperations)",
                resources.len(),
                self.limits.max_operations
            )));
        }
        let mut entries = Vec::with_capacity(resources.len());
        for (index, resource) in resources.iter().enumerate() {
            entries.push(self.upsert_entry(caller, index, resource).await);
        }
        let request = BulkRequest {
            fail_on_errors: None,
            entries,
        };
        self.run(caller, &request, None).await
    }

    /// The bulk entry a resource of an upsert stands for: a POST, or a PUT of the user
    /// with the same userName.
    async fn upsert_entry(&self, caller: &Caller, index: usize, resource: &Value) -> BulkEntry {
        let bulk_id = format!("resource-{index}");
        // A name no store can hold is no one's: the POST's validation refuses it, on every
        // store alike (PostgreSQL could not even compare with it).
        let user_name = resource
            .get("userName")
            .and_then(Value::as_str)
            .filter(|name| !name.contains('\0'));
        let existing = match user_name {
            Some(name) => {
                let query = ListQuery {
                    filter: Some(Filter::compare(
                        AttrPath::new("userName"),
                        CompareOp::Eq,
                        CompValue::Str(name.to_owned()),
                    )),
                    count: 1,
                    ..ListQuery::default()
                };
                self.resources
                    .list(
                        &caller.tenant,
                        ResourceKind::User,
                        &query,
                        Expand::default(),
                    )
                    .await
                    .map(|page| page.resources.into_iter().next().map(|user| user.id))
            }
            None => Ok(None),
        };
        let operation = match existing {
            Err(error) => Err(error),
            Ok(Some(id)) => Ok(BulkOperation {
                method: BulkMethod::Put,
                bulk_id: None,
                kind: ResourceKind::User,
                id: Some(id),
                version: None,
                data: Some(resource.clone()),
            }),
            Ok(None) => Ok(BulkOperation {
                method: BulkMethod::Post,
                bulk_id: Some(bulk_id.clone()),
                kind: ResourceKind::User,
                id: None,
                version: None,
                data: Some(resource.clone()),
            }),
        };
        let (method, path) = match &operation {
            Ok(op) if op.method == BulkMethod::Put => (
                "PUT",
                format!("/Users/{}", op.id.clone().unwrap_or_default()),
            ),
            _ => ("POST", "/Users".to_owned()),
        };
        BulkEntry {
            method: method.to_owned(),
            bulk_id: None,
            path,
            operation,
        }
    }
}

#[cfg(test)]
mod tests;
