//! The storage contract: one suite of tests every store must pass, generic over the
//! store ([`ContractStore`]: every storage port of `scim-core`). It runs in CI against the
//! reference store in memory (`scim-memory`), SQLite (a temporary file) and PostgreSQL (a
//! fresh database cloned from a migrated template), so no two can drift apart; a Rust
//! service with its own store runs it too.
//!
//! A store's `tests/contract.rs` is one line (two for a database store):
//!
//! ```ignore
//! scim_testkit::contract_tests!(scim_testkit::memory::factory());
//! scim_testkit::contract_tests!(scim_testkit::sqlite::factory());
//! scim_testkit::sql_contract_tests!(scim_testkit::sqlite::factory());
//! ```
//!
//! which generates one `#[tokio::test]` per contract test, each opening a fresh store from
//! the factory. The factory expression is a future yielding `Option<impl StoreFactory>`
//! (`None` skips the tests: PostgreSQL unreachable outside CI). Another store implements
//! [`StoreFactory`]: `open` returns an empty store in a [`TestStore`] with a way to open a
//! second handle on the same data (`scim_testkit::memory` is the whole of one).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support: failing loudly on a broken fixture is the point"
)]

pub mod activity;
pub mod admin;
pub mod agreement;
pub mod contract;
pub mod events;
pub mod fixtures;
pub mod idempotency;
pub mod invariants;
pub mod jobs;
pub mod license_tables;
pub mod licensing;
pub mod membership;
pub mod memory;
pub mod oracle;
pub mod patching;
pub mod portal;
pub mod postgres;
pub mod purge;
pub mod push;
pub mod secrets;
pub mod sqlite;
pub mod tenant_schema;

use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;

use scim_core::SchemaRegistry;
use scim_core::ports::Storage;
use scim_core::secrets::SecretKeys;
use scim_store::{DieselStore, OpenError, StoreConfig};

use crate::fixtures::registry;

/// What the contract suite holds a store to: every storage port ([`Storage`]), and clones
/// that are handles on the same data.
pub trait ContractStore: Storage + Clone {}

impl<T: Storage + Clone> ContractStore for T {}

/// Opens fresh, empty stores of one kind: what the contract suite runs on.
pub trait StoreFactory: Send + Sync {
    /// The store under test.
    type Store: ContractStore;

    /// A store of its own, empty.
    fn open(&self) -> impl Future<Output = TestStore<Self::Store>> + Send;
}

/// How a store is opened: `scim_store::open`.
pub type OpenStore = fn(&str, Arc<SchemaRegistry>, &StoreConfig) -> Result<DieselStore, OpenError>;

/// Makes fresh databases of one SQL backend: what the contract suite and the SQL-only
/// tests (raw rows, secrets at rest, scan limits) run on.
pub trait SqlStoreFactory: Send + Sync {
    /// How the backend opens a store.
    const OPEN: OpenStore;

    /// An empty database of its own (migrated or not; opening a store migrates it).
    fn database(&self) -> impl Future<Output = TestDatabase> + Send;
}

impl<F: SqlStoreFactory> StoreFactory for F {
    type Store = DieselStore;

    async fn open(&self) -> TestStore<DieselStore> {
        TestStore::open(self.database().await, Self::OPEN).await
    }
}

/// What keeps a test database alive: a temporary directory, or a guard that drops the
/// database.
pub type DatabaseGuard = Box<dyn Send + Sync>;

/// A database of its own, removed when this is dropped. Also for tests that start the
/// server binary on it (`--database-url`).
pub struct TestDatabase {
    url: String,
    _guard: DatabaseGuard,
}

impl TestDatabase {
    pub fn new(url: String, guard: DatabaseGuard) -> Self {
        Self { url, _guard: guard }
    }

    /// The database URL, as `--database-url` takes it.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// A store of its own, with what it is kept on (a database, removed when the `TestStore`
/// is dropped; or memory).
pub struct TestStore<S> {
    // Fields drop in order: the pool closes before its database goes away.
    store: S,
    reopen: Arc<dyn Fn() -> S + Send + Sync>,
    sql: Option<(OpenStore, TestDatabase)>,
}

impl<S: Send + 'static> TestStore<S> {
    /// A store and how to open a second one on the same data.
    pub fn new(store: S, reopen: Arc<dyn Fn() -> S + Send + Sync>) -> Self {
        Self {
            store,
            reopen,
            sql: None,
        }
    }

