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

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use serde_json::{Value, json};

use super::batch::BatchOp;
use super::resources::{Precondition, ResourceService};
use crate::bulk::{
    BULK_ID_PREFIX, BulkEntry, BulkLimits, BulkMethod, BulkOperation, BulkOutcome, BulkRequest,
    OperationError, derived_id, execution_order, parse_bulk, quoted, references,
    resolve_references,
};
use crate::context::Caller;
use crate::error::{ScimError, ScimResult};
use crate::filter::{CompValue, CompareOp, Filter};
use crate::patch::PATCH_OP_SCHEMA;
use crate::path::AttrPath;
use crate::query::ListQuery;
use crate::resource::{Expand, Resource, ResourceKind};

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

    /// Runs a parsed request, as a job's attempt when `job` is given (then a failed
    /// checkpoint is the error).
    pub(crate) async fn run(
        &self,
        caller: &Caller,
        request: &BulkRequest,
        job: Option<JobRun<'_>>,
    ) -> ScimResult<Vec<BulkOutcome>> {
        let plan = execution_order(request);
        let mut run = Run::new(&self.resources, caller, request.fail_on_errors, job);
        for (index, error) in plan.failed {
            if run.stopped() {
                return Ok(run.outcomes);
            }
            if !run.done.contains(&index) {
                run.fail(index, &request.entries[index], error);
            }
        }
        // Operations are committed in batched transactions (a savepoint each) unless
        // failOnErrors asks to stop at an exact count, which only one-by-one can honour.
        let batch_size = if run.fail_on_errors.is_some() {
            1
        } else {
            BATCH
        };
        let mut batch: Vec<Planned> = Vec::new();
        for index in plan.order {
            if run.stopped() {
                return Ok(run.outcomes);
            }
            if run.done.contains(&index) {
                continue;
            }
            let entry = &request.entries[index];
            let Some(mut planned) = run.plan(index, entry) else {
                continue;
            };
            // An operation on a resource the batch writes already is planned from what
            // that write leaves, so the batch is committed first, and the operation planned
            // again (what it references may have failed to be created).
            if batch.iter().any(|other| other.op.id() == planned.op.id()) {
                run.commit(&mut batch).await?;
                run.checkpoint().await?;
                if run.stopped() {
                    return Ok(run.outcomes);
                }
                match run.plan(index, entry) {
                    Some(again) => planned = again,
                    None => continue,
                }
            }
            batch.push(planned);
            if batch.len() >= batch_size {
                run.commit(&mut batch).await?;
                run.checkpoint().await?;
            }
        }
        if !batch.is_empty() {
            run.commit(&mut batch).await?;
            run.checkpoint().await?;
        }
        // Last, the cycles: what they reference outside themselves exists by now.
        if !run.stopped() {
            run.circular(&request.entries, &plan.circular).await?;
            run.checkpoint().await?;
        }
        Ok(run.outcomes)
    }
}

/// Operations committed per transaction.
const BATCH: usize = 100;

/// An operation planned for a batch: its entry's position, method and bulkId, and the
/// operation with its references resolved (a POST's id chosen).
struct Planned {
    index: usize,
    method: String,
    bulk_id: Option<String>,
    op: BatchOp,
}

/// One execution's state; `'j` is a job's, when it is one.
struct Run<'a, 'j> {
    service: &'a ResourceService,
    caller: &'a Caller,
    /// bulkId → id of the resource its POST created.
    created: HashMap<String, String>,
    /// bulkId → id planned for a POST of the batch not committed yet.
    planned: HashMap<String, String>,
    outcomes: Vec<BulkOutcome>,
    errors: usize,
    fail_on_errors: Option<usize>,
    /// The job whose ids POSTs derive from, if any.
    job_id: Option<&'j str>,
    /// Entries an earlier attempt of the job processed.
    done: HashSet<usize>,
    /// Whether the step under way may have been committed by an earlier attempt.
    recovering: bool,
    checkpoints: Option<&'j mut dyn Checkpoints>,
    /// A checkpoint asked the run to stop there (the job's slice is over).
    paused: bool,
}

