//! The license ledger's contract: pools and mapping rules, per tenant, compared
//! case-insensitively.

use std::sync::Arc;

use scim_core::license::{
    AuditAction, AuditQuery, LicenseSource, MappingRule, MappingSource, Pool, PoolPolicy,
    RuleChange,
};
use scim_core::ports::{EventLog, LicenseLedger, ResourceRepository};
use scim_core::query::ListQuery;
use scim_core::schema::LICENSE_USER_EXTENSION;
use scim_core::service::preview_rule_change;
use scim_core::tenant::Tenant;
use scim_core::{
    Expand, MembershipChange, NewMember, Resource, ResourceKind, StoreError, WriteContext,
};
use serde_json::{Value, json};

use crate::contract::with_tenant;
use crate::fixtures::{group, next_version, user, with, writer};
use crate::{ContractStore, StoreFactory, TestStore};

fn pool(sku: &str, name: &str, seats: i64) -> Pool {
    Pool::new(sku, seats).named(name)
}

fn rule(source: MappingSource, value: &str, sku: &str) -> MappingRule {
    MappingRule::new(source, value, sku)
}

/// Pools are created, then changed in place through any spelling of their sku (keeping the
/// first spelling); rules need a pool, are kept once, and both stay in their tenant.
pub async fn pools_and_rules_are_kept_per_tenant<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let globex = with_tenant(&store, "globex").await;

    let created = crate::fixtures::set_pool(&*store, &ctx(&acme), &pool("Pro", "Pro plan", 5))
        .await
        .unwrap()
        .0;
    assert_eq!(created, pool("Pro", "Pro plan", 5));
    crate::fixtures::set_pool(&*store, &ctx(&acme), &pool("basic", "basic", 100))
        .await
        .unwrap();
    // `used` is the store's own: a caller cannot set it.
    let changed = crate::fixtures::set_pool(
        &*store,
        &ctx(&acme),
        &Pool {
            used: 3,
            ..pool("PRO", "Pro (2027)", 2)
        },
    )
    .await
    .unwrap()
    .0;
    assert_eq!(changed, pool("Pro", "Pro (2027)", 2));
    assert_eq!(
        store.pools(&acme.id).await.unwrap(),
        [pool("basic", "basic", 100), pool("Pro", "Pro (2027)", 2)]
    );
    assert!(store.pools(&globex.id).await.unwrap().is_empty());

    let engineering = rule(MappingSource::Group, "Engineering", "Pro");
    crate::fixtures::add_rule(&*store, &ctx(&acme), &engineering)
        .await
        .unwrap();
    // The same rule in another spelling is the same rule.
    crate::fixtures::add_rule(
        &*store,
        &ctx(&acme),
        &rule(MappingSource::Group, "ENGINEERING", "pro"),
    )
    .await
    .unwrap();
    let developer = rule(MappingSource::Role, "developer", "basic");
    crate::fixtures::add_rule(&*store, &ctx(&acme), &developer)
        .await
        .unwrap();
    let bundle = rule(MappingSource::Role, "developer", "Pro");
    crate::fixtures::add_rule(&*store, &ctx(&acme), &bundle)
        .await
        .unwrap();
    assert_eq!(
        store.rules(&acme.id).await.unwrap(),
        [engineering, developer, bundle]
    );
    assert!(store.rules(&globex.id).await.unwrap().is_empty());
    // A rule needs a pool of its tenant.
    for (tenant, sku) in [(&acme, "ghost"), (&globex, "pro")] {
        let missing = crate::fixtures::add_rule(
            &*store,
            &ctx(tenant),
            &rule(MappingSource::Entitlement, "x", sku),
        )
        .await;
        assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    }
}

fn ctx(tenant: &Tenant) -> WriteContext {
    writer(&tenant.id)
}

/// A user granted `values` as entitlements (or nothing), active or not.
fn licensed(id: &str, entitlements: &[&str], active: bool) -> Resource {
    let entitlements: Vec<Value> = entitlements.iter().map(|v| json!({"value": v})).collect();
    let mut user = with(user(id, id), "active", json!(active));
    if !entitlements.is_empty() {
        user = with(user, "entitlements", Value::Array(entitlements));
    }
    user
}

