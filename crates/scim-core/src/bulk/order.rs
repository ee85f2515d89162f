//! The order a bulk request's operations run in, from their `bulkId` references.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::request::{BULK_ID_PREFIX, BulkMethod, BulkOperation, BulkRequest};
use crate::error::ScimError;

/// How a request's entries are to run.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionPlan {
    /// Entry indexes in the order to run them: request order, except that an operation comes
    /// after the POSTs defining the bulkIds it references.
    pub order: Vec<usize>,
    /// Entries that fail before running (malformed, or a bulkId problem), with the error.
    pub failed: Vec<(usize, ScimError)>,
    /// Entries whose references form cycles (or depend on one), in request order.
    pub circular: Vec<usize>,
}

/// The bulkIds an operation references: its path's id and every string of its data that
/// reads `bulkId:<id>`.
pub fn references(operation: &BulkOperation) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    if let Some(id) = operation
        .id
        .as_deref()
        .and_then(|id| id.strip_prefix(BULK_ID_PREFIX))
    {
        found.insert(id.to_owned());
    }
    if let Some(data) = &operation.data {
        collect(data, &mut found);
    }
    found
}

fn collect(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::String(text) => {
            if let Some(id) = text.strip_prefix(BULK_ID_PREFIX) {
                found.insert(id.to_owned());
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect(item, found)),
        Value::Object(fields) => fields.values().for_each(|item| collect(item, found)),
        _ => {}
    }
}

/// `value` with every `bulkId:<id>` string whose bulkId `created` knows replaced by the id
/// of the resource created for it; the others are left as they are.
pub fn resolve_references(value: &Value, created: &HashMap<String, String>) -> Value {
    match value {
        Value::String(text) => text
            .strip_prefix(BULK_ID_PREFIX)
            .and_then(|bulk_id| created.get(bulk_id))
            .map_or_else(|| value.clone(), |id| Value::String(id.clone())),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| resolve_references(item, created))
                .collect(),
        ),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, item)| (key.clone(), resolve_references(item, created)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `'a', 'b'`: bulkIds as error details name them.
pub(crate) fn quoted(ids: &[String]) -> String {
    ids.iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Orders a request's entries (see [`ExecutionPlan`]). Deterministic: among operations
/// ready to run, the earliest in the request goes first.
pub fn execution_order(request: &BulkRequest) -> ExecutionPlan {
    let mut failed = Vec::new();
    // Which entry defines each bulkId (the first POST that names it).
    let mut defined: HashMap<&str, usize> = HashMap::new();
    for (index, entry) in request.entries.iter().enumerate() {
        let Ok(operation) = &entry.operation else {
            continue;
        };
        if let (BulkMethod::Post, Some(bulk_id)) = (operation.method, &operation.bulk_id)
            && *defined.entry(bulk_id.as_str()).or_insert(index) != index
        {
            failed.push((
                index,
                ScimError::InvalidValue(format!(
                    "bulkId '{bulk_id}' is defined by an earlier operation of this request"
                )),
            ));
        }
    }
    let failing: BTreeSet<usize> = failed.iter().map(|(index, _)| *index).collect();
    // The entries each entry waits for.
    let mut waits: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for (index, entry) in request.entries.iter().enumerate() {
        match &entry.operation {
            Err(error) => failed.push((index, error.clone())),
            Ok(_) if failing.contains(&index) => {}
            Ok(operation) => {
                let mut needs = BTreeSet::new();
                let mut unknown = Vec::new();
                for bulk_id in references(operation) {
                    match defined.get(bulk_id.as_str()) {
                        Some(&definer) if !failing.contains(&definer) => {
                            needs.insert(definer);
                        }
                        _ => unknown.push(bulk_id),
                    }
                }
                if unknown.is_empty() {
                    waits.insert(index, needs);
                } else {
                    failed.push((
                        index,
                        ScimError::InvalidValue(format!(
                            "bulkId {} is not defined by a POST of this request",
                            quoted(&unknown)
                        )),
                    ));
                }
            }
        }
    }
    // An operation waiting for one that cannot run cannot run either.
    loop {
        let blocked: Vec<usize> = waits
            .iter()
            .filter(|(_, needs)| needs.iter().any(|need| !waits.contains_key(need)))
            .map(|(index, _)| *index)
            .collect();
        if blocked.is_empty() {
            break;
        }
        for index in blocked {
            waits.remove(&index);
            failed.push((
                index,
                ScimError::InvalidValue("an operation this one references by bulkId fails".into()),
            ));
        }
    }
    failed.sort_by_key(|(index, _)| *index);

    // Kahn's algorithm, taking the earliest ready operation each time.
    let mut waiting_on: BTreeMap<usize, usize> = waits
        .iter()
        .map(|(index, needs)| (*index, needs.len()))
        .collect();
    let mut dependents: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (index, needs) in &waits {
        for need in needs {
            dependents.entry(*need).or_default().push(*index);
        }
    }
    let mut ready: BTreeSet<usize> = waiting_on
        .iter()
        .filter(|(_, count)| **count == 0)
        .map(|(index, _)| *index)
        .collect();
    let mut order = Vec::with_capacity(waits.len());
    while let Some(index) = ready.pop_first() {
        order.push(index);
        waiting_on.remove(&index);
        for dependent in dependents
            .get(&index)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            if let Some(count) = waiting_on.get_mut(dependent) {
                *count -= 1;
                if *count == 0 {
                    ready.insert(*dependent);
                }
            }
        }
    }
    ExecutionPlan {
        order,
        failed,
        circular: waiting_on.into_keys().collect(),
    }
}
