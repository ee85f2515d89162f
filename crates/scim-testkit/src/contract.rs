//! The contract tests. Each opens a fresh store from the factory; `contract_tests!` runs
//! them all for a backend.

use scim_core::StoreError;
use scim_core::api_key::{ApiKey, Scope};
use scim_core::federation::Federation;
use scim_core::filter::{CompValue, CompareOp, Filter};
use scim_core::outbound::NetworkPolicy;
use scim_core::ports::{
    ApiKeys, BatchWrite, CredentialStore, ResourceRepository, StoreHealth, TenantDirectory,
};
use scim_core::query::{Keyset, ListQuery, SortOrder};
use scim_core::tenant::{ClientAuth, StoredClient, StoredToken, Tenant, TokenHash};
use scim_core::{Expand, MembershipChange, NewMember, Resource, ResourceKind};
use serde_json::json;

use crate::fixtures::writer;
use crate::fixtures::{
    compare, filtered, group, ids, next_version, path, resource, sorted, tenant, time, token, user,
    with,
};
use crate::{ContractStore, SqlStoreFactory, StoreFactory, TestStore};

pub use crate::activity::*;
pub use crate::admin::*;
pub use crate::events::*;
pub use crate::idempotency::*;
pub use crate::invariants::*;
pub use crate::jobs::*;
pub use crate::license_tables::*;
pub use crate::licensing::*;
pub use crate::membership::*;
pub use crate::patching::*;
pub use crate::portal::*;
pub use crate::purge::*;
pub use crate::push::*;
pub use crate::secrets::*;
pub use crate::tenant_schema::*;

pub(crate) async fn with_tenant<S: ContractStore>(store: &TestStore<S>, slug: &str) -> Tenant {
    let tenant = tenant(slug);
    store.create_tenant(&tenant).await.unwrap();
    tenant
}

pub(crate) async fn insert_all<S: ContractStore>(
    store: &TestStore<S>,
    tenant: &Tenant,
    resources: &[Resource],
) {
    for resource in resources {
        store
            .insert(&writer(&tenant.id), resource, &[])
            .await
            .unwrap();
    }
}

fn assert_conflict(result: Result<(), StoreError>, attribute: &str) {
    match result {
        Err(StoreError::Conflict { attribute: actual }) => assert_eq!(actual, attribute),
        other => panic!("expected a conflict on {attribute}, got {other:?}"),
    }
}

/// Attributes (nested, multi-valued, extensions, non-ASCII, numbers), meta and version come
/// back exactly as written, for Users and Groups.
pub async fn resources_round_trip<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let mut alice = resource(
        ResourceKind::User,
        "2819c223-7f76-453a-919d-413861904646",
        json!({
            "userName": "Alice.Ærøskøbing@example.com",
            "externalId": "ext-Alice",
            "name": {"givenName": "Alice", "familyName": "Ærøskøbing"},
            "displayName": "Alice Æ",
            "active": true,
            "emails": [
                {"value": "alice@example.com", "type": "work", "primary": true},
                {"value": "a@home.example", "type": "home"}
            ],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "701984",
                "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
            },
            "x-number": 12.5,
        }),
    );
    alice.meta.created = time(1_234);
    alice.meta.last_modified = time(5_678);
    alice.meta.version = 7;
    let admins = group("e9e30dba-f08f-4109-8486-d5c6a331660a", "Admins");
    insert_all(&store, &acme, &[alice.clone()]).await;
    let add_alice = [MembershipChange::Add(vec![NewMember {
        id: alice.id.clone(),
        display: Some("Alice".into()),
    }])];
    store
        .insert(&writer(&acme.id), &admins, &add_alice)
        .await
        .unwrap();

    let get = |kind, id: &str, expand| {
        let (store, tenant, id) = (&store, &acme.id, id.to_owned());
        async move { store.get(tenant, kind, &id, expand).await.unwrap() }
    };
    assert_eq!(
        get(ResourceKind::User, &alice.id, Expand::default()).await,
        Some(alice.clone())
    );
    assert_eq!(
        get(ResourceKind::Group, &admins.id, Expand::default()).await,
        Some(admins.clone())
    );
    // The computed attributes, when asked for.
    let groups = json!([{"value": admins.id, "display": "Admins", "type": "direct"}]);
    assert_eq!(
        get(ResourceKind::User, &alice.id, Expand::ALL).await,
        Some(with(alice.clone(), "groups", groups))
    );
    // A member's display is the label it was added with.
    let members = json!([{"value": alice.id, "display": "Alice", "type": "User"}]);
    assert_eq!(
        get(ResourceKind::Group, &admins.id, Expand::ALL).await,
        Some(with(admins, "members", members))
    );
}

/// Unknown ids, and ids of the other kind, are `None`; writes to them are `NotFound`.
pub async fn unknown_ids_are_not_found<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    insert_all(&store, &acme, &[user("u1", "alice"), group("g1", "Admins")]).await;

    let tenant = &acme.id;
    assert_eq!(
        store
            .get(tenant, ResourceKind::User, "nope", Expand::default())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .get(tenant, ResourceKind::Group, "u1", Expand::default())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .get(tenant, ResourceKind::User, "g1", Expand::default())
            .await
            .unwrap(),
        None
    );
    let ghost = next_version(&user("nope", "ghost"), 1);
    assert!(matches!(
        store.update(&writer(tenant), &ghost, 1, &[]).await,
        Err(StoreError::NotFound)
    ));
    let result = store
        .delete(&writer(tenant), ResourceKind::Group, "u1", None)
        .await;
    assert!(matches!(result, Err(StoreError::NotFound)));
    // A resource of a tenant that does not exist cannot be written.
    let ghost_tenant = crate::fixtures::tenant("ghost");
    let result = store
        .insert(&writer(&ghost_tenant.id), &user("u9", "x"), &[])
        .await;
    assert!(matches!(result, Err(StoreError::NotFound)), "{result:?}");
}