/// The skus and sources a user holds, as its license extension shows them.
async fn held<S: ContractStore>(
    store: &TestStore<S>,
    tenant: &Tenant,
    id: &str,
) -> Vec<(String, String)> {
    let expand = Expand {
        licenses: true,
        ..Expand::default()
    };
    let user = store
        .get(&tenant.id, ResourceKind::User, id, expand)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("user {id} is gone"));
    user.attributes
        .get(LICENSE_USER_EXTENSION)
        .and_then(|extension| extension["licenses"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|license| {
            assert!(license["assigned"].is_string(), "{license}");
            (
                license["sku"].as_str().unwrap().to_owned(),
                license["source"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn holds(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(sku, source)| ((*sku).to_owned(), (*source).to_owned()))
        .collect()
}

/// `used` of each pool, by sku.
async fn used<S: ContractStore>(store: &TestStore<S>, tenant: &Tenant) -> Vec<(String, i64)> {
    store
        .pools(&tenant.id)
        .await
        .unwrap()
        .into_iter()
        .map(|pool| (pool.sku, pool.used))
        .collect()
}

fn uses(list: &[(&str, i64)]) -> Vec<(String, i64)> {
    list.iter()
        .map(|(sku, n)| ((*sku).to_owned(), *n))
        .collect()
}

async fn set_pools<S: ContractStore>(store: &TestStore<S>, tenant: &Tenant, pools: &[(&str, i64)]) {
    for (sku, seats) in pools {
        crate::fixtures::set_pool(&**store, &ctx(tenant), &pool(sku, sku, *seats))
            .await
            .unwrap();
    }
}

fn assert_no_seat(result: Result<(), StoreError>, sku: &str, seats: i64) {
    match result {
        Err(StoreError::SeatsExhausted {
            sku: actual,
            seats: actual_seats,
            used,
        }) => {
            assert_eq!((actual.as_str(), actual_seats, used), (sku, seats, seats));
        }
        other => panic!("expected no seat in {sku}, got {other:?}"),
    }
}

/// POST assigns, PUT/PATCH assign and revoke the difference, deactivation frees the seats
/// and reactivation takes them again, DELETE frees them; a write that needs a missing seat
/// changes nothing; every change is audited with its actor and cause.
pub async fn licenses_follow_the_user_lifecycle<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    set_pools(&store, &acme, &[("basic", 10), ("pro", 2)]).await;
    crate::fixtures::add_rule(
        &*store,
        &ctx(&acme),
        &rule(MappingSource::Role, "Developer", "pro"),
    )
    .await
    .unwrap();

    let alice = licensed("u1", &["PRO", "unknown"], true);
    store.insert(&ctx(&acme), &alice, &[]).await.unwrap();
    assert_eq!(held(&store, &acme, "u1").await, holds(&[("pro", "direct")]));
    let bob = with(
        licensed("u2", &[], true),
        "roles",
        json!([{"value": "developer"}]),
    );
    store.insert(&ctx(&acme), &bob, &[]).await.unwrap();
    assert_eq!(used(&store, &acme).await, uses(&[("basic", 0), ("pro", 2)]));

    // A third pro seat is not there: nothing of the write happens.
    let carol = licensed("u3", &["pro"], true);
    assert_no_seat(
        store.insert(&ctx(&acme), &carol, &[]).await.map(|_| ()),
        "pro",
        2,
    );
    assert!(
        store
            .get(&acme.id, ResourceKind::User, "u3", Expand::default())
            .await
            .unwrap()
            .is_none()
    );
    let carol = licensed("u3", &["basic"], true);
    store.insert(&ctx(&acme), &carol, &[]).await.unwrap();
    let upgraded = next_version(&licensed("u3", &["basic", "pro"], true), 2_000);
    assert_no_seat(store.update(&ctx(&acme), &upgraded, 1, &[]).await, "pro", 2);
    assert_eq!(
        held(&store, &acme, "u3").await,
        holds(&[("basic", "direct")])
    );

    // Deactivation frees alice's seat; carol takes it; alice cannot come back.
    let inactive = next_version(&licensed("u1", &["pro"], false), 3_000);
    store.update(&ctx(&acme), &inactive, 1, &[]).await.unwrap();
    assert!(held(&store, &acme, "u1").await.is_empty());
    store.update(&ctx(&acme), &upgraded, 1, &[]).await.unwrap();
    assert_eq!(
        held(&store, &acme, "u3").await,
        holds(&[("basic", "direct"), ("pro", "direct")])
    );
    let active = next_version(&licensed("u1", &["pro"], true), 4_000);
    assert_no_seat(store.update(&ctx(&acme), &active, 2, &[]).await, "pro", 2);
    // Deleting bob frees a seat; alice's reactivation takes it.
    store
        .delete(&ctx(&acme), ResourceKind::User, "u2", None)
        .await
        .unwrap();
    store.update(&ctx(&acme), &active, 2, &[]).await.unwrap();
    assert_eq!(held(&store, &acme, "u1").await, holds(&[("pro", "direct")]));
    assert_eq!(used(&store, &acme).await, uses(&[("basic", 1), ("pro", 2)]));

    // Dropping the entitlement revokes just that sku.
    let downgraded = next_version(&upgraded, 5_000);
    let downgraded = with(downgraded, "entitlements", json!([{"value": "basic"}]));
    store
        .update(&ctx(&acme), &downgraded, 2, &[])
        .await
        .unwrap();
    assert_eq!(
        held(&store, &acme, "u3").await,
        holds(&[("basic", "direct")])
    );
    assert_eq!(used(&store, &acme).await, uses(&[("basic", 1), ("pro", 1)]));

    let log = store.audit(&acme.id, &AuditQuery::default()).await.unwrap();
    let summary: Vec<(&str, &str, AuditAction)> = log
        .iter()
        .map(|e| (e.user.as_str(), e.sku.as_str(), e.action))
        .collect();
    use AuditAction::{Assigned, Revoked};
    assert_eq!(
        summary,
        [
            ("u1", "pro", Assigned),
            ("u2", "pro", Assigned),
            ("u3", "basic", Assigned),
            ("u1", "pro", Revoked),
            ("u3", "pro", Assigned),
            ("u2", "pro", Revoked),
            ("u1", "pro", Assigned),
            ("u3", "pro", Revoked),
        ]
    );
    assert!(
        log.iter()
            .all(|e| e.actor == "token:contract" && e.cause == "contract test")
    );
    assert_eq!(log[0].source, Some(LicenseSource::Direct));
    assert_eq!(log[3].source, None);
    // Entries are numbered in the order recorded, and read on from any of them.
    let seqs: Vec<i64> = log
        .iter()
        .map(|e| e.seq.expect("a recorded entry's seq"))
        .collect();
    assert!(seqs.windows(2).all(|pair| pair[0] < pair[1]), "{seqs:?}");
    let rest = AuditQuery {
        after: Some(seqs[2]),
        limit: Some(3),
        ..AuditQuery::default()
    };
    assert_eq!(store.audit(&acme.id, &rest).await.unwrap(), log[3..6]);
    let only_u1 = AuditQuery {
        user: Some("u1".into()),
        ..AuditQuery::default()
    };
    assert_eq!(store.audit(&acme.id, &only_u1).await.unwrap().len(), 3);
    let latest_two = AuditQuery {
        limit: Some(2),
        newest_first: true,
        ..AuditQuery::default()
    };
    let latest = store.audit(&acme.id, &latest_two).await.unwrap();
    assert_eq!(
        latest,
        log[log.len() - 2..]
            .iter()
            .rev()
            .cloned()
            .collect::<Vec<_>>()
    );
}

/// Members of a mapped group (directly or through nested groups) hold its sku while they
/// are members; renaming or deleting the group revokes it unless another source grants it;
/// a membership change that needs a missing seat changes nothing.
pub async fn group_licensing_follows_membership<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    set_pools(&store, &acme, &[("pro", 3)]).await;
    crate::fixtures::add_rule(
        &*store,
        &ctx(&acme),
        &rule(MappingSource::Group, "Engineering", "pro"),
    )
    .await
    .unwrap();
    for user in [
        licensed("u1", &[], true),
        licensed("u2", &[], true),
        licensed("u3", &["pro"], true),
        licensed("u4", &[], true),
    ] {
        store.insert(&ctx(&acme), &user, &[]).await.unwrap();
    }
    let add =
        |ids: &[&str]| MembershipChange::Add(ids.iter().map(|id| NewMember::id(*id)).collect());
    let remove =
        |ids: &[&str]| MembershipChange::Remove(ids.iter().map(|id| (*id).to_owned()).collect());

    // g2 (unmapped) holds u2; g1 "engineering" holds u1, u3 and g2.
    store
        .insert(&ctx(&acme), &group("g2", "Platform"), &[add(&["u2"])])
        .await
        .unwrap();
    assert_eq!(used(&store, &acme).await, uses(&[("pro", 1)]));
    let g1 = group("g1", "engineering");
    store
        .insert(&ctx(&acme), &g1, &[add(&["u1", "u3", "g2"])])
        .await
        .unwrap();
    assert_eq!(held(&store, &acme, "u1").await, holds(&[("pro", "group")]));
    assert_eq!(held(&store, &acme, "u2").await, holds(&[("pro", "group")]));
    assert_eq!(held(&store, &acme, "u3").await, holds(&[("pro", "direct")]));
    assert_eq!(used(&store, &acme).await, uses(&[("pro", 3)]));

    // A fourth member needs a fourth seat: the membership is not added.
    let g1_next = next_version(&g1, 2_000);
    assert_no_seat(
        store
            .update(&ctx(&acme), &g1_next, 1, &[add(&["u4"])])
            .await,
        "pro",
        3,
    );
    assert!(held(&store, &acme, "u4").await.is_empty());
    let read = store
        .get(&acme.id, ResourceKind::Group, "g1", Expand::MEMBERS)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.attributes["members"].as_array().map(Vec::len), Some(3));
    assert_eq!(read.meta.version, 1);

    // Leaving revokes; a direct grant of the same sku keeps it, now direct.
    store
        .update(&ctx(&acme), &g1_next, 1, &[remove(&["u1", "u3"])])
        .await
        .unwrap();
    assert!(held(&store, &acme, "u1").await.is_empty());
    assert_eq!(held(&store, &acme, "u3").await, holds(&[("pro", "direct")]));
    store
        .update(
            &ctx(&acme),
            &next_version(&g1_next, 3_000),
            2,
            &[add(&["u4"])],
        )
        .await
        .unwrap();
    assert_eq!(held(&store, &acme, "u4").await, holds(&[("pro", "group")]));

    // Renaming the group away from the rule revokes from everyone below it.
    let renamed = with(next_version(&g1_next, 4_000), "displayName", json!("Eng"));
    let renamed = Resource {
        meta: scim_core::Meta {
            version: 4,
            ..renamed.meta
        },
        ..renamed
    };
    store.update(&ctx(&acme), &renamed, 3, &[]).await.unwrap();
    for id in ["u2", "u4"] {
        assert!(held(&store, &acme, id).await.is_empty(), "{id}");
    }
    assert_eq!(used(&store, &acme).await, uses(&[("pro", 1)]));
    // Renaming it back grants again; deleting it revokes.
    let back = with(
        next_version(&renamed, 5_000),
        "displayName",
        json!("Engineering"),
    );
    store.update(&ctx(&acme), &back, 4, &[]).await.unwrap();
    assert_eq!(held(&store, &acme, "u2").await, holds(&[("pro", "group")]));
    store
        .delete(&ctx(&acme), ResourceKind::Group, "g1", None)
        .await
        .unwrap();
    for id in ["u1", "u2", "u4"] {
        assert!(held(&store, &acme, id).await.is_empty(), "{id}");
    }
    assert_eq!(used(&store, &acme).await, uses(&[("pro", 1)]));
}

/// Mapping rules and seat changes re-evaluate the tenant's users while seats last, in
/// creation order; lowering seats below their use takes no seat away.
pub async fn admin_changes_reevaluate_while_seats_last<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    set_pools(&store, &acme, &[("pro", 2)]).await;
    for id in ["u1", "u2", "u3"] {
        let user = with(licensed(id, &[], true), "roles", json!([{"value": "Dev"}]));
        store.insert(&ctx(&acme), &user, &[]).await.unwrap();
    }
    let dev = rule(MappingSource::Role, "dev", "pro");
    let report = crate::fixtures::add_rule(&*store, &ctx(&acme), &dev)
        .await
        .unwrap()
        .expect("a new rule re-evaluates");
    assert_eq!((report.users, report.assigned, report.revoked), (3, 2, 0));
    assert_eq!(report.waiting, [("u3".to_owned(), "pro".to_owned())]);
    assert!(held(&store, &acme, "u3").await.is_empty());

    let (pool3, report) = crate::fixtures::set_pool(&*store, &ctx(&acme), &pool("pro", "pro", 3))
        .await
        .unwrap();
    assert_eq!((pool3.used, report.assigned), (3, 1));
    assert_eq!(held(&store, &acme, "u3").await, holds(&[("pro", "direct")]));

    let (pool1, report) = crate::fixtures::set_pool(&*store, &ctx(&acme), &pool("pro", "pro", 1))
        .await
        .unwrap();
    assert_eq!((pool1.seats, pool1.used, report.revoked), (1, 3, 0));
    assert!(pool1.is_over_assigned());
    // Over-assigned: a user who would need a new seat does not get one.
    let newcomer = with(
        licensed("u4", &[], true),
        "roles",
        json!([{"value": "dev"}]),
    );
    assert_no_seat_over(store.insert(&ctx(&acme), &newcomer, &[]).await.map(|_| ()));

    let report = crate::fixtures::remove_rule(&*store, &ctx(&acme), &dev)
        .await
        .unwrap();
    assert_eq!(report.revoked, 3);
    assert_eq!(used(&store, &acme).await, uses(&[("pro", 0)]));
    let missing = crate::fixtures::remove_rule(&*store, &ctx(&acme), &dev).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}

