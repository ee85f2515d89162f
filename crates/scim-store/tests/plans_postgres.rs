//! Plans that do not depend on luck: on a freshly loaded tenant of PostgreSQL, before any
//! statistics exist (`ANALYZE` never ran; this machine's autovacuum is off, and a new
//! customer's first sync runs before autovacuum's first pass anyway), no statement of the
//! hot paths reads a tenant table with a sequential scan.
//!
//! Every statement the store sends while it serves the hot paths (a GET, a lookup, a page,
//! a licensed create, a replace, a group member change, a delete, the poll feed) is caught
//! through diesel's instrumentation, then explained as PostgreSQL runs a prepared statement
//! it has no statistics for: `plan_cache_mode = force_generic_plan`, parameters unknown.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test: a broken fixture should fail it loudly"
)]

use std::collections::BTreeSet;
use std::sync::Mutex;

use diesel::connection::{Instrumentation, InstrumentationEvent, SimpleConnection};
use diesel::prelude::*;
use diesel::sql_types::Text;
use scim_core::license::{MappingRule, MappingSource, Pool};
use scim_core::ports::{
    BatchWrite, EventLog, LicenseLedger, ResourceRepository, TenantDirectory, Webhooks,
};
use scim_core::query::ListQuery;
use scim_core::{Expand, MembershipChange, NewMember, ResourceKind};
use scim_store::connection::DbConnection;
use scim_testkit::StoreFactory;
use scim_testkit::fixtures::{compare, filtered, group, tenant, user, with, writer};
use serde_json::{Value, json};

/// The SQL of every statement started since the last [`take`].
static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn catch() -> Option<Box<dyn Instrumentation>> {
    Some(Box::new(|event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            let text = query.to_string();
            // "SQL -- binds: [..]": the SQL alone.
            let sql = text
                .split(" -- binds: ")
                .next()
                .unwrap_or_default()
                .to_owned();
            SEEN.lock().unwrap_or_else(|e| e.into_inner()).push(sql);
        }
    }))
}

fn take() -> Vec<String> {
    std::mem::take(&mut *SEEN.lock().unwrap_or_else(|e| e.into_inner()))
}

/// The tables that grow with a tenant's directory and history: a sequential scan of one is
/// a cost that grows with every customer.
const GROWING: [&str; 9] = [
    "resources",
    "group_members",
    "license_assignments",
    "license_audit",
    "outbox",
    "poll_acks",
    "deliveries",
    "activity",
    "bulk_jobs",
];

/// The tables that hold `tenant_id` (every tenant-owned one, ADR 0017).
const TENANT_COLUMN: [&str; 17] = [
    "resources",
    "group_members",
    "poll_acks",
    "deliveries",
    "bulk_job_outcomes",
    "license_pools",
    "seat_stripes",
    "license_rules",
    "license_assignments",
    "license_audit",
    "license_usage_daily",
    "outbox",
    "event_horizons",
    "receivers",
    "bulk_jobs",
    "activity",
    "activity_hours",
];

/// The statements that read or write rows (not transaction control), once each.
fn queries(seen: Vec<String>) -> BTreeSet<String> {
    seen.into_iter()
        .filter(|sql| {
            let head = sql.trim_start().to_ascii_uppercase();
            ["SELECT", "INSERT", "UPDATE", "DELETE", "WITH"]
                .iter()
                .any(|verb| head.starts_with(verb))
        })
        .collect()
}

/// The relations a plan reads with a sequential scan.
fn seq_scans(plan: &Value, out: &mut Vec<String>) {
    if plan["Node Type"] == "Seq Scan"
        && let Some(relation) = plan["Relation Name"].as_str()
    {
        out.push(relation.to_owned());
    }
    for child in plan["Plans"].as_array().into_iter().flatten() {
        seq_scans(child, out);
    }
}