/// A tenant never sees another tenant's resources, and both may use the same userName and
/// the same ids.
pub async fn tenants_are_isolated<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let globex = with_tenant(&store, "globex").await;
    insert_all(&store, &acme, &[user("u1", "alice"), group("g1", "Admins")]).await;

    let (foreign, kind) = (&globex.id, ResourceKind::User);
    assert_eq!(
        store
            .get(foreign, kind, "u1", Expand::default())
            .await
            .unwrap(),
        None
    );
    let alice = user("u1", "alice");
    let result = store
        .update(&writer(foreign), &next_version(&alice, 1), 1, &[])
        .await;
    assert!(matches!(result, Err(StoreError::NotFound)));
    let result = store.delete(&writer(foreign), kind, "u1", None).await;
    assert!(matches!(result, Err(StoreError::NotFound)));
    let page = store
        .list(foreign, kind, &ListQuery::default(), Expand::default())
        .await
        .unwrap();
    assert_eq!((page.total, page.resources.len()), (0, 0));
    let by_name = filtered(compare("userName", CompareOp::Eq, "alice"));
    assert_eq!(
        store
            .list(foreign, kind, &by_name, Expand::default())
            .await
            .unwrap()
            .total,
        0
    );

    // The same userName and id in another tenant are another resource.
    let globex_alice = with(user("u1", "ALICE"), "title", json!("CEO"));
    store
        .insert(&writer(foreign), &globex_alice, &[])
        .await
        .unwrap();
    assert_eq!(
        store
            .get(foreign, kind, "u1", Expand::default())
            .await
            .unwrap(),
        Some(globex_alice)
    );
    assert_eq!(
        store
            .get(&acme.id, kind, "u1", Expand::default())
            .await
            .unwrap(),
        Some(alice)
    );
    assert_eq!(
        store
            .list(&acme.id, kind, &by_name, Expand::default())
            .await
            .unwrap()
            .total,
        1
    );
    let groups = store
        .list(
            &acme.id,
            ResourceKind::Group,
            &ListQuery::default(),
            Expand::default(),
        )
        .await;
    assert_eq!(ids(&groups.unwrap()), ["g1"]);
}

/// userName is unique per tenant by its fold key (NFC + full case folding), on insert and
/// on update; ids are unique per tenant and kind.
pub async fn user_names_are_unique_by_fold_key<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let tenant = &acme.id;
    store
        .insert(&writer(tenant), &user("u1", "Straße"), &[])
        .await
        .unwrap();

    assert_conflict(
        store
            .insert(&writer(tenant), &user("u2", "STRASSE"), &[])
            .await
            .map(|_| ()),
        "userName",
    );
    assert_conflict(
        store
            .insert(&writer(tenant), &user("u2", "strasse"), &[])
            .await
            .map(|_| ()),
        "userName",
    );
    assert_conflict(
        store
            .insert(&writer(tenant), &user("u1", "someone"), &[])
            .await
            .map(|_| ()),
        "id",
    );
    // Precomposed and decomposed é are one name.
    store
        .insert(&writer(tenant), &user("u2", "Jos\u{e9}"), &[])
        .await
        .unwrap();
    assert_conflict(
        store
            .insert(&writer(tenant), &user("u3", "JOSE\u{301}"), &[])
            .await
            .map(|_| ()),
        "userName",
    );

    // Renaming onto a taken name conflicts; the resource is unchanged.
    let renamed = with(
        next_version(&user("u2", "x"), 1),
        "userName",
        json!("STRASSE"),
    );
    assert_conflict(
        store.update(&writer(tenant), &renamed, 1, &[]).await,
        "userName",
    );
    let stored = store
        .get(tenant, ResourceKind::User, "u2", Expand::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.str_attribute("userName"), Some("Jos\u{e9}"));

    // A group and a user may share an id; groups' displayNames need not be unique.
    store
        .insert(&writer(tenant), &group("u1", "Straße"), &[])
        .await
        .unwrap();
    store
        .insert(&writer(tenant), &group("g2", "STRASSE"), &[])
        .await
        .unwrap();

    // Once the user is gone, the name is free.
    store
        .delete(&writer(tenant), ResourceKind::User, "u1", None)
        .await
        .unwrap();
    store
        .insert(&writer(tenant), &user("u4", "strasse"), &[])
        .await
        .unwrap();
}