    /// A second store on the same data, opened anew (a database store is migrated again).
    pub async fn reopen(&self) -> S {
        let reopen = Arc::clone(&self.reopen);
        blocking(move || reopen()).await
    }
}

impl TestStore<DieselStore> {
    /// Opens a store on `database` with `open`.
    pub async fn open(database: TestDatabase, open: OpenStore) -> Self {
        let url = database.url().to_owned();
        let reopen: Arc<dyn Fn() -> DieselStore + Send + Sync> = Arc::new(move || {
            open(&url, registry(), &test_config())
                .unwrap_or_else(|error| panic!("cannot open the store: {error}"))
        });
        let store = blocking({
            let reopen = Arc::clone(&reopen);
            move || reopen()
        })
        .await;
        Self {
            store,
            reopen,
            sql: Some((open, database)),
        }
    }

    fn sql(&self) -> (OpenStore, String) {
        let (open, database) = self.sql.as_ref().expect("a store on a database");
        (*open, database.url().to_owned())
    }

    /// A second store on the same database, opened with other secret keys.
    pub async fn reopen_with_keys(&self, keys: SecretKeys) -> Result<DieselStore, OpenError> {
        let (open, url) = self.sql();
        let config = StoreConfig {
            secret_keys: keys,
            ..test_config()
        };
        blocking(move || open(&url, registry(), &config)).await
    }

    /// Runs SQL on the database directly, bypassing the store (to see or forge what it
    /// keeps).
    pub async fn raw<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut scim_store::connection::DbConnection) -> T + Send + 'static,
    ) -> T {
        let (_, url) = self.sql();
        blocking(move || {
            let database = scim_store::Database::from_url(&url).expect("a database URL");
            let manager = scim_store::connection::ConnectionManager::new(
                database,
                std::time::Duration::from_secs(10),
            );
            let mut connection = manager.establish().expect("a raw connection");
            work(&mut connection)
        })
        .await
    }
}

impl<S> Deref for TestStore<S> {
    type Target = S;

    fn deref(&self) -> &S {
        &self.store
    }
}

/// The secret key test stores seal with (a fixed one, so that every store a test opens on
/// one database opens its secrets; the acceptance tests give it to the server too).
pub const TEST_SECRET_KEY: &str = "dGVzdC1zZWNyZXQta2V5LW9mLTMyLWJ5dGVzLWxvbmc=";

/// The key ring of [`TEST_SECRET_KEY`].
pub fn test_keys() -> SecretKeys {
    SecretKeys::parse(TEST_SECRET_KEY).expect("the test key parses")
}

/// The pool settings of test stores.
pub fn test_config() -> StoreConfig {
    StoreConfig {
        pool_size: 4,
        connect_timeout: std::time::Duration::from_secs(10),
        secret_keys: test_keys(),
    }
}

/// Runs blocking work (opening stores, administering databases) off the runtime.
pub async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    }
}

