//! Store versus evaluator: over random users and groups, filters, sorts and pages, a store's
//! `list` must answer exactly what the core's `apply_in_memory` answers over the same
//! resources, with their computed `members` and `groups` (see [`crate::oracle`]) — and show
//! those only when asked to.
//!
//! Names are drawn from a small alphabet with case variants, `ß`/`ss`, composed and
//! decomposed `é` and `LIKE`'s wildcards, so that folding, uniqueness, wildcard escaping and
//! ties all come up often. Filters mix terms the store runs in SQL (userName, externalId,
//! displayName, id, meta.*) with terms only the evaluator knows (title, active, emails, value
//! paths) under and/or/not.
//!
//! Groups get random users and other groups as members (cycles included). Group filters mix
//! displayName, externalId and id with member terms the store pushes down (`members[value eq
//! …]`, `members.value eq|ne …`, with case variants of the ids) and terms it must evaluate
//! over loaded members (`members[type eq "User"]`, `members.display`, `members pr`); user
//! filters also ask about `groups` (direct and indirect).

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::FixedOffset;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use scim_core::filter::{CompValue, CompareOp, Filter, check};
use scim_core::fold::fold_key;
use scim_core::query::{Keyset, ListQuery, Sort, SortOrder, apply_in_memory, sort_path};
use scim_core::resource::{format_time, membership_attribute};
use scim_core::tenant::Tenant;
use scim_core::{
    Expand, MembershipChange, Meta, NewMember, Resource, ResourceKind, SchemaRegistry, StoreError,
};
use serde_json::{Map, Value, json};

use crate::fixtures::writer;
use crate::fixtures::{group, ids, next_version, path, registry, tenant, time};
use crate::oracle::Memberships;
use crate::{ContractStore, TestStore};

/// Proptest cases per store (`PROPTEST_CASES` overrides it for a deeper run); each case is a
/// fresh tenant with `MIN_USERS..=MAX_USERS` users.
const CASES: u32 = 64;
const MIN_USERS: usize = 2;
const MAX_USERS: usize = 8;
/// Groups per case besides the empty `g0`.
const MAX_GROUPS: usize = 4;
/// Queries asked of each case's users, and of its groups (inserting them is what costs).
const QUERIES_PER_CASE: usize = 8;

/// What names and literals are made of: case variants, `ß` and `ss`, composed and
/// decomposed `é`, and `LIKE`'s wildcards and escape character.
const PIECES: &[&str] = &["a", "A", "ß", "ss", "S", "%", "_", "\\", "é", "e\u{301}"];
const OPS: &[CompareOp] = &[
    CompareOp::Eq,
    CompareOp::Ne,
    CompareOp::Co,
    CompareOp::Sw,
    CompareOp::Ew,
    CompareOp::Gt,
    CompareOp::Ge,
    CompareOp::Lt,
    CompareOp::Le,
];
/// Text attributes with a column of their own (compared in SQL)…
const COLUMN_PATHS: &[&str] = &["userName", "externalId", "displayName"];
/// …and without (compared by the evaluator only).
const OTHER_PATHS: &[&str] = &["title", "emails.value", "emails.type", "emails"];
const PRESENT_PATHS: &[&str] = &[
    "userName",
    "externalId",
    "displayName",
    "title",
    "active",
    "emails",
    "emails.type",
    "id",
    "meta.created",
];

/// Runs the agreement property on one store (cases run one after another, each in its own
/// tenant) and panics with the smallest disagreement found.
pub async fn check_list_agreement<S: ContractStore>(store: TestStore<S>) {
    let handle = tokio::runtime::Handle::current();
    let registry = registry();
    let outcome = crate::blocking(move || {
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|cases| cases.parse().ok())
            .unwrap_or(CASES);
        let mut config = Config::with_cases(cases);
        config.failure_persistence = None;
        let mut runner = TestRunner::new(config);
        let next_tenant = AtomicUsize::new(0);
        runner
            .run(&case(), |case| {
                let number = next_tenant.fetch_add(1, Ordering::Relaxed);
                handle.block_on(check_case(&store, &registry, number, &case))
            })
            .map_err(|error| error.to_string())
    })
    .await;
    if let Err(error) = outcome {
        panic!("the store disagrees with the evaluator: {error}");
    }
}

