//! The resource use cases against a mocked store.

use chrono::{TimeZone, Utc};
use serde_json::json;

use super::*;
use crate::ports::{MockClock, MockIdGenerator, MockResourceRepository};
use crate::resource::NewMember;
use crate::schema::{GROUP_SCHEMA, USER_SCHEMA};

fn service(repo: MockResourceRepository) -> ResourceService {
    service_with_ids(repo, "u1")
}

/// A service whose new resources all get the id `id`.
fn service_with_ids(repo: MockResourceRepository, id: &'static str) -> ResourceService {
    let mut clock = MockClock::new();
    clock
        .expect_now()
        .returning(|| Utc.timestamp_opt(1_700_000_000, 0).unwrap());
    let mut ids = MockIdGenerator::new();
    ids.expect_new_id().returning(move || id.to_owned());
    ResourceService::new(
        Arc::new(repo),
        Arc::new(SchemaRegistry::standard()),
        Arc::new(clock),
        Arc::new(ids),
    )
}

fn tenant() -> TenantId {
    TenantId("t1".into())
}

fn caller() -> Caller {
    Caller::new(tenant(), "token:k1", "POST /Users (request r1)")
}

#[tokio::test]
async fn create_inserts_the_planned_resource() {
    let mut repo = MockResourceRepository::new();
    repo.expect_insert()
        .withf(|t, r, m| {
            let plain = WriteContext::new(&caller(), Utc.timestamp_opt(1_700_000_000, 0).unwrap());
            // The write carries its create event, with the resource as created.
            let created = match &t.events[..] {
                [event] => event.events.get(crate::events::PROV_CREATE_FULL),
                _ => None,
            };
            t.clone().with_events(Vec::new()) == plain
                && t.events[0].subject == "/Users/u1"
                && created.is_some_and(|payload| {
                    payload["data"]["userName"] == "a"
                        && payload["data"]["id"] == "u1"
                        && payload["version"] == "W/\"1\""
                })
                && r.id == "u1"
                && r.str_attribute("userName") == Some("a")
                && m.is_empty()
        })
        .times(1)
        .returning(|ctx, _, _| {
            Ok(vec![crate::license::HeldLicense::active(
                "pro",
                crate::license::LicenseSource::Direct,
                ctx.at,
            )])
        });
    // The write says what the new user holds: the answer shows it, with no read.
    repo.expect_get().never();
    let body = json!({"schemas": [USER_SCHEMA], "userName": "a"});
    let created = service(repo)
        .create(&caller(), ResourceKind::User, &body)
        .await
        .unwrap();
    assert_eq!(created.meta.version, 1);
    let extension = &created.attributes[crate::schema::LICENSE_USER_EXTENSION];
    assert_eq!(extension["licenses"][0]["sku"], "pro");
    assert_eq!(extension["licenses"][0]["source"], "direct");
}

#[tokio::test]
async fn duplicate_user_name_is_a_uniqueness_error() {
    let mut repo = MockResourceRepository::new();
    repo.expect_insert().returning(|_, _, _| {
        Err(StoreError::Conflict {
            attribute: "userName".into(),
        })
    });
    let body = json!({"schemas": [USER_SCHEMA], "userName": "a"});
    let err = service(repo)
        .create(&caller(), ResourceKind::User, &body)
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.scim_type()), (409, Some("uniqueness")));
    assert!(err.detail().contains("userName"));
}

fn stored(version: i64) -> Resource {
    let registry = SchemaRegistry::standard();
    let body = json!({"schemas": [USER_SCHEMA], "userName": "a"});
    let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
    let mut r = plan_create(&registry, ResourceKind::User, &body, "u1".into(), now).unwrap();
    r.meta.version = version;
    r
}

#[tokio::test]
async fn replace_checks_if_match_and_retries_races_without_it() {
    let mut repo = MockResourceRepository::new();
    repo.expect_get()
        .returning(|_, _, _, _| Ok(Some(stored(3))));
    let svc = service(repo);
    let body = json!({"schemas": [USER_SCHEMA], "userName": "b"});
    let stale = Precondition::parse_if_match("W/\"2\"");
    let err = svc
        .replace(&caller(), ResourceKind::User, "u1", &body, &stale)
        .await
        .unwrap_err();
    assert_eq!(err.status(), 412);

    let mut repo = MockResourceRepository::new();
    repo.expect_get()
        .withf(|_, _, _, e| !e.licenses)
        .times(2)
        .returning(|_, _, _, _| Ok(Some(stored(3))));
    repo.expect_get()
        .withf(|_, _, _, e| e.licenses && e.groups)
        .times(1)
        .returning(|_, _, _, _| Ok(None));
    let mut seq = mockall::Sequence::new();
    repo.expect_update()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _, _| Err(StoreError::VersionMismatch));
    repo.expect_update()
        .withf(|_, r, v, m| *v == 3 && r.meta.version == 4 && m.is_empty())
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _, _| Ok(()));
    let replaced = service(repo)
        .replace(
            &caller(),
            ResourceKind::User,
            "u1",
            &body,
            &Precondition::None,
        )
        .await
        .unwrap();
    assert_eq!(replaced.str_attribute("userName"), Some("b"));
}