/// An update applies only against the version it was planned on.
pub async fn updates_check_the_version<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let tenant = &acme.id;
    let original = with(user("u1", "alice"), "externalId", json!("e-1"));
    store.insert(&writer(tenant), &original, &[]).await.unwrap();

    let mut changed = next_version(&original, 60_000);
    changed.attributes.remove("externalId");
    changed
        .attributes
        .insert("displayName".into(), json!("Alice"));
    store
        .update(&writer(tenant), &changed, 1, &[])
        .await
        .unwrap();
    let got = store
        .get(tenant, ResourceKind::User, "u1", Expand::default())
        .await
        .unwrap();
    assert_eq!(got.as_ref(), Some(&changed));

    // The key columns follow the data: externalId is gone, displayName is there.
    let by_external = filtered(Filter::Present(path("externalId")));
    assert_eq!(
        store
            .list(tenant, ResourceKind::User, &by_external, Expand::default())
            .await
            .unwrap()
            .total,
        0
    );
    let by_display = filtered(compare("displayName", CompareOp::Eq, "ALICE"));
    assert_eq!(
        store
            .list(tenant, ResourceKind::User, &by_display, Expand::default())
            .await
            .unwrap()
            .total,
        1
    );

    // Planned on version 1, but the store holds version 2.
    let stale = with(next_version(&original, 120_000), "title", json!("stale"));
    assert!(matches!(
        store.update(&writer(tenant), &stale, 1, &[]).await,
        Err(StoreError::VersionMismatch)
    ));
    assert_eq!(
        store
            .get(tenant, ResourceKind::User, "u1", Expand::default())
            .await
            .unwrap(),
        got
    );
}

/// A delete with a version applies only to that version; without one it always applies.
pub async fn deletes_check_the_version<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let tenant = &acme.id;
    let kind = ResourceKind::User;
    insert_all(&store, &acme, &[user("u1", "alice"), user("u2", "bob")]).await;

    let result = store.delete(&writer(tenant), kind, "u1", Some(2)).await;
    assert!(matches!(result, Err(StoreError::VersionMismatch)));
    assert!(
        store
            .get(tenant, kind, "u1", Expand::default())
            .await
            .unwrap()
            .is_some()
    );
    store
        .delete(&writer(tenant), kind, "u1", Some(1))
        .await
        .unwrap();
    assert_eq!(
        store
            .get(tenant, kind, "u1", Expand::default())
            .await
            .unwrap(),
        None
    );
    store
        .delete(&writer(tenant), kind, "u2", None)
        .await
        .unwrap();
    assert_eq!(
        store
            .get(tenant, kind, "u2", Expand::default())
            .await
            .unwrap(),
        None
    );
    let result = store.delete(&writer(tenant), kind, "u2", None).await;
    assert!(matches!(result, Err(StoreError::NotFound)));
    let result = store.delete(&writer(tenant), kind, "u2", Some(1)).await;
    assert!(matches!(result, Err(StoreError::NotFound)));
}

/// Two writers planned on the same version: exactly one wins, the other learns it lost.
pub async fn concurrent_updates_let_one_win<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let original = user("u1", "alice");
    store
        .insert(&writer(&acme.id), &original, &[])
        .await
        .unwrap();

    let first = with(next_version(&original, 1), "title", json!("first"));
    let second = with(next_version(&original, 2), "title", json!("second"));
    let ctx = writer(&acme.id);
    let (a, b) = tokio::join!(
        store.update(&ctx, &first, 1, &[]),
        store.update(&ctx, &second, 1, &[])
    );
    let stored = store
        .get(&acme.id, ResourceKind::User, "u1", Expand::default())
        .await
        .unwrap();
    match (a, b) {
        (Ok(()), Err(StoreError::VersionMismatch)) => assert_eq!(stored, Some(first)),
        (Err(StoreError::VersionMismatch), Ok(())) => assert_eq!(stored, Some(second)),
        other => panic!("expected one winner, got {other:?}"),
    }
}

/// Cursor pages (RFC 9865) whose resources were all deleted still lead back: an empty page
/// after a key points back at what precedes it, and one before a key at what follows.
pub async fn empty_keyset_pages_lead_back<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let tenant = with_tenant(&store, "keyset").await;
    insert_all(
        &store,
        &tenant,
        &[
            user("k1", "k1"),
            user("k2", "k2"),
            user("k3", "k3"),
            user("k4", "k4"),
        ],
    )
    .await;
    let page = |keyset| {
        let query = ListQuery {
            count: 2,
            keyset: Some(keyset),
            ..ListQuery::default()
        };
        let (store, tenant) = (&store, &tenant);
        async move {
            store
                .list(&tenant.id, ResourceKind::User, &query, Expand::default())
                .await
                .unwrap()
        }
    };
    let first = page(Keyset::First).await;
    assert_eq!(ids(&first), ["k1", "k2"]);
    assert!(first.previous_key.is_none());
    let after = first.next_key.expect("more after k2");
    for id in ["k3", "k4"] {
        store
            .delete(&writer(&tenant.id), ResourceKind::User, id, None)
            .await
            .unwrap();
    }
    let empty = page(Keyset::After(after)).await;
    assert!(empty.resources.is_empty() && empty.next_key.is_none());
    assert_eq!(empty.total, 2);
    let back = page(Keyset::Before(empty.previous_key.expect("leads back"))).await;
    assert_eq!(ids(&back), ["k1", "k2"]);
    assert!(back.previous_key.is_none(), "k1 is the first");
    // And the other way: a page before k1's key is empty and leads forward.
    let before_all = page(Keyset::Before(i64::MIN + 1)).await;
    assert!(before_all.resources.is_empty());
    let forward = page(Keyset::After(before_all.next_key.expect("leads forward"))).await;
    assert_eq!(ids(&forward), ["k1", "k2"]);
}