/// A preview of a rule change says what the re-evaluation after it does, pool by pool,
/// on the tenant's users only, and writes nothing; the users it reads come in creation
/// order, page by page, with their groups (direct and nested) and what they hold.
pub async fn a_rule_preview_foretells_the_reevaluation<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let globex = with_tenant(&store, "globex").await;
    set_pools(&store, &acme, &[("basic", 10), ("pro", 2)]).await;
    set_pools(&store, &globex, &[("pro", 100)]).await;
    for id in ["u1", "u2", "u3"] {
        store
            .insert(&ctx(&acme), &licensed(id, &[], true), &[])
            .await
            .unwrap();
    }
    let u4 = licensed("u4", &["pro"], true);
    store.insert(&ctx(&acme), &u4, &[]).await.unwrap();
    store
        .insert(&ctx(&acme), &licensed("u5", &[], true), &[])
        .await
        .unwrap();
    let add =
        |ids: &[&str]| MembershipChange::Add(ids.iter().map(|id| NewMember::id(*id)).collect());
    // u5 is in Sales through the nested group EMEA.
    let emea = group("g2", "EMEA");
    store
        .insert(&ctx(&acme), &emea, &[add(&["u5"])])
        .await
        .unwrap();
    let sales = group("g1", "Sales");
    let members = add(&["u1", "u2", "u3", "u4", "g2"]);
    store.insert(&ctx(&acme), &sales, &[members]).await.unwrap();
    // Another tenant's Sales is not acme's.
    for id in ["x1", "x2"] {
        store
            .insert(&ctx(&globex), &licensed(id, &[], true), &[])
            .await
            .unwrap();
    }
    let theirs = group("x", "Sales");
    store
        .insert(&ctx(&globex), &theirs, &[add(&["x1", "x2"])])
        .await
        .unwrap();

    // The users as the engine reads them, two per page.
    let (first, next) = store.licensed_users(&acme.id, 0, 2).await.unwrap();
    let ids: Vec<&str> = first.iter().map(|user| user.id.as_str()).collect();
    assert_eq!(ids, ["u1", "u2"]);
    assert!(first[0].key < first[1].key);
    assert_eq!(next, Some(first[1].key));
    let facts = first[0].facts.as_ref().expect("u1 is there");
    assert_eq!(facts.groups, ["Sales"]);
    let (second, _) = store
        .licensed_users(&acme.id, first[1].key, 2)
        .await
        .unwrap();
    let (third, after_last) = store
        .licensed_users(&acme.id, second[1].key, 2)
        .await
        .unwrap();
    let ids: Vec<&str> = second
        .iter()
        .chain(&third)
        .map(|user| user.id.as_str())
        .collect();
    assert_eq!(ids, ["u3", "u4", "u5"]);
    assert_eq!(second[1].held.len(), 1, "u4 holds pro");
    assert_eq!(second[1].held[0].sku, "pro");
    let mut groups = third[0].facts.clone().expect("u5 is there").groups;
    groups.sort();
    assert_eq!(groups, ["EMEA", "Sales"]);
    let (rest, end) = store
        .licensed_users(&acme.id, after_last.expect("a position"), 2)
        .await
        .unwrap();
    assert!(rest.is_empty() && end.is_none(), "{rest:?} {end:?}");

    // Sales → pro: u1 takes the one free seat, u2, u3 and u5 would wait; basic is untouched.
    let sales_pro = rule(MappingSource::Group, "sales", "pro");
    let change = RuleChange::Add(sales_pro.clone());
    let preview = preview_rule_change(&*store, &acme.id, &change, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(preview.users, 5);
    let effects: Vec<(&str, i64, i64, u64, u64, u64)> = preview
        .pools
        .iter()
        .map(|p| {
            (
                p.sku.as_str(),
                p.used,
                p.used_after,
                p.gaining,
                p.losing,
                p.waiting,
            )
        })
        .collect();
    assert_eq!(effects, [("basic", 0, 0, 0, 0, 0), ("pro", 1, 2, 1, 0, 3)]);
    // Nothing was written.
    assert_eq!(used(&store, &acme).await, uses(&[("basic", 0), ("pro", 1)]));
    assert!(store.rules(&acme.id).await.unwrap().is_empty());
    assert!(held(&store, &acme, "u1").await.is_empty());
    // Applying it does what it said.
    let report = crate::fixtures::add_rule(&*store, &ctx(&acme), &sales_pro)
        .await
        .unwrap()
        .expect("a new rule re-evaluates");
    assert_eq!(
        (report.assigned, report.revoked, report.waiting.len()),
        (1, 0, 3)
    );
    assert_eq!(used(&store, &acme).await, uses(&[("basic", 0), ("pro", 2)]));
    assert_eq!(held(&store, &acme, "u1").await, holds(&[("pro", "group")]));

    // Removing it again: u1 would lose its seat, u4 keeps its direct one.
    let change = RuleChange::Remove(sales_pro.clone());
    let preview = preview_rule_change(&*store, &acme.id, &change, chrono::Utc::now())
        .await
        .unwrap();
    let pro = &preview.pools[1];
    assert_eq!(
        (
            pro.used,
            pro.used_after,
            pro.gaining,
            pro.losing,
            pro.waiting
        ),
        (2, 1, 0, 1, 0)
    );
    let report = crate::fixtures::remove_rule(&*store, &ctx(&acme), &sales_pro)
        .await
        .unwrap();
    assert_eq!((report.assigned, report.revoked), (0, 1));
    assert_eq!(used(&store, &acme).await, uses(&[("basic", 0), ("pro", 1)]));
    assert_eq!(used(&store, &globex).await, uses(&[("pro", 0)]));
}

