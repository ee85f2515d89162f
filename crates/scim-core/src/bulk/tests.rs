//! The bulk model: parsing, limits, references and their order.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::*;
use crate::resource::ResourceKind;

const LIMITS: BulkLimits = BulkLimits { max_operations: 10 };

fn request(operations: &Value) -> BulkRequest {
    parse_bulk(
        &json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": operations}),
        &LIMITS,
    )
    .unwrap()
}

fn user(name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name})
}

fn post_user(bulk_id: &str) -> Value {
    json!({"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": user(bulk_id)})
}

fn post_group(bulk_id: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    json!({"method": "POST", "path": "/Groups", "bulkId": bulk_id,
        "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": bulk_id, "members": members}})
}

#[test]
fn operations_parse_with_rfc_7644_shapes() {
    let parsed = request(&json!([
        {"method": "POST", "path": "/Users", "bulkId": "qwerty", "data": user("alice")},
        {"method": "put", "path": "/Users/b7c14771", "version": "W/\"3\"", "data": user("bob")},
        {"method": "PATCH", "path": "Groups/e9e3", "data": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []}},
        {"method": "DELETE", "path": "/Users/bulkId:qwerty/"},
    ]));
    assert_eq!(parsed.fail_on_errors, None);
    let ops: Vec<&BulkOperation> = parsed
        .entries
        .iter()
        .map(|e| e.operation.as_ref().unwrap())
        .collect();
    assert_eq!(
        (
            ops[0].method,
            ops[0].kind,
            ops[0].id.as_deref(),
            ops[0].bulk_id.as_deref()
        ),
        (BulkMethod::Post, ResourceKind::User, None, Some("qwerty"))
    );
    assert_eq!(
        (
            ops[1].method,
            ops[1].id.as_deref(),
            ops[1].version.as_deref()
        ),
        (BulkMethod::Put, Some("b7c14771"), Some("W/\"3\""))
    );
    assert_eq!(
        (ops[2].kind, ops[2].id.as_deref()),
        (ResourceKind::Group, Some("e9e3"))
    );
    assert_eq!(
        (ops[3].method, ops[3].id.as_deref(), ops[3].data.as_ref()),
        (BulkMethod::Delete, Some("bulkId:qwerty"), None)
    );
}

#[test]
fn malformed_operations_fail_alone_and_keep_what_was_sent() {
    let parsed = request(&json!([
        {"method": "POST", "path": "/Users", "data": user("no-bulk-id")},
        {"method": "GET", "path": "/Users/1"},
        {"method": "PUT", "path": "/Users", "data": user("x")},
        {"method": "POST", "path": "/Users/1", "bulkId": "b", "data": user("x")},
        {"method": "PATCH", "path": "/Users/1"},
        {"method": "DELETE", "path": "/Widgets/1"},
        {"method": "POST", "path": "/Users", "bulkId": "", "data": user("x")},
        "not an object",
        post_user("fine"),
    ]));
    let expected = [
        (Some("invalidSyntax"), "'bulkId' is required for POST"),
        (
            Some("invalidSyntax"),
            "POST, PUT, PATCH or DELETE, not 'GET'",
        ),
        (Some("invalidPath"), "PUT needs a resource"),
        (Some("invalidPath"), "POST goes to a resource type"),
        (Some("invalidSyntax"), "PATCH needs 'data'"),
        (Some("invalidPath"), "'/Widgets/1' is not"),
        (Some("invalidValue"), "'bulkId' must not be empty"),
        (Some("invalidSyntax"), "must be a JSON object"),
    ];
    for (entry, (scim_type, detail)) in parsed.entries.iter().zip(expected) {
        let error = entry.operation.as_ref().unwrap_err();
        assert_eq!(error.scim_type(), scim_type, "{entry:?}");
        assert!(
            error.detail().contains(detail),
            "{}: {detail}",
            error.detail()
        );
    }
    assert_eq!(parsed.entries[1].method, "GET");
    assert_eq!(parsed.entries[1].path, "/Users/1");
    assert!(parsed.entries[8].operation.is_ok());
}

#[test]
fn whole_request_problems_fail_the_request() {
    let cases = [
        (json!([]), 400, "JSON object"),
        (json!({"Operations": []}), 400, "schemas"),
        (
            json!({"schemas": [BULK_REQUEST_SCHEMA]}),
            400,
            "'Operations'",
        ),
        (
            json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": vec![post_user("a"); 11]}),
            413,
            "at most 10",
        ),
        (
            json!({"schemas": [BULK_REQUEST_SCHEMA], "failOnErrors": 0, "Operations": []}),
            400,
            "failOnErrors",
        ),
    ];
    for (body, status, detail) in cases {
        let error = parse_bulk(&body, &LIMITS).unwrap_err();
        assert_eq!(error.status(), status, "{body}");
        assert!(error.detail().contains(detail), "{}", error.detail());
    }
    let limited = parse_bulk(
        &json!({"schemas": [BULK_REQUEST_SCHEMA], "failOnErrors": 2, "operations": []}),
        &LIMITS,
    )
    .unwrap();
    assert_eq!(limited.fail_on_errors, Some(2));
}