/// One generated case: a tenant's users and groups, and what is asked of them.
#[derive(Debug, Clone)]
struct Case {
    users: Vec<UserSpec>,
    groups: Vec<GroupSpec>,
    user_queries: Vec<Asked>,
    group_queries: Vec<Asked>,
}

/// A list query, and whether the page should carry the computed attribute.
#[derive(Debug, Clone)]
struct Asked {
    query: ListQuery,
    expand: bool,
}

async fn check_case<S: ContractStore>(
    store: &TestStore<S>,
    registry: &SchemaRegistry,
    number: usize,
    case: &Case,
) -> Result<(), TestCaseError> {
    let tenant = tenant(&format!("agree-{number}"));
    store
        .create_tenant(&tenant)
        .await
        .map_err(|error| fail(&error))?;
    let mut memberships = Memberships::default();
    // A group in the tenant: never part of a User list, never with members.
    let empty = group("g0", "a");
    store
        .insert(&writer(&tenant.id), &empty, &[])
        .await
        .map_err(|error| fail(&error))?;
    memberships.created(&empty);
    let mut users: Vec<Resource> = Vec::new();
    // The id of each generated user that was inserted.
    let mut user_ids: Vec<Option<String>> = Vec::new();
    for (index, spec) in case.users.iter().enumerate() {
        let user = spec.to_resource(index);
        match store.insert(&writer(&tenant.id), &user, &[]).await {
            Ok(_) => {
                memberships.created(&user);
                user_ids.push(Some(user.id.clone()));
                users.push(user);
            }
            Err(StoreError::Conflict { attribute }) if attribute == "userName" => {
                let key = Some(fold_key(&spec.user_name));
                let taken = users
                    .iter()
                    .any(|other| other.str_attribute("userName").map(fold_key) == key);
                prop_assert!(taken, "conflict on the free userName {:?}", spec.user_name);
                user_ids.push(None);
            }
            Err(error) => return Err(fail(&error)),
        }
    }
    let groups = insert_groups(store, &tenant, case, &user_ids, &mut memberships).await?;
    let groups: Vec<Resource> = std::iter::once(empty).chain(groups).collect();

    let asked = [
        (ResourceKind::User, &users, &case.user_queries),
        (ResourceKind::Group, &groups, &case.group_queries),
    ];
    for (kind, resources, queries) in asked {
        let expanded: Vec<Resource> = resources
            .iter()
            .map(|resource| memberships.expanded(resource))
            .collect();
        // Stores are only ever asked validated queries.
        let valid = queries.iter().filter(|asked| {
            asked
                .query
                .filter
                .as_ref()
                .is_none_or(|filter| check(filter, kind, registry).is_ok())
        });
        for Asked { query, expand } in valid {
            let expansion = Expand {
                members: *expand,
                groups: *expand,
                licenses: false,
            };
            let got = store
                .list(&tenant.id, kind, query, expansion)
                .await
                .map_err(|error| fail(&error))?;
            let mut expected = apply_in_memory(expanded.clone(), kind, registry, query);
            if !expand {
                for resource in &mut expected.resources {
                    resource.attributes.remove(membership_attribute(kind));
                }
            }
            let described = format!("{kind}s, {}, expand={expand}", describe(query));
            prop_assert_eq!(ids(&got), ids(&expected), "ids for {}", described);
            prop_assert_eq!(got.total, expected.total, "total for {}", described);
            prop_assert_eq!(
                &got.resources,
                &expected.resources,
                "resources for {}",
                described
            );
            if query.sort.is_none() && query.count > 0 {
                let everything = ListQuery {
                    start_index: 1,
                    count: u64::MAX,
                    ..query.clone()
                };
                let all = apply_in_memory(expanded.clone(), kind, registry, &everything);
                let walked = walk_by_keyset(store, &tenant, kind, query, expansion).await?;
                prop_assert_eq!(walked.0, ids(&all), "forward keyset walk of {}", described);
                prop_assert_eq!(walked.1, ids(&all), "backward keyset walk of {}", described);
            }
        }
    }
    Ok(())
}

