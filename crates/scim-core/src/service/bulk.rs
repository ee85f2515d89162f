//! Executing a BulkRequest (RFC 7644 §3.7) with the same use cases single requests use, so
//! validation, license rules and seat limits apply exactly as they do there.
//!
//! Operations run in [`execution_order`], operations caught in reference cycles last. POSTs
//! in a row are committed in batched transactions of up to 100, each POST in a savepoint of
//! its own; other operations run in a transaction each. Either way a failing operation never
//! undoes its neighbours' work. With `failOnErrors`, everything runs one by one so that
//! processing stops exactly after the n-th failure. Groups that reference each other through
//! `members` (a cycle) are created without those members first and get them with a PATCH
//! once every group of the cycle exists (RFC 7644 §3.7.1); other cycles fail with 409.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::resources::{Precondition, ResourceService};
use crate::bulk::{
    BULK_ID_PREFIX, BulkEntry, BulkLimits, BulkMethod, BulkOperation, BulkRequest, execution_order,
    parse_bulk, quoted, references, resolve_references,
};
use crate::context::Caller;
use crate::error::{ScimError, ScimResult};
use crate::filter::{CompValue, CompareOp, Filter};
use crate::patch::PATCH_OP_SCHEMA;
use crate::path::AttrPath;
use crate::query::ListQuery;
use crate::resource::{Expand, Resource, ResourceKind};

/// What happened to one operation, in the order operations were processed.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOutcome {
    /// The method and bulkId as the client sent them.
    pub method: String,
    pub bulk_id: Option<String>,
    /// The resource the operation wrote (for `location`), when it did.
    pub resource: Option<(ResourceKind, String)>,
    /// Its `meta.version` after the write (ETag form), when it still exists.
    pub version: Option<String>,
    pub status: u16,
    /// The SCIM error of a failed operation.
    pub error: Option<ScimError>,
}

#[derive(Clone)]
pub struct BulkService {
    resources: ResourceService,
    limits: BulkLimits,
}

impl BulkService {
    pub fn new(resources: ResourceService, limits: BulkLimits) -> Self {
        Self { resources, limits }
    }

    pub fn limits(&self) -> BulkLimits {
        self.limits
    }

    /// Runs a BulkRequest body. A whole-request problem is the error; otherwise every
    /// processed operation has an outcome, until `failOnErrors` failures stop the rest.
    pub async fn execute(&self, caller: &Caller, body: &Value) -> ScimResult<Vec<BulkOutcome>> {
        let request = parse_bulk(body, &self.limits)?;
        Ok(self.run(caller, &request).await)
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
        Ok(self.run(caller, &request).await)
    }

    /// The bulk entry a resource of an upsert stands for: a POST, or a PUT of the user
    /// with the same userName.
    async fn upsert_entry(&self, caller: &Caller, index: usize, resource: &Value) -> BulkEntry {
        let bulk_id = format!("resource-{index}");
        let user_name = resource.get("userName").and_then(Value::as_str);
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

    /// Runs a parsed request.
    async fn run(&self, caller: &Caller, request: &BulkRequest) -> Vec<BulkOutcome> {
        let plan = execution_order(request);
        let mut run = Run {
            service: &self.resources,
            caller,
            created: HashMap::new(),
            planned: HashMap::new(),
            outcomes: Vec::with_capacity(request.entries.len()),
            errors: 0,
            fail_on_errors: request.fail_on_errors,
        };
        for (index, error) in plan.failed {
            if run.stopped() {
                return run.outcomes;
            }
            run.fail(&request.entries[index], error);
        }
        // POSTs in a row are created in batched transactions (a savepoint each) unless
        // failOnErrors asks to stop at an exact count, which only one-by-one can honour.
        let batch_size = if run.fail_on_errors.is_some() {
            1
        } else {
            BATCH
        };
        let mut batch: Vec<Planned<'_>> = Vec::new();
        for index in plan.order {
            if run.stopped() {
                return run.outcomes;
            }
            let entry = &request.entries[index];
            let post = entry
                .operation
                .as_ref()
                .is_ok_and(|operation| operation.method == BulkMethod::Post);
            if post {
                if let Some(planned) = run.plan_post(entry) {
                    batch.push(planned);
                }
                if batch.len() >= batch_size {
                    run.flush(&mut batch).await;
                }
                continue;
            }
            run.flush(&mut batch).await;
            if run.stopped() {
                return run.outcomes;
            }
            run.entry(entry).await;
        }
        run.flush(&mut batch).await;
        // Last, the cycles: what they reference outside themselves exists by now.
        if !run.stopped() {
            run.circular(&request.entries, &plan.circular).await;
        }
        run.outcomes
    }
}

/// What an operation did: its status, the resource it wrote (none for DELETE) and the id
/// its path named, resolved (`bulkId:` replaced), for the outcome's `location`.
struct Ran {
    status: u16,
    written: Option<Resource>,
    target: Option<String>,
}

/// POSTs committed per transaction.
const BATCH: usize = 100;

/// A POST planned for a batch: its entry, the id it will get and its resolved data.
struct Planned<'e> {
    entry: &'e BulkEntry,
    kind: ResourceKind,
    bulk_id: Option<String>,
    id: String,
    data: Value,
}

