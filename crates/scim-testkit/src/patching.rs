//! PATCH then GET, on every store: random PATCH requests (Entra and RFC shapes, value
//! filters, extension paths, awkward text, refused operations) go through the core's
//! `ResourceService` into the store, and after each one
//! - a GET shows exactly the attributes the core planned, one version up (or nothing
//!   changed and the version stayed, when the plan changes nothing);
//! - a request the core refuses, or the store refuses (a taken `userName`, a member that
//!   does not exist), answers the planner's error and changes nothing;
//! - the key columns follow: `userName eq` and `externalId eq` find the user under its new
//!   values;
//! - a group's members are those its member operations leave, applied in request order.
//!
//! Sequences are drawn deterministically (a failure names its requests and replays).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use scim_core::filter::{self, CompValue, CompareOp, Filter};
use scim_core::patch::{MemberChange, parse_patch};
use scim_core::ports::{Clock, IdGenerator, ResourceRepository};
use scim_core::query::ListQuery;
use scim_core::service::{Precondition, ResourceService, plan_patch};
use scim_core::tenant::Tenant;
use scim_core::{
    AttrPath, Caller, Expand, Resource, ResourceKind, SchemaRegistry, ScimError, ScimResult,
};
use serde_json::{Map, Value, json};

use crate::contract::with_tenant;
use crate::fixtures::{path, registry, time};
use crate::{ContractStore, StoreFactory, TestStore};

/// Sequences per store and kind, and PATCH requests per sequence.
const SEQUENCES: usize = 20;
const REQUESTS: usize = 10;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Text values: case variants, `ß`/`ss`, composed and decomposed `é`, quotes, escapes,
/// emoji, blanks, and the taken user's name in two cases (a PATCH to it must be refused).
const TEXTS: &[&str] = &[
    "alice",
    "Alice",
    "ß",
    "ss",
    "é",
    "e\u{301}",
    "say \"hi\"",
    "back\\slash",
    "😀 team",
    "",
    "  padded  ",
    "taken",
    "TAKEN",
];

/// One generated operation, as a client sends it.
#[derive(Debug, Clone)]
struct Op {
    op: &'static str,
    path: Option<String>,
    value: Option<Value>,
}

impl Op {
    fn to_json(&self) -> Value {
        let mut op = Map::new();
        op.insert("op".into(), json!(self.op));
        if let Some(path) = &self.path {
            op.insert("path".into(), json!(path));
        }
        if let Some(value) = &self.value {
            op.insert("value".into(), value.clone());
        }
        Value::Object(op)
    }
}

fn op(op: &'static str, path: Option<String>, value: Option<Value>) -> Op {
    Op { op, path, value }
}

fn text() -> impl Strategy<Value = String> {
    select(TEXTS).prop_map(str::to_owned)
}

/// The op name, in the cases IdPs send.
fn verb(name: &'static str) -> impl Strategy<Value = &'static str> {
    let variants: &'static [&'static str] = match name {
        "add" => &["add", "Add"],
        "replace" => &["replace", "Replace"],
        _ => &["remove", "Remove"],
    };
    select(variants)
}

