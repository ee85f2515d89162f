//! A database of the previous release migrates to this one with its data intact, on both
//! backends: a tenant's users, groups, licenses (held and waiting), pools, rules, audit
//! log and events are written, the database is taken back to the previous release's last
//! migration (each newer migration's `down.sql`), and a store opened on it again (which
//! runs this release's migrations) reads every one of them back as it was.
//!
//! The data is written by this release's store before the schema is taken back, so it
//! only uses what both schemas hold: the test guards the new migrations' `up.sql` on a
//! database holding data, and their `down.sql` on the way.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test: a broken fixture should fail it loudly"
)]

use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use scim_core::license::{AuditQuery, MappingRule, MappingSource, Pool, PoolPolicy};
use scim_core::ports::{EventLog, LicenseLedger, ResourceRepository, TenantDirectory, Webhooks};
use scim_core::query::ListQuery;
use scim_core::{Expand, MembershipChange, NewMember, ResourceKind, WriteContext};
use scim_store::DieselStore;
use scim_store::connection::DbConnection;
use scim_testkit::fixtures::{group, tenant, time, user, with, writer};
use scim_testkit::{ContractStore, StoreFactory, TestStore};
use serde_json::json;

/// The last migration of the previous release (the landing before issue 23's terms).
const PREVIOUS_RELEASE: &str = "20261207000022";

const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// Reverts migrations until the previous release's last one is the newest applied: the
/// versions reverted, newest first.
fn back_to_previous_release(connection: &mut DbConnection) -> Vec<String> {
    let postgres = matches!(connection, DbConnection::Pg(_));
    let migrations = || if postgres { POSTGRES } else { SQLITE };
    let mut reverted = Vec::new();
    loop {
        let applied = connection
            .applied_migrations()
            .expect("the applied migrations");
        let newest = applied
            .iter()
            .map(ToString::to_string)
            .max()
            .expect("migrated");
        if newest.as_str() <= PREVIOUS_RELEASE {
            return reverted;
        }
        let version = connection
            .revert_last_migration(migrations())
            .expect("a migration reverted");
        reverted.push(version.to_string());
    }
}

/// What the tenant holds, as the store reads it: users and their licenses, groups and
/// their members, pools, audit entries, events.
async fn holdings<S: ContractStore>(store: &S, ctx: &WriteContext) -> String {
    let expand = Expand {
        licenses: true,
        members: true,
        ..Expand::default()
    };
    let query = ListQuery {
        count: 100,
        ..ListQuery::default()
    };
    let users = store
        .list(&ctx.tenant, ResourceKind::User, &query, expand)
        .await
        .unwrap();
    let groups = store
        .list(&ctx.tenant, ResourceKind::Group, &query, expand)
        .await
        .unwrap();
    let strip = |resource: &scim_core::Resource| {
        let mut attributes = resource.attributes.clone();
        // `assigned` and versions are as stored; the rest is compared whole.
        attributes.remove("meta");
        (resource.id.clone(), serde_json::Value::Object(attributes))
    };
    let pools = store.pools(&ctx.tenant).await.unwrap();
    let rules = store.rules(&ctx.tenant).await.unwrap();
    let audit = store
        .audit(&ctx.tenant, &AuditQuery::default())
        .await
        .unwrap();
    let events = store.events_after(&ctx.tenant, 0, 1_000).await.unwrap();
    let events: Vec<_> = events
        .iter()
        .map(|e| (e.seq, e.event.subject.clone()))
        .collect();
    let waiting: Vec<i64> = (store
        .unacknowledged(&ctx.tenant, 1_000)
        .await
        .unwrap()
        .iter())
    .map(|e| e.seq)
    .collect();
    let pushes: Vec<(String, i64)> = (store.receivers(&ctx.tenant).await.unwrap().into_iter())
        .map(|status| (status.receiver.id, status.pending))
        .collect();
    format!(
        "users {:?}\ngroups {:?}\npools {pools:?}\nrules {rules:?}\naudit {audit:?}\nevents {events:?}\n\
         unacknowledged {waiting:?}\npushes {pushes:?}",
        users.resources.iter().map(strip).collect::<Vec<_>>(),
        groups.resources.iter().map(strip).collect::<Vec<_>>(),
    )
}