#[test]
fn references_are_found_anywhere_and_resolved() {
    let parsed = request(&json!([
        {"method": "PATCH", "path": "/Groups/bulkId:g", "data": {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": "bulkId:u1"}, {"value": "plain"}]}],
        }},
        {"method": "PUT", "path": "/Users/x", "data": {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bulkId:not-a-ref?",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "bulkId:boss"}},
        }},
    ]));
    let refs = |i: usize| references(parsed.entries[i].operation.as_ref().unwrap());
    assert_eq!(refs(0).into_iter().collect::<Vec<_>>(), ["g", "u1"]);
    assert_eq!(
        refs(1).into_iter().collect::<Vec<_>>(),
        ["boss", "not-a-ref?"]
    );
    let created = HashMap::from([("u1".to_owned(), "id-1".to_owned())]);
    let data = parsed.entries[0]
        .operation
        .as_ref()
        .unwrap()
        .data
        .clone()
        .unwrap();
    let resolved = resolve_references(&data, &created);
    assert_eq!(
        resolved["Operations"][0]["value"],
        json!([{"value": "id-1"}, {"value": "plain"}])
    );
}

#[test]
fn operations_wait_for_the_posts_they_reference() {
    let parsed = request(&json!([
        post_group("admins", &["bulkId:alice", "bulkId:bob"]),
        {"method": "DELETE", "path": "/Users/bulkId:carol"},
        post_user("alice"),
        post_user("bob"),
        post_user("carol"),
        post_user("dave"),
    ]));
    let plan = execution_order(&parsed);
    assert_eq!(plan.order, [2, 3, 0, 4, 1, 5]);
    assert!(
        plan.failed.is_empty() && plan.circular.is_empty(),
        "{plan:?}"
    );
}

#[test]
fn bulk_id_problems_fail_the_operations_involved() {
    let parsed = request(&json!([
        post_user("alice"),
        post_user("alice"),
        post_group("g1", &["bulkId:nobody"]),
        post_group("g2", &["bulkId:g1"]),
        {"method": "POST", "path": "/Users", "data": user("x")},
        post_group("g3", &["bulkId:alice"]),
    ]));
    let plan = execution_order(&parsed);
    assert_eq!(plan.order, [0, 5]);
    let failed: Vec<(usize, String)> = plan.failed.iter().map(|(i, e)| (*i, e.detail())).collect();
    assert_eq!(failed.len(), 4, "{failed:?}");
    assert!(
        failed[0].1.contains("defined by an earlier operation"),
        "{failed:?}"
    );
    assert!(
        failed[1].1.contains("'nobody' is not defined"),
        "{failed:?}"
    );
    assert!(
        failed[2].1.contains("references by bulkId fails"),
        "{failed:?}"
    );
    assert!(failed[3].1.contains("'bulkId' is required"), "{failed:?}");
    assert_eq!(
        failed.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
}

#[test]
fn cycles_are_reported_apart() {
    let parsed = request(&json!([
        post_group("a", &["bulkId:b"]),
        post_group("b", &["bulkId:a"]),
        post_group("c", &["bulkId:a"]),
        post_group("self", &["bulkId:self"]),
        post_user("free"),
    ]));
    let plan = execution_order(&parsed);
    assert_eq!(plan.order, [4]);
    assert_eq!(plan.circular, [0, 1, 2, 3]);
    assert!(plan.failed.is_empty());
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever the references, every entry is run, failed or circular exactly once, and
        /// an entry runs only after every POST it references.
        #[test]
        fn every_entry_has_one_fate_and_dependencies_run_first(
            references in proptest::collection::vec(proptest::collection::vec(0usize..12, 0..3), 1..=10)
        ) {
            let n = references.len();
            let operations: Vec<Value> = references
                .iter()
                .enumerate()
                .map(|(i, refs)| {
                    let members: Vec<String> = refs.iter().map(|r| format!("bulkId:b{r}")).collect();
                    let members: Vec<&str> = members.iter().map(String::as_str).collect();
                    post_group(&format!("b{i}"), &members)
                })
                .collect();
            let parsed = request(&Value::Array(operations));
            let plan = execution_order(&parsed);
            let mut fates: Vec<usize> = plan
                .order
                .iter()
                .chain(plan.failed.iter().map(|(i, _)| i))
                .chain(&plan.circular)
                .copied()
                .collect();
            fates.sort_unstable();
            prop_assert_eq!(fates, (0..n).collect::<Vec<_>>());
            let position: HashMap<usize, usize> =
                plan.order.iter().enumerate().map(|(at, i)| (*i, at)).collect();
            for (at, index) in plan.order.iter().enumerate() {
                for r in &references[*index] {
                    prop_assert!(*r < n, "ran {index} whose reference b{r} is undefined");
                    prop_assert!(position.get(r).is_some_and(|p| *p < at));
                }
            }
        }
    }
}
