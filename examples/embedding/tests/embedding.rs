//! The example's claims, checked: the core's services on the in-memory store behave as an
//! IdP expects, and the license rules work on their own.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: failing loudly on a broken fixture is the point"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use scim_core::events::{LICENSE_REVOKED, PROV_DEACTIVATE};
use scim_core::license::{
    AuditAction, AuditQuery, HeldLicense, LicenseChanges, LicensePlan, LicenseRules, LicenseSource,
    LicensedUser, MappingRule, MappingSource, Pool, PoolSeats, SeatPolicy, UserFacts,
    plan_license_changes,
};
use scim_core::list_request::ListRequest;
use scim_core::ports::{Clock, EventLog, IdGenerator, ResourceRepository, TenantDirectory};
use scim_core::query::{Keyset, ListQuery};
use scim_core::schema::{GROUP_SCHEMA, LICENSE_USER_EXTENSION, USER_SCHEMA};
use scim_core::service::{PoolChange, Precondition};
use scim_core::tenant::{Tenant, TenantId};
use scim_core::{Caller, Expand, Resource, ResourceKind, ScimError, StoreError, WriteContext};
use scim_embedding_example::wiring::Scim;
use serde_json::{Value, json};

/// 2026-01-01T00:00:00Z: every write happens then.
struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default()
    }
}

/// Ids `r1`, `r2`, … in creation order.
#[derive(Default)]
struct SequentialIds(AtomicU64);

impl IdGenerator for SequentialIds {
    fn new_id(&self) -> String {
        format!("r{}", self.0.fetch_add(1, Ordering::Relaxed) + 1)
    }
}

fn tenant() -> TenantId {
    TenantId("acme".into())
}

fn idp() -> Caller {
    Caller::new(tenant(), "token:entra", "SCIM request")
}

fn operator() -> Caller {
    Caller::new(tenant(), "cli", "license command")
}

/// The services on a fresh store with one tenant.
async fn scim() -> Scim {
    let scim = Scim::new(Arc::new(FixedClock), Arc::new(SequentialIds::default()));
    let acme = Tenant::new(tenant(), "acme", "Acme", FixedClock.now());
    scim.store.create_tenant(&acme).await.unwrap();
    scim
}

/// `pro` with `seats`, granted by the app role "Developer".
async fn sell_pro(scim: &Scim, seats: i64) {
    scim.licenses
        .set_pool(&operator(), "pro", &PoolChange::seats(seats))
        .await
        .unwrap();
    scim.licenses
        .map(&operator(), MappingSource::Role, "Developer", "pro")
        .await
        .unwrap();
}

fn user_body(user_name: &str, roles: &[&str]) -> Value {
    let roles: Vec<Value> = roles.iter().map(|role| json!({"value": role})).collect();
    json!({"schemas": [USER_SCHEMA], "userName": user_name, "roles": roles})
}

async fn create_user(scim: &Scim, user_name: &str, roles: &[&str]) -> Result<Resource, ScimError> {
    scim.resources
        .create(&idp(), ResourceKind::User, &user_body(user_name, roles))
        .await
}

/// `(sku, source)` of each license the user holds, as its license extension shows them.
async fn licenses(scim: &Scim, id: &str) -> Vec<(String, String)> {
    let expand = Expand {
        licenses: true,
        ..Expand::default()
    };
    let user = scim
        .resources
        .get(&tenant(), ResourceKind::User, id, expand)
        .await
        .unwrap();
    held(&user)
}

fn held(user: &Resource) -> Vec<(String, String)> {
    let Some(extension) = user.attributes.get(LICENSE_USER_EXTENSION) else {
        return Vec::new();
    };
    extension["licenses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|license| {
            let field = |name: &str| license[name].as_str().unwrap().to_owned();
            (field("sku"), field("source"))
        })
        .collect()
}

fn pro(source: &str) -> Vec<(String, String)> {
    vec![("pro".to_owned(), source.to_owned())]
}

async fn pro_used(scim: &Scim) -> i64 {
    let pools = scim.licenses.pools(&tenant()).await.unwrap();
    pools.iter().find(|pool| pool.sku == "pro").unwrap().used
}