async fn upgrade_keeps_the_data(store: TestStore<DieselStore>) {
    let acme = tenant("acme");
    store.create_tenant(&acme).await.unwrap();
    let ctx = WriteContext {
        at: time(5_000),
        ..writer(&acme.id)
    };
    let pending = Pool::new("pro", 2)
        .named("Pro")
        .with_policy(PoolPolicy::Pending);
    scim_testkit::fixtures::set_pool(&*store, &ctx, &pending)
        .await
        .unwrap();
    scim_testkit::fixtures::set_pool(&*store, &ctx, &Pool::new("basic", 10))
        .await
        .unwrap();
    store
        .add_receiver(&scim_testkit::fixtures::receiver("r1", &acme))
        .await
        .unwrap();
    let rule = MappingRule::new(MappingSource::Group, "Engineering", "basic");
    scim_testkit::fixtures::add_rule(&*store, &ctx, &rule)
        .await
        .unwrap();
    for n in 0..3 {
        let id = format!("u{n}");
        let resource = with(
            user(&id, &format!("{id}@acme.test")),
            "entitlements",
            json!([{"value": "pro"}]),
        );
        store.insert(&ctx, &resource, &[]).await.unwrap();
    }
    let members = vec![NewMember::id("u0"), NewMember::id("u1")];
    store
        .insert(
            &ctx,
            &group("g1", "Engineering"),
            &[MembershipChange::Add(members)],
        )
        .await
        .unwrap();
    // The poll feed acknowledged its first two events.
    let first: Vec<i64> = (store.events_after(&ctx.tenant, 0, 2).await.unwrap().iter())
        .map(|e| e.seq)
        .collect();
    store
        .acknowledge(&ctx.tenant, &first, time(6_000))
        .await
        .unwrap();
    let before = holdings(&*store, &ctx).await;
    assert!(before.contains("pushes [(\"r1\", "), "{before}");
    // Two hold pro, the third waits; two hold basic through the group.
    assert!(before.contains("pending: 1"), "{before}");
    assert!(
        before.contains("\"basic\"") && before.contains("\"g1\""),
        "{before}"
    );

    let reverted = store.raw(back_to_previous_release).await;
    assert!(
        !reverted.is_empty(),
        "this release adds migrations to revert"
    );
    let upgraded = store.reopen().await;
    let after = holdings(&upgraded, &ctx).await;
    assert_eq!(after, before, "reverted {reverted:?}, then migrated again");
    // The tenant columns added since were filled from each row's parent.
    let mismatched: Vec<(String, i64, i64)> = store
        .raw(|connection| {
            use diesel::RunQueryDsl;
            #[derive(diesel::QueryableByName)]
            struct Count {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                rows: i64,
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                wrong: i64,
            }
            let checks = [
                ("group_members", "SELECT count(*) AS rows, count(*) FILTER (WHERE m.tenant_id <> r.tenant_id) AS wrong FROM group_members m JOIN resources r ON r.seq = m.group_seq"),
                ("poll_acks", "SELECT count(*) AS rows, count(*) FILTER (WHERE a.tenant_id <> o.tenant_id) AS wrong FROM poll_acks a JOIN outbox o ON o.seq = a.seq"),
                ("deliveries", "SELECT count(*) AS rows, count(*) FILTER (WHERE d.tenant_id <> r.tenant_id) AS wrong FROM deliveries d JOIN receivers r ON r.id = d.receiver_id"),
            ];
            checks
                .iter()
                .map(|(table, sql)| {
                    let query = diesel::sql_query(*sql);
                    let counted: Vec<Count> = match connection {
                        DbConnection::Pg(connection) => query.load(connection),
                        DbConnection::Sqlite(connection) => query.load(connection),
                    }
                    .expect("counted");
                    ((*table).to_owned(), counted[0].rows, counted[0].wrong)
                })
                .collect()
        })
        .await;
    for (table, rows, wrong) in &mismatched {
        assert!(
            *rows > 0 && *wrong == 0,
            "{table}: {wrong} of {rows} rows with another tenant"
        );
    }
    // And the upgraded database takes writes of this release.
    let late = with(
        user("late", "late@acme.test"),
        "entitlements",
        json!([{"value": "basic"}]),
    );
    upgraded.insert(&ctx, &late, &[]).await.unwrap();
    let pools = upgraded.pools(&ctx.tenant).await.unwrap();
    let basic = pools.iter().find(|pool| pool.sku == "basic").unwrap();
    assert_eq!(basic.used, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_previous_release_database_upgrades_with_its_data_on_postgres() {
    if let Some(factory) = scim_testkit::postgres::factory("scim-store upgrade").await {
        upgrade_keeps_the_data(factory.open().await).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_previous_release_database_upgrades_with_its_data_on_sqlite() {
    if let Some(factory) = scim_testkit::sqlite::factory().await {
        upgrade_keeps_the_data(factory.open().await).await;
    }
}