/// Totals count every match; pages follow startIndex and count; the default order is the
/// insertion order; sorting puts missing values last ascending and first descending and keeps
/// ties in insertion order.
/// IdPs walk `startIndex` pages in order: each next page reads on from the last resource
/// served (no `OFFSET` scan), answers what `OFFSET` would while nothing changes, and skips
/// nobody when a resource before it is deleted mid-walk; a page asked out of order is
/// answered by position.
pub async fn startindex_walks_read_on_from_the_last_page<F: SqlStoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let users: Vec<Resource> = (0..25)
        .map(|i| user(&format!("u{i:02}"), &format!("user{i:02}")))
        .collect();
    insert_all(&store, &acme, &users).await;
    let store = &store;
    let tenant = &acme.id;
    let page = |start_index: u64| async move {
        let query = ListQuery {
            start_index,
            count: 10,
            ..ListQuery::default()
        };
        let page = store
            .list(tenant, ResourceKind::User, &query, Expand::default())
            .await
            .unwrap();
        (
            page.total,
            ids(&page)
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>(),
        )
    };
    let expected: Vec<String> = (0..25).map(|i| format!("u{i:02}")).collect();
    for _walk in 0..2 {
        let mut seen = Vec::new();
        for start in [1, 11, 21] {
            let (total, ids) = page(start).await;
            assert_eq!(total, 25);
            seen.extend(ids);
        }
        assert_eq!(seen, expected);
    }
    // Out of order: by position.
    assert_eq!(page(6).await.1, expected[5..15]);
    // A resource of page 1 deleted mid-walk: page 2 still starts right after page 1, and
    // the walk's totalResults is the count its first page made.
    let first = page(1).await.1;
    store
        .delete(&writer(tenant), ResourceKind::User, "u03", None)
        .await
        .unwrap();
    let (total, second) = page(11).await;
    assert_eq!(total, 25, "the count when the walk began");
    assert_eq!(first.last().map(String::as_str), Some("u09"));
    assert_eq!(second, expected[10..20], "nobody skipped");
    // A page out of the walk's order counts afresh.
    assert_eq!(page(3).await.0, 24);
}

pub async fn lists_page_count_and_sort<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let (tenant, kind) = (&acme.id, ResourceKind::User);
    let mut users = vec![
        with(user("u3", "carol"), "displayName", json!("b")),
        user("u1", "Bob"),
        with(user("u5", "alice"), "displayName", json!("B")),
        with(user("u2", "Ærin"), "displayName", json!("a")),
        user("u4", "dave"),
    ];
    for (i, user) in users.iter_mut().enumerate() {
        user.meta.last_modified = time([30, 10, 40, 20, 10][i]);
    }
    insert_all(&store, &acme, &users).await;
    store
        .insert(&writer(tenant), &group("g1", "a"), &[])
        .await
        .unwrap();

    let store = &store;
    let list = |query: ListQuery| async move {
        store
            .list(tenant, kind, &query, Expand::default())
            .await
            .unwrap()
    };
    let all = list(ListQuery::default()).await;
    assert_eq!(
        (all.total, ids(&all)),
        (5, vec!["u3", "u1", "u5", "u2", "u4"])
    );
    assert_eq!(all.resources, users);

    let page = |start_index, count| ListQuery {
        start_index,
        count,
        ..ListQuery::default()
    };
    let cases = [
        (page(2, 2), vec!["u1", "u5"]),
        (page(4, 10), vec!["u2", "u4"]),
        (page(5, 1), vec!["u4"]),
        (page(6, 10), vec![]),
        (page(1, 0), vec![]),
        (page(0, 1), vec!["u3"]),
    ];
    for (query, expected) in cases {
        let got = list(query.clone()).await;
        assert_eq!((got.total, ids(&got)), (5, expected), "{query:?}");
    }

    use SortOrder::{Ascending, Descending};
    let cases = [
        // Fold keys by code point: "alice" < "bob" < "carol" < "dave" < "ærin".
        (
            sorted("userName", Ascending),
            vec!["u5", "u1", "u3", "u4", "u2"],
        ),
        (
            sorted("userName", Descending),
            vec!["u2", "u4", "u3", "u1", "u5"],
        ),
        // "b" and "B" tie and keep insertion order; missing values are greatest.
        (
            sorted("displayName", Ascending),
            vec!["u2", "u3", "u5", "u1", "u4"],
        ),
        (
            sorted("displayName", Descending),
            vec!["u1", "u4", "u3", "u5", "u2"],
        ),
        (sorted("id", Descending), vec!["u5", "u4", "u3", "u2", "u1"]),
        (
            sorted("meta.lastModified", Ascending),
            vec!["u1", "u4", "u2", "u3", "u5"],
        ),
        (
            sorted("meta.lastModified", Descending),
            vec!["u5", "u3", "u2", "u1", "u4"],
        ),
        (
            sorted("externalId", Descending),
            vec!["u3", "u1", "u5", "u2", "u4"],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(ids(&list(query.clone()).await), expected, "{query:?}");
    }
    let mut query = sorted("displayName", Descending);
    (query.start_index, query.count) = (2, 2);
    query.filter = Some(compare("userName", CompareOp::Ne, "dave"));
    let got = list(query).await;
    assert_eq!((got.total, ids(&got)), (4, vec!["u3", "u5"]));
}

