//! One execution of a BulkRequest: its operations planned in order and committed in
//! batches, their outcomes recorded, checkpointed for a job.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::bulk::{
    BULK_ID_PREFIX, BulkEntry, BulkMethod, BulkOutcome, BulkRequest, derived_id, execution_order,
    references, resolve_references,
};
use crate::context::Caller;
use crate::error::{ScimError, ScimResult};
use crate::resource::{Expand, Resource};
use crate::service::batch::BatchOp;
use crate::service::resources::{Precondition, ResourceService};

use super::{AfterCheckpoint, BulkService, Checkpoints, JobRun};
use cycles::not_created;

mod cycles;

impl BulkService {
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
}
