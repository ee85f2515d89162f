//! The contract of group membership: members are rows, changed by `MembershipChange`s in the
//! group's write and computed on reads that ask for them (`members` of groups, `groups` of
//! users with indirect membership). Re-exported by [`crate::contract`], so
//! `contract_tests!` runs these too.

use scim_core::filter::{CompareOp, Filter};
use scim_core::ports::ResourceRepository;
use scim_core::query::ListQuery;
use scim_core::tenant::Tenant;
use scim_core::{Expand, MembershipChange, NewMember, Resource, ResourceKind, StoreError};
use serde_json::{Value, json};

use crate::contract::{insert_all, with_tenant};
use crate::fixtures::writer;
use crate::fixtures::{compare, filtered, group, ids, next_version, path, user, with};
use crate::{ContractStore, StoreFactory, TestStore};

const MEMBERS: Expand = Expand::MEMBERS;
const GROUPS: Expand = Expand::GROUPS;

fn add(ids: &[&str]) -> MembershipChange {
    MembershipChange::Add(ids.iter().map(|id| NewMember::id(*id)).collect())
}

/// Adds members labelled as an IdP labels them: `(id, display)`.
fn add_labelled(members: &[(&str, &str)]) -> MembershipChange {
    MembershipChange::Add(
        members
            .iter()
            .map(|(id, display)| NewMember {
                id: (*id).to_owned(),
                display: Some((*display).to_owned()),
            })
            .collect(),
    )
}

fn remove(ids: &[&str]) -> MembershipChange {
    MembershipChange::Remove(ids.iter().map(|id| (*id).to_owned()).collect())
}

async fn read<S: ContractStore>(
    store: &TestStore<S>,
    tenant: &Tenant,
    kind: ResourceKind,
    id: &str,
    expand: Expand,
) -> Resource {
    store
        .get(&tenant.id, kind, id, expand)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{kind} {id} is gone"))
}

/// The group's version.
async fn version<S: ContractStore>(store: &TestStore<S>, tenant: &Tenant, group: &str) -> i64 {
    read(store, tenant, ResourceKind::Group, group, Expand::default())
        .await
        .meta
        .version
}

/// `(value, type)` of each element of the resource's `attribute`, in order.
fn references(resource: &Resource, attribute: &str) -> Vec<(String, String)> {
    let Some(values) = resource.attributes.get(attribute) else {
        return Vec::new();
    };
    let field = |value: &Value, name: &str| value[name].as_str().unwrap_or_default().to_owned();
    values
        .as_array()
        .unwrap_or_else(|| panic!("{attribute} is not an array: {values}"))
        .iter()
        .map(|value| (field(value, "value"), field(value, "type")))
        .collect()
}

/// `(value, type)` of each member of the group, in order.
async fn members<S: ContractStore>(
    store: &TestStore<S>,
    tenant: &Tenant,
    group: &str,
) -> Vec<(String, String)> {
    let group = read(store, tenant, ResourceKind::Group, group, MEMBERS).await;
    references(&group, "members")
}

/// `(value, type)` of each group of the user, direct ones first.
async fn groups<S: ContractStore>(
    store: &TestStore<S>,
    tenant: &Tenant,
    user: &str,
) -> Vec<(String, String)> {
    let user = read(store, tenant, ResourceKind::User, user, GROUPS).await;
    references(&user, "groups")
}

/// `(id, "User")` for each id.
fn users(ids: &[&str]) -> Vec<(String, String)> {
    ids.iter()
        .map(|id| ((*id).to_owned(), "User".to_owned()))
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(value, kind)| ((*value).to_owned(), (*kind).to_owned()))
        .collect()
}

/// Writes the group's next version with `changes`, planned on its current version.
async fn change<S: ContractStore>(
    store: &TestStore<S>,
    tenant: &Tenant,
    group: &str,
    changes: &[MembershipChange],
) -> Result<(), StoreError> {
    let current = read(store, tenant, ResourceKind::Group, group, Expand::default()).await;
    let next = next_version(&current, 1_000 * current.meta.version);
    store
        .update(&writer(&tenant.id), &next, current.meta.version, changes)
        .await
}

fn assert_invalid_reference(result: Result<(), StoreError>, value: &str) {
    match result {
        Err(StoreError::InvalidReference { value: actual }) => assert_eq!(actual, value),
        other => panic!("expected an invalid reference to {value}, got {other:?}"),
    }
}