async fn user_ids(scim: &Scim, filter: &str) -> Vec<String> {
    let query = ListRequest::parse(Some(filter), None, None, None, None)
        .unwrap()
        .to_query(&scim.registry, ResourceKind::User)
        .unwrap();
    let page = scim
        .resources
        .list(&tenant(), ResourceKind::User, &query, Expand::default())
        .await
        .unwrap();
    assert_eq!(page.total as usize, page.resources.len(), "{filter}");
    page.resources.into_iter().map(|user| user.id).collect()
}

/// A PATCH as Entra ID sends it: `"Replace"`, booleans as strings.
fn entra_patch(path: &str, value: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": path, "value": value}],
    })
}

async fn patch_user(scim: &Scim, id: &str, body: &Value) -> Result<Resource, ScimError> {
    let expand = Expand {
        licenses: true,
        ..Expand::default()
    };
    scim.resources
        .patch(
            &idp(),
            ResourceKind::User,
            id,
            body,
            &Precondition::None,
            expand,
        )
        .await
}

fn assert_no_seat(error: &ScimError, seats: i64, used: i64) {
    assert_eq!(
        *error,
        ScimError::SeatsExhausted {
            pool: "pro".into(),
            seats,
            used,
        }
    );
    assert_eq!(
        (error.status(), error.scim_type()),
        (400, Some("invalidValue"))
    );
    assert_eq!(
        error.detail(),
        format!("license pool 'pro' has no free seat: {used} of {seats} seats are assigned")
    );
}

#[tokio::test]
async fn a_created_user_reads_back_as_it_was_sent() {
    let scim = scim().await;
    let attributes = json!({
        "userName": "Barbara.Jensen@example.com",
        "externalId": "entra-0001",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "displayName": "Babs Jensen",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@home.example", "type": "home"}
        ],
        "roles": [{"value": "Developer"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "department": "Tour Operations"
        },
    });
    let mut body = attributes.clone();
    body["schemas"] = json!([
        USER_SCHEMA,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    ]);
    let created = scim
        .resources
        .create(&idp(), ResourceKind::User, &body)
        .await
        .unwrap();
    assert_eq!(created.id, "r1");
    assert_eq!(created.meta.version, 1);
    assert_eq!(created.meta.created, FixedClock.now());
    assert_eq!(Value::Object(created.attributes.clone()), attributes);

    let read = scim
        .resources
        .get(&tenant(), ResourceKind::User, "r1", Expand::ALL)
        .await
        .unwrap();
    assert_eq!(read, created);
    // The store keeps exactly what the core planned.
    let stored = scim
        .store
        .get(&tenant(), ResourceKind::User, "r1", Expand::default())
        .await
        .unwrap();
    assert_eq!(stored, Some(created));
    // Another tenant does not see it.
    let foreign = scim
        .store
        .get(
            &TenantId("globex".into()),
            ResourceKind::User,
            "r1",
            Expand::ALL,
        )
        .await
        .unwrap();
    assert_eq!(foreign, None);
    // userName is unique regardless of case.
    let twin = create_user(&scim, "BARBARA.JENSEN@EXAMPLE.COM", &[]).await;
    assert_eq!(twin.unwrap_err().scim_type(), Some("uniqueness"));
}

/// Cursor pages (RFC 9865) walk the users in creation order through the store's keys: a
/// user deleted mid-walk is not waited for, and nobody is seen twice.
#[tokio::test]
async fn cursor_pages_walk_in_creation_order() {
    let scim = scim().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            create_user(&scim, &format!("walker{n}@example.com"), &[])
                .await
                .unwrap()
                .id,
        );
    }
    let page = |keyset| {
        let query = ListQuery {
            count: 2,
            keyset: Some(keyset),
            ..ListQuery::default()
        };
        let scim = &scim;
        async move {
            scim.resources
                .list(&tenant(), ResourceKind::User, &query, Expand::default())
                .await
                .unwrap()
        }
    };
    let first = page(Keyset::First).await;
    let seen: Vec<&str> = first.resources.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(seen, [ids[0].as_str(), ids[1].as_str()]);
    assert!(first.previous_key.is_none());
    // The third user goes away before the next page is read.
    scim.resources
        .delete(&idp(), ResourceKind::User, &ids[2], &Precondition::None)
        .await
        .unwrap();
    let second = page(Keyset::After(first.next_key.expect("more"))).await;
    let seen: Vec<&str> = second.resources.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(seen, [ids[3].as_str(), ids[4].as_str()]);
    assert!(second.next_key.is_none(), "the last page");
    let back = page(Keyset::Before(
        second.previous_key.expect("a previous page"),
    ))
    .await;
    assert_eq!(back.resources.len(), 2);
    assert_eq!(back.resources[0].id, ids[0]);
}