/// An overage pool grants up to its allowance beyond the seats bought, never more, under
/// 40 concurrent writers; its policy is kept and changed like its seats; made strict again
/// below its use, its holders keep their seats and nobody new gets one.
pub async fn overage_pools_grant_their_allowance_and_no_more<F: StoreFactory>(factory: &F) {
    let store = Arc::new(factory.open().await);
    let acme = with_tenant(&store, "acme").await;
    let overage = PoolPolicy::Overage { allowance: 3 };
    let pro = pool("pro", "Pro", 5).with_policy(overage);
    crate::fixtures::set_pool(&**store, &ctx(&acme), &pro)
        .await
        .unwrap();
    let attempts: Vec<_> = (0..40)
        .map(|n| {
            let (store, tenant) = (Arc::clone(&store), acme.clone());
            tokio::spawn(async move {
                let user = licensed(&format!("u{n:02}"), &["pro"], true);
                store.insert(&ctx(&tenant), &user, &[]).await
            })
        })
        .collect();
    let (mut ok, mut refused) = (0, 0);
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::SeatsExhausted { seats, used, .. }) => {
                assert_eq!((seats, used), (5, 8), "a refusal counts the seats bought");
                refused += 1;
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((ok, refused), (8, 32));
    let stored = store.pools(&acme.id).await.unwrap().remove(0);
    assert_eq!((stored.seats, stored.used, stored.policy), (5, 8, overage));
    assert_eq!((stored.overage_used(), stored.available()), (3, 0));
    assert_eq!(all_users(&store, &acme).await.total, 8);
    // A release frees a seat that the next writer may take, within the allowance.
    let leaving = all_users(&store, &acme).await.resources.remove(0);
    store
        .delete(&ctx(&acme), ResourceKind::User, &leaving.id, None)
        .await
        .unwrap();
    let next = licensed("v1", &["pro"], true);
    store.insert(&ctx(&acme), &next, &[]).await.unwrap();
    assert_eq!(
        refusal(
            store
                .insert(&ctx(&acme), &licensed("v2", &["pro"], true), &[])
                .await
        ),
        (5, 8)
    );

    // Strict again: 8 holders of 5 seats keep theirs; nobody new gets one.
    let (strict, report) = crate::fixtures::set_pool(&**store, &ctx(&acme), &pool("pro", "Pro", 5))
        .await
        .unwrap();
    assert_eq!(
        (strict.policy, strict.used, report.revoked),
        (PoolPolicy::Strict, 8, 0)
    );
    assert!(strict.is_over_assigned());
    assert_eq!(
        refusal(
            store
                .insert(&ctx(&acme), &licensed("v3", &["pro"], true), &[])
                .await
        ),
        (5, 8)
    );
    // A larger allowance reopens the pool at once.
    let wider = pool("pro", "Pro", 5).with_policy(PoolPolicy::Overage { allowance: 4 });
    crate::fixtures::set_pool(&**store, &ctx(&acme), &wider)
        .await
        .unwrap();
    store
        .insert(&ctx(&acme), &licensed("v4", &["pro"], true), &[])
        .await
        .unwrap();
    assert_eq!(used(&store, &acme).await, uses(&[("pro", 9)]));
}

