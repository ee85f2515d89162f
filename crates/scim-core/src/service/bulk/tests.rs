//! Bulk execution against a mocked store.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

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
