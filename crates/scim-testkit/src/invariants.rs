//! License invariants under random lifecycles, on every store: sequences of creates,
//! updates (entitlements, roles, `active`), deletes, seat changes and rule changes drawn by
//! proptest (deterministically, so a failure names its sequence and replays), each followed
//! by a check that
//! - every pool's `used` equals the users holding its sku,
//! - inactive users hold nothing,
//! - no write takes a pool beyond its seats: after any step, `used` is at most the larger of
//!   the seats and the use before it (a pool is over its seats only when an admin lowered
//!   them, and then its use never grows).

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use scim_core::license::{MappingRule, MappingSource, Pool};
use scim_core::query::ListQuery;
use scim_core::resource::Resource;
use scim_core::schema::LICENSE_USER_EXTENSION;
use scim_core::tenant::Tenant;
use scim_core::{Expand, ResourceKind};
use serde_json::{Value, json};

use crate::contract::with_tenant;
use crate::fixtures::{next_version, user, with, writer};
use crate::{ContractStore, StoreFactory, TestStore};

/// Sequences per store, and steps per sequence.
const SEQUENCES: usize = 12;
const STEPS: usize = 30;

/// What a user asks for.
#[derive(Debug, Clone, Copy)]
struct Wants {
    pro: bool,
    basic: bool,
    /// The role value `Dev`, which a rule may map to `basic`.
    dev: bool,
    active: bool,
}

#[derive(Debug, Clone)]
enum Step {
    Create(u8, Wants),
    Update(u8, Wants),
    Delete(u8),
    Seats(&'static str, i64),
    Rule(bool),
}

fn wants() -> impl Strategy<Value = Wants> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(pro, basic, dev, active)| Wants {
            pro,
            basic,
            dev,
            active,
        })
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u8..8, wants()).prop_map(|(u, w)| Step::Create(u, w)),
        4 => (0u8..8, wants()).prop_map(|(u, w)| Step::Update(u, w)),
        1 => (0u8..8).prop_map(Step::Delete),
        1 => (prop::sample::select(vec!["pro", "basic"]), 0i64..6).prop_map(|(s, n)| Step::Seats(s, n)),
        1 => any::<bool>().prop_map(Step::Rule),
    ]
}

fn resource(id: &str, wants: Wants) -> Resource {
    let entitlements: Vec<Value> = [("pro", wants.pro), ("basic", wants.basic)]
        .iter()
        .filter(|(_, wanted)| *wanted)
        .map(|(sku, _)| json!({"value": sku}))
        .collect();
    let mut resource = with(user(id, id), "active", json!(wants.active));
    if !entitlements.is_empty() {
        resource = with(resource, "entitlements", Value::Array(entitlements));
    }
    if wants.dev {
        resource = with(resource, "roles", json!([{"value": "Dev"}]));
    }
    resource
}

/// Random lifecycles keep the license invariants on this store.
pub async fn license_invariants_hold_under_random_lifecycles<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    );
    let sequences = prop::collection::vec(step(), STEPS);
    for n in 0..SEQUENCES {
        let steps = sequences
            .new_tree(&mut runner)
            .expect("a sequence")
            .current();
        let tenant = with_tenant(&store, &format!("invariants-{n}")).await;
        run(&store, &tenant, &steps).await;
    }
}

async fn run<S: ContractStore>(store: &TestStore<S>, tenant: &Tenant, steps: &[Step]) {
    let ctx = writer(&tenant.id);
    for (sku, seats) in [("pro", 2), ("basic", 3)] {
        crate::fixtures::set_pool(&**store, &ctx, &Pool::new(sku, seats))
            .await
            .unwrap();
    }
    let rule = MappingRule::new(MappingSource::Role, "Dev", "basic");
    let mut live: HashMap<u8, Resource> = HashMap::new();
    let mut millis = 10_000;
    for (i, step) in steps.iter().enumerate() {
        let before = pools(store, tenant).await;
        millis += 1_000;
        // Refusals (no seat, a taken userName, a missing rule) are outcomes like any other:
        // the invariants must hold after them too.
        match step {
            Step::Create(u, wants) => {
                let created = resource(&format!("u{u}"), *wants);
                if store.insert(&ctx, &created, &[]).await.is_ok() {
                    live.insert(*u, created);
                }
            }
            Step::Update(u, wants) => {
                if let Some(current) = live.get(u) {
                    let mut updated = next_version(&resource(&format!("u{u}"), *wants), millis);
                    updated.meta.version = current.meta.version + 1;
                    let version = current.meta.version;
                    if store.update(&ctx, &updated, version, &[]).await.is_ok() {
                        live.insert(*u, updated);
                    }
                }
            }
            Step::Delete(u) => {
                if store
                    .delete(&ctx, ResourceKind::User, &format!("u{u}"), None)
                    .await
                    .is_ok()
                {
                    live.remove(u);
                }
            }
            Step::Seats(sku, seats) => {
                crate::fixtures::set_pool(&**store, &ctx, &Pool::new(*sku, *seats))
                    .await
                    .unwrap();
            }
            Step::Rule(true) => {
                crate::fixtures::add_rule(&**store, &ctx, &rule)
                    .await
                    .unwrap();
            }
            Step::Rule(false) => {
                crate::fixtures::remove_rule(&**store, &ctx, &rule)
                    .await
                    .ok();
            }
        }
        check(store, tenant, &before, &steps[..=i]).await;
    }
}

/// `(seats, used)` by sku.
async fn pools<S: ContractStore>(
    store: &TestStore<S>,
    tenant: &Tenant,
) -> BTreeMap<String, (i64, i64)> {
    store
        .pools(&tenant.id)
        .await
        .unwrap()
        .into_iter()
        .map(|pool| (pool.sku, (pool.seats, pool.used)))
        .collect()
}

async fn check<S: ContractStore>(
    store: &TestStore<S>,
    tenant: &Tenant,
    before: &BTreeMap<String, (i64, i64)>,
    steps: &[Step],
) {
    let expand = Expand {
        licenses: true,
        ..Expand::default()
    };
    let query = ListQuery {
        count: 100,
        ..ListQuery::default()
    };
    let users = store
        .list(&tenant.id, ResourceKind::User, &query, expand)
        .await
        .unwrap()
        .resources;
    let mut holders: BTreeMap<String, i64> = BTreeMap::new();
    for user in &users {
        let skus: Vec<String> = user
            .attributes
            .get(LICENSE_USER_EXTENSION)
            .and_then(|extension| extension["licenses"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|license| license["sku"].as_str().map(str::to_owned))
            .collect();
        let active = user.attributes.get("active") != Some(&json!(false));
        assert!(
            active || skus.is_empty(),
            "inactive {} holds {skus:?} after {steps:?}",
            user.id
        );
        for sku in skus {
            *holders.entry(sku).or_default() += 1;
        }
    }
    for (sku, (seats, used)) in pools(store, tenant).await {
        let held = holders.get(&sku).copied().unwrap_or(0);
        assert_eq!(used, held, "{sku}: used vs holders after {steps:?}");
        let used_before = before.get(&sku).map_or(0, |(_, used)| *used);
        assert!(
            used <= seats.max(used_before),
            "{sku}: {used} used of {seats} seats (was {used_before}) after {steps:?}"
        );
    }
}