/// Members are added, re-added (a no-op), removed (unknown ones ignored) and all removed, in
/// the order given, in the group's versioned write.
pub async fn group_members_change_with_the_group<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let people = ["u1", "u2", "u3", "u4"].map(|id| user(id, &format!("user-{id}")));
    insert_all(&store, &acme, &people).await;
    insert_all(&store, &acme, &[group("g2", "Ops")]).await;
    let admins = group("g1", "Admins");
    store
        .insert(&writer(&acme.id), &admins, &[add(&["u2", "u1", "u2"])])
        .await
        .unwrap();
    // In the order the members were created, whatever the order they were added in.
    assert_eq!(members(&store, &acme, "g1").await, users(&["u1", "u2"]));

    change(&store, &acme, "g1", &[add(&["u3", "u1", "g2"])])
        .await
        .unwrap();
    let expected = [
        ("u1", "User"),
        ("u2", "User"),
        ("u3", "User"),
        ("g2", "Group"),
    ];
    assert_eq!(members(&store, &acme, "g1").await, pairs(&expected));
    let stored = read(&store, &acme, ResourceKind::Group, "g1", Expand::default()).await;
    assert_eq!(stored.meta.version, 2);

    // Planned on a version that is gone: nothing changes.
    let stale = next_version(&admins, 9_000);
    let result = store
        .update(&writer(&acme.id), &stale, 1, &[add(&["u4"])])
        .await;
    assert!(
        matches!(result, Err(StoreError::VersionMismatch)),
        "{result:?}"
    );
    assert_eq!(members(&store, &acme, "g1").await, pairs(&expected));
    let result = store
        .update(&writer(&acme.id), &stale, 1, &[MembershipChange::RemoveAll])
        .await;
    assert!(
        matches!(result, Err(StoreError::VersionMismatch)),
        "{result:?}"
    );
    assert_eq!(members(&store, &acme, "g1").await.len(), 4);

    change(&store, &acme, "g1", &[remove(&["u2", "u4", "nope", "g2"])])
        .await
        .unwrap();
    assert_eq!(members(&store, &acme, "g1").await, users(&["u1", "u3"]));
    change(
        &store,
        &acme,
        "g1",
        &[MembershipChange::RemoveAll, add(&["u4", "u2"])],
    )
    .await
    .unwrap();
    assert_eq!(members(&store, &acme, "g1").await, users(&["u2", "u4"]));
    // In order: what is added and then removed is gone.
    change(&store, &acme, "g1", &[add(&["u1"]), remove(&["u1", "u2"])])
        .await
        .unwrap();
    assert_eq!(members(&store, &acme, "g1").await, users(&["u4"]));
    change(&store, &acme, "g1", &[MembershipChange::RemoveAll])
        .await
        .unwrap();
    let emptied = read(&store, &acme, ResourceKind::Group, "g1", MEMBERS).await;
    assert!(!emptied.attributes.contains_key("members"), "{emptied:?}");
    assert_eq!(emptied.meta.version, 6);
    // Other groups are untouched.
    assert_eq!(members(&store, &acme, "g2").await, []);
}

/// A member must be a User or Group of the group's tenant, and not the group itself; the
/// first bad id is named and nothing of the write is kept.
pub async fn bad_member_references_are_rejected<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let globex = with_tenant(&store, "globex").await;
    insert_all(&store, &acme, &[user("u1", "alice"), group("g1", "Admins")]).await;
    insert_all(
        &store,
        &globex,
        &[user("x1", "xavier"), user("u1", "other")],
    )
    .await;
    store
        .insert(
            &writer(&globex.id),
            &group("gx", "Globex"),
            &[add(&["x1", "u1"])],
        )
        .await
        .unwrap();

    let result = change(&store, &acme, "g1", &[add(&["u1", "nope", "nada"])]).await;
    assert_invalid_reference(result, "nope");
    // Another tenant's resource is unknown here.
    let result = change(&store, &acme, "g1", &[add(&["x1"])]).await;
    assert_invalid_reference(result, "x1");
    let result = change(&store, &acme, "g1", &[add(&["u1", "g1"])]).await;
    assert_invalid_reference(result, "g1");
    // The failed writes left the group as it was, version included.
    let g1 = read(&store, &acme, ResourceKind::Group, "g1", MEMBERS).await;
    assert_eq!((g1.meta.version, references(&g1, "members")), (1, vec![]));
    // A new group with a bad member is not created.
    let result = store
        .insert(
            &writer(&acme.id),
            &group("g2", "Ops"),
            &[add(&["u1"]), add(&["gx"])],
        )
        .await
        .map(|_| ());
    assert_invalid_reference(result, "gx");
    let gone = store
        .get(&acme.id, ResourceKind::Group, "g2", MEMBERS)
        .await;
    assert_eq!(gone.unwrap(), None);

    // Removing names this tenant's resources only.
    change(&store, &acme, "g1", &[add(&["u1"])]).await.unwrap();
    change(&store, &acme, "g1", &[remove(&["x1"])])
        .await
        .unwrap();
    assert_eq!(members(&store, &acme, "g1").await, pairs(&[("u1", "User")]));
    let foreign = pairs(&[("x1", "User"), ("u1", "User")]);
    assert_eq!(members(&store, &globex, "gx").await, foreign);
    change(&store, &acme, "g1", &[remove(&["u1"])])
        .await
        .unwrap();
    assert_eq!(members(&store, &globex, "gx").await, foreign);
    // Nor do filters see another tenant's memberships.
    let by_member = filtered(compare("members.value", CompareOp::Eq, "x1"));
    let page = store
        .list(&acme.id, ResourceKind::Group, &by_member, MEMBERS)
        .await
        .unwrap();
    assert_eq!(page.total, 0);
}