/// A query the store must evaluate in memory loads at most its `scan_limit` candidates:
/// beyond it, `TooManyCandidates` instead of the tenant's whole set; a query the indexes
/// answer, or whose SQL prefilter narrows the candidates under the limit, is not bound.
pub async fn in_memory_queries_load_at_most_their_scan_limit<F: SqlStoreFactory>(factory: &F) {
    use CompareOp::*;
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let users: Vec<Resource> = (0..12)
        .map(|n| {
            with(
                user(&format!("u{n:02}"), &format!("user{n:02}")),
                "title",
                json!("t"),
            )
        })
        .collect();
    insert_all(&store, &acme, &users).await;
    let bounded = |filter: Filter, sort: Option<&str>| ListQuery {
        filter: Some(filter),
        sort: sort.map(|attribute| scim_core::query::Sort {
            path: path(attribute),
            order: SortOrder::Ascending,
        }),
        scan_limit: Some(10),
        ..ListQuery::default()
    };
    let list = |query: ListQuery| {
        let (store, tenant) = (&store, acme.id.clone());
        async move {
            store
                .list(&tenant, ResourceKind::User, &query, Expand::default())
                .await
        }
    };
    // Twelve candidates for a filter no column answers: refused.
    let refused = list(bounded(compare("title", Eq, "t"), None)).await;
    assert!(
        matches!(refused, Err(StoreError::TooManyCandidates { limit: 10 })),
        "{refused:?}"
    );
    let sorted = list(bounded(compare("userName", Sw, "user"), Some("title"))).await;
    assert!(
        matches!(sorted, Err(StoreError::TooManyCandidates { .. })),
        "{sorted:?}"
    );
    // The indexes answer: no bound.
    let indexed = list(bounded(compare("userName", Sw, "user"), None))
        .await
        .unwrap();
    assert_eq!(indexed.total, 12);
    // The SQL prefilter leaves two candidates: evaluated.
    let narrowed = list(bounded(
        Filter::and(compare("userName", Sw, "user0"), compare("title", Eq, "t")),
        None,
    ))
    .await
    .unwrap();
    assert_eq!(narrowed.total, 10);
    let narrowest = list(bounded(
        Filter::and(compare("userName", Sw, "user1"), compare("title", Eq, "t")),
        None,
    ))
    .await
    .unwrap();
    assert_eq!(narrowest.total, 2);
    // No limit: the whole set, as before.
    let unbounded = ListQuery {
        scan_limit: None,
        ..bounded(compare("title", Eq, "t"), None)
    };
    assert_eq!(list(unbounded).await.unwrap().total, 12);
}

/// Filters on the key columns answer as the evaluator does: folded userName and
/// displayName, case-exact id and externalId, instants, absent values, LIKE wildcards taken
/// literally, and/or/not.
pub async fn list_filters_run_on_key_columns<F: StoreFactory>(factory: &F) {
    use CompareOp::*;
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let (tenant, kind) = (&acme.id, ResourceKind::User);
    let mut users = vec![
        with(user("u1", "Straße"), "externalId", json!("Ext-1")),
        with(user("u2", "50%_off"), "displayName", json!("Ǆemal")),
        with(user("u3", "x\\y"), "externalId", json!("ext-1")),
        with(user("u4", "500 off"), "displayName", json!("")),
    ];
    for (i, user) in users.iter_mut().enumerate() {
        user.meta.last_modified = time(1_000 * i as i64);
    }
    insert_all(&store, &acme, &users).await;
    let cases = [
        (compare("userName", Eq, "STRASSE"), vec!["u1"]),
        (compare("USERNAME", Eq, "strasse"), vec!["u1"]),
        (compare("userName", Sw, "50%"), vec!["u2"]),
        (compare("userName", Sw, "OFF"), vec![]),
        (compare("userName", Ew, "OFF"), vec!["u2", "u4"]),
        (compare("userName", Ew, "50"), vec![]),
        (compare("userName", Co, "_"), vec!["u2"]),
        (compare("userName", Co, "%"), vec!["u2"]),
        (compare("userName", Ew, "\\Y"), vec!["u3"]),
        (compare("userName", Gt, "x"), vec!["u3"]),
        // '%' sorts before '0'.
        (compare("userName", Le, "500 off"), vec!["u2", "u4"]),
        (compare("externalId", Eq, "ext-1"), vec!["u3"]),
        (compare("externalId", Ne, "ext-1"), vec!["u1", "u2", "u4"]),
        (compare("externalId", Co, "XT"), vec![]),
        (compare("displayName", Eq, "ǆEMAL"), vec!["u2"]),
        (compare("displayName", Eq, ""), vec!["u4"]),
        (Filter::Present(path("displayName")), vec!["u2"]),
        (Filter::Present(path("externalId")), vec!["u1", "u3"]),
        (compare("id", Ge, "u3"), vec!["u3", "u4"]),
        (
            compare(
                "meta.lastModified",
                Gt,
                &scim_core::resource::format_time(&time(1_000)),
            ),
            vec!["u3", "u4"],
        ),
        (
            compare("meta.lastModified", Eq, "2026-01-01T01:00:02+01:00"),
            vec!["u3"],
        ),
        (compare("meta.created", Lt, "2026-01-01T00:00:00Z"), vec![]),
        (
            Filter::not(compare("externalId", Eq, "Ext-1")),
            vec!["u2", "u3", "u4"],
        ),
        (
            Filter::or(compare("userName", Sw, "s"), Filter::Present(path("title"))),
            vec!["u1"],
        ),
        (
            Filter::and(
                Filter::not(Filter::Present(path("externalId"))),
                compare("userName", Co, "off"),
            ),
            vec!["u2", "u4"],
        ),
        // Not on a column: the evaluator narrows the SQL prefilter.
        (
            Filter::and(compare("userName", Co, "0"), compare("title", Eq, "x")),
            vec![],
        ),
        (
            Filter::Compare {
                path: path("meta.lastModified"),
                op: Ge,
                value: CompValue::Str("2026-01-01T00:00:02.0000001Z".into()),
            },
            vec!["u4"],
        ),
    ];
    for (filter, expected) in cases {
        let got = store
            .list(tenant, kind, &filtered(filter.clone()), Expand::default())
            .await
            .unwrap();
        assert_eq!(ids(&got), expected, "{filter}");
        assert_eq!(got.total, expected.len() as u64, "{filter}");
    }
}