/// The ids a keyset walk (RFC 9865 cursors) of `query` sees, forwards from the first page
/// to the last, and then backwards from the last page to the first, each page checked for
/// its size and total on the way.
async fn walk_by_keyset<S: ContractStore>(
    store: &TestStore<S>,
    tenant: &Tenant,
    kind: ResourceKind,
    query: &ListQuery,
    expansion: Expand,
) -> Result<(Vec<String>, Vec<String>), TestCaseError> {
    let page_of = |keyset| {
        let query = ListQuery {
            keyset: Some(keyset),
            ..query.clone()
        };
        async move {
            store
                .list(&tenant.id, kind, &query, expansion)
                .await
                .map_err(|error| fail(&error))
        }
    };
    let mut forward: Vec<String> = Vec::new();
    let mut pages = Vec::new();
    let mut keyset = Keyset::First;
    loop {
        let page = page_of(keyset).await?;
        prop_assert!(page.resources.len() as u64 <= query.count);
        prop_assert!(
            pages.is_empty() == page.previous_key.is_none(),
            "previous key {:?} on page {}",
            page.previous_key,
            pages.len()
        );
        forward.extend(page.resources.iter().map(|r| r.id.clone()));
        pages.push(page.resources.len());
        prop_assert!(pages.len() <= 64, "the walk does not end");
        match page.next_key {
            Some(key) => {
                prop_assert_eq!(
                    page.resources.len() as u64,
                    query.count,
                    "a page before the last is full"
                );
                keyset = Keyset::After(key);
            }
            None => {
                // Backwards from the last page's first resource.
                let mut backward: Vec<Vec<String>> =
                    vec![page.resources.iter().map(|r| r.id.clone()).collect()];
                let mut previous = page.previous_key;
                while let Some(key) = previous {
                    let page = page_of(Keyset::Before(key)).await?;
                    prop_assert!(!page.resources.is_empty(), "an empty page before {}", key);
                    prop_assert!(
                        page.next_key.is_some(),
                        "a page before another has a next key"
                    );
                    backward.push(page.resources.iter().map(|r| r.id.clone()).collect());
                    previous = page.previous_key;
                    prop_assert!(backward.len() <= 64, "the backward walk does not end");
                }
                let backward = backward.into_iter().rev().flatten().collect();
                return Ok((forward, backward));
            }
        }
    }
}

/// Inserts the case's groups with their user members (labelled as IdPs do, with the user's
/// displayName or userName), then gives those with group members their second version
/// adding them unlabelled (so groups can be members of later groups and of themselves
/// through cycles). Returns the groups as stored.
async fn insert_groups<S: ContractStore>(
    store: &TestStore<S>,
    tenant: &Tenant,
    case: &Case,
    user_ids: &[Option<String>],
    memberships: &mut Memberships,
) -> Result<Vec<Resource>, TestCaseError> {
    let mut groups = Vec::with_capacity(case.groups.len());
    for (index, spec) in case.groups.iter().enumerate() {
        let group = spec.to_resource(index);
        let members: Vec<NewMember> = spec
            .users
            .iter()
            .filter_map(|&user| user_ids.get(user).cloned().flatten())
            .map(|id| NewMember {
                display: memberships.label(&id),
                id,
            })
            .collect();
        for member in &members {
            memberships.add(&group.id, &member.id, member.display.clone());
        }
        store
            .insert(
                &writer(&tenant.id),
                &group,
                &[MembershipChange::Add(members)],
            )
            .await
            .map_err(|error| fail(&error))?;
        memberships.created(&group);
        groups.push(group);
    }
    for (index, spec) in case.groups.iter().enumerate() {
        let members: Vec<NewMember> = spec
            .groups
            .iter()
            .filter(|&&other| other != index && other < case.groups.len())
            .map(|&other| NewMember::id(group_id(other)))
            .collect();
        if members.is_empty() {
            continue;
        }
        for member in &members {
            memberships.add(&group_id(index), &member.id, None);
        }
        let current = &groups[index];
        let next = next_version(current, (spec.modified_seconds + 1) * 1_000);
        let changes = [MembershipChange::Add(members)];
        store
            .update(&writer(&tenant.id), &next, current.meta.version, &changes)
            .await
            .map_err(|error| fail(&error))?;
        groups[index] = next;
    }
    Ok(groups)
}