/// Without `If-Match`, losing races to writers of other processes is never a 412: the
/// write is planned again until it lands (here after 40 lost attempts), and a resource
/// too busy to write even after [`WRITE_ATTEMPTS`] answers 503 (retry), never 412.
#[tokio::test]
async fn patches_without_if_match_outlast_lost_races() {
    let body = json!({"schemas": [crate::patch::PATCH_OP_SCHEMA], "Operations": [
        {"op": "replace", "path": "title", "value": "x"},
    ]});
    let patch = |lost: usize| {
        let mut repo = MockResourceRepository::new();
        repo.expect_get()
            .returning(|_, _, _, _| Ok(Some(stored(3))));
        let mut seq = mockall::Sequence::new();
        repo.expect_update()
            .times(lost.min(WRITE_ATTEMPTS))
            .in_sequence(&mut seq)
            .returning(|_, _, _, _| Err(StoreError::VersionMismatch));
        if lost < WRITE_ATTEMPTS {
            repo.expect_update()
                .times(1)
                .in_sequence(&mut seq)
                .returning(|_, _, _, _| Ok(()));
        }
        let svc = service(repo);
        let body = body.clone();
        async move {
            svc.patch(
                &caller(),
                ResourceKind::User,
                "u1",
                &body,
                &Precondition::None,
                Expand::default(),
            )
            .await
        }
    };
    let patched = patch(40).await.unwrap();
    assert_eq!(patched.str_attribute("userName"), Some("a"));
    let err = patch(WRITE_ATTEMPTS).await.unwrap_err();
    assert_eq!(err.status(), 503, "{err}");
}

#[tokio::test]
async fn missing_resources_are_not_found() {
    let mut repo = MockResourceRepository::new();
    repo.expect_get().returning(|_, _, _, _| Ok(None));
    repo.expect_delete()
        .returning(|_, _, _, _| Err(StoreError::NotFound));
    let svc = service(repo);
    let err = svc
        .get(&tenant(), ResourceKind::User, "x", Expand::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);
    let err = svc
        .delete(&caller(), ResourceKind::User, "x", &Precondition::None)
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);
}

const MEMBERS_ONLY: Expand = Expand::MEMBERS;

/// Group `g1` as stored at `version`, with `attributes`.
fn stored_group(version: i64, attributes: Value) -> Resource {
    let Value::Object(attributes) = attributes else {
        unreachable!()
    };
    let mut group = stored(version);
    group.kind = ResourceKind::Group;
    group.id = "g1".into();
    group.attributes = attributes;
    group
}

#[tokio::test]
async fn create_group_stores_members_as_rows_and_answers_with_them() {
    let mut repo = MockResourceRepository::new();
    let mut seq = mockall::Sequence::new();
    repo.expect_insert()
        .withf(|_, r, m| {
            r.id == "g1"
                && !r.attributes.contains_key("members")
                && m == [MembershipChange::Add(vec![
                    NewMember::id("u1"),
                    NewMember {
                        id: "g2".into(),
                        display: Some("Ops".into()),
                    },
                ])]
        })
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _| Ok(vec![]));
    let read = stored_group(
        1,
        json!({"displayName": "Admins", "members": [
            {"value": "u1", "type": "User", "display": "Alice"},
            {"value": "g2", "type": "Group", "display": "Ops"},
        ]}),
    );
    let answer = read.clone();
    repo.expect_get()
        .withf(|_, kind, id, expand| {
            *kind == ResourceKind::Group && id == "g1" && *expand == MEMBERS_ONLY
        })
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |_, _, _, _| Ok(Some(answer.clone())));
    let body = json!({"schemas": [GROUP_SCHEMA], "displayName": "Admins",
        "members": [{"value": "u1"}, {"value": "g2", "type": "Group", "display": "Ops"}]});
    let created = service_with_ids(repo, "g1")
        .create(&caller(), ResourceKind::Group, &body)
        .await
        .unwrap();
    assert_eq!(created, read);
}

#[tokio::test]
async fn create_group_without_members_changes_no_membership() {
    let mut repo = MockResourceRepository::new();
    repo.expect_insert()
        .withf(|_, r, m| r.str_attribute("displayName") == Some("Admins") && m.is_empty())
        .times(1)
        .returning(|_, _, _| Ok(vec![]));
    repo.expect_get().never();
    let body = json!({"schemas": [GROUP_SCHEMA], "displayName": "Admins", "members": []});
    let created = service_with_ids(repo, "g1")
        .create(&caller(), ResourceKind::Group, &body)
        .await
        .unwrap();
    assert_eq!(created.id, "g1");
    assert!(!created.attributes.contains_key("members"));
}