/// Tokens are stored by hash: found with their tenant, listed per tenant, revoked per tenant.
pub async fn tokens_are_found_listed_and_revoked<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let globex = with_tenant(&store, "globex").await;
    let mut first = token("tok-1", &acme, "scim_first");
    first.expires = Some(time(3_600_000));
    let mut second = token("tok-2", &acme, "scim_second");
    second.created = time(1);
    let other = token("tok-3", &globex, "scim_other");
    for token in [&second, &first, &other] {
        store.insert_token(token).await.unwrap();
    }

    let found = store
        .find_token(&TokenHash::of("scim_first"))
        .await
        .unwrap();
    assert_eq!(found, Some((first.clone(), acme.clone())));
    let found = store
        .find_token(&TokenHash::of("scim_other"))
        .await
        .unwrap();
    assert_eq!(found, Some((other.clone(), globex.clone())));
    assert_eq!(
        store.find_token(&TokenHash::of("scim_nope")).await.unwrap(),
        None
    );
    assert_eq!(
        store.list_tokens(&acme.id).await.unwrap(),
        [first.clone(), second.clone()]
    );

    // Another tenant cannot revoke it; its own tenant can, once.
    let result = store.revoke_token(&globex.id, "tok-1").await;
    assert!(matches!(result, Err(StoreError::NotFound)));
    store.revoke_token(&acme.id, "tok-1").await.unwrap();
    let result = store.revoke_token(&acme.id, "tok-1").await;
    assert!(matches!(result, Err(StoreError::NotFound)));
    assert_eq!(
        store
            .find_token(&TokenHash::of("scim_first"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.list_tokens(&acme.id).await.unwrap(), [second]);

    // A token for a tenant that does not exist cannot be stored.
    let result = store
        .insert_token(&token("tok-4", &tenant("ghost"), "scim_ghost"))
        .await;
    assert!(matches!(result, Err(StoreError::NotFound)), "{result:?}");
}

/// Slugs are unique; tenants are found by slug and listed by slug.
pub async fn tenant_slugs_are_unique<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let globex = with_tenant(&store, "globex").await;
    let acme = with_tenant(&store, "acme").await;
    let mut copy = tenant("acme");
    copy.id.0 = "another-id".into();
    assert_conflict(store.create_tenant(&copy).await, "slug");
    let mut same_id = tenant("initech");
    same_id.id = acme.id.clone();
    assert_conflict(store.create_tenant(&same_id).await, "id");

    assert_eq!(store.find_tenant("acme").await.unwrap(), Some(acme.clone()));
    assert_eq!(store.find_tenant("ACME").await.unwrap(), None);
    assert_eq!(store.find_tenant("initech").await.unwrap(), None);
    assert_eq!(
        store.list_tenants(None, usize::MAX).await.unwrap(),
        [acme.clone(), globex.clone()]
    );
    // Pages by slug: at most `limit`, after the slug given.
    assert_eq!(
        store.list_tenants(None, 1).await.unwrap(),
        std::slice::from_ref(&acme)
    );
    assert_eq!(
        store.list_tenants(Some("acme"), 5).await.unwrap(),
        std::slice::from_ref(&globex)
    );
    assert_eq!(
        store.list_tenants(Some("b"), 5).await.unwrap(),
        std::slice::from_ref(&globex)
    );
    assert!(
        store
            .list_tenants(Some("globex"), 5)
            .await
            .unwrap()
            .is_empty()
    );

    // An update changes the name and settings, of that tenant only.
    let entra = scim_core::compat::Compatibility::profile("entra").unwrap();
    store
        .update_tenant(&acme.id, "Acme Corp", &entra)
        .await
        .unwrap();
    let renamed = store.find_tenant("acme").await.unwrap().unwrap();
    assert_eq!(renamed.name, "Acme Corp");
    assert_eq!(renamed.compatibility, entra);
    assert_eq!(renamed.id, acme.id);
    assert_eq!(store.find_tenant("globex").await.unwrap(), Some(globex));
    let unknown = store
        .update_tenant(&scim_core::tenant::TenantId("nobody".into()), "x", &entra)
        .await;
    assert!(matches!(unknown, Err(StoreError::NotFound)), "{unknown:?}");
}

/// A store answers its ping; opening the database again (migrations already applied) works
/// and sees the same data.
pub async fn ping_and_reopen<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    store.ping().await.unwrap();
    let acme = with_tenant(&store, "acme").await;
    store
        .insert(&writer(&acme.id), &user("u1", "alice"), &[])
        .await
        .unwrap();

    let again = store.reopen().await;
    again.ping().await.unwrap();
    let got = again
        .get(&acme.id, ResourceKind::User, "u1", Expand::default())
        .await
        .unwrap();
    assert_eq!(got, Some(user("u1", "alice")));
}

/// The store's list answers equal the core's reference implementation over random users,
/// filters, sorts and pages.
pub async fn list_agrees_with_the_evaluator<F: StoreFactory>(factory: &F) {
    crate::agreement::check_list_agreement(factory.open().await).await;
}