fn fail(error: &StoreError) -> TestCaseError {
    TestCaseError::fail(format!("store error: {error:?}"))
}

fn describe(query: &ListQuery) -> String {
    let filter = query.filter.as_ref().map(ToString::to_string);
    let sort = query
        .sort
        .as_ref()
        .map(|sort| format!("{} {:?}", sort.path, sort.order));
    format!(
        "filter={} sortBy={} startIndex={} count={}",
        filter.unwrap_or_default(),
        sort.unwrap_or_default(),
        query.start_index,
        query.count
    )
}

/// What varies between generated users.
#[derive(Debug, Clone)]
struct UserSpec {
    id_prefix: char,
    user_name: String,
    external_id: Option<String>,
    display_name: Option<String>,
    active: Option<bool>,
    title: Option<String>,
    /// `(value, type, primary)`
    emails: Vec<(String, Option<&'static str>, bool)>,
    created_seconds: i64,
    modified_seconds: i64,
}

impl UserSpec {
    fn to_resource(&self, index: usize) -> Resource {
        let mut attributes = Map::new();
        attributes.insert("userName".into(), json!(self.user_name));
        let optional = [
            ("externalId", self.external_id.clone().map(Value::String)),
            ("displayName", self.display_name.clone().map(Value::String)),
            ("active", self.active.map(Value::Bool)),
            ("title", self.title.clone().map(Value::String)),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                attributes.insert(name.into(), value);
            }
        }
        if !self.emails.is_empty() {
            let emails = self.emails.iter().map(|(value, kind, primary)| {
                let mut email = json!({ "value": value, "primary": primary });
                if let (Some(kind), Value::Object(email)) = (kind, &mut email) {
                    email.insert("type".into(), json!(kind));
                }
                email
            });
            attributes.insert("emails".into(), Value::Array(emails.collect()));
        }
        Resource {
            kind: ResourceKind::User,
            id: format!("{}{index}", self.id_prefix),
            meta: Meta {
                created: time(self.created_seconds * 1_000),
                last_modified: time(self.modified_seconds * 1_000),
                version: 1,
            },
            attributes,
        }
    }
}

/// 0 to `max` pieces of the alphabet.
fn text(min: usize, max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(select(PIECES), min..=max).prop_map(|pieces| pieces.concat())
}

fn users() -> impl Strategy<Value = Vec<UserSpec>> {
    let email = (
        text(0, 2),
        prop::option::of(select(&["work", "home"][..])),
        any::<bool>(),
    );
    let user = (
        // `C`: ids are case-exact, but `members.value` compares them folded.
        select(&['a', 'b', 'C'][..]),
        text(1, 2),
        prop::option::of(select(&["a", "A", "a%", "S_"][..]).prop_map(String::from)),
        prop::option::of(text(0, 2)),
        prop::option::of(any::<bool>()),
        prop::option::of(text(0, 1)),
        prop::collection::vec(email, 0..=2),
        0i64..2,
        0i64..4,
    )
        .prop_map(
            |(
                id_prefix,
                user_name,
                external_id,
                display_name,
                active,
                title,
                emails,
                created,
                modified,
            )| UserSpec {
                id_prefix,
                user_name,
                external_id,
                display_name,
                active,
                title,
                emails,
                created_seconds: created,
                modified_seconds: created + modified,
            },
        );
    prop::collection::vec(user, MIN_USERS..=MAX_USERS)
}