/// Under `pending`, 64 concurrent writers for a pool of 10 are all written: 10 hold a
/// seat, 54 wait. Then, while seats are freed (deletions, deactivations) and 16 more users
/// ask, concurrently, no seat is ever held twice over, each freed seat goes to the license
/// waiting longest (by the time it began to wait), newcomers wait behind; a waiting
/// license withdrawn gives up its place; more seats serve the queue in order.
pub async fn pending_pools_give_each_freed_seat_to_the_oldest_waiting<F: StoreFactory>(
    factory: &F,
) {
    let store = Arc::new(factory.open().await);
    let acme = with_tenant(&store, "acme").await;
    let pending = pool("pro", "Pro", 10).with_policy(PoolPolicy::Pending);
    crate::fixtures::set_pool(&**store, &ctx(&acme), &pending)
        .await
        .unwrap();
    // Each writer's request is dated: u63 asked first, u00 last, whatever order they run.
    let at = |tenant: &Tenant, millis: i64| WriteContext {
        at: crate::fixtures::time(millis),
        ..ctx(tenant)
    };
    let writers: Vec<_> = (0..64)
        .map(|n| {
            let (store, tenant) = (Arc::clone(&store), acme.clone());
            let ctx = at(&tenant, 2_000 - n);
            tokio::spawn(async move {
                let user = licensed(&format!("u{n:02}"), &["pro"], true);
                store.insert(&ctx, &user, &[]).await
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap().expect("a pending pool never refuses");
    }
    let pool_now = store.pools(&acme.id).await.unwrap().remove(0);
    assert_eq!((pool_now.used, pool_now.pending), (10, 54));
    let before = statuses(&store, &acme).await;
    assert_eq!(before.len(), 64);
    assert_eq!(count(&before, "active"), 10);
    // The queue, oldest first: by the time each began to wait, then creation order.
    let mut queue: Vec<_> = before.iter().filter(|user| user.1 == "pending").collect();
    queue.sort_by_key(|user| user.2.clone());
    let queue: Vec<String> = queue.into_iter().map(|user| user.0.clone()).collect();
    let holders: Vec<String> = before
        .iter()
        .filter(|user| user.1 == "active")
        .map(|user| user.0.clone())
        .collect();

    // Seats freed and asked for at once, with a sampler watching the count.
    let (done, sampler) = watch_seats(&store, &acme);
    let mut tasks = Vec::new();
    for (n, id) in holders.iter().enumerate() {
        let (store, tenant, id) = (Arc::clone(&store), acme.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            if n < 6 {
                store
                    .delete(&ctx(&tenant), ResourceKind::User, &id, None)
                    .await
            } else {
                let current = store
                    .get(&tenant.id, ResourceKind::User, &id, Expand::default())
                    .await?
                    .ok_or(StoreError::NotFound)?;
                let next = next_version(&licensed(&id, &["pro"], false), 5_000);
                let version = current.meta.version;
                store.update(&ctx(&tenant), &next, version, &[]).await
            }
        }));
    }
    for n in 0..16 {
        let (store, tenant) = (Arc::clone(&store), acme.clone());
        let ctx = at(&tenant, 3_000 + n);
        tasks.push(tokio::spawn(async move {
            let user = licensed(&format!("v{n:02}"), &["pro"], true);
            store.insert(&ctx, &user, &[]).await.map(|_| ())
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(sampler.await.unwrap() > 0);
    let after = statuses(&store, &acme).await;
    let active: Vec<&str> = after
        .iter()
        .filter(|user| user.1 == "active")
        .map(|user| user.0.as_str())
        .collect();
    let mut promoted: Vec<&str> = queue[..10].iter().map(String::as_str).collect();
    promoted.sort_unstable();
    assert_eq!(
        active, promoted,
        "the 10 freed seats went to the 10 oldest waiting"
    );
    let newcomers = after.iter().filter(|user| user.0.starts_with('v'));
    assert!(newcomers.clone().all(|user| user.1 == "pending"));
    assert_eq!(newcomers.count(), 16);
    let pool_now = store.pools(&acme.id).await.unwrap().remove(0);
    assert_eq!((pool_now.used, pool_now.pending), (10, 44 + 16));

    // The head of the queue no longer asks: withdrawn, no seat moves. Then 3 more seats
    // go to the next 3.
    let head = queue[10].clone();
    let current = store
        .get(&acme.id, ResourceKind::User, &head, Expand::default())
        .await
        .unwrap()
        .unwrap();
    let unentitled = next_version(&licensed(&head, &[], true), 6_000);
    store
        .update(&ctx(&acme), &unentitled, current.meta.version, &[])
        .await
        .unwrap();
    assert!(held(&store, &acme, &head).await.is_empty());
    let wider = pool("pro", "Pro", 13).with_policy(PoolPolicy::Pending);
    let (_, report) = crate::fixtures::set_pool(&**store, &ctx(&acme), &wider)
        .await
        .unwrap();
    assert_eq!(report.assigned, 3);
    let after = statuses(&store, &acme).await;
    for id in &queue[11..14] {
        let user = after.iter().find(|user| &user.0 == id).unwrap();
        assert_eq!(user.1, "active", "{id} was next in line");
    }
    let pool_now = store.pools(&acme.id).await.unwrap().remove(0);
    assert_eq!((pool_now.used, pool_now.pending), (13, 56));
    // A deletion on its own (one resource, the fast path of a strict pool) serves the next.
    store
        .delete(&ctx(&acme), ResourceKind::User, &queue[0], None)
        .await
        .unwrap();
    let next = held_status(&store, &acme, &queue[14]).await;
    assert_eq!(next, "active", "{} was next in line", queue[14]);
    let pool_now = store.pools(&acme.id).await.unwrap().remove(0);
    assert_eq!((pool_now.used, pool_now.pending), (13, 55));

    // The audit log and the events tell every step once.
    let log = store.audit(&acme.id, &AuditQuery::default()).await.unwrap();
    let actions = |action| log.iter().filter(|entry| entry.action == action).count();
    assert_eq!(
        (
            actions(AuditAction::Assigned),
            actions(AuditAction::Pending),
            actions(AuditAction::Revoked),
            actions(AuditAction::Withdrawn)
        ),
        (10 + 10 + 3 + 1, 54 + 16, 11, 1)
    );
    let events = store.events_after(&acme.id, 0, 10_000).await.unwrap();
    let named = |uri: &str| {
        let with = events
            .iter()
            .filter(|stored| stored.event.events.contains_key(uri));
        with.count()
    };
    assert_eq!(named(scim_core::events::LICENSE_PENDING), 54 + 16);
    assert_eq!(named(scim_core::events::LICENSE_ASSIGNED), 10 + 10 + 3 + 1);
    assert_eq!(named(scim_core::events::LICENSE_REVOKED), 11 + 1);
}

/// A sampler that checks the tenant's first pool never holds more seats than it has,
/// until `done` is set; it answers how many samples it took (at least one).
fn watch_seats<S: ContractStore>(
    store: &Arc<TestStore<S>>,
    tenant: &Tenant,
) -> (
    Arc<std::sync::atomic::AtomicBool>,
    tokio::task::JoinHandle<u64>,
) {
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (store, tenant, stop) = (Arc::clone(store), tenant.clone(), Arc::clone(&done));
    let sampler = tokio::spawn(async move {
        let mut samples = 0;
        while !stop.load(std::sync::atomic::Ordering::SeqCst) || samples == 0 {
            let pool = store.pools(&tenant.id).await.unwrap().remove(0);
            assert!(pool.used <= pool.seats, "{pool:?}");
            samples += 1;
            tokio::task::yield_now().await;
        }
        samples
    });
    (done, sampler)
}

/// Every user by id: `(id, status of its pro license or "none", assigned)`.
async fn statuses<S: ContractStore>(
    store: &TestStore<S>,
    tenant: &Tenant,
) -> Vec<(String, String, String)> {
    let expand = Expand {
        licenses: true,
        ..Expand::default()
    };
    let query = ListQuery {
        count: 1_000,
        ..ListQuery::default()
    };
    let page = store
        .list(&tenant.id, ResourceKind::User, &query, expand)
        .await
        .unwrap();
    let mut users: Vec<_> = page
        .resources
        .iter()
        .map(|user| {
            let license = user
                .attributes
                .get(LICENSE_USER_EXTENSION)
                .and_then(|extension| extension["licenses"].as_array()?.first().cloned());
            let Some(license) = license else {
                return (user.id.clone(), "none".to_owned(), String::new());
            };
            let text = |name: &str| license[name].as_str().unwrap_or_default().to_owned();
            (user.id.clone(), text("status"), text("assigned"))
        })
        .collect();
    users.sort();
    users
}

/// The status of the one license of user `id`.
async fn held_status<S: ContractStore>(store: &TestStore<S>, tenant: &Tenant, id: &str) -> String {
    let users = statuses(store, tenant).await;
    let user = users.into_iter().find(|user| user.0 == id);
    user.unwrap_or_else(|| panic!("{id} is gone")).1
}

fn count(users: &[(String, String, String)], status: &str) -> usize {
    users.iter().filter(|user| user.1 == status).count()
}

/// The seats bought and used a refused write was told of.
fn refusal<T: std::fmt::Debug>(result: Result<T, StoreError>) -> (i64, i64) {
    match result {
        Err(StoreError::SeatsExhausted { seats, used, .. }) => (seats, used),
        other => panic!("expected no seat, got {other:?}"),
    }
}

fn assert_no_seat_over(result: Result<(), StoreError>) {
    match result {
        Err(StoreError::SeatsExhausted { sku, seats, used }) => {
            assert_eq!((sku.as_str(), seats, used), ("pro", 1, 3));
        }
        other => panic!("expected no seat, got {other:?}"),
    }
}

/// 50 concurrent writes asking for one of 5 seats: exactly 5 get it, the other 45 fail and
/// leave nothing behind; under concurrent deactivations and reactivations `used` never
/// exceeds `seats` and always equals the holders.
pub async fn seats_are_never_over_assigned_under_concurrency<F: StoreFactory>(factory: &F) {
    let store = Arc::new(factory.open().await);
    let acme = with_tenant(&store, "acme").await;
    set_pools(&store, &acme, &[("pro", 5)]).await;
    let attempts = (0..50).map(|n| {
        let (store, tenant) = (Arc::clone(&store), acme.clone());
        tokio::spawn(async move {
            let user = licensed(&format!("u{n:02}"), &["pro"], true);
            store.insert(&ctx(&tenant), &user, &[]).await
        })
    });
    let attempts: Vec<_> = attempts.collect();
    let (mut ok, mut refused) = (0, 0);
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::SeatsExhausted { .. }) => refused += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((ok, refused), (5, 45));
    assert_eq!(used(&store, &acme).await, uses(&[("pro", 5)]));
    let page = all_users(&store, &acme).await;
    assert_eq!(page.total, 5, "the refused users were not created");
    let log = store.audit(&acme.id, &AuditQuery::default()).await.unwrap();
    assert_eq!(log.len(), 5);
    assert!(log.iter().all(|e| e.action == AuditAction::Assigned));

    // Mixed traffic: the 5 holders and 5 more users toggle active while a sampler watches.
    let holders: Vec<String> = page.resources.iter().map(|r| r.id.clone()).collect();
    for n in 0..5 {
        let user = licensed(&format!("w{n}"), &["pro"], false);
        store.insert(&ctx(&acme), &user, &[]).await.unwrap();
    }
    let ids: Vec<String> = holders
        .into_iter()
        .chain((0..5).map(|n| format!("w{n}")))
        .collect();
    let (done, sampler) = watch_seats(&store, &acme);
    let togglers = ids.into_iter().enumerate().map(|(n, id)| {
        let (store, tenant) = (Arc::clone(&store), acme.clone());
        tokio::spawn(async move {
            for round in 0..6 {
                let current = store
                    .get(&tenant.id, ResourceKind::User, &id, Expand::default())
                    .await
                    .unwrap()
                    .unwrap();
                let active = (n + round) % 2 == 0;
                let next = next_version(&licensed(&id, &["pro"], active), 10_000 + round as i64);
                let next = Resource {
                    meta: scim_core::Meta {
                        version: current.meta.version + 1,
                        ..next.meta
                    },
                    ..next
                };
                match store
                    .update(&ctx(&tenant), &next, current.meta.version, &[])
                    .await
                {
                    Ok(()) | Err(StoreError::SeatsExhausted { .. }) => {}
                    Err(other) => panic!("unexpected {other:?}"),
                }
            }
        })
    });
    let togglers: Vec<_> = togglers.collect();
    for toggler in togglers {
        toggler.await.unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(sampler.await.unwrap() > 0);
    // Afterwards `used` is exactly the number of holders.
    let page = store
        .list(
            &acme.id,
            ResourceKind::User,
            &ListQuery::default(),
            Expand {
                licenses: true,
                ..Expand::default()
            },
        )
        .await
        .unwrap();
    let holders = page
        .resources
        .iter()
        .filter(|user| user.attributes.contains_key(LICENSE_USER_EXTENSION))
        .count() as i64;
    let pool = store.pools(&acme.id).await.unwrap().remove(0);
    assert_eq!(pool.used, holders);
    assert!(pool.used <= 5);
}

/// A pool big enough to be taken from one stripe at a time: 100 concurrent creates for 64
/// seats grant exactly 64; concurrent deletes and creates keep `used` equal to the holders;
/// lowering the seats below the holders refuses every new seat until enough are freed,
/// and the write that takes the last seat again reports the pool exhausted.
pub async fn striped_seats_add_up_under_concurrent_takes_and_releases<F: StoreFactory>(
    factory: &F,
) {
    let store = Arc::new(factory.open().await);
    let acme = with_tenant(&store, "acme").await;
    set_pools(&store, &acme, &[("pro", 64)]).await;
    let creates = |names: Vec<String>| {
        names
            .into_iter()
            .map(|name| {
                let (store, tenant) = (Arc::clone(&store), acme.clone());
                tokio::spawn(async move {
                    let user = licensed(&name, &["pro"], true);
                    match store.insert(&ctx(&tenant), &user, &[]).await {
                        Ok(_) => Some(name),
                        Err(StoreError::SeatsExhausted { .. }) => None,
                        Err(other) => panic!("unexpected {other:?}"),
                    }
                })
            })
            .collect::<Vec<_>>()
    };
    let mut holders = Vec::new();
    for task in creates((0..100).map(|n| format!("a{n:03}")).collect()) {
        holders.extend(task.await.unwrap());
    }
    assert_eq!(holders.len(), 64);
    assert_eq!(used(&store, &acme).await, uses(&[("pro", 64)]));
    let first_fill = exhaustions(&store, &acme).await;
    assert_eq!(
        first_fill, 1,
        "the write that took the last seat said so, once"
    );

    // Half the holders leave while 40 newcomers ask: 32 seats come free, so between 0 and
    // 32 newcomers get one, depending on the interleaving, and the counts still add up.
    let leaving: Vec<String> = holders.drain(..32).collect();
    let deletes: Vec<_> = leaving
        .iter()
        .map(|id| {
            let (store, tenant, id) = (Arc::clone(&store), acme.clone(), id.clone());
            tokio::spawn(async move {
                store
                    .delete(&ctx(&tenant), ResourceKind::User, &id, None)
                    .await
            })
        })
        .collect();
    let newcomers = creates((0..40).map(|n| format!("b{n:03}")).collect());
    for delete in deletes {
        delete.await.unwrap().unwrap();
    }
    for task in newcomers {
        holders.extend(task.await.unwrap());
    }
    assert!(holders.len() <= 64, "{} holders", holders.len());
    assert_eq!(
        used(&store, &acme).await,
        uses(&[("pro", holders.len() as i64)])
    );
    // Whoever is left may still take the free seats, up to exactly 64.
    let free = 64 - holders.len();
    let late: Vec<String> = (0..free + 5).map(|n| format!("c{n:03}")).collect();
    let mut granted = 0;
    for task in creates(late) {
        granted += usize::from(task.await.unwrap().is_some());
    }
    assert_eq!(granted, free);
    assert_eq!(used(&store, &acme).await, uses(&[("pro", 64)]));
    let exhausted = exhaustions(&store, &acme).await;
    assert!(exhausted > first_fill, "the refill said so again");

    // Lowered to 60 with 64 held: nobody new gets a seat until 5 are freed.
    set_pools(&store, &acme, &[("pro", 60)]).await;
    let user = licensed("d000", &["pro"], true);
    assert!(matches!(
        store.insert(&ctx(&acme), &user, &[]).await,
        Err(StoreError::SeatsExhausted {
            seats: 60,
            used: 64,
            ..
        })
    ));
    let page = all_users(&store, &acme).await;
    for user in page.resources.iter().take(4) {
        store
            .delete(&ctx(&acme), ResourceKind::User, &user.id, None)
            .await
            .unwrap();
    }
    assert!(matches!(
        store.insert(&ctx(&acme), &user, &[]).await,
        Err(StoreError::SeatsExhausted {
            seats: 60,
            used: 60,
            ..
        })
    ));
    let last = &page.resources[4];
    store
        .delete(&ctx(&acme), ResourceKind::User, &last.id, None)
        .await
        .unwrap();
    store.insert(&ctx(&acme), &user, &[]).await.unwrap();
    assert_eq!(used(&store, &acme).await, uses(&[("pro", 60)]));
}

/// How many pool-exhausted events the tenant has.
async fn exhaustions<S: ContractStore>(store: &TestStore<S>, tenant: &Tenant) -> usize {
    store
        .events_after(&tenant.id, 0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|event| {
            event
                .event
                .events
                .contains_key("urn:scim-license:event:license:pool-exhausted")
        })
        .count()
}

/// A /Bulk batch of new users takes seats as if each were written alone, in order: a
/// clash fails one user, a missing seat refuses one user (and records none of its events),
/// a write that is no new user in between frees a seat for the users after it.
pub async fn batched_new_users_take_seats_in_order<F: StoreFactory>(factory: &F) {
    use scim_core::events::ResourceEvent;
    use scim_core::ports::BatchWrite;

    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    set_pools(&store, &acme, &[("pro", 3), ("basic", 10)]).await;
    let old = licensed("old", &["pro"], true);
    store.insert(&ctx(&acme), &old, &[]).await.unwrap();
    let named = |id: &str, user_name: &str, skus: &[&str]| {
        with(licensed(id, skus, true), "userName", json!(user_name))
    };
    let insert = |resource: Resource| BatchWrite::Insert {
        events: vec![ResourceEvent::deleted(
            ResourceKind::User,
            &resource.id,
            None,
        )],
        resource,
        members: vec![],
    };
    let writes = vec![
        insert(named("u1", "u1", &["pro"])),
        insert(named("u2", "OLD", &["pro"])),
        insert(named("u3", "u3", &["pro"])),
        insert(named("u4", "u4", &[])),
        insert(named("u5", "u5", &["pro"])),
        insert(named("u6", "u6", &["basic"])),
        BatchWrite::Delete {
            kind: ResourceKind::User,
            id: "old".into(),
            expected_version: None,
            events: vec![],
        },
        insert(named("u7", "u7", &["pro"])),
        insert(named("u8", "u8", &["basic", "pro"])),
        insert(named("u9", "U7", &[])),
    ];
    let results = store.write_batch(&ctx(&acme), &writes).await.unwrap();
    let outcome: Vec<String> = results
        .iter()
        .map(|result| match result {
            Ok(()) => "ok".to_owned(),
            Err(StoreError::Conflict { attribute }) => format!("conflict {attribute}"),
            Err(StoreError::SeatsExhausted { sku, seats, used }) => {
                format!("no {sku} seat {used}/{seats}")
            }
            Err(other) => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        outcome,
        [
            "ok",
            "conflict userName",
            "ok",
            "ok",
            "no pro seat 3/3",
            "ok",
            "ok",
            "ok",
            "no pro seat 3/3",
            "conflict userName",
        ]
    );
    let page = all_users(&store, &acme).await;
    let mut ids: Vec<&str> = page.resources.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["u1", "u3", "u4", "u6", "u7"]);
    assert_eq!(used(&store, &acme).await, uses(&[("basic", 1), ("pro", 3)]));
    let log = store.audit(&acme.id, &AuditQuery::default()).await.unwrap();
    let log: Vec<(&str, &str, AuditAction)> = log
        .iter()
        .map(|entry| (entry.user.as_str(), entry.sku.as_str(), entry.action))
        .collect();
    assert_eq!(
        log,
        [
            ("old", "pro", AuditAction::Assigned),
            ("u1", "pro", AuditAction::Assigned),
            ("u3", "pro", AuditAction::Assigned),
            ("u6", "basic", AuditAction::Assigned),
            ("old", "pro", AuditAction::Revoked),
            ("u7", "pro", AuditAction::Assigned),
        ]
    );
    // The batch's own events: only for the users it created, each before its license.
    let events = store.events_after(&acme.id, 0, 1_000).await.unwrap();
    let marked: Vec<&str> = events
        .iter()
        .filter(|event| {
            event
                .event
                .events
                .contains_key(scim_core::events::PROV_DELETE)
        })
        .map(|event| event.event.subject.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(marked, ["u1", "u3", "u4", "u6", "u7"]);
    for id in ["u1", "u3", "u7"] {
        let subject: Vec<bool> = events
            .iter()
            .filter(|event| event.event.subject.ends_with(&format!("/{id}")))
            .map(|event| {
                event
                    .event
                    .events
                    .contains_key(scim_core::events::PROV_DELETE)
            })
            .collect();
        assert_eq!(subject, [true, false], "{id}: its write, then its license");
    }
    assert_eq!(
        exhaustions(&store, &acme).await,
        2,
        "filled at u3, again at u7"
    );
}

/// The tenant's users, one page.
async fn all_users<S: ContractStore>(
    store: &TestStore<S>,
    tenant: &Tenant,
) -> scim_core::query::ListPage {
    store
        .list(
            &tenant.id,
            ResourceKind::User,
            &ListQuery::default(),
            Expand::default(),
        )
        .await
        .unwrap()
}

/// A clock that always reads the same time: a process at one instant.
struct StoppedClock(chrono::DateTime<chrono::Utc>);

impl scim_core::ports::Clock for StoppedClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.0
    }
}

/// The license service of one process on `store`, its clock stopped at `millis`.
fn service_at<S: ContractStore>(store: S, millis: i64) -> scim_core::service::LicenseService {
    scim_core::service::LicenseService::new(
        Arc::new(store),
        Arc::new(StoppedClock(crate::fixtures::time(millis))),
    )
}

/// A pool grants nothing outside its term; once a start or an end passes, the tenant is
/// re-evaluated once however many processes look (each revoked seat one audit entry and
/// one event), a `pending` pool's licenses wait instead, a renewal gives the seats back to
/// those who held them, and a claim whose process died is taken over after its lease.
pub async fn terms_are_settled_once_across_processes<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let time = crate::fixtures::time;
    let term = |starts: Option<i64>, ends: Option<i64>| {
        scim_core::license::Term::new(starts.map(time), ends.map(time)).unwrap()
    };
    let pools = [
        pool("pro", "Pro", 10).with_term(term(None, Some(10_000))),
        pool("team", "Team", 2)
            .with_policy(PoolPolicy::Pending)
            .with_term(term(None, Some(10_000))),
        pool("trial", "Trial", 5).with_term(term(Some(5_000), None)),
    ];
    for pool in &pools {
        crate::fixtures::set_pool(&*store, &ctx(&acme), pool)
            .await
            .unwrap();
    }
    let at = |millis: i64| WriteContext {
        at: time(millis),
        ..ctx(&acme)
    };
    for n in 0..8 {
        let user = licensed(&format!("u{n}"), &["pro"], true);
        store.insert(&at(2_000), &user, &[]).await.unwrap();
    }
    for n in 0..3 {
        let user = licensed(&format!("w{n}"), &["team"], true);
        store.insert(&at(2_000 + n), &user, &[]).await.unwrap();
    }
    // Before its start, the trial grants nothing, and the user is written.
    let early = licensed("t0", &["trial"], true);
    store.insert(&at(2_000), &early, &[]).await.unwrap();
    assert!(held(&store, &acme, "t0").await.is_empty());
    assert_eq!(held_status(&store, &acme, "w2").await, "pending");

    // Two processes, past every bound, settle the three pools once between them.
    let (first, second) = (service_at((*store).clone(), 20_000), {
        let other = store.reopen().await;
        service_at(other, 20_000)
    });
    let lease = std::time::Duration::from_secs(60);
    let (a, b) = tokio::join!(first.run_due_terms(lease), second.run_due_terms(lease));
    assert_eq!(a.unwrap() + b.unwrap(), 3, "each bound settled once");
    assert_eq!(first.run_due_terms(lease).await.unwrap(), 0);
    for n in 0..8 {
        assert!(held(&store, &acme, &format!("u{n}")).await.is_empty());
    }
    assert_eq!(
        held(&store, &acme, "t0").await,
        holds(&[("trial", "direct")])
    );
    for n in 0..3 {
        assert_eq!(
            held_status(&store, &acme, &format!("w{n}")).await,
            "pending"
        );
    }
    let used: Vec<(String, i64, i64)> = (store.pools(&acme.id).await.unwrap().into_iter())
        .map(|pool| (pool.sku, pool.used, pool.pending))
        .collect();
    let expected = [("pro", 0, 0), ("team", 0, 3), ("trial", 1, 0)];
    let expected: Vec<(String, i64, i64)> = (expected.iter())
        .map(|(sku, used, pending)| ((*sku).to_owned(), *used, *pending))
        .collect();
    assert_eq!(used, expected);
    let log = store.audit(&acme.id, &AuditQuery::default()).await.unwrap();
    let entries = |action, sku: &str| {
        (log.iter())
            .filter(|entry| entry.action == action && entry.sku == sku)
            .count()
    };
    assert_eq!(
        entries(AuditAction::Revoked, "pro"),
        8,
        "each seat revoked once"
    );
    assert_eq!(entries(AuditAction::Revoked, "team"), 2);
    assert_eq!(entries(AuditAction::Assigned, "trial"), 1);
    let events = store.events_after(&acme.id, 0, 10_000).await.unwrap();
    let revocations = (events.iter())
        .filter_map(|stored| stored.event.events.get(scim_core::events::LICENSE_REVOKED))
        .filter(|body| body["sku"] == "pro")
        .count();
    assert_eq!(revocations, 8, "one event per seat");

    // Renewed, the pools give the seats back: the team's to those who held them.
    let renew = |pool: &Pool, ends: i64| Pool {
        term: term(None, Some(ends)),
        ..pool.clone()
    };
    let renewing = at(21_000);
    let (_, report) = crate::fixtures::set_pool(&*store, &renewing, &renew(&pools[0], 100_000))
        .await
        .unwrap();
    assert_eq!(report.assigned, 8);
    crate::fixtures::set_pool(&*store, &renewing, &renew(&pools[1], 100_500))
        .await
        .unwrap();
    let team: Vec<String> = {
        let mut team = Vec::new();
        for n in 0..3 {
            team.push(held_status(&store, &acme, &format!("w{n}")).await);
        }
        team
    };
    assert_eq!(team, ["active", "active", "pending"]);

    // A claim is held until its lease ends, then another process may take it.
    let claim = |now: i64, until: i64| store.claim_due_term(time(now), time(until));
    let due = claim(100_000, 101_000)
        .await
        .unwrap()
        .expect("the pro end is due");
    assert_eq!((due.sku.as_str(), due.due), ("pro", time(100_000)));
    assert_eq!(
        claim(100_000, 101_000).await.unwrap(),
        None,
        "pro held, team not due"
    );
    let team_due = claim(100_500, 101_500)
        .await
        .unwrap()
        .expect("then the team's");
    assert_eq!(team_due.sku, "team");
    assert_eq!(claim(100_700, 101_700).await.unwrap(), None, "both held");
    let taken_over = claim(101_000, 102_000).await.unwrap();
    assert_eq!(taken_over.map(|due| due.sku), Some("pro".to_owned()));
    store.settle_due_term(&due, None).await.unwrap();
    store.settle_due_term(&team_due, None).await.unwrap();
    assert_eq!(claim(200_000, 201_000).await.unwrap(), None, "settled");
}