/// The generic plan of `sql` as a prepared statement with unknown parameters.
fn generic_plan(connection: &mut PgConnection, sql: &str) -> Result<Value, String> {
    // The highest `$n` the statement names.
    let parameters = sql
        .split('$')
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<usize>().ok()
        })
        .max()
        .unwrap_or(0);
    connection
        .batch_execute("SET plan_cache_mode = force_generic_plan; DEALLOCATE ALL")
        .map_err(|e| e.to_string())?;
    connection
        .batch_execute(&format!("PREPARE hot AS {sql}"))
        .map_err(|e| e.to_string())?;
    let nulls = vec!["NULL"; parameters].join(", ");
    let execute = if parameters == 0 {
        "EXECUTE hot".to_owned()
    } else {
        format!("EXECUTE hot ({nulls})")
    };
    #[derive(QueryableByName)]
    struct Explained {
        #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
        plan: String,
    }
    let rows: Vec<Explained> = diesel::sql_query(format!("EXPLAIN (FORMAT JSON) {execute}"))
        .load(connection)
        .map_err(|e| e.to_string())?;
    let plan: Value = serde_json::from_str(&rows[0].plan).map_err(|e| e.to_string())?;
    Ok(plan[0]["Plan"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_statements_use_indexes_before_any_statistics() {
    diesel::connection::set_default_instrumentation(catch).expect("instrumentation");
    let Some(factory) = scim_testkit::postgres::factory("scim-store postgres plans").await else {
        return;
    };
    let store = factory.open().await;
    let acme = tenant("acme");
    store.create_tenant(&acme).await.unwrap();
    let ctx = writer(&acme.id);
    scim_testkit::fixtures::set_pool(&*store, &ctx, &Pool::new("pro", 1_000_000))
        .await
        .unwrap();
    let rule = MappingRule::new(MappingSource::Group, "Engineering", "pro");
    scim_testkit::fixtures::add_rule(&*store, &ctx, &rule)
        .await
        .unwrap();
    // A tenant with a webhook (that never answers: every event's push waits), and its first
    // sync: 20,000 licensed users.
    store
        .add_receiver(&scim_testkit::fixtures::receiver("r1", &acme))
        .await
        .unwrap();
    for chunk in 0..20 {
        let writes: Vec<BatchWrite> = (0..1_000)
            .map(|n| {
                let id = format!("u{}", chunk * 1_000 + n);
                let resource = user(&id, &format!("{id}@acme.test"));
                let resource = with(resource, "entitlements", json!([{"value": "pro"}]));
                BatchWrite::Insert {
                    resource,
                    members: Vec::new(),
                    events: Vec::new(),
                }
            })
            .collect();
        store.write_batch(&ctx, &writes).await.unwrap();
    }
    take();

    // The hot paths.
    let expand = Expand {
        licenses: true,
        ..Expand::default()
    };
    let found = store
        .get(&acme.id, ResourceKind::User, "u12345", expand)
        .await
        .unwrap();
    assert!(found.is_some());
    let lookup = filtered(compare(
        "userName",
        scim_core::filter::CompareOp::Eq,
        "U777@acme.test",
    ));
    let page = store
        .list(&acme.id, ResourceKind::User, &lookup, expand)
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    let deep = ListQuery {
        start_index: 15_001,
        count: 100,
        ..ListQuery::default()
    };
    store
        .list(&acme.id, ResourceKind::User, &deep, expand)
        .await
        .unwrap();
    let licensed = with(
        user("new", "new@acme.test"),
        "entitlements",
        json!([{"value": "pro"}]),
    );
    store.insert(&ctx, &licensed, &[]).await.unwrap();
    let stored = store
        .get(&acme.id, ResourceKind::User, "new", Expand::default())
        .await
        .unwrap()
        .unwrap();
    let replaced = scim_testkit::fixtures::next_version(&user("new", "new@acme.test"), 5_000);
    store
        .update(&ctx, &replaced, stored.meta.version, &[])
        .await
        .unwrap();
    let members: Vec<NewMember> = (0..100).map(|n| NewMember::id(format!("u{n}"))).collect();
    store
        .insert(
            &ctx,
            &group("g1", "Engineering"),
            &[MembershipChange::Add(members)],
        )
        .await
        .unwrap();
    let engineering = store
        .get(&acme.id, ResourceKind::Group, "g1", Expand::default())
        .await
        .unwrap()
        .unwrap();
    let more: Vec<NewMember> = (100..200).map(|n| NewMember::id(format!("u{n}"))).collect();
    let renamed = scim_testkit::fixtures::next_version(&engineering, 6_000);
    store
        .update(
            &ctx,
            &renamed,
            engineering.meta.version,
            &[MembershipChange::Add(more)],
        )
        .await
        .unwrap();
    store
        .delete(&ctx, ResourceKind::User, "u19999", None)
        .await
        .unwrap();
    store.unacknowledged(&acme.id, 100).await.unwrap();
    // A receiver's pushes, and an acknowledgement of the poll feed.
    let pushed = with(
        user("pushed", "pushed@acme.test"),
        "entitlements",
        json!([{"value": "pro"}]),
    );
    store.insert(&ctx, &pushed, &[]).await.unwrap();
    store.receivers(&acme.id).await.unwrap();
    let recent = store.events_after(&acme.id, 0, 1).await.unwrap();
    store
        .acknowledge(
            &acme.id,
            &[recent[0].seq],
            scim_testkit::fixtures::time(9_000),
        )
        .await
        .unwrap();
    store.events_after(&acme.id, 0, 100).await.unwrap();
    store.pools(&acme.id).await.unwrap();
    assert!(store.find_tenant("acme").await.unwrap().is_some());
    let hot: BTreeSet<String> = queries(take());
    // Retention's batches walk the histories by their primary keys, across tenants.
    let long_ago = scim_testkit::fixtures::time(0);
    store.prune_events(long_ago, 1_000).await.unwrap();
    store.prune_audit(long_ago, 1_000).await.unwrap();
    // The dispatchers' claim (nothing is due so long ago: it takes nothing).
    let claimed = store
        .claim_deliveries(long_ago, long_ago, 16)
        .await
        .unwrap();
    assert!(claimed.is_empty());
    let statements: BTreeSet<String> = hot.iter().cloned().chain(queries(take())).collect();

    // Every statement of a tenant's request that reads or writes a table holding
    // `tenant_id` names the tenant (what a distributed engine routes on; ADR 0017). The
    // tables without the column yet are the ADR's to change; `tenants` is a reference table.
    let unnamed: Vec<&String> = (hot.iter())
        .filter(|sql| {
            TENANT_COLUMN
                .iter()
                .any(|table| sql.contains(&format!("\"{table}\"")))
                && !sql.contains("tenant_id")
        })
        .collect();
    assert!(
        unnamed.is_empty(),
        "statements that do not name the tenant:\n{unnamed:#?}"
    );
    assert!(
        statements.len() > 20,
        "the hot paths sent {} statements",
        statements.len()
    );
    for table in [
        "resources",
        "group_members",
        "license_assignments",
        "outbox",
        "poll_acks",
    ] {
        let quoted = format!("\"{table}\"");
        assert!(
            statements
                .iter()
                .any(|sql| sql.contains(&quoted) || sql.contains(table)),
            "no statement read {table}: the hot paths were not all run"
        );
    }
    let offenders: Vec<String> = store
        .raw(move |connection| {
            let DbConnection::Pg(connection) = connection else {
                panic!("a PostgreSQL connection");
            };
            let mut offenders = Vec::new();
            for sql in &statements {
                let plan = generic_plan(connection, sql)
                    .unwrap_or_else(|error| panic!("cannot explain {sql}: {error}"));
                let mut scanned = Vec::new();
                seq_scans(&plan, &mut scanned);
                scanned.retain(|relation| GROWING.contains(&relation.as_str()));
                if !scanned.is_empty() {
                    offenders.push(format!("{scanned:?} in {sql}\n  plan: {plan}"));
                }
            }
            offenders
        })
        .await;
    assert!(
        offenders.is_empty(),
        "statements that scan a growing table without statistics:\n{}",
        offenders.join("\n")
    );
}