/// An RFC 3339 literal around the generated times, in several spellings: with milliseconds,
/// with an offset, more precise than a microsecond, without fraction.
fn time_literal() -> impl Strategy<Value = String> {
    (0i64..6, 0u8..4).prop_map(|(seconds, style)| {
        let at = time(seconds * 1_000);
        match style {
            0 => format_time(&at),
            1 => FixedOffset::east_opt(3_600)
                .map(|offset| at.with_timezone(&offset).to_rfc3339())
                .unwrap_or_else(|| format_time(&at)),
            2 => format!("{}.0000001Z", at.format("%Y-%m-%dT%H:%M:%S")),
            _ => at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        }
    })
}

fn comparison(attribute: &str, op: CompareOp, value: CompValue) -> Filter {
    Filter::Compare {
        path: path(attribute),
        op,
        value,
    }
}

/// The text values of the users, which literals are made from so that comparisons hit.
fn literal_pool(users: &[UserSpec]) -> Vec<String> {
    let mut pool = Vec::new();
    for user in users {
        pool.push(user.user_name.clone());
        pool.extend(user.external_id.clone());
        pool.extend(user.display_name.clone());
        pool.extend(user.title.clone());
        pool.extend(user.emails.iter().map(|(value, _, _)| value.clone()));
    }
    pool
}

/// A text literal: random, or one of the users' values as it is, upper- or lower-cased
/// (`ß` upper-cases to `SS`), or a prefix or suffix of one.
fn text_literal(pool: &[String]) -> impl Strategy<Value = CompValue> + use<> {
    let derived = (select(pool.to_vec()), 0u8..5, any::<prop::sample::Index>()).prop_map(
        |(value, variant, cut)| {
            let chars: Vec<char> = value.chars().collect();
            let cut = cut.index(chars.len() + 1);
            match variant {
                0 => value,
                1 => value.to_uppercase(),
                2 => value.to_lowercase(),
                3 => chars[..cut].iter().collect(),
                _ => chars[cut..].iter().collect(),
            }
        },
    );
    prop_oneof![1 => text(0, 1), 3 => derived].prop_map(CompValue::Str)
}

/// A comparison or `pr` on an attribute with a column: what the store runs in SQL.
fn column_leaf(pool: &[String]) -> impl Strategy<Value = Filter> + use<> {
    let op = || select(OPS);
    prop_oneof![
        4 => (select(COLUMN_PATHS), op(), text_literal(pool))
            .prop_map(|(attribute, op, value)| comparison(attribute, op, value)),
        1 => (select(&["a", "b", "C", "c"][..]), 0usize..MAX_USERS, op())
            .prop_map(|(prefix, index, op)| comparison("id", op, CompValue::Str(format!("{prefix}{index}")))),
        2 => (select(&["meta.lastModified", "meta.created"][..]), op(), time_literal())
            .prop_map(|(attribute, op, literal)| comparison(attribute, op, CompValue::Str(literal))),
        1 => select(&["externalId", "displayName", "id", "meta.created"][..])
            .prop_map(|attribute| Filter::Present(path(attribute))),
    ]
}

/// A term only the evaluator answers (a superset in SQL), or a column term.
fn mixed_leaf(pool: &[String]) -> impl Strategy<Value = Filter> + use<> {
    let op = || select(OPS);
    prop_oneof![
        3 => column_leaf(pool),
        2 => (select(OTHER_PATHS), op(), text_literal(pool))
            .prop_map(|(attribute, op, value)| comparison(attribute, op, value)),
        1 => (select(&[CompareOp::Eq, CompareOp::Ne][..]), any::<bool>())
            .prop_map(|(op, value)| comparison("active", op, CompValue::Bool(value))),
        1 => select(PRESENT_PATHS).prop_map(|attribute| Filter::Present(path(attribute))),
        2 => user_groups_leaf(pool),
        1 => (op(), text_literal(pool), select(&["work", "home"][..])).prop_map(|(op, value, kind)| {
            Filter::ValuePath {
                path: path("emails"),
                filter: Box::new(Filter::and(
                    comparison("value", op, value),
                    comparison("type", CompareOp::Eq, CompValue::Str(kind.into())),
                )),
            }
        }),
    ]
}