fn user_op() -> impl Strategy<Value = Op> {
    let set = |attribute: &'static str| {
        (verb("replace"), text())
            .prop_map(move |(v, t)| op(v, Some(attribute.into()), Some(json!(t))))
    };
    let remove = |attribute: &'static str| {
        verb("remove").prop_map(move |v| op(v, Some(attribute.into()), None))
    };
    prop_oneof![
        set("userName"),
        set("displayName"),
        set("title"),
        set("externalId"),
        set("name.givenName"),
        set(ENTERPRISE_DEPARTMENT),
        remove("title"),
        remove("externalId"),
        remove("name.familyName"),
        remove("emails"),
        remove(r#"emails[type eq "home"]"#),
        remove(r#"roles[value eq "Dev"]"#),
        remove(ENTERPRISE_MANAGER),
        (verb("add"), text(), select(&["work", "home", "other"][..])).prop_map(|(v, t, kind)| op(
            v,
            Some("emails".into()),
            Some(json!([{"value": format!("{t}@example.com"), "type": kind}]))
        )),
        (verb("replace"), text()).prop_map(|(v, t)| op(
            v,
            Some(r#"emails[type eq "work"].value"#.into()),
            Some(json!(format!("{t}@example.com")))
        )),
        (verb("add"), text()).prop_map(|(v, t)| op(
            v,
            Some("name".into()),
            Some(json!({"familyName": t}))
        )),
        (verb("add"), select(&["Dev", "Ops", "Admin"][..])).prop_map(|(v, role)| op(
            v,
            Some("roles".into()),
            Some(json!([{"value": role}]))
        )),
        (verb("add"), select(&["pro", "basic"][..])).prop_map(|(v, sku)| op(
            v,
            Some("entitlements".into()),
            Some(json!([{"value": sku}]))
        )),
        // `active` as JSON, and as the strings Entra sends (one of them not a boolean).
        (
            verb("replace"),
            select(vec![
                json!(true),
                json!(false),
                json!("False"),
                json!("True"),
                json!("maybe")
            ])
        )
            .prop_map(|(v, active)| op(v, Some("active".into()), Some(active))),
        // Without a path: the value is a partial resource, extension included.
        (verb("replace"), text(), text()).prop_map(|(v, name, title)| op(
            v,
            None,
            Some(json!({"displayName": name, "title": title}))
        )),
        (verb("add"), text()).prop_map(|(v, t)| op(
            v,
            None,
            Some(json!({"nickName": t, ENTERPRISE: {"employeeNumber": t}}))
        )),
        // Refused: read-only, unknown, wrongly typed, missing target.
        Just(op("replace", Some("id".into()), Some(json!("other")))),
        Just(op("add", Some("nope".into()), Some(json!(1)))),
        Just(op(
            "replace",
            Some("active".into()),
            Some(json!({"on": true}))
        )),
        Just(op("remove", None, None)),
        Just(op(
            "replace",
            Some(r#"emails[type eq "none"].value"#.into()),
            Some(json!("x@example.com"))
        )),
    ]
}

const ENTERPRISE_DEPARTMENT: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department";
const ENTERPRISE_MANAGER: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";

/// Member ids a group operation may name: the four users (`m0`…`m3` stand for them) and
/// one that does not exist.
const MEMBERS: &[&str] = &["m0", "m1", "m2", "m3", "missing"];

fn group_op() -> impl Strategy<Value = Op> {
    let some_members = prop::collection::vec(select(MEMBERS), 1..3)
        .prop_map(|ids| Value::Array(ids.iter().map(|id| json!({"value": id})).collect()));
    prop_oneof![
        (verb("add"), some_members.clone()).prop_map(|(v, members)| op(
            v,
            Some("members".into()),
            Some(members)
        )),
        (verb("replace"), some_members.clone()).prop_map(|(v, members)| op(
            v,
            Some("members".into()),
            Some(members)
        )),
        // Entra removes by value; others by a value filter.
        (verb("remove"), some_members).prop_map(|(v, members)| op(
            v,
            Some("members".into()),
            Some(members)
        )),
        (verb("remove"), select(MEMBERS)).prop_map(|(v, id)| op(
            v,
            Some(format!(r#"members[value eq "{id}"]"#)),
            None
        )),
        (verb("remove"), select(MEMBERS)).prop_map(|(v, id)| op(
            v,
            Some(format!(r#"members[value ne "{id}" and type eq "User"]"#)),
            None
        )),
        verb("remove").prop_map(|v| op(v, Some("members".into()), None)),
        (verb("replace"), text()).prop_map(|(v, t)| op(
            v,
            Some("displayName".into()),
            Some(json!(t))
        )),
        (verb("replace"), text()).prop_map(|(v, t)| op(v, None, Some(json!({"externalId": t})))),
        Just(op(
            "add",
            Some("members".into()),
            Some(json!([{"display": "no value"}]))
        )),
    ]
}

/// A PATCH request of one to three operations.
fn requests(ops: impl Strategy<Value = Op>) -> impl Strategy<Value = Vec<Vec<Op>>> {
    prop::collection::vec(prop::collection::vec(ops, 1..4), REQUESTS)
}

/// What PATCH makes of users on this store is what the core planned.
pub async fn patch_then_get_equals_the_plan<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let service = service(&store);
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let mut seen = Vec::new();
    for n in 0..SEQUENCES {
        let tenant = with_tenant(&store, &format!("patching-{n}")).await;
        let caller = Caller::new(tenant.id.clone(), "token:contract", "contract test");
        let sequence = requests(user_op())
            .new_tree(&mut runner)
            .expect("a sequence")
            .current();
        create(
            &service,
            &caller,
            ResourceKind::User,
            json!({"userName": "taken"}),
        )
        .await;
        let user = create(&service, &caller, ResourceKind::User, rich_user()).await;
        let mut sent = Vec::new();
        for ops in &sequence {
            sent.push(ops.clone());
            let step = Step::new(&service, &store, &caller, &user.id, ops);
            seen.push(step.check_user(&tenant, &sent).await);
        }
        let mut sent = Vec::new();
        let group = create(
            &service,
            &caller,
            ResourceKind::Group,
            json!({"displayName": "team"}),
        )
        .await;
        let mut members = Vec::new();
        for m in 0..4 {
            let user =
                json!({"userName": format!("member-{m}"), "displayName": format!("Member {m}")});
            members.push(create(&service, &caller, ResourceKind::User, user).await.id);
        }
        let sequence = requests(group_op())
            .new_tree(&mut runner)
            .expect("a sequence")
            .current();
        for ops in &sequence {
            let ops: Vec<Op> = ops.iter().map(|op| with_member_ids(op, &members)).collect();
            sent.push(ops.clone());
            let step = Step::new(&service, &store, &caller, &group.id, &ops);
            seen.push(step.check_group(&sent).await);
        }
    }
    // The sequences must reach every outcome, or the property proves less than it says.
    for outcome in [
        Outcome::Written,
        Outcome::Unchanged,
        Outcome::Refused,
        Outcome::StoreRefused,
    ] {
        let count = seen.iter().filter(|seen| **seen == outcome).count();
        assert!(count >= 3, "only {count} PATCH requests ended {outcome:?}");
    }
}

/// How a PATCH request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Stored as planned.
    Written,
    /// Planned to change nothing, and nothing was written.
    Unchanged,
    /// Refused by the core, with the planner's error.
    Refused,
    /// Planned, then refused by the store (a taken userName, a member that does not exist).
    StoreRefused,
}

impl Outcome {
    fn written(writes: bool) -> Self {
        if writes {
            Self::Written
        } else {
            Self::Unchanged
        }
    }
}

/// The group operation with `m0`…`m3` replaced by the ids of the users they stand for.
fn with_member_ids(op: &Op, members: &[String]) -> Op {
    let mut text = serde_json::to_string(&op.to_json()).expect("json");
    for (m, id) in members.iter().enumerate() {
        text = text.replace(&format!("m{m}"), id);
    }
    let value: Value = serde_json::from_str(&text).expect("json");
    Op {
        op: op.op,
        path: value["path"].as_str().map(str::to_owned),
        value: value.get("value").cloned(),
    }
}

fn rich_user() -> Value {
    json!({
        "userName": "base",
        "externalId": "ext-base",
        "displayName": "Base",
        "name": {"givenName": "Bea", "familyName": "Base"},
        "emails": [
            {"value": "bea@example.com", "type": "work", "primary": true},
            {"value": "bea@home.example", "type": "home"}
        ],
        "roles": [{"value": "Dev"}],
        "active": true,
        "title": "Engineer",
        ENTERPRISE: {"department": "R&D", "manager": {"value": "boss"}}
    })
}

async fn create(
    service: &ResourceService,
    caller: &Caller,
    kind: ResourceKind,
    body: Value,
) -> Resource {
    let mut body = body;
    let mut schemas = vec![json!(match kind {
        ResourceKind::User => "urn:ietf:params:scim:schemas:core:2.0:User",
        _ => "urn:ietf:params:scim:schemas:core:2.0:Group",
    })];
    if body.get(ENTERPRISE).is_some() {
        schemas.push(json!(ENTERPRISE));
    }
    body["schemas"] = Value::Array(schemas);
    service
        .create(caller, kind, &body)
        .await
        .unwrap_or_else(|error| panic!("cannot create {body}: {error:?}"))
}

/// One PATCH request against one resource.
struct Step<'a, S: ContractStore> {
    service: &'a ResourceService,
    store: &'a TestStore<S>,
    caller: &'a Caller,
    id: &'a str,
    body: Value,
}

impl<'a, S: ContractStore> Step<'a, S> {
    fn new(
        service: &'a ResourceService,
        store: &'a TestStore<S>,
        caller: &'a Caller,
        id: &'a str,
        ops: &[Op],
    ) -> Self {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": ops.iter().map(Op::to_json).collect::<Vec<_>>(),
        });
        Self {
            service,
            store,
            caller,
            id,
            body,
        }
    }

    async fn get(&self, kind: ResourceKind, expand: Expand) -> Resource {
        self.store
            .get(&self.caller.tenant, kind, self.id, expand)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{kind} {} is gone", self.id))
    }

    /// The plan from the resource as stored, and what PATCH answered.
    async fn run(
        &self,
        before: &Resource,
    ) -> (
        ScimResult<(Resource, Vec<MemberChange>)>,
        ScimResult<Resource>,
    ) {
        let planned = parse_patch(&self.body)
            .and_then(|request| plan_patch(self.service.registry(), before, &request, Utc::now()));
        let answered = self
            .service
            .patch(
                self.caller,
                before.kind,
                self.id,
                &self.body,
                &Precondition::None,
                Expand::default(),
            )
            .await;
        (planned, answered)
    }

    async fn check_user(&self, tenant: &Tenant, sent: &[Vec<Op>]) -> Outcome {
        let before = self.get(ResourceKind::User, Expand::default()).await;
        let (planned, answered) = self.run(&before).await;
        let after = self.get(ResourceKind::User, Expand::default()).await;
        let context = format!("after {}", describe(sent));
        let outcome = match (planned, answered) {
            (Err(planned), Err(answered)) => {
                assert_eq!(answered, planned, "{context}");
                assert_eq!(after, before, "a refused PATCH changed the user {context}");
                Outcome::Refused
            }
            (Ok((planned, _)), Err(ScimError::Uniqueness(_))) => {
                let name = planned
                    .str_attribute("userName")
                    .map(scim_core::fold::fold_key);
                assert_eq!(
                    name.as_deref(),
                    Some("taken"),
                    "a free userName refused {context}"
                );
                assert_eq!(after, before, "a refused PATCH changed the user {context}");
                Outcome::StoreRefused
            }
            (Ok((planned, _)), Ok(answered)) => {
                let writes = planned.attributes != before.attributes;
                same_write(&before, &planned, &after, writes, &context);
                assert_eq!(
                    answered, after,
                    "the answer is not what a GET shows {context}"
                );
                Outcome::written(writes)
            }
            (planned, answered) => {
                panic!("planned {planned:?} but PATCH answered {answered:?} {context}")
            }
        };
        self.check_key_columns(tenant, &after, &context).await;
        outcome
    }

    /// `userName eq` and `externalId eq` find the user under its values, as the key columns
    /// now hold them.
    async fn check_key_columns(&self, tenant: &Tenant, user: &Resource, context: &str) {
        for attribute in ["userName", "externalId"] {
            let Some(value) = user.str_attribute(attribute) else {
                continue;
            };
            let query = ListQuery {
                filter: Some(Filter::Compare {
                    path: path(attribute),
                    op: CompareOp::Eq,
                    value: CompValue::Str(value.to_owned()),
                }),
                ..ListQuery::default()
            };
            let found = self
                .store
                .list(&tenant.id, ResourceKind::User, &query, Expand::default())
                .await
                .unwrap();
            let ids: Vec<&str> = found.resources.iter().map(|r| r.id.as_str()).collect();
            assert!(
                ids.contains(&user.id.as_str()),
                "{attribute} eq {value:?} misses the user ({ids:?}) {context}"
            );
        }
    }

    async fn check_group(&self, sent: &[Vec<Op>]) -> Outcome {
        let before = self.get(ResourceKind::Group, Expand::MEMBERS).await;
        let mut bare = before.clone();
        bare.attributes.remove("members");
        let (planned, answered) = self.run(&bare).await;
        let after = self.get(ResourceKind::Group, Expand::MEMBERS).await;
        let context = format!("after {}", describe(sent));
        match (planned, answered) {
            (Err(planned), Err(answered)) => {
                assert_eq!(answered, planned, "{context}");
                assert_eq!(after, before, "a refused PATCH changed the group {context}");
                Outcome::Refused
            }
            (Ok((planned, changes)), answered) => {
                let (expected, missing) = members_after(self.service.registry(), &before, &changes);
                if missing {
                    assert!(
                        matches!(answered, Err(ScimError::InvalidValue(_))),
                        "a missing member gave {answered:?} {context}"
                    );
                    assert_eq!(after, before, "a refused PATCH changed the group {context}");
                    return Outcome::StoreRefused;
                }
                let answered = answered.unwrap_or_else(|error| panic!("{error:?} {context}"));
                let mut bare_after = after.clone();
                bare_after.attributes.remove("members");
                let writes = !changes.is_empty() || planned.attributes != bare.attributes;
                same_write(&bare, &planned, &bare_after, writes, &context);
                assert_eq!(member_ids(&after), expected, "members {context}");
                let mut bare_answer = answered;
                bare_answer.attributes.remove("members");
                assert_eq!(
                    bare_answer, bare_after,
                    "the answer is not what a GET shows {context}"
                );
                Outcome::written(writes)
            }
            (Err(planned), Ok(answered)) => {
                panic!("planned {planned:?} but PATCH answered {answered:?} {context}")
            }
        }
    }
}

/// The write `before` → `after` is the plan: its attributes, one version up, `created` kept;
/// or, when the request changes nothing, nothing at all.
fn same_write(
    before: &Resource,
    planned: &Resource,
    after: &Resource,
    writes: bool,
    context: &str,
) {
    if !writes {
        assert_eq!(
            after, before,
            "a PATCH that changes nothing wrote {context}"
        );
        return;
    }
    assert_eq!(
        after.attributes, planned.attributes,
        "stored attributes {context}"
    );
    assert_eq!(
        after.meta.version,
        before.meta.version + 1,
        "version {context}"
    );
    assert_eq!(after.meta.created, before.meta.created, "created {context}");
    assert!(
        after.meta.last_modified >= before.meta.last_modified,
        "lastModified {context}"
    );
}

/// The member ids after `changes`, applied in order to the members `before` holds, and
/// whether one of them adds a member that does not exist.
fn members_after(
    registry: &SchemaRegistry,
    before: &Resource,
    changes: &[MemberChange],
) -> (BTreeSet<String>, bool) {
    let mut members: Vec<Value> = before
        .attributes
        .get("members")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut missing = false;
    for change in changes {
        match change {
            MemberChange::Add(added) => {
                for member in added {
                    missing |= member.value == "missing";
                    if !members.iter().any(|m| m["value"] == json!(member.value)) {
                        members.push(json!({"value": member.value, "type": "User"}));
                    }
                }
            }
            MemberChange::RemoveValues(ids) => {
                members.retain(|m| !ids.iter().any(|id| m["value"] == json!(id)));
            }
            MemberChange::RemoveAll => members.clear(),
            MemberChange::RemoveMatching(filter) => {
                let filter = Filter::ValuePath {
                    path: AttrPath::new("members"),
                    filter: Box::new(filter.clone()),
                };
                members.retain(|member| {
                    let mut doc = Map::new();
                    doc.insert("members".into(), json!([member]));
                    !filter::matches(&filter, ResourceKind::Group, registry, &doc)
                });
            }
        }
    }
    let ids = members
        .iter()
        .filter_map(|m| m["value"].as_str().map(str::to_owned))
        .collect();
    (ids, missing)
}

fn member_ids(group: &Resource) -> BTreeSet<String> {
    group
        .attributes
        .get("members")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| m["value"].as_str().map(str::to_owned))
        .collect()
}

fn describe(sent: &[Vec<Op>]) -> String {
    let requests: Vec<String> = sent
        .iter()
        .map(|ops| {
            let ops: Vec<Value> = ops.iter().map(Op::to_json).collect();
            Value::Array(ops).to_string()
        })
        .collect();
    format!("these PATCH requests: {}", requests.join(" then "))
}

fn service<S: ContractStore>(store: &TestStore<S>) -> ResourceService {
    let repository: Arc<dyn ResourceRepository> = Arc::new((**store).clone());
    ResourceService::new(
        repository,
        registry(),
        Arc::new(TickingClock::default()),
        Arc::new(Counter::default()),
    )
}

/// A clock one second further on each time it is read.
#[derive(Default)]
struct TickingClock(AtomicI64);

impl Clock for TickingClock {
    fn now(&self) -> DateTime<Utc> {
        time(1_000 * self.0.fetch_add(1, Ordering::Relaxed))
    }
}

/// Ids `p-1`, `p-2`, …
#[derive(Default)]
struct Counter(AtomicU64);

impl IdGenerator for Counter {
    fn new_id(&self) -> String {
        format!("p-{}", self.0.fetch_add(1, Ordering::Relaxed) + 1)
    }
}