/// OAuth clients are found by id with their tenant, listed per tenant, and revoked by their
/// own tenant only, taking their access tokens with them; a client's new token clears its
/// expired ones.
pub async fn clients_and_their_tokens<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let globex = with_tenant(&store, "globex").await;
    let client = StoredClient {
        id: "client-1".into(),
        tenant: acme.id.clone(),
        auth: ClientAuth::Secret(TokenHash::of("scim_client")),
        created: time(5),
        expires: Some(time(1_000_000)),
    };
    store.insert_client(&client).await.unwrap();
    assert_eq!(
        store.find_client("client-1").await.unwrap(),
        Some((client.clone(), acme.clone()))
    );
    assert_eq!(store.find_client("client-2").await.unwrap(), None);
    assert_eq!(
        store.list_clients(&acme.id).await.unwrap(),
        std::slice::from_ref(&client)
    );
    assert!(store.list_clients(&globex.id).await.unwrap().is_empty());

    let issued = |id: &str, secret: &str, expires: i64| StoredToken {
        expires: Some(time(expires)),
        client: Some("client-1".into()),
        ..token(id, &acme, secret)
    };
    let old = issued("t-old", "scim_old", 1_000);
    store.insert_client_token(&old, time(500)).await.unwrap();
    let fresh = issued("t-new", "scim_new", 10_000);
    store
        .insert_client_token(&fresh, time(2_000))
        .await
        .unwrap();
    // The expired token went when the fresh one came.
    assert_eq!(
        store.find_token(&TokenHash::of("scim_old")).await.unwrap(),
        None
    );
    assert_eq!(
        store.find_token(&TokenHash::of("scim_new")).await.unwrap(),
        Some((fresh, acme.clone()))
    );

    let foreign = store.revoke_client(&globex.id, "client-1").await;
    assert!(matches!(foreign, Err(StoreError::NotFound)), "{foreign:?}");
    store.revoke_client(&acme.id, "client-1").await.unwrap();
    assert_eq!(store.find_client("client-1").await.unwrap(), None);
    assert_eq!(
        store.find_token(&TokenHash::of("scim_new")).await.unwrap(),
        None
    );
    let again = store.revoke_client(&acme.id, "client-1").await;
    assert!(matches!(again, Err(StoreError::NotFound)), "{again:?}");

    // A federated client keeps its trust, and has no secret.
    let trust = Federation::new(
        "https://login.example.com/t/v2.0",
        "https://login.example.com/t/keys",
        "workload",
        "api://app",
        NetworkPolicy::default(),
    )
    .unwrap();
    let federated = StoredClient {
        id: "client-2".into(),
        auth: ClientAuth::Federated(trust),
        expires: None,
        ..client
    };
    store.insert_client(&federated).await.unwrap();
    let found = store.find_client("client-2").await.unwrap();
    assert_eq!(found, Some((federated.clone(), acme.clone())));
    assert_eq!(found.unwrap().0.secret_hash(), None);
    assert_eq!(store.list_clients(&acme.id).await.unwrap(), vec![federated]);
}