/// Leaves under and/or/not, up to three levels deep.
fn combined(leaf: impl Strategy<Value = Filter> + 'static) -> impl Strategy<Value = Filter> {
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(left, right)| Filter::and(left, right)),
            (inner.clone(), inner.clone()).prop_map(|(left, right)| Filter::or(left, right)),
            inner.prop_map(Filter::not),
        ]
    })
}

/// Two thirds of the filters use column terms only (the store answers them in SQL, where a
/// too wide condition shows), one third mixes in terms only the evaluator knows (where the
/// SQL prefilter must not be too narrow).
fn filter(pool: &[String]) -> impl Strategy<Value = Filter> + use<> {
    prop_oneof![
        2 => combined(column_leaf(pool)),
        1 => combined(mixed_leaf(pool)),
    ]
}

/// A sort by one of `attributes`, or none (30 %).
fn sort_by(
    kind: ResourceKind,
    attributes: impl Strategy<Value = &'static str>,
) -> impl Strategy<Value = Option<Sort>> {
    let registry = SchemaRegistry::standard();
    prop::option::weighted(0.7, (attributes, any::<bool>())).prop_map(move |sort| {
        let (attribute, descending) = sort?;
        let path = sort_path(kind, &registry, attribute).ok()?;
        let order = if descending {
            SortOrder::Descending
        } else {
            SortOrder::Ascending
        };
        Some(Sort { path, order })
    })
}

/// Sorting users, mostly by the columns that can be NULL (where the order of missing values
/// matters).
fn sort() -> impl Strategy<Value = Option<Sort>> {
    let attribute = prop_oneof![
        3 => select(&["displayName", "externalId"][..]),
        2 => select(&["userName", "id", "meta.lastModified", "meta.created"][..]),
        1 => select(&["title", "active", "emails", "groups"][..]),
    ];
    sort_by(ResourceKind::User, attribute)
}

/// A query, and whether its page should carry the computed attribute.
fn asked(
    filter: impl Strategy<Value = Filter>,
    sort: impl Strategy<Value = Option<Sort>>,
) -> impl Strategy<Value = Asked> {
    (
        prop::option::weighted(0.85, filter),
        sort,
        prop_oneof![3 => Just(1u64), 2 => 2u64..=5],
        prop_oneof![1 => Just(0u64), 3 => 1u64..=4, 3 => Just(100)],
        any::<bool>(),
    )
        .prop_map(|(filter, sort, start_index, count, expand)| Asked {
            query: ListQuery {
                filter,
                sort,
                start_index,
                count,
                ..ListQuery::default()
            },
            expand,
        })
}

/// Users and groups, and queries whose literals come from their values.
fn case() -> impl Strategy<Value = Case> {
    (users(), groups()).prop_flat_map(|(users, groups)| {
        let mut user_pool = literal_pool(&users);
        user_pool.extend(groups.iter().map(|group| group.display_name.clone()));
        let user_queries =
            prop::collection::vec(asked(filter(&user_pool), sort()), QUERIES_PER_CASE);
        let group_pool = group_literal_pool(&users, &groups);
        let member_ids = member_id_pool(&users, &groups);
        let group_queries = prop::collection::vec(
            asked(group_filter(&group_pool, &member_ids), group_sort()),
            QUERIES_PER_CASE,
        );
        (Just(users), Just(groups), user_queries, group_queries).prop_map(
            |(users, groups, user_queries, group_queries)| Case {
                users,
                groups,
                user_queries,
                group_queries,
            },
        )
    })
}