/// Deleting a user removes it from every group (which gets a new version); deleting a group
/// removes its own members' rows and its rows in other groups. A new resource with a
/// deleted one's id inherits nothing.
pub async fn deletes_remove_memberships<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    insert_all(&store, &acme, &[user("u1", "alice"), user("u2", "bob")]).await;
    let tenant = &acme.id;
    store
        .insert(
            &writer(tenant),
            &group("g1", "Admins"),
            &[add(&["u1", "u2"])],
        )
        .await
        .unwrap();
    store
        .insert(&writer(tenant), &group("g2", "Ops"), &[add(&["g1", "u1"])])
        .await
        .unwrap();
    store
        .insert(&writer(tenant), &group("g3", "Sales"), &[add(&["u2"])])
        .await
        .unwrap();

    store
        .delete(&writer(tenant), ResourceKind::User, "u1", None)
        .await
        .unwrap();
    assert_eq!(members(&store, &acme, "g1").await, pairs(&[("u2", "User")]));
    assert_eq!(
        members(&store, &acme, "g2").await,
        pairs(&[("g1", "Group")])
    );
    assert_eq!(
        (
            version(&store, &acme, "g1").await,
            version(&store, &acme, "g2").await
        ),
        (2, 2)
    );
    assert_eq!(version(&store, &acme, "g3").await, 1);
    let by_member = filtered(compare("members.value", CompareOp::Eq, "u1"));
    let page = store
        .list(tenant, ResourceKind::Group, &by_member, MEMBERS)
        .await
        .unwrap();
    assert_eq!(page.total, 0);

    let u2_groups = pairs(&[("g1", "direct"), ("g3", "direct"), ("g2", "indirect")]);
    assert_eq!(groups(&store, &acme, "u2").await, u2_groups);
    store
        .delete(&writer(tenant), ResourceKind::Group, "g1", Some(2))
        .await
        .unwrap();
    assert_eq!(
        groups(&store, &acme, "u2").await,
        pairs(&[("g3", "direct")])
    );
    assert_eq!(members(&store, &acme, "g2").await, []);
    assert_eq!(version(&store, &acme, "g2").await, 3);

    // The same ids again are new resources, members of nothing and with no members.
    store
        .insert(&writer(tenant), &user("u1", "alice"), &[])
        .await
        .unwrap();
    store
        .insert(&writer(tenant), &group("g1", "Admins"), &[])
        .await
        .unwrap();
    assert_eq!(groups(&store, &acme, "u1").await, []);
    assert_eq!(members(&store, &acme, "g1").await, []);
    assert_eq!(members(&store, &acme, "g2").await, []);
}