impl<'a, 'j> Run<'a, 'j> {
    fn new(
        service: &'a ResourceService,
        caller: &'a Caller,
        fail_on_errors: Option<usize>,
        job: Option<JobRun<'j>>,
    ) -> Self {
        let mut run = Self {
            service,
            caller,
            created: HashMap::new(),
            planned: HashMap::new(),
            outcomes: Vec::new(),
            errors: 0,
            fail_on_errors,
            job_id: None,
            done: HashSet::new(),
            recovering: false,
            checkpoints: None,
            paused: false,
        };
        if let Some(job) = job {
            for outcome in &job.outcomes {
                run.done.insert(outcome.index);
                if outcome.error.is_some() {
                    run.errors += 1;
                }
                if let (Some(bulk_id), Some((_, id)), "POST") = (
                    &outcome.bulk_id,
                    &outcome.resource,
                    outcome.method.to_ascii_uppercase().as_str(),
                ) {
                    run.created.insert(bulk_id.clone(), id.clone());
                }
            }
            run.outcomes = job.outcomes;
            run.job_id = Some(job.job_id);
            run.recovering = job.resumed;
            run.checkpoints = Some(job.checkpoints);
        }
        run
    }

    fn stopped(&self) -> bool {
        self.paused
            || self
                .fail_on_errors
                .is_some_and(|limit| self.errors >= limit)
    }

    /// Ends a step: a job checkpoints its outcomes (and may be told to pause there).
    async fn checkpoint(&mut self) -> ScimResult<()> {
        if let Some(checkpoints) = self.checkpoints.as_mut() {
            self.paused = checkpoints.checkpoint(&self.outcomes).await? == AfterCheckpoint::Pause;
        }
        self.recovering = false;
        Ok(())
    }

    fn fail(&mut self, index: usize, entry: &BulkEntry, error: ScimError) {
        self.failed(index, entry.method.clone(), entry.bulk_id.clone(), error);
    }

    /// Records a failed operation (by its position, method and bulkId).
    fn failed(&mut self, index: usize, method: String, bulk_id: Option<String>, error: ScimError) {
        self.errors += 1;
        self.outcomes.push(BulkOutcome {
            index,
            method,
            bulk_id,
            resource: None,
            version: None,
            status: error.status(),
            error: Some(error.into()),
        });
    }

    /// Plans an operation for the batch: references resolved to resources created before
    /// or planned earlier in the batch, a POST's id chosen. A reference to neither, or a
    /// path naming no resource, fails the entry now.
    fn plan(&mut self, index: usize, entry: &BulkEntry) -> Option<Planned> {
        let Ok(operation) = &entry.operation else {
            return None;
        };
        let missing: Vec<String> = references(operation)
            .into_iter()
            .filter(|bulk_id| {
                !self.created.contains_key(bulk_id) && !self.planned.contains_key(bulk_id)
            })
            .collect();
        if !missing.is_empty() {
            self.fail(index, entry, not_created(&missing));
            return None;
        }
        let resolve = |value: &Value| {
            resolve_references(&resolve_references(value, &self.created), &self.planned)
        };
        let body = operation.data.as_ref().map_or(Value::Null, resolve);
        let kind = operation.kind;
        let precondition = operation
            .version
            .as_deref()
            .map_or(Precondition::None, Precondition::parse_if_match);
        let target = operation.id.as_deref().map(|id| {
            id.strip_prefix(BULK_ID_PREFIX)
                .and_then(|bulk_id| {
                    self.created
                        .get(bulk_id)
                        .or_else(|| self.planned.get(bulk_id))
                })
                .map_or_else(|| id.to_owned(), Clone::clone)
        });
        let op = match (operation.method, target) {
            (BulkMethod::Post, _) => {
                let id = match self.job_id {
                    Some(job_id) => derived_id(job_id, index),
                    None => self.service.new_id(),
                };
                if let Some(bulk_id) = &operation.bulk_id {
                    self.planned.insert(bulk_id.clone(), id.clone());
                }
                BatchOp::Create { kind, id, body }
            }
            (BulkMethod::Put, Some(id)) => BatchOp::Replace {
                kind,
                id,
                body,
                precondition,
            },
            (BulkMethod::Patch, Some(id)) => BatchOp::Patch {
                kind,
                id,
                body,
                precondition,
            },
            (BulkMethod::Delete, Some(id)) => BatchOp::Delete {
                kind,
                id,
                precondition,
            },
            (_, None) => {
                let error = ScimError::InvalidPath("the path names no resource".into());
                self.fail(index, entry, error);
                return None;
            }
        };
        Some(Planned {
            index,
            method: entry.method.clone(),
            bulk_id: entry.bulk_id.clone(),
            op,
        })
    }

