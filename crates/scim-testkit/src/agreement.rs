//! Store versus evaluator: over random users, filters, sorts and pages, a store's `list`
//! must answer exactly what the core's `apply_in_memory` answers over the same resources.
//!
//! Names are drawn from a small alphabet with case variants, `ß`/`ss`, composed and
//! decomposed `é` and `LIKE`'s wildcards, so that folding, uniqueness, wildcard escaping and
//! ties all come up often. Filters mix terms the store runs in SQL (userName, externalId,
//! displayName, id, meta.*) with terms only the evaluator knows (title, active, emails, value
//! paths) under and/or/not.

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::FixedOffset;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use scim_core::filter::{CompValue, CompareOp, Filter, check};
use scim_core::fold::fold_key;
use scim_core::ports::{ResourceRepository, TenantRepository};
use scim_core::query::{ListQuery, Sort, SortOrder, apply_in_memory, sort_path};
use scim_core::resource::format_time;
use scim_core::{Meta, Resource, ResourceKind, SchemaRegistry, StoreError};
use serde_json::{Map, Value, json};

use crate::TestStore;
use crate::fixtures::{group, ids, path, registry, tenant, time};

/// Proptest cases per store (`PROPTEST_CASES` overrides it for a deeper run); each case is a
/// fresh tenant with `MIN_USERS..=MAX_USERS` users.
const CASES: u32 = 64;
const MIN_USERS: usize = 2;
const MAX_USERS: usize = 8;
/// Queries asked of each case's users (inserting them is what costs).
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
pub async fn check_list_agreement(store: TestStore) {
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
            .run(&case(), |(users, queries)| {
                let case = next_tenant.fetch_add(1, Ordering::Relaxed);
                handle.block_on(check_case(&store, &registry, case, &users, &queries))
            })
            .map_err(|error| error.to_string())
    })
    .await;
    if let Err(error) = outcome {
        panic!("the store disagrees with the evaluator: {error}");
    }
}

async fn check_case(
    store: &TestStore,
    registry: &SchemaRegistry,
    case: usize,
    users: &[UserSpec],
    queries: &[ListQuery],
) -> Result<(), TestCaseError> {
    let kind = ResourceKind::User;
    let tenant = tenant(&format!("agree-{case}"));
    store
        .create_tenant(&tenant)
        .await
        .map_err(|error| fail(&error))?;
    // A group in the tenant: never part of a User list.
    let group = group("g0", "a");
    store
        .insert(&tenant.id, &group)
        .await
        .map_err(|error| fail(&error))?;
    let mut inserted: Vec<Resource> = Vec::new();
    for (index, spec) in users.iter().enumerate() {
        let user = spec.to_resource(index);
        match store.insert(&tenant.id, &user).await {
            Ok(()) => inserted.push(user),
            Err(StoreError::Conflict { attribute }) if attribute == "userName" => {
                let key = Some(fold_key(&spec.user_name));
                let taken = inserted
                    .iter()
                    .any(|other| other.str_attribute("userName").map(fold_key) == key);
                prop_assert!(taken, "conflict on the free userName {:?}", spec.user_name);
            }
            Err(error) => return Err(fail(&error)),
        }
    }

    // Stores are only ever asked validated queries.
    let valid = queries.iter().filter(|query| {
        query
            .filter
            .as_ref()
            .is_none_or(|filter| check(filter, kind, registry).is_ok())
    });
    for query in valid {
        let got = store
            .list(&tenant.id, kind, query)
            .await
            .map_err(|error| fail(&error))?;
        let expected = apply_in_memory(inserted.clone(), kind, registry, query);
        let described = describe(query);
        prop_assert_eq!(ids(&got), ids(&expected), "ids for {}", described);
        prop_assert_eq!(got.total, expected.total, "total for {}", described);
        prop_assert_eq!(
            &got.resources,
            &expected.resources,
            "resources for {}",
            described
        );
    }
    Ok(())
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
        select(&['a', 'b', 'c'][..]),
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
        1 => (select(&["a", "b", "c"][..]), 0usize..MAX_USERS, op())
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

/// Sorting, mostly by the columns that can be NULL (where the order of missing values
/// matters).
fn sort() -> impl Strategy<Value = Option<Sort>> {
    let registry = SchemaRegistry::standard();
    let attribute = prop_oneof![
        3 => select(&["displayName", "externalId"][..]),
        2 => select(&["userName", "id", "meta.lastModified", "meta.created"][..]),
        1 => select(&["title", "active", "emails"][..]),
    ];
    prop::option::weighted(0.7, (attribute, any::<bool>())).prop_map(move |sort| {
        let (attribute, descending) = sort?;
        let path = sort_path(ResourceKind::User, &registry, attribute).ok()?;
        let order = if descending {
            SortOrder::Descending
        } else {
            SortOrder::Ascending
        };
        Some(Sort { path, order })
    })
}

fn query(pool: &[String]) -> impl Strategy<Value = ListQuery> + use<> {
    (
        prop::option::weighted(0.85, filter(pool)),
        sort(),
        prop_oneof![3 => Just(1u64), 2 => 2u64..=5],
        prop_oneof![1 => Just(0u64), 3 => 1u64..=4, 3 => Just(100)],
    )
        .prop_map(|(filter, sort, start_index, count)| ListQuery {
            filter,
            sort,
            start_index,
            count,
        })
}

/// Users, and queries whose literals come from their values.
fn case() -> impl Strategy<Value = (Vec<UserSpec>, Vec<ListQuery>)> {
    users().prop_flat_map(|users| {
        let queries = prop::collection::vec(query(&literal_pool(&users)), QUERIES_PER_CASE);
        (Just(users), queries)
    })
}