/// Users show the groups they are in directly and through nested groups, each group once
/// (direct wins), cycles included; filters on `groups` see the same.
pub async fn users_show_direct_and_indirect_groups<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let tenant = &acme.id;
    let loner = with(user("u2", "bob"), "displayName", json!("Bob"));
    insert_all(&store, &acme, &[user("u1", "alice"), loner]).await;
    // g1 ∋ u1; g2 ∋ g1; g3 ∋ g2; g1 ∋ g3 (a cycle); g4 ∋ u1, g3.
    for (id, name, changes) in [
        ("g1", "One", add(&["u1"])),
        ("g2", "Two", add(&["g1"])),
        ("g3", "Three", add(&["g2"])),
        ("g4", "Four", add(&["u1", "g3"])),
    ] {
        store
            .insert(&writer(tenant), &group(id, name), &[changes])
            .await
            .unwrap();
    }
    change(&store, &acme, "g1", &[add(&["g3"])]).await.unwrap();

    let expected = [
        ("g1", "direct"),
        ("g4", "direct"),
        ("g2", "indirect"),
        ("g3", "indirect"),
    ];
    assert_eq!(groups(&store, &acme, "u1").await, pairs(&expected));
    let alice = read(&store, &acme, ResourceKind::User, "u1", GROUPS).await;
    assert_eq!(
        alice.attributes["groups"][0],
        json!({"value": "g1", "display": "One", "type": "direct"})
    );
    assert_eq!(groups(&store, &acme, "u2").await, []);
    let plain = read(&store, &acme, ResourceKind::User, "u1", MEMBERS).await;
    assert!(!plain.attributes.contains_key("groups"), "{plain:?}");

    // A page is expanded as a whole, the same way.
    let page = store
        .list(tenant, ResourceKind::User, &ListQuery::default(), GROUPS)
        .await
        .unwrap();
    assert_eq!(page.resources[0], alice);
    assert!(!page.resources[1].attributes.contains_key("groups"));

    let indirect = Filter::ValuePath {
        path: path("groups"),
        filter: Box::new(compare("type", CompareOp::Eq, "indirect")),
    };
    let cases = [
        (indirect, vec!["u1"]),
        (compare("groups.value", CompareOp::Eq, "G3"), vec!["u1"]),
        (compare("groups.display", CompareOp::Co, "our"), vec!["u1"]),
        (Filter::not(Filter::Present(path("groups"))), vec!["u2"]),
        (
            Filter::or(
                compare("groups.value", CompareOp::Eq, "g9"),
                compare("displayName", CompareOp::Eq, "bob"),
            ),
            vec!["u2"],
        ),
    ];
    for (filter, expected) in cases {
        for expand in [Expand::default(), GROUPS] {
            let page = store
                .list(
                    tenant,
                    ResourceKind::User,
                    &filtered(filter.clone()),
                    expand,
                )
                .await
                .unwrap();
            assert_eq!(ids(&page), expected, "{filter}");
            let shown = page
                .resources
                .iter()
                .any(|user| user.attributes.contains_key("groups"));
            assert_eq!(shown, expand.groups && expected == ["u1"], "{filter}");
        }
    }
}