    /// Commits the batch in one transaction and records its outcomes. When recovering,
    /// the resources an earlier attempt created are recognised by their ids first, and a
    /// delete whose target is gone is taken for that attempt's.
    async fn commit(&mut self, batch: &mut Vec<Planned>) -> ScimResult<()> {
        if self.recovering {
            let mut missing = Vec::with_capacity(batch.len());
            for planned in batch.drain(..) {
                let BatchOp::Create { kind, id, .. } = &planned.op else {
                    missing.push(planned);
                    continue;
                };
                let tenant = &self.caller.tenant;
                match self.service.get(tenant, *kind, id, Expand::default()).await {
                    Ok(resource) => self.succeed(planned, Some(&resource)),
                    Err(ScimError::NotFound(_)) => missing.push(planned),
                    Err(error) => return Err(error),
                }
            }
            *batch = missing;
        }
        if batch.is_empty() {
            return Ok(());
        }
        let ops: Vec<BatchOp> = batch.iter().map(|planned| planned.op.clone()).collect();
        let results = self.service.write_batch(self.caller, &ops).await;
        // A job does not record a store outage as the operations' outcome: the run stops,
        // and the job resumes (recovering this step) once the store answers again.
        if self.checkpoints.is_some()
            && results
                .iter()
                .all(|result| matches!(result, Err(ScimError::Unavailable)))
        {
            return Err(ScimError::Unavailable);
        }
        self.planned.clear();
        for (planned, result) in batch.drain(..).zip(results) {
            match result {
                Ok(written) => self.succeed(planned, written.as_ref()),
                Err(ScimError::NotFound(_))
                    if self.recovering && matches!(planned.op, BatchOp::Delete { .. }) =>
                {
                    self.succeed(planned, None);
                }
                Err(error) => self.failed(planned.index, planned.method, planned.bulk_id, error),
            }
        }
        Ok(())
    }

    /// Records a committed operation: what it wrote (none for a delete).
    fn succeed(&mut self, planned: Planned, written: Option<&Resource>) {
        let status = match planned.op {
            BatchOp::Create { .. } => 201,
            BatchOp::Replace { .. } | BatchOp::Patch { .. } => 200,
            BatchOp::Delete { .. } => 204,
        };
        if let (BatchOp::Create { id, .. }, Some(bulk_id)) = (&planned.op, &planned.bulk_id) {
            self.created.insert(bulk_id.clone(), id.clone());
        }
        self.outcomes.push(BulkOutcome {
            index: planned.index,
            method: planned.method,
            bulk_id: planned.bulk_id,
            version: written.map(|r| r.meta.etag()),
            resource: Some((planned.op.kind(), planned.op.id().to_owned())),
            status,
            error: None,
        });
    }

    /// Entries caught in reference cycles, as one step. POSTs of groups whose only
    /// references are member values are created without the members that name groups of the
    /// cycle, then get them by PATCH; any other entry of a cycle fails with 409.
    async fn circular(&mut self, entries: &[BulkEntry], circular: &[usize]) -> ScimResult<()> {
        // A job's attempt checkpoints the cycles whole: done for one, done for all.
        if circular.iter().any(|index| self.done.contains(index)) {
            return Ok(());
        }
        let resolvable = |entry: &BulkEntry| -> bool {
            entry.operation.as_ref().is_ok_and(|operation| {
                operation.method == BulkMethod::Post
                    && operation.kind == ResourceKind::Group
                    && operation.data.as_ref().is_some_and(only_member_references)
            })
        };
        if circular.iter().any(|&index| !resolvable(&entries[index])) {
            for &index in circular {
                self.fail(
                    index,
                    &entries[index],
                    ScimError::Conflict(
                        "circular bulkId references that cannot be resolved: only groups \
                         that name each other as members can reference each other"
                            .into(),
                    ),
                );
            }
            return Ok(());
        }
        let cycle: HashSet<&str> = circular
            .iter()
            .filter_map(|&index| entries[index].operation.as_ref().ok())
            .filter_map(|operation| operation.bulk_id.as_deref())
            .collect();
        // Create each group with the members outside the cycle.
        let mut deferred: Vec<(usize, Vec<Value>)> = Vec::new();
        let mut batch = Vec::new();
        for &index in circular {
            let entry = &entries[index];
            let Ok(operation) = &entry.operation else {
                continue;
            };
            let mut data = operation.data.clone().unwrap_or(Value::Null);
            let members = data
                .get("members")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let (later, now): (Vec<Value>, Vec<Value>) = members
                .into_iter()
                .partition(|member| names_one_of(member, &cycle));
            data["members"] = Value::Array(now);
            let first = BulkEntry {
                operation: Ok(BulkOperation {
                    data: Some(data),
                    ..operation.clone()
                }),
                ..entry.clone()
            };
            if let Some(planned) = self.plan(index, &first) {
                batch.push(planned);
                deferred.push((index, later));
            }
        }
        self.commit(&mut batch).await?;
        // Then add the members that waited, now that every group exists.
        for (index, later) in deferred {
            let Some(outcome) = self.outcomes.iter().rposition(|o| o.index == index) else {
                continue;
            };
            let Some((_, id)) = self.outcomes[outcome].resource.clone() else {
                continue;
            };
            if later.is_empty() {
                continue;
            }
            let members = resolve_references(&Value::Array(later), &self.created);
            let patch = json!({
                "schemas": [PATCH_OP_SCHEMA],
                "Operations": [{"op": "add", "path": "members", "value": members}],
            });
            let added = self
                .service
                .patch(
                    self.caller,
                    ResourceKind::Group,
                    &id,
                    &patch,
                    &Precondition::None,
                    Expand::default(),
                )
                .await;
            let outcome = &mut self.outcomes[outcome];
            match added {
                Ok(group) => outcome.version = Some(group.meta.etag()),
                // The group exists; its outcome says its members could not all be added.
                Err(error) => {
                    outcome.status = error.status();
                    outcome.error = Some(OperationError::from(&error));
                    self.errors += 1;
                }
            }
        }
        Ok(())
    }
}

