//! Entries caught in reference cycles: groups that name each other as members are created
//! without those members, then get them by PATCH (RFC 7644 §3.7.1); other cycles fail.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::bulk::{
    BULK_ID_PREFIX, BulkEntry, BulkMethod, BulkOperation, OperationError, quoted,
    resolve_references,
};
use crate::error::{ScimError, ScimResult};
use crate::patch::PATCH_OP_SCHEMA;
use crate::resource::{Expand, ResourceKind};
use crate::service::resources::Precondition;

use super::Run;

impl Run<'_, '_> {
    /// Entries caught in reference cycles, as one step. POSTs of groups whose only
    /// references are member values are created without the members that name groups of the
    /// cycle, then get them by PATCH; any other entry of a cycle fails with 409.
    pub(super) async fn circular(
        &mut self,
        entries: &[BulkEntry],
        circular: &[usize],
    ) -> ScimResult<()> {
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

pub(super) fn not_created(missing: &[String]) -> ScimError {
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