/// What varies between generated groups. Members are indexes into the generated users (those
/// not inserted are skipped) and groups (a group's own index is skipped).
#[derive(Debug, Clone)]
struct GroupSpec {
    display_name: String,
    external_id: Option<String>,
    users: Vec<usize>,
    groups: Vec<usize>,
    created_seconds: i64,
    modified_seconds: i64,
}

/// The id of the generated group at `index` (`g0` is the case's empty group).
fn group_id(index: usize) -> String {
    format!("g{}", index + 1)
}

impl GroupSpec {
    fn to_resource(&self, index: usize) -> Resource {
        let mut attributes = Map::new();
        attributes.insert("displayName".into(), json!(self.display_name));
        if let Some(external_id) = &self.external_id {
            attributes.insert("externalId".into(), json!(external_id));
        }
        Resource {
            kind: ResourceKind::Group,
            id: group_id(index),
            meta: Meta {
                created: time(self.created_seconds * 1_000),
                last_modified: time(self.modified_seconds * 1_000),
                version: 1,
            },
            attributes,
        }
    }
}

fn groups() -> impl Strategy<Value = Vec<GroupSpec>> {
    let group = (
        text(1, 2),
        prop::option::of(select(&["a", "A", "a%", "S_"][..]).prop_map(String::from)),
        prop::collection::vec(0..MAX_USERS, 0..=4),
        prop::collection::vec(0..MAX_GROUPS, 0..=2),
        0i64..2,
        0i64..4,
    )
        .prop_map(
            |(display_name, external_id, users, groups, created, modified)| GroupSpec {
                display_name,
                external_id,
                users,
                groups,
                created_seconds: created,
                modified_seconds: created + modified,
            },
        );
    prop::collection::vec(group, 0..=MAX_GROUPS)
}

/// The text values groups are filtered by: their own, and their members' displays.
fn group_literal_pool(users: &[UserSpec], groups: &[GroupSpec]) -> Vec<String> {
    let mut pool = vec!["a".to_owned()];
    for group in groups {
        pool.push(group.display_name.clone());
        pool.extend(group.external_id.clone());
    }
    for user in users {
        pool.push(user.user_name.clone());
        pool.extend(user.display_name.clone());
    }
    pool
}

/// The ids members can have: every generated user's and group's, and one of nothing.
fn member_id_pool(users: &[UserSpec], groups: &[GroupSpec]) -> Vec<String> {
    let users = users
        .iter()
        .enumerate()
        .map(|(index, user)| format!("{}{index}", user.id_prefix));
    let groups = (0..=groups.len()).map(|index| format!("g{index}"));
    users.chain(groups).chain(["x9".to_owned()]).collect()
}

/// A member id as written, or upper-cased (`members.value` compares folded).
fn member_id(ids: &[String]) -> impl Strategy<Value = CompValue> + use<> {
    (select(ids.to_vec()), any::<bool>())
        .prop_map(|(id, upper)| CompValue::Str(if upper { id.to_uppercase() } else { id }))
}

fn str_literal(text: &'static str) -> CompValue {
    CompValue::Str(text.to_owned())
}

/// `attribute[filter]`.
fn where_some(attribute: &str, filter: Filter) -> Filter {
    Filter::ValuePath {
        path: path(attribute),
        filter: Box::new(filter),
    }
}

/// A term on users' `groups` (direct and indirect), answered over the loaded groups.
fn user_groups_leaf(pool: &[String]) -> impl Strategy<Value = Filter> + use<> {
    let group = (0..=MAX_GROUPS + 1, any::<bool>()).prop_map(|(index, upper)| {
        CompValue::Str(if upper {
            format!("G{index}")
        } else {
            format!("g{index}")
        })
    });
    let membership = select(&["direct", "indirect", "Indirect"][..]).prop_map(str_literal);
    prop_oneof![
        2 => (select(&[CompareOp::Eq, CompareOp::Ne][..]), group.clone())
            .prop_map(|(op, id)| comparison("groups.value", op, id)),
        2 => (group, membership.clone()).prop_map(|(id, membership)| {
            where_some("groups", Filter::and(
                comparison("value", CompareOp::Eq, id),
                comparison("type", CompareOp::Eq, membership),
            ))
        }),
        1 => membership.prop_map(|membership| comparison("groups.type", CompareOp::Eq, membership)),
        1 => (select(OPS), text_literal(pool))
            .prop_map(|(op, value)| comparison("groups.display", op, value)),
        1 => Just(Filter::Present(path("groups"))),
    ]
}