fn not_created(missing: &[String]) -> ScimError {
    ScimError::InvalidValue(format!(
        "bulkId {} was not created: the operation defining it failed",
        quoted(missing)
    ))
}

/// Whether the only `bulkId:` strings of a group's data are member values.
fn only_member_references(data: &Value) -> bool {
    let Value::Object(fields) = data else {
        return false;
    };
    fields.iter().all(|(name, value)| {
        if name.eq_ignore_ascii_case("members") {
            value.as_array().is_some_and(|members| {
                members.iter().all(|member| match member {
                    Value::Object(sub) => sub
                        .iter()
                        .all(|(key, v)| key == "value" || !mentions_bulk_id(v)),
                    _ => false,
                })
            })
        } else {
            !mentions_bulk_id(value)
        }
    })
}

fn mentions_bulk_id(value: &Value) -> bool {
    match value {
        Value::String(text) => text.starts_with(BULK_ID_PREFIX),
        Value::Array(items) => items.iter().any(mentions_bulk_id),
        Value::Object(fields) => fields.values().any(mentions_bulk_id),
        _ => false,
    }
}

/// Whether a member's value is `bulkId:` one of `bulk_ids`.
fn names_one_of(member: &Value, bulk_ids: &HashSet<&str>) -> bool {
    member
        .get("value")
        .and_then(Value::as_str)
        .and_then(|value| value.strip_prefix(BULK_ID_PREFIX))
        .is_some_and(|bulk_id| bulk_ids.contains(bulk_id))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::error::StoreError;
    use crate::ports::{BatchWrite, MockClock, MockIdGenerator, MockResourceRepository};
    use crate::resource::MembershipChange;
    use crate::schema::{GROUP_SCHEMA, SchemaRegistry, USER_SCHEMA};
    use crate::tenant::TenantId;

    /// A bulk service whose new ids are `id-1`, `id-2`, … in order.
    fn service(repo: MockResourceRepository) -> BulkService {
        let mut clock = MockClock::new();
        clock
            .expect_now()
            .returning(|| Utc.timestamp_opt(1_700_000_000, 0).unwrap());
        let counter = Arc::new(AtomicUsize::new(0));
        let mut ids = MockIdGenerator::new();
        ids.expect_new_id()
            .returning(move || format!("id-{}", counter.fetch_add(1, Ordering::SeqCst) + 1));
        let resources = ResourceService::new(
            Arc::new(repo),
            Arc::new(SchemaRegistry::standard()),
            Arc::new(clock),
            Arc::new(ids),
        );
        BulkService::new(
            resources,
            BulkLimits {
                max_operations: 100,
            },
        )
    }

    fn caller() -> Caller {
        Caller::new(TenantId("t1".into()), "token:k1", "POST /scim/v2/Bulk")
    }

    fn body(fail_on_errors: Option<u32>, operations: &Value) -> Value {
        let mut body = json!({"schemas": [crate::bulk::BULK_REQUEST_SCHEMA]});
        body["Operations"] = operations.clone();
        if let Some(n) = fail_on_errors {
            body["failOnErrors"] = json!(n);
        }
        body
    }

    #[tokio::test]
    async fn a_group_and_its_members_go_in_one_batch_with_planned_ids() {
        let mut repo = MockResourceRepository::new();
        repo.expect_write_batch()
            .withf(|ctx, writes| {
                ctx.actor == "token:k1"
                    && matches!(writes, [
                        BatchWrite::Insert { resource: user, members: no_members, .. },
                        BatchWrite::Insert { resource: group, members, .. },
                    ] if user.id == "id-1"
                        && user.kind == ResourceKind::User
                        && no_members.is_empty()
                        && group.kind == ResourceKind::Group
                        && matches!(&members[..], [MembershipChange::Add(members)]
                            if members.len() == 1 && members[0].id == "id-1"))
            })
            .times(1)
            .returning(|_, writes| Ok(writes.iter().map(|_| Ok(())).collect()));
        let operations = json!([
            {"method": "POST", "path": "/Groups", "bulkId": "g",
                "data": {"schemas": [GROUP_SCHEMA], "displayName": "Admins", "members": [{"value": "bulkId:u"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "u",
                "data": {"schemas": [USER_SCHEMA], "userName": "alice"}},
        ]);
        let outcomes = service(repo)
            .execute(&caller(), &body(None, &operations))
            .await
            .unwrap();
        let summary: Vec<(Option<&str>, u16, Option<&str>)> = outcomes
            .iter()
            .map(|o| {
                (
                    o.bulk_id.as_deref(),
                    o.status,
                    o.resource.as_ref().map(|(_, id)| id.as_str()),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (Some("u"), 201, Some("id-1")),
                (Some("g"), 201, Some("id-2"))
            ]
        );
    }

    #[tokio::test]
    async fn a_delete_by_bulk_id_reports_the_resolved_location() {
        let mut repo = MockResourceRepository::new();
        // The POST, then (the batch cut before a second write of the same user) the DELETE
        // of the id its bulkId resolved to.
        let mut sequence = mockall::Sequence::new();
        repo.expect_write_batch()
            .withf(|_, writes| matches!(writes, [BatchWrite::Insert { .. }]))
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_, writes| Ok(writes.iter().map(|_| Ok(())).collect()));
        repo.expect_write_batch()
            .withf(|_, writes| {
                matches!(writes, [BatchWrite::Delete { kind: ResourceKind::User, id, expected_version: None, .. }]
                    if id == "id-1")
            })
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_, _| Ok(vec![Ok(())]));
        let operations = json!([
            {"method": "POST", "path": "/Users", "bulkId": "u",
                "data": {"schemas": [USER_SCHEMA], "userName": "alice"}},
            {"method": "DELETE", "path": "/Users/bulkId:u"},
        ]);
        let outcomes = service(repo)
            .execute(&caller(), &body(None, &operations))
            .await
            .unwrap();
        assert_eq!(outcomes[1].status, 204);
        assert_eq!(
            outcomes[1].resource,
            Some((ResourceKind::User, "id-1".to_owned()))
        );
    }

    #[tokio::test]
    async fn fail_on_errors_stops_one_by_one_at_the_count() {
        let mut repo = MockResourceRepository::new();
        // One by one: the first insert fails, and nothing else reaches the store.
        repo.expect_write_batch()
            .withf(|_, writes| writes.len() == 1)
            .times(1)
            .returning(|_, _| {
                Ok(vec![Err(StoreError::Conflict {
                    attribute: "userName".into(),
                })])
            });
        let operations = json!([
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"schemas": [USER_SCHEMA], "userName": "taken"}},
            {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"schemas": [USER_SCHEMA], "userName": "free"}},
        ]);
        let outcomes = service(repo)
            .execute(&caller(), &body(Some(1), &operations))
            .await
            .unwrap();
        assert_eq!(outcomes.len(), 1);
        assert_eq!(outcomes[0].status, 409);
        assert_eq!(
            outcomes[0]
                .error
                .as_ref()
                .and_then(|e| e.scim_type.as_deref()),
            Some("uniqueness")
        );
    }
}