/// One execution's state.
struct Run<'a> {
    service: &'a ResourceService,
    caller: &'a Caller,
    /// bulkId → id of the resource its POST created.
    created: HashMap<String, String>,
    /// bulkId → id planned for a POST of the batch not committed yet.
    planned: HashMap<String, String>,
    outcomes: Vec<BulkOutcome>,
    errors: usize,
    fail_on_errors: Option<usize>,
}

impl Run<'_> {
    fn stopped(&self) -> bool {
        self.fail_on_errors
            .is_some_and(|limit| self.errors >= limit)
    }

    fn fail(&mut self, entry: &BulkEntry, error: ScimError) {
        self.errors += 1;
        self.outcomes.push(BulkOutcome {
            method: entry.method.clone(),
            bulk_id: entry.bulk_id.clone(),
            resource: None,
            version: None,
            status: error.status(),
            error: Some(error),
        });
    }

    /// Plans a POST for the batch: its id, and its data with references resolved to
    /// resources created before or planned earlier in the batch. A reference to neither
    /// fails the entry now.
    fn plan_post<'e>(&mut self, entry: &'e BulkEntry) -> Option<Planned<'e>> {
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
            self.fail(entry, not_created(&missing));
            return None;
        }
        let id = self.service.new_id();
        if let Some(bulk_id) = &operation.bulk_id {
            self.planned.insert(bulk_id.clone(), id.clone());
        }
        // References resolve to committed resources, then to those planned in the batch.
        let data = operation.data.as_ref().map_or(Value::Null, |data| {
            resolve_references(&resolve_references(data, &self.created), &self.planned)
        });
        Some(Planned {
            entry,
            kind: operation.kind,
            bulk_id: operation.bulk_id.clone(),
            id,
            data,
        })
    }

    /// Creates the batch's resources in one transaction and records their outcomes.
    async fn flush(&mut self, batch: &mut Vec<Planned<'_>>) {
        if batch.is_empty() {
            return;
        }
        let items: Vec<(ResourceKind, String, Value)> = batch
            .iter()
            .map(|p| (p.kind, p.id.clone(), p.data.clone()))
            .collect();
        let results = self.service.create_batch(self.caller, &items).await;
        self.planned.clear();
        for (planned, result) in batch.drain(..).zip(results) {
            match result {
                Ok(resource) => {
                    if let Some(bulk_id) = &planned.bulk_id {
                        self.created.insert(bulk_id.clone(), resource.id.clone());
                    }
                    self.outcomes.push(BulkOutcome {
                        method: planned.entry.method.clone(),
                        bulk_id: planned.entry.bulk_id.clone(),
                        version: Some(resource.meta.etag()),
                        resource: Some((resource.kind, resource.id)),
                        status: 201,
                        error: None,
                    });
                }
                Err(error) => self.fail(planned.entry, error),
            }
        }
    }

    async fn entry(&mut self, entry: &BulkEntry) {
        let Ok(operation) = &entry.operation else {
            return;
        };
        match self.run(operation).await {
            Ok(Ran {
                status,
                written,
                target,
            }) => {
                if let (Some(bulk_id), Some(resource), BulkMethod::Post) =
                    (&operation.bulk_id, &written, operation.method)
                {
                    self.created.insert(bulk_id.clone(), resource.id.clone());
                }
                self.outcomes.push(BulkOutcome {
                    method: entry.method.clone(),
                    bulk_id: entry.bulk_id.clone(),
                    version: written.as_ref().map(|r| r.meta.etag()),
                    resource: written
                        .map(|r| (r.kind, r.id))
                        .or_else(|| target.map(|id| (operation.kind, id))),
                    status,
                    error: None,
                });
            }
            Err(error) => self.fail(entry, error),
        }
    }

    /// Runs one operation with its bulkId references resolved: the status and the written
    /// resource (none for DELETE).
    async fn run(&self, operation: &BulkOperation) -> ScimResult<Ran> {
        let (id, data) = self.resolved(operation)?;
        let precondition = operation
            .version
            .as_deref()
            .map_or(Precondition::None, Precondition::parse_if_match);
        let (service, caller, kind) = (self.service, self.caller, operation.kind);
        let data = data.unwrap_or(Value::Null);
        let (status, written) = match (operation.method, &id) {
            (BulkMethod::Post, _) => (201, Some(service.create(caller, kind, &data).await?)),
            (BulkMethod::Put, Some(id)) => {
                let replaced = service
                    .replace(caller, kind, id, &data, &precondition)
                    .await?;
                (200, Some(replaced))
            }
            (BulkMethod::Patch, Some(id)) => {
                let patched = service
                    .patch(caller, kind, id, &data, &precondition, Expand::default())
                    .await?;
                (200, Some(patched))
            }
            (BulkMethod::Delete, Some(id)) => {
                service.delete(caller, kind, id, &precondition).await?;
                (204, None)
            }
            (_, None) => return Err(ScimError::InvalidPath("the path names no resource".into())),
        };
        Ok(Ran {
            status,
            written,
            target: id,
        })
    }

    /// The operation's path id and data with the created resources' ids in place of their
    /// bulkIds; a reference to a POST that failed is a 400.
    fn resolved(&self, operation: &BulkOperation) -> ScimResult<(Option<String>, Option<Value>)> {
        let missing: Vec<String> = references(operation)
            .into_iter()
            .filter(|bulk_id| !self.created.contains_key(bulk_id))
            .collect();
        if !missing.is_empty() {
            return Err(not_created(&missing));
        }
        let id = operation.id.as_deref().map(|id| {
            id.strip_prefix(BULK_ID_PREFIX)
                .and_then(|bulk_id| self.created.get(bulk_id))
                .map_or_else(|| id.to_owned(), Clone::clone)
        });
        let data = operation
            .data
            .as_ref()
            .map(|data| resolve_references(data, &self.created));
        Ok((id, data))
    }

    /// Entries caught in reference cycles. POSTs of groups whose only references are member
    /// values are created without the members that wait for the cycle, then get them by
    /// PATCH; any other entry of a cycle fails with 409.
    async fn circular(&mut self, entries: &[BulkEntry], circular: &[usize]) {
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
                    &entries[index],
                    ScimError::Conflict(
                        "circular bulkId references that cannot be resolved: only groups \
                         that name each other as members can reference each other"
                            .into(),
                    ),
                );
            }
            return;
        }
        // Create each group with the members that are already resolvable.
        let mut deferred: Vec<(String, Vec<Value>)> = Vec::new();
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
            let (now, later): (Vec<Value>, Vec<Value>) = members
                .into_iter()
                .partition(|member| !waits_for_cycle(member, &self.created));
            data["members"] = Value::Array(now);
            let first = BulkOperation {
                data: Some(data),
                ..operation.clone()
            };
            self.entry(&BulkEntry {
                operation: Ok(first),
                ..entry.clone()
            })
            .await;
            let created = operation
                .bulk_id
                .as_ref()
                .and_then(|bulk_id| self.created.get(bulk_id));
            if let Some(id) = created {
                deferred.push((id.clone(), later));
            }
        }
        // Then add the members that waited, now that every group exists.
        for (id, later) in deferred {
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
            let outcome = self.outcomes.iter_mut().rev().find(|o| {
                o.resource
                    .as_ref()
                    .is_some_and(|(_, written)| *written == id)
            });
            match (added, outcome) {
                (Ok(group), Some(outcome)) => outcome.version = Some(group.meta.etag()),
                // The group exists; its outcome says its members could not all be added.
                (Err(error), Some(outcome)) => {
                    outcome.status = error.status();
                    outcome.error = Some(error);
                    self.errors += 1;
                }
                (_, None) => {}
            }
        }
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