/// `members` and `groups` are loaded only when asked for, are never stored with the resource
/// (a written copy of them is dropped); members show the label they were added with, else
/// their own displayName (or userName), read as it is now; groups their displayName.
pub async fn memberships_load_only_when_asked<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let tenant = &acme.id;
    // A stale copy of computed values in what is written is not kept.
    let forged = json!([{"value": "g9", "type": "direct"}]);
    let alice = with(user("u1", "alice"), "groups", forged);
    let bob = with(user("u2", "bob"), "displayName", json!("Bob B"));
    insert_all(&store, &acme, &[alice, bob]).await;
    let stale = with(
        group("g1", "Admins"),
        "members",
        json!([{"value": "u9", "type": "User"}]),
    );
    store
        .insert(
            &writer(tenant),
            &stale,
            &[
                add_labelled(&[("u1", "alice")]),
                add(&["u2"]),
                add_labelled(&[("u1", "again")]),
            ],
        )
        .await
        .unwrap();

    let plain = read(&store, &acme, ResourceKind::Group, "g1", Expand::default()).await;
    assert_eq!(plain, group("g1", "Admins"));
    let plain = read(&store, &acme, ResourceKind::User, "u1", Expand::default()).await;
    assert_eq!(plain, user("u1", "alice"));
    let shown = read(&store, &acme, ResourceKind::Group, "g1", MEMBERS).await;
    assert_eq!(
        shown.attributes["members"],
        json!([
            {"value": "u1", "display": "alice", "type": "User"},
            {"value": "u2", "display": "Bob B", "type": "User"},
        ])
    );
    // The label is the client's: renaming the member leaves it.
    let renamed = with(
        next_version(&user("u1", "alice"), 5),
        "displayName",
        json!("Al"),
    );
    store
        .update(&writer(tenant), &renamed, 1, &[])
        .await
        .unwrap();
    let shown = read(&store, &acme, ResourceKind::Group, "g1", MEMBERS).await;
    assert_eq!(shown.attributes["members"][0]["display"], json!("alice"));
    // A member added without a label shows its own, as it is now: renaming it shows.
    let bob_renamed = with(
        next_version(&user("u2", "bob"), 5),
        "displayName",
        json!("Robert"),
    );
    store
        .update(&writer(tenant), &bob_renamed, 1, &[])
        .await
        .unwrap();
    let shown = read(&store, &acme, ResourceKind::Group, "g1", MEMBERS).await;
    assert_eq!(shown.attributes["members"][1]["display"], json!("Robert"));
    let no_display_name = next_version(&next_version(&user("u2", "bob"), 5), 6);
    store
        .update(&writer(tenant), &no_display_name, 2, &[])
        .await
        .unwrap();
    let shown = read(&store, &acme, ResourceKind::Group, "g1", MEMBERS).await;
    assert_eq!(
        shown.attributes["members"][1]["display"],
        json!("bob"),
        "else its userName"
    );
    let groups = read(&store, &acme, ResourceKind::User, "u2", GROUPS).await;
    assert_eq!(
        groups.attributes["groups"],
        json!([{"value": "g1", "display": "Admins", "type": "direct"}])
    );
    // A write of the group carrying its members as read keeps the rows as they are.
    let rewritten = next_version(&shown, 7);
    store
        .update(&writer(tenant), &rewritten, 1, &[])
        .await
        .unwrap();
    assert_eq!(members(&store, &acme, "g1").await.len(), 2);
    let plain = read(&store, &acme, ResourceKind::Group, "g1", Expand::default()).await;
    assert!(!plain.attributes.contains_key("members"), "{plain:?}");

    // Lists: a filter on members (evaluated in memory) sees them either way; the page
    // carries them only when asked.
    let by_type = Filter::ValuePath {
        path: path("members"),
        filter: Box::new(compare("type", CompareOp::Eq, "user")),
    };
    for query in [ListQuery::default(), filtered(by_type)] {
        for expand in [Expand::default(), GROUPS, MEMBERS] {
            let page = store
                .list(tenant, ResourceKind::Group, &query, expand)
                .await
                .unwrap();
            assert_eq!(ids(&page), ["g1"], "{query:?}");
            let shown = page.resources[0].attributes.contains_key("members");
            assert_eq!(shown, expand.members, "{query:?} {expand:?}");
        }
    }
}

/// Group lists filter by displayName (folded), externalId (exact) and members: by member id
/// (folded, in SQL) and by anything else about members (in memory).
pub async fn group_lists_filter_by_members<F: StoreFactory>(factory: &F) {
    use CompareOp::*;
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let tenant = &acme.id;
    let alice = with(user("u1", "alice"), "displayName", json!("Alice A"));
    insert_all(
        &store,
        &acme,
        &[alice, user("u2", "bob"), user("u3", "carol")],
    )
    .await;
    for (id, name, external, members) in [
        (
            "g1",
            "Admins",
            "E-1",
            vec![("u1", "Alice A"), ("u2", "bob")],
        ),
        (
            "g2",
            "admins",
            "e-1",
            vec![("u3", "carol"), ("g1", "Admins")],
        ),
        ("g3", "Ops", "e-3", vec![]),
        ("g4", "Sales", "e-4", vec![("g2", "admins")]),
    ] {
        let group = with(group(id, name), "externalId", json!(external));
        store
            .insert(&writer(tenant), &group, &[add_labelled(&members)])
            .await
            .unwrap();
    }
    let members_where = |filter: Filter| Filter::ValuePath {
        path: path("members"),
        filter: Box::new(filter),
    };
    let cases = [
        (compare("displayName", Eq, "ADMINS"), vec!["g1", "g2"]),
        (compare("externalId", Eq, "e-1"), vec!["g2"]),
        (members_where(compare("value", Eq, "u1")), vec!["g1"]),
        (members_where(compare("value", Eq, "U1")), vec!["g1"]),
        (compare("members.value", Eq, "g1"), vec!["g2"]),
        (compare("members", Eq, "u3"), vec!["g2"]),
        (
            members_where(Filter::or(
                compare("value", Eq, "u1"),
                compare("value", Eq, "u3"),
            )),
            vec!["g1", "g2"],
        ),
        (
            Filter::or(
                members_where(compare("value", Eq, "u1")),
                compare("displayName", Eq, "ops"),
            ),
            vec!["g1", "g3"],
        ),
        (compare("members.value", Ne, "u1"), vec!["g2", "g3", "g4"]),
        (
            Filter::and(
                Filter::not(members_where(compare("value", Eq, "g2"))),
                compare("displayName", Sw, "a"),
            ),
            vec!["g1", "g2"],
        ),
        (
            members_where(compare("type", Eq, "Group")),
            vec!["g2", "g4"],
        ),
        (
            members_where(Filter::and(
                compare("type", Eq, "User"),
                compare("value", Eq, "g1"),
            )),
            vec![],
        ),
        (
            members_where(Filter::and(
                compare("type", Eq, "group"),
                compare("value", Eq, "G1"),
            )),
            vec!["g2"],
        ),
        (compare("members.display", Co, "ADMIN"), vec!["g2", "g4"]),
        (compare("members.display", Eq, "alice a"), vec!["g1"]),
        (compare("members.display", Eq, "BOB"), vec!["g1"]),
        (Filter::Present(path("members")), vec!["g1", "g2", "g4"]),
        (Filter::not(Filter::Present(path("members"))), vec!["g3"]),
        (members_where(compare("value", Eq, "nope")), vec![]),
        // Some member is both: none is.
        (
            members_where(Filter::and(
                compare("value", Eq, "u1"),
                compare("value", Eq, "u2"),
            )),
            vec![],
        ),
        (
            Filter::and(
                compare("externalId", Eq, "E-1"),
                members_where(compare("value", Eq, "u2")),
            ),
            vec!["g1"],
        ),
    ];
    for (filter, expected) in cases {
        let page = store
            .list(
                tenant,
                ResourceKind::Group,
                &filtered(filter.clone()),
                Expand::default(),
            )
            .await
            .unwrap();
        assert_eq!(ids(&page), expected, "{filter}");
        assert_eq!(page.total, expected.len() as u64, "{filter}");
        assert!(
            page.resources
                .iter()
                .all(|group| !group.attributes.contains_key("members")),
            "{filter}"
        );
    }
}