/// A term on a group's own attributes.
fn group_column_leaf(pool: &[String], ids: &[String]) -> impl Strategy<Value = Filter> + use<> {
    let op = || select(OPS);
    prop_oneof![
        4 => (select(&["displayName", "externalId"][..]), op(), text_literal(pool))
            .prop_map(|(attribute, op, value)| comparison(attribute, op, value)),
        1 => (op(), member_id(ids)).prop_map(|(op, id)| comparison("id", op, id)),
        1 => (select(&["meta.lastModified", "meta.created"][..]), op(), time_literal())
            .prop_map(|(attribute, op, literal)| comparison(attribute, op, CompValue::Str(literal))),
        1 => select(&["externalId", "displayName"][..])
            .prop_map(|attribute| Filter::Present(path(attribute))),
    ]
}

/// A term on a group's members: by member id (pushed down to SQL) or by anything else
/// (evaluated over the loaded members).
fn members_leaf(pool: &[String], ids: &[String]) -> impl Strategy<Value = Filter> + use<> {
    let value_is = |id| comparison("value", CompareOp::Eq, id);
    let kind = select(&["User", "Group", "user"][..]).prop_map(str_literal);
    let pushed_down = prop_oneof![
        3 => member_id(ids).prop_map(move |id| where_some("members", value_is(id))),
        2 => (select(&["members.value", "members"][..]), select(&[CompareOp::Eq, CompareOp::Ne][..]), member_id(ids))
            .prop_map(|(attribute, op, id)| comparison(attribute, op, id)),
        2 => (member_id(ids), member_id(ids), any::<bool>()).prop_map(move |(a, b, or)| {
            let (a, b) = (value_is(a), value_is(b));
            where_some("members", if or { Filter::or(a, b) } else { Filter::and(a, b) })
        }),
    ];
    let in_memory = prop_oneof![
        1 => (select(OPS), member_id(ids)).prop_map(|(op, id)| comparison("members.value", op, id)),
        2 => kind.clone().prop_map(|kind| where_some("members", comparison("type", CompareOp::Eq, kind))),
        1 => (member_id(ids), kind).prop_map(move |(id, kind)| {
            where_some("members", Filter::and(value_is(id), comparison("type", CompareOp::Eq, kind)))
        }),
        1 => (select(OPS), text_literal(pool))
            .prop_map(|(op, value)| comparison("members.display", op, value)),
        1 => select(&["members", "members.value", "members.display"][..])
            .prop_map(|attribute| Filter::Present(path(attribute))),
    ];
    prop_oneof![2 => pushed_down, 1 => in_memory]
}

/// Group filters: half of them on columns and member ids only (what SQL answers exactly),
/// half mixing in member terms the evaluator answers.
fn group_filter(pool: &[String], ids: &[String]) -> impl Strategy<Value = Filter> + use<> {
    prop_oneof![
        1 => combined(group_column_leaf(pool, ids)),
        1 => combined(prop_oneof![
            1 => group_column_leaf(pool, ids),
            2 => members_leaf(pool, ids),
        ]),
    ]
}

/// Sorting groups, sometimes by their members (the first one's value).
fn group_sort() -> impl Strategy<Value = Option<Sort>> {
    let attribute = prop_oneof![
        3 => select(&["displayName", "externalId"][..]),
        2 => select(&["id", "meta.lastModified", "meta.created"][..]),
        1 => select(&["members", "members.display", "members.type"][..]),
    ];
    sort_by(ResourceKind::Group, attribute)
}