#[tokio::test]
async fn replace_group_replaces_all_members() {
    let cases = [
        (
            json!([{"value": "u2"}, {"value": "u3"}]),
            vec![
                MembershipChange::RemoveAll,
                MembershipChange::Add(vec![NewMember::id("u2"), NewMember::id("u3")]),
            ],
            1,
        ),
        (json!([]), vec![MembershipChange::RemoveAll], 0),
    ];
    for (members, changes, rereads) in cases {
        let mut repo = MockResourceRepository::new();
        // The current group is read without its members, then re-read with them when
        // it has some.
        repo.expect_get()
            .withf(|_, _, _, expand| *expand == Expand::default())
            .times(1)
            .returning(|_, _, _, _| Ok(Some(stored_group(2, json!({"displayName": "A"})))));
        repo.expect_update()
            .withf(move |_, r, v, m| {
                *v == 2
                    && r.meta.version == 3
                    && !r.attributes.contains_key("members")
                    && m == changes.as_slice()
            })
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        repo.expect_get()
            .withf(|_, _, _, expand| *expand == MEMBERS_ONLY)
            .times(rereads)
            .returning(|_, _, _, _| Ok(Some(stored_group(3, json!({"displayName": "B"})))));
        let body = json!({"schemas": [GROUP_SCHEMA], "displayName": "B", "members": members});
        let replaced = service(repo)
            .replace(
                &caller(),
                ResourceKind::Group,
                "g1",
                &body,
                &Precondition::None,
            )
            .await
            .unwrap();
        assert_eq!(replaced.str_attribute("displayName"), Some("B"));
    }
}

#[tokio::test]
async fn replace_user_answers_with_its_groups_and_licenses() {
    let mut repo = MockResourceRepository::new();
    let groups = json!([{"value": "g1", "display": "A", "type": "direct"}]);
    let read_back = {
        let mut user = stored(2);
        user.attributes.insert("userName".into(), json!("b"));
        user.attributes.insert("groups".into(), groups.clone());
        user
    };
    let mut seq = mockall::Sequence::new();
    repo.expect_get()
        .withf(|_, _, _, expand| *expand == Expand::default())
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _, _| Ok(Some(stored(1))));
    repo.expect_update()
        .withf(|_, r, _, m| m.is_empty() && !r.attributes.contains_key("groups"))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _, _| Ok(()));
    repo.expect_get()
        .withf(|_, _, _, expand| expand.groups && expand.licenses && !expand.members)
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |_, _, _, _| Ok(Some(read_back.clone())));
    let body = json!({"schemas": [USER_SCHEMA], "userName": "b",
        "groups": [{"value": "forged"}]});
    let replaced = service(repo)
        .replace(
            &caller(),
            ResourceKind::User,
            "u1",
            &body,
            &Precondition::None,
        )
        .await
        .unwrap();
    assert_eq!(replaced.attributes.get("groups"), Some(&groups));
}

#[tokio::test]
async fn bad_members_are_invalid_values() {
    // The members, the id the store reports as an invalid reference (none: the service
    // refuses before), and the detail the client reads.
    let cases = [
        (
            json!([{"value": "nope"}]),
            Some("nope"),
            "member 'nope' is not a User or Group of this tenant",
        ),
        (
            json!([{"value": "g1"}]),
            Some("g1"),
            "group 'g1' cannot be a member of itself",
        ),
        (
            json!([{"value": "u1"}, {"type": "User"}]),
            None,
            "every element of 'members' needs a 'value': the id of a User or Group",
        ),
    ];
    for (members, invalid, detail) in cases {
        let mut repo = MockResourceRepository::new();
        match invalid {
            Some(value) => {
                repo.expect_insert().times(1).returning(move |_, _, _| {
                    Err(StoreError::InvalidReference {
                        value: value.to_owned(),
                    })
                });
            }
            None => {
                repo.expect_insert().never();
            }
        }
        let body = json!({"schemas": [GROUP_SCHEMA], "displayName": "A", "members": members});
        let err = service_with_ids(repo, "g1")
            .create(&caller(), ResourceKind::Group, &body)
            .await
            .unwrap_err();
        assert_eq!((err.status(), err.scim_type()), (400, Some("invalidValue")));
        assert_eq!(err.detail(), detail);
    }
}

#[tokio::test]
async fn reads_pass_the_expansion_through() {
    let mut repo = MockResourceRepository::new();
    repo.expect_get()
        .withf(|_, _, _, expand| *expand == Expand::ALL)
        .times(1)
        .returning(|_, _, _, _| Ok(Some(stored(1))));
    repo.expect_list()
        .withf(|_, kind, _, expand| *kind == ResourceKind::Group && *expand == MEMBERS_ONLY)
        .times(1)
        .returning(|_, _, _, _| Ok(ListPage::new(0, Vec::new())));
    let svc = service(repo);
    svc.get(&tenant(), ResourceKind::User, "u1", Expand::ALL)
        .await
        .unwrap();
    let page = svc
        .list(
            &tenant(),
            ResourceKind::Group,
            &ListQuery::default(),
            MEMBERS_ONLY,
        )
        .await
        .unwrap();
    assert_eq!(page.total, 0);
}

#[test]
fn if_match_parsing() {
    assert_eq!(Precondition::parse_if_match(" * "), Precondition::Any);
    assert_eq!(
        Precondition::parse_if_match("W/\"3\", \"4\""),
        Precondition::OneOf(vec!["3".into(), "4".into()])
    );
}