/// API keys belong to no tenant: stored by hash, found by it, listed oldest first with
/// their scopes, touched, and revoked once; two keys never share an id.
pub async fn api_keys_are_found_listed_touched_and_revoked<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let key = |id: &str, secret: &str, created: i64| ApiKey {
        id: id.into(),
        name: format!("key {id}"),
        scopes: vec![Scope::TenantsRead, Scope::LicensesWrite],
        hash: TokenHash::of(secret),
        hint: secret.chars().take(12).collect(),
        created: time(created),
        expires: Some(time(created + 1_000)),
        last_used: None,
    };
    let billing = key("k-billing", "scimkey_billing", 20);
    let signup = ApiKey {
        scopes: vec![Scope::Admin],
        expires: None,
        ..key("k-signup", "scimkey_signup", 10)
    };
    store.insert_api_key(&billing).await.unwrap();
    store.insert_api_key(&signup).await.unwrap();
    let twice = store.insert_api_key(&billing).await;
    assert!(
        matches!(twice, Err(StoreError::Conflict { .. })),
        "{twice:?}"
    );
    assert_eq!(
        store.api_keys().await.unwrap(),
        vec![signup.clone(), billing.clone()]
    );
    assert_eq!(
        store
            .find_api_key(&TokenHash::of("scimkey_billing"))
            .await
            .unwrap(),
        Some(billing.clone())
    );
    assert_eq!(
        store
            .find_api_key(&TokenHash::of("scimkey_other"))
            .await
            .unwrap(),
        None
    );

    store.touch_api_key("k-billing", time(500)).await.unwrap();
    let touched = store
        .find_api_key(&TokenHash::of("scimkey_billing"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(touched.last_used, Some(time(500)));

    store.revoke_api_key("k-billing").await.unwrap();
    assert_eq!(
        store
            .find_api_key(&TokenHash::of("scimkey_billing"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.api_keys().await.unwrap(), vec![signup]);
    let again = store.revoke_api_key("k-billing").await;
    assert!(matches!(again, Err(StoreError::NotFound)), "{again:?}");
    // A revoked key's use is not recorded, nor an error.
    store.touch_api_key("k-billing", time(600)).await.unwrap();
}

/// Pinned client-certificate fingerprints are kept per tenant and come back with the
/// tenant (by slug, and with its tokens and clients); an empty list unpins.
pub async fn client_certificates_are_pinned_per_tenant<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    with_tenant(&store, "globex").await;
    let pins = vec!["ab".repeat(32), "cd".repeat(32)];
    store.set_client_certs(&acme.id, &pins).await.unwrap();
    let found = store.find_tenant("acme").await.unwrap().unwrap();
    assert_eq!(found.client_certs, pins);
    assert!(
        store
            .find_tenant("globex")
            .await
            .unwrap()
            .unwrap()
            .client_certs
            .is_empty()
    );
    store
        .insert_token(&token("tok-1", &acme, "scim_pinned"))
        .await
        .unwrap();
    let (_, by_token) = store
        .find_token(&TokenHash::of("scim_pinned"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_token.client_certs, pins);
    store.set_client_certs(&acme.id, &[]).await.unwrap();
    assert!(
        store
            .find_tenant("acme")
            .await
            .unwrap()
            .unwrap()
            .client_certs
            .is_empty()
    );
    let missing = store
        .set_client_certs(&scim_core::tenant::TenantId("nope".into()), &pins)
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}

/// A batch commits what it can: each write in a savepoint of its own, so a refused one (a
/// taken userName, a member of another tenant, a stale version, a missing resource) rolls
/// back alone, and later writes see earlier ones.
pub async fn batch_writes_fail_one_by_one<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let globex = with_tenant(&store, "globex").await;
    insert_all(&store, &globex, &[user("g-user", "foreign")]).await;
    insert_all(&store, &acme, &[user("old", "old"), user("gone", "gone")]).await;
    let add = |id: &str| vec![MembershipChange::Add(vec![NewMember::id(id)])];
    let insert = |resource: Resource, members: Vec<MembershipChange>| BatchWrite::Insert {
        resource,
        members,
        events: vec![],
    };
    let renamed = next_version(&with(user("u1", "alice"), "displayName", json!("Alice")), 2);
    let writes = vec![
        insert(user("u1", "alice"), vec![]),
        insert(user("u2", "ALICE"), vec![]),
        insert(group("g1", "Admins"), add("u1")),
        insert(group("g2", "Foreign"), add("g-user")),
        insert(user("u3", "bob"), vec![]),
        // u1 as inserted above is at version 1; a stale version is refused.
        BatchWrite::Update {
            resource: renamed.clone(),
            expected_version: 7,
            members: vec![],
            events: vec![],
        },
        BatchWrite::Update {
            resource: renamed,
            expected_version: 1,
            members: vec![],
            events: vec![],
        },
        BatchWrite::Delete {
            kind: ResourceKind::User,
            id: "gone".into(),
            expected_version: None,
            events: vec![],
        },
        BatchWrite::Delete {
            kind: ResourceKind::User,
            id: "never".into(),
            expected_version: None,
            events: vec![],
        },
    ];
    let mut results = store.write_batch(&writer(&acme.id), &writes).await.unwrap();
    let ok: Vec<bool> = results.iter().map(Result::is_ok).collect();
    assert_eq!(
        ok,
        [true, false, true, false, true, false, true, true, false],
        "{results:?}"
    );
    assert!(
        matches!(&results[3], Err(StoreError::InvalidReference { value }) if value == "g-user"),
        "{results:?}"
    );
    assert!(
        matches!(&results[5], Err(StoreError::VersionMismatch)),
        "{results:?}"
    );
    assert!(
        matches!(&results[8], Err(StoreError::NotFound)),
        "{results:?}"
    );
    assert_conflict(results.remove(1), "userName");
    let alice = store
        .get(&acme.id, ResourceKind::User, "u1", Expand::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (alice.meta.version, &alice.attributes["displayName"]),
        (2, &json!("Alice"))
    );
    let page = store
        .list(
            &acme.id,
            ResourceKind::User,
            &ListQuery::default(),
            Expand::default(),
        )
        .await
        .unwrap();
    assert_eq!(ids(&page), ["old", "u1", "u3"]);
    let admins = store
        .get(&acme.id, ResourceKind::Group, "g1", Expand::MEMBERS)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(admins.attributes["members"][0]["value"], "u1");
    assert!(
        store
            .get(&acme.id, ResourceKind::Group, "g2", Expand::default())
            .await
            .unwrap()
            .is_none()
    );
}

/// A row the store cannot read is `Corrupt` (a 500, "do not retry"), never `Unavailable`
/// (a 503 telling the IdP to retry what will never heal): a resource whose data is not
/// JSON, a pool whose seat stripes are gone.
pub async fn unreadable_rows_are_corrupt_not_unavailable<F: SqlStoreFactory>(factory: &F) {
    use diesel::RunQueryDsl;
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let globex = with_tenant(&store, "globex").await;
    let ctx = writer(&globex.id);
    crate::fixtures::set_pool(&*store, &ctx, &scim_core::license::Pool::new("pro", 5))
        .await
        .unwrap();
    store
        .insert(&writer(&acme.id), &user("u1", "alice"), &[])
        .await
        .unwrap();
    store
        .raw(|connection| {
            diesel::sql_query("UPDATE resources SET data = 'not json' WHERE id = 'u1'")
                .execute(connection)
                .unwrap();
        })
        .await;
    let read = store
        .get(&acme.id, ResourceKind::User, "u1", Expand::default())
        .await;
    assert!(matches!(read, Err(StoreError::Corrupt(_))), "{read:?}");
    store
        .raw(|connection| {
            diesel::sql_query("DELETE FROM seat_stripes")
                .execute(connection)
                .unwrap();
        })
        .await;
    let licensed = with(user("u2", "bob"), "entitlements", json!([{"value": "pro"}]));
    let write = store.insert(&ctx, &licensed, &[]).await;
    assert!(matches!(write, Err(StoreError::Corrupt(_))), "{write:?}");
}