/// Changes touch only the rows they name: ten adds of 100 to a group of 1,000 (each in
/// several statements' worth of ids), a remove of 100, re-adds, and the count is exact.
/// (Nothing is timed: the benchmarks measure cost.)
pub async fn large_groups_change_by_what_is_named<F: StoreFactory>(factory: &F) {
    const USERS: usize = 2_100;
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let user_ids: Vec<String> = (0..USERS).map(|i| format!("u{i:05}")).collect();
    // Insert the users from a few tasks at once.
    let mut tasks = Vec::new();
    for chunk in user_ids.chunks(USERS.div_ceil(4)) {
        let (store, tenant, chunk) = ((*store).clone(), acme.id.clone(), chunk.to_vec());
        tasks.push(tokio::spawn(async move {
            for id in chunk {
                store
                    .insert(&writer(&tenant), &user(&id, &id), &[])
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let refs = |range: std::ops::Range<usize>| {
        user_ids[range]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    };
    store
        .insert(
            &writer(&acme.id),
            &group("big", "Big"),
            &[add(&refs(0..1_000))],
        )
        .await
        .unwrap();
    assert_eq!(members(&store, &acme, "big").await.len(), 1_000);
    for step in 0..10 {
        let start = 1_000 + 100 * step;
        change(&store, &acme, "big", &[add(&refs(start..start + 100))])
            .await
            .unwrap();
    }
    let all = members(&store, &acme, "big").await;
    assert_eq!(all.len(), 2_000);
    // (The users were inserted by parallel tasks: member order is theirs, not the ids'.)
    assert!(all.iter().any(|(id, _)| id == "u01999"));
    // Re-adding members and removing ones that are not members change nothing.
    change(
        &store,
        &acme,
        "big",
        &[add(&refs(500..1_500)), remove(&refs(2_000..2_100))],
    )
    .await
    .unwrap();
    assert_eq!(members(&store, &acme, "big").await.len(), 2_000);
    change(&store, &acme, "big", &[remove(&refs(100..200))])
        .await
        .unwrap();
    let left = members(&store, &acme, "big").await;
    assert_eq!(left.len(), 1_900);
    assert!(!left.iter().any(|(id, _)| id == "u00150"));
    let version = read(&store, &acme, ResourceKind::Group, "big", Expand::default()).await;
    assert_eq!(version.meta.version, 13);
    let by_member = filtered(compare("members.value", CompareOp::Eq, "U01999"));
    let page = store
        .list(&acme.id, ResourceKind::Group, &by_member, Expand::default())
        .await
        .unwrap();
    assert_eq!(ids(&page), ["big"]);
}