#[tokio::test]
async fn filters_find_exactly_the_right_users() {
    let scim = scim().await;
    for user_name in [
        "bjensen@example.com",
        "bjensen.admin@example.com",
        "jsmith@example.org",
    ] {
        let mut body = user_body(user_name, &[]);
        body["emails"] = json!([{"value": user_name, "type": "work"}]);
        scim.resources
            .create(&idp(), ResourceKind::User, &body)
            .await
            .unwrap();
    }
    assert_eq!(
        user_ids(&scim, r#"userName eq "BJENSEN@example.com""#).await,
        ["r1"]
    );
    assert_eq!(
        user_ids(&scim, r#"userName sw "bjensen""#).await,
        ["r1", "r2"]
    );
    assert_eq!(
        user_ids(
            &scim,
            r#"emails[type eq "work" and value co "@example.org"]"#
        )
        .await,
        ["r3"]
    );
    assert!(
        user_ids(&scim, r#"userName eq "nobody@example.com""#)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn an_entra_deactivation_frees_the_seat_and_reactivation_needs_one() {
    let scim = scim().await;
    sell_pro(&scim, 1).await;
    let barbara = create_user(&scim, "bjensen@example.com", &["Developer"])
        .await
        .unwrap();
    assert_eq!(held(&barbara), pro("direct"));
    assert_eq!(pro_used(&scim).await, 1);

    let deactivated = patch_user(&scim, &barbara.id, &entra_patch("active", "False"))
        .await
        .unwrap();
    assert_eq!(deactivated.attributes["active"], json!(false));
    assert!(held(&deactivated).is_empty());
    assert_eq!(pro_used(&scim).await, 0);

    // The revocation is audited with who asked and why, and announced.
    let audit = scim
        .licenses
        .audit(&tenant(), &AuditQuery::default())
        .await
        .unwrap();
    let summary: Vec<_> = audit
        .iter()
        .map(|e| (e.user.as_str(), e.sku.as_str(), e.action, e.actor.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("r1", "pro", AuditAction::Assigned, "token:entra"),
            ("r1", "pro", AuditAction::Revoked, "token:entra"),
        ]
    );
    let events = scim.store.events_after(&tenant(), 0, 100).await.unwrap();
    let about_barbara: Vec<_> = events
        .iter()
        .filter(|stored| stored.event.subject == "/Users/r1")
        .flat_map(|stored| stored.event.events.keys().cloned())
        .collect();
    assert!(about_barbara.contains(&PROV_DEACTIVATE.to_owned()));
    assert!(about_barbara.contains(&LICENSE_REVOKED.to_owned()));

    // The seat goes to someone else; Barbara cannot come back until one is free.
    let adev = create_user(&scim, "adev@example.com", &["Developer"])
        .await
        .unwrap();
    assert_eq!(held(&adev), pro("direct"));
    let refused = patch_user(&scim, &barbara.id, &entra_patch("active", "True"))
        .await
        .unwrap_err();
    assert_no_seat(&refused, 1, 1);
    let still = scim
        .resources
        .get(
            &tenant(),
            ResourceKind::User,
            &barbara.id,
            Expand::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        (still.attributes["active"].clone(), still.meta.version),
        (json!(false), 2)
    );
}

#[tokio::test]
async fn a_create_without_a_seat_changes_nothing() {
    let scim = scim().await;
    sell_pro(&scim, 1).await;
    create_user(&scim, "bjensen@example.com", &["Developer"])
        .await
        .unwrap();
    let refused = create_user(&scim, "adev@example.com", &["developer"])
        .await
        .unwrap_err();
    assert_no_seat(&refused, 1, 1);
    assert!(
        user_ids(&scim, r#"userName eq "adev@example.com""#)
            .await
            .is_empty()
    );
    assert_eq!(pro_used(&scim).await, 1);
}

#[tokio::test]
async fn group_membership_grants_the_groups_sku_while_it_lasts() {
    let scim = scim().await;
    scim.licenses
        .set_pool(&operator(), "pro", &PoolChange::seats(5))
        .await
        .unwrap();
    scim.licenses
        .map(&operator(), MappingSource::Group, "Engineering", "pro")
        .await
        .unwrap();
    let alice = create_user(&scim, "alice@example.com", &[]).await.unwrap();
    // Platform (alice) is nested in Engineering.
    let group = |name: &str, member: &str| json!({"schemas": [GROUP_SCHEMA], "displayName": name, "members": [{"value": member}]});
    let platform = scim
        .resources
        .create(&idp(), ResourceKind::Group, &group("Platform", &alice.id))
        .await
        .unwrap();
    assert!(licenses(&scim, &alice.id).await.is_empty());
    let engineering = scim
        .resources
        .create(
            &idp(),
            ResourceKind::Group,
            &group("engineering", &platform.id),
        )
        .await
        .unwrap();
    assert_eq!(licenses(&scim, &alice.id).await, pro("group"));
    let alice_groups = scim
        .resources
        .get(&tenant(), ResourceKind::User, &alice.id, Expand::GROUPS)
        .await
        .unwrap();
    assert_eq!(
        alice_groups.attributes["groups"],
        json!([
            {"value": platform.id, "display": "Platform", "type": "direct"},
            {"value": engineering.id, "display": "engineering", "type": "indirect"},
        ])
    );

    // Leaving the group (an Entra-style member removal) revokes the sku.
    let remove = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Remove", "path": "members", "value": [{"value": platform.id}]}],
    });
    scim.resources
        .patch(
            &idp(),
            ResourceKind::Group,
            &engineering.id,
            &remove,
            &Precondition::None,
            Expand::MEMBERS,
        )
        .await
        .unwrap();
    assert!(licenses(&scim, &alice.id).await.is_empty());
    assert_eq!(pro_used(&scim).await, 0);
}

#[tokio::test]
async fn admin_changes_assign_while_seats_last() {
    let scim = scim().await;
    scim.licenses
        .set_pool(&operator(), "pro", &PoolChange::seats(2))
        .await
        .unwrap();
    for name in ["u1", "u2", "u3"] {
        create_user(&scim, name, &["Developer"]).await.unwrap();
    }
    // The rule comes after the users: the first two in creation order get a seat.
    let (_, report) = scim
        .licenses
        .map(&operator(), MappingSource::Role, "developer", "pro")
        .await
        .unwrap();
    let report = report.expect("a new rule re-evaluates");
    assert_eq!((report.users, report.assigned), (3, 2));
    assert_eq!(report.waiting, [("r3".to_owned(), "pro".to_owned())]);
    let (pool, report) = scim
        .licenses
        .set_pool(&operator(), "pro", &PoolChange::seats(3))
        .await
        .unwrap();
    assert_eq!((pool.used, report.assigned), (3, 1));
    assert_eq!(licenses(&scim, "r3").await, pro("direct"));
}

/// The license rules alone: no store, no service, no runtime.
#[test]
fn rules_plan_from_entitlements_roles_and_groups() {
    let rules = LicenseRules {
        pools: vec![Pool::new("basic", 10), Pool::new("Pro", 2)],
        rules: vec![
            MappingRule::new(MappingSource::Entitlement, "crm-reader", "basic"),
            MappingRule::new(MappingSource::Role, "Developer", "pro"),
            MappingRule::new(MappingSource::Group, "Engineering", "pro"),
        ],
    };
    let facts = |entitlements: &[&str], roles: &[&str], groups: &[&str]| UserFacts {
        active: true,
        entitlements: entitlements.iter().map(|v| (*v).to_owned()).collect(),
        roles: roles.iter().map(|v| (*v).to_owned()).collect(),
        groups: groups.iter().map(|v| (*v).to_owned()).collect(),
    };
    // A group grants `group`; the pool's spelling of the sku is used.
    let grouped = rules.grants_for(&facts(&[], &[], &["ENGINEERING"]));
    assert_eq!(
        plan_license_changes(&[], &grouped).assign,
        [("Pro".to_owned(), LicenseSource::Group)]
    );
    // A direct grant wins over the group's; unknown values are reported, not rejected.
    let direct = rules.grants_for(&facts(
        &["crm-reader", "beta"],
        &["developer"],
        &["Engineering"],
    ));
    assert_eq!(
        plan_license_changes(&[], &direct).assign,
        [
            ("basic".to_owned(), LicenseSource::Direct),
            ("Pro".to_owned(), LicenseSource::Direct)
        ]
    );
    assert_eq!(
        direct.unmapped,
        [(MappingSource::Entitlement, "beta".to_owned())]
    );
    // Holding Pro through the group, then getting the role: no seat moves, the source does.
    let through_group = HeldLicense::active("Pro", LicenseSource::Group, FixedClock.now());
    let changes = plan_license_changes(
        std::slice::from_ref(&through_group),
        &rules.grants_for(&facts(&[], &["Developer"], &["Engineering"])),
    );
    assert_eq!(
        changes,
        LicenseChanges {
            source_changed: vec![("Pro".into(), LicenseSource::Direct)],
            ..LicenseChanges::default()
        }
    );
    // Deactivated: everything held is revoked.
    let inactive = UserFacts {
        active: false,
        ..facts(&["crm-reader"], &["Developer"], &[])
    };
    let changes = plan_license_changes(&[through_group], &rules.grants_for(&inactive));
    assert_eq!(changes.revoke, [("Pro".to_owned(), LicenseSource::Group)]);
    assert!(changes.assign.is_empty());
}

#[test]
fn a_full_pool_refuses_naming_the_pool_its_seats_and_its_use() {
    let mut pools = vec![
        Pool {
            used: 3,
            ..Pool::new("basic", 10)
        },
        Pool {
            used: 2,
            ..Pool::new("pro", 2)
        },
    ];
    let rules = LicenseRules {
        pools: pools.clone(),
        rules: vec![MappingRule::new(MappingSource::Role, "Developer", "pro")],
    };
    let facts = UserFacts {
        active: true,
        entitlements: vec!["basic".into()],
        roles: vec!["Developer".into()],
        groups: vec![],
    };
    let plan = LicensePlan::new(
        &rules,
        vec![LicensedUser::new(1, "u1", facts)],
        SeatPolicy::Strict,
        chrono::Utc::now(),
    );
    let ctx = WriteContext::new(
        &Caller::new(TenantId("acme".into()), "okta", "POST /Users"),
        FixedClock.now(),
    );
    let decided = plan.decide(&mut PoolSeats::new(&mut pools), &ctx);
    let Err(StoreError::SeatsExhausted { sku, seats, used }) = decided else {
        panic!("expected a refusal");
    };
    assert_eq!((sku.as_str(), seats, used), ("pro", 2, 2));
    assert_eq!(
        (pools[0].used, pools[1].used),
        (3, 2),
        "a refused plan takes no seat, not even the free basic one"
    );
    // As an IdP sees it.
    let refusal = ScimError::SeatsExhausted {
        pool: sku,
        seats,
        used,
    };
    assert_no_seat(&refusal, 2, 2);
}

/// The core's services against `mockall` mocks of the ports (feature `mock`): how a
/// service's behaviour is tested without any store, here that a store's seat refusal
/// reaches the IdP as a 400.
#[tokio::test]
async fn any_stores_seat_refusal_reaches_the_idp_as_a_400() {
    use scim_core::SchemaRegistry;
    use scim_core::ports::{MockClock, MockIdGenerator, MockResourceRepository};
    use scim_core::service::ResourceService;

    let mut repo = MockResourceRepository::new();
    repo.expect_insert()
        .withf(|ctx, user, _| ctx.actor == "token:entra" && user.id == "fixed-id")
        .times(1)
        .returning(|_, _, _| {
            Err(StoreError::SeatsExhausted {
                sku: "pro".into(),
                seats: 5,
                used: 5,
            })
        });
    let mut clock = MockClock::new();
    clock.expect_now().returning(|| FixedClock.now());
    let mut ids = MockIdGenerator::new();
    ids.expect_new_id().returning(|| "fixed-id".to_owned());
    let service = ResourceService::new(
        Arc::new(repo),
        Arc::new(SchemaRegistry::standard()),
        Arc::new(clock),
        Arc::new(ids),
    );
    let refused = service
        .create(
            &idp(),
            ResourceKind::User,
            &user_body("bjensen", &["Developer"]),
        )
        .await
        .unwrap_err();
    assert_no_seat(&refused, 5, 5);
}