/// Whether a member's value is a bulkId not created yet.
fn waits_for_cycle(member: &Value, created: &HashMap<String, String>) -> bool {
    member
        .get("value")
        .and_then(Value::as_str)
        .and_then(|value| value.strip_prefix(BULK_ID_PREFIX))
        .is_some_and(|bulk_id| !created.contains_key(bulk_id))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::error::StoreError;
    use crate::ports::{MockClock, MockIdGenerator, MockResourceRepository};
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
        repo.expect_insert_batch()
            .withf(|ctx, writes| {
                ctx.actor == "token:k1"
                    && writes.len() == 2
                    && writes[0].0.id == "id-1"
                    && writes[0].0.kind == ResourceKind::User
                    && writes[1].0.kind == ResourceKind::Group
                    && matches!(&writes[1].1[..], [MembershipChange::Add(members)]
                        if members.len() == 1 && members[0].id == "id-1")
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
        repo.expect_insert_batch()
            .returning(|_, writes| Ok(writes.iter().map(|_| Ok(())).collect()));
        repo.expect_delete()
            .withf(|_, kind, id, version| {
                *kind == ResourceKind::User && id == "id-1" && version.is_none()
            })
            .times(1)
            .returning(|_, _, _, _| Ok(()));
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
        repo.expect_insert_batch()
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
            outcomes[0].error.as_ref().and_then(ScimError::scim_type),
            Some("uniqueness")
        );
    }
}