/// Generates one `#[tokio::test]` per contract test, each getting the factory from
/// `$factory` (a future of `Option<impl StoreFactory>`; `None` skips). The list of tests
/// lives here only, so the stores cannot run different suites: every store runs this one,
/// the SQL stores [`sql_contract_tests!`] as well.
#[macro_export]
macro_rules! contract_tests {
    ($factory:expr) => {
        $crate::contract_tests!(@each $factory;
            resources_round_trip,
            batch_writes_fail_one_by_one,
            unknown_ids_are_not_found,
            tenants_are_isolated,
            user_names_are_unique_by_fold_key,
            updates_check_the_version,
            deletes_check_the_version,
            concurrent_updates_let_one_win,
            lists_page_count_and_sort,
            empty_keyset_pages_lead_back,
            list_filters_run_on_key_columns,
            tokens_are_found_listed_and_revoked,
            clients_and_their_tokens,
            api_keys_are_found_listed_touched_and_revoked,
            idempotency_keys_are_recorded_once_and_kept,
            activity_is_kept_read_and_pruned,
            portal_links_and_sessions_are_kept_and_revoked,
            client_certificates_are_pinned_per_tenant,
            tenant_slugs_are_unique,
            a_deleted_tenant_leaves_nothing_behind,
            ping_and_reopen,
            list_agrees_with_the_evaluator,
            group_members_change_with_the_group,
            bad_member_references_are_rejected,
            deletes_remove_memberships,
            users_show_direct_and_indirect_groups,
            memberships_load_only_when_asked,
            group_lists_filter_by_members,
            large_groups_change_by_what_is_named,
            pools_and_rules_are_kept_per_tenant,
            licenses_follow_the_user_lifecycle,
            group_licensing_follows_membership,
            admin_changes_reevaluate_while_seats_last,
            a_rule_preview_foretells_the_reevaluation,
            seats_are_never_over_assigned_under_concurrency,
            overage_pools_grant_their_allowance_and_no_more,
            pending_pools_give_each_freed_seat_to_the_oldest_waiting,
            terms_are_settled_once_across_processes,
            retention_prunes_history_in_batches_and_tells_who_fell_behind,
            striped_seats_add_up_under_concurrent_takes_and_releases,
            batched_new_users_take_seats_in_order,
            the_engine_tables_hold_in_the_store,
            bulk_jobs_are_leased_checkpointed_and_resumed,
            concurrent_claims_take_each_job_once,
            job_claims_take_turns_between_tenants,
            writes_record_their_events_in_the_same_transaction,
            the_poll_feed_keeps_events_until_acknowledged,
            event_generations_move_with_the_tenants_events,
            signing_keys_are_kept_newest_first,
            push_deliveries_go_in_order_per_subject_until_settled,
            concurrent_delivery_claims_take_each_delivery_once,
            login_links_open_one_session_once,
            usage_is_snapshotted_per_pool_and_day,
            license_invariants_hold_under_random_lifecycles,
            patch_then_get_equals_the_plan,
            tenant_attributes_are_kept_and_queried,
        );
    };
    (@each $factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(factory) = $factory.await {
                    $crate::contract::$name(&factory).await;
                }
            }
        )*
    };
}

/// The tests of what only a database store has (`$factory`: `Option<impl
/// SqlStoreFactory>`): rows read as they are stored, secrets sealed at rest, the SQL
/// prefilter under a scan limit, `startIndex` walks read on from the last page.
#[macro_export]
macro_rules! sql_contract_tests {
    ($factory:expr) => {
        $crate::contract_tests!(@each $factory;
            unreadable_rows_are_corrupt_not_unavailable,
            secrets_are_sealed_at_rest,
            idempotent_responses_are_sealed_at_rest,
            in_memory_queries_load_at_most_their_scan_limit,
            startindex_walks_read_on_from_the_last_page,
        );
    };
}

#[cfg(test)]
mod tests {
    /// Every `pub async fn` of the contract modules is in the macro's list (a test missing
    /// from the list would silently run nowhere; one missing from the modules fails to
    /// compile).
    #[test]
    fn the_macro_runs_every_contract_test() {
        let contract = [
            include_str!("contract.rs"),
            include_str!("membership.rs"),
            include_str!("licensing.rs"),
            include_str!("license_tables.rs"),
            include_str!("jobs.rs"),
            include_str!("events.rs"),
            include_str!("push.rs"),
            include_str!("secrets.rs"),
            include_str!("admin.rs"),
            include_str!("invariants.rs"),
            include_str!("patching.rs"),
            include_str!("tenant_schema.rs"),
        ]
        .concat();
        let lib = include_str!("lib.rs");
        // Both macros' lists.
        let list = &lib[lib.find("@each $factory;").unwrap()..lib.find("mod tests").unwrap()];
        let mut count = 0;
        for line in contract.lines() {
            // Contract tests take a factory; helpers do not.
            if let Some(rest) = line.strip_prefix("pub async fn ")
                && rest.contains("StoreFactory")
            {
                let name = &rest[..rest.find(['<', '(']).unwrap()];
                assert!(
                    list.contains(&format!("{name},")),
                    "{name} is not in contract_tests!"
                );
                count += 1;
            }
        }
        assert!(count > 10, "found only {count} contract tests");
    }
}
