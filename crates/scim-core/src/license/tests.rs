//! The license rules as tables: every lifecycle path as (held, facts) → changes.

use chrono::{TimeZone, Utc};
use serde_json::json;

use super::*;

fn pool(sku: &str, seats: i64) -> Pool {
    Pool::new(sku, seats)
}

fn rule(source: MappingSource, value: &str, sku: &str) -> MappingRule {
    MappingRule::new(source, value, sku)
}

/// Pools `pro`, `Basic` and `analytics`; `Engineering` (group) and `developer` (role) grant
/// `pro`; the entitlement `bundle` grants `pro` and `analytics`; a rule for a sku without a
/// pool (`ghost`).
fn rules() -> LicenseRules {
    LicenseRules {
        pools: vec![pool("pro", 5), pool("Basic", 10), pool("analytics", 1)],
        rules: vec![
            rule(MappingSource::Group, "Engineering", "pro"),
            rule(MappingSource::Role, "developer", "PRO"),
            rule(MappingSource::Entitlement, "bundle", "pro"),
            rule(MappingSource::Entitlement, "bundle", "analytics"),
            rule(MappingSource::Group, "Everyone", "basic"),
            rule(MappingSource::Entitlement, "haunted", "ghost"),
        ],
    }
}

fn facts(active: bool, entitlements: &[&str], roles: &[&str], groups: &[&str]) -> UserFacts {
    let own = |values: &[&str]| values.iter().map(|v| (*v).to_owned()).collect();
    UserFacts {
        active,
        entitlements: own(entitlements),
        roles: own(roles),
        groups: own(groups),
    }
}

fn held(licenses: &[(&str, LicenseSource)]) -> Vec<HeldLicense> {
    licenses
        .iter()
        .map(|(sku, source)| HeldLicense {
            sku: (*sku).into(),
            source: *source,
            assigned: Utc.timestamp_opt(1_700_000_000, 0).unwrap(),
        })
        .collect()
}

use LicenseSource::{Direct, Group};

#[test]
fn every_lifecycle_path_plans_the_difference() {
    struct Case {
        name: &'static str,
        held: Vec<HeldLicense>,
        facts: UserFacts,
        assign: Vec<(&'static str, LicenseSource)>,
        revoke: Vec<&'static str>,
        resource: Vec<(&'static str, LicenseSource)>,
    }
    let case = |name, held, facts, assign, revoke, resource| Case {
        name,
        held,
        facts,
        assign,
        revoke,
        resource,
    };
    let cases = vec![
        case(
            "POST with an entitlement equal to a sku, in another case",
            held(&[]),
            facts(true, &["PRO"], &[], &[]),
            vec![("pro", Direct)],
            vec![],
            vec![],
        ),
        case(
            "POST with an Entra app role mapped by a rule",
            held(&[]),
            facts(true, &[], &["Developer"], &[]),
            vec![("pro", Direct)],
            vec![],
            vec![],
        ),
        case(
            "a bundle entitlement grants two skus, in sku order",
            held(&[]),
            facts(true, &["bundle"], &[], &[]),
            vec![("analytics", Direct), ("pro", Direct)],
            vec![],
            vec![],
        ),
        case(
            "PUT/PATCH adding an entitlement assigns only the new sku",
            held(&[("pro", Direct)]),
            facts(true, &["pro", "basic"], &[], &[]),
            vec![("Basic", Direct)],
            vec![],
            vec![],
        ),
        case(
            "PUT/PATCH removing the entitlement revokes",
            held(&[("pro", Direct), ("Basic", Direct)]),
            facts(true, &["basic"], &[], &[]),
            vec![],
            vec!["pro"],
            vec![],
        ),
        case(
            "an unchanged user changes nothing",
            held(&[("pro", Direct)]),
            facts(true, &["pro"], &[], &[]),
            vec![],
            vec![],
            vec![],
        ),
        case(
            "active=false revokes everything, direct and group",
            held(&[("pro", Direct), ("Basic", Group)]),
            facts(false, &["pro"], &[], &["Everyone"]),
            vec![],
            vec!["Basic", "pro"],
            vec![],
        ),
        case(
            "reactivation re-assigns",
            held(&[]),
            facts(true, &["pro"], &[], &["Everyone"]),
            vec![("Basic", Group), ("pro", Direct)],
            vec![],
            vec![],
        ),
        case(
            "DELETE (no facts at all) revokes everything",
            held(&[("pro", Direct), ("Basic", Group)]),
            facts(false, &[], &[], &[]),
            vec![],
            vec!["Basic", "pro"],
            vec![],
        ),
        case(
            "joining a mapped group grants, folded displayName",
            held(&[]),
            facts(true, &[], &[], &["ENGINEERING"]),
            vec![("pro", Group)],
            vec![],
            vec![],
        ),
        case(
            "leaving the group revokes",
            held(&[("pro", Group)]),
            facts(true, &[], &[], &[]),
            vec![],
            vec!["pro"],
            vec![],
        ),
        case(
            "group and direct grants of one sku: one seat, direct wins",
            held(&[]),
            facts(true, &["pro"], &[], &["Engineering"]),
            vec![("pro", Direct)],
            vec![],
            vec![],
        ),
        case(
            "leaving the group keeps a sku another source grants; the source follows",
            held(&[("pro", Group)]),
            facts(true, &["pro"], &[], &[]),
            vec![],
            vec![],
            vec![("pro", Direct)],
        ),
        case(
            "dropping the entitlement keeps a sku the group grants; the source follows",
            held(&[("pro", Direct)]),
            facts(true, &[], &[], &["Engineering"]),
            vec![],
            vec![],
            vec![("pro", Group)],
        ),
        case(
            "a sku without a pool grants nothing",
            held(&[]),
            facts(true, &["haunted", "enterprise"], &[], &[]),
            vec![],
            vec![],
            vec![],
        ),
        case(
            "a held sku whose pool is gone is revoked",
            held(&[("legacy", Direct)]),
            facts(true, &["legacy"], &[], &[]),
            vec![],
            vec!["legacy"],
            vec![],
        ),
    ];
    let rules = rules();
    for case in cases {
        let changes = plan_license_changes(&case.held, &rules.grants_for(&case.facts));
        let own = |list: Vec<(&str, LicenseSource)>| -> Vec<(String, LicenseSource)> {
            list.into_iter()
                .map(|(s, src)| (s.to_owned(), src))
                .collect()
        };
        let expected = LicenseChanges {
            assign: own(case.assign),
            revoke: case.revoke.into_iter().map(str::to_owned).collect(),
            resource: own(case.resource),
        };
        assert_eq!(changes, expected, "{}", case.name);
    }
}

#[test]
fn mapping_changes_change_the_grants() {
    let user = facts(true, &["sales-seat"], &[], &["Sales"]);
    let mut rules = rules();
    assert!(rules.grants_for(&user).skus.is_empty());
    assert_eq!(
        rules.grants_for(&user).unmapped,
        [(MappingSource::Entitlement, "sales-seat".to_owned())]
    );
    // Mapping the entitlement grants the sku: the planner assigns it.
    rules
        .rules
        .push(rule(MappingSource::Entitlement, "Sales-Seat", "basic"));
    let changes = plan_license_changes(&[], &rules.grants_for(&user));
    assert_eq!(changes.assign, [("Basic".to_owned(), Direct)]);
    assert!(rules.grants_for(&user).unmapped.is_empty());
    // Removing the rule revokes it again.
    rules.rules.pop();
    let changes = plan_license_changes(&held(&[("Basic", Direct)]), &rules.grants_for(&user));
    assert_eq!(changes.revoke, ["Basic"]);
    // Removing the pool revokes what its rules granted.
    rules.pools.retain(|p| p.sku != "pro");
    let user = facts(true, &["pro"], &["developer"], &["Engineering"]);
    let changes = plan_license_changes(&held(&[("pro", Direct)]), &rules.grants_for(&user));
    assert_eq!(changes.revoke, ["pro"]);
}

#[test]
fn unmapped_values_are_reported_even_for_inactive_users() {
    let grants = rules().grants_for(&facts(false, &["pro", "mystery"], &["Reader"], &["Nobody"]));
    assert!(grants.skus.is_empty());
    assert_eq!(
        grants.unmapped,
        [
            (MappingSource::Entitlement, "mystery".to_owned()),
            (MappingSource::Role, "Reader".to_owned()),
        ]
    );
}

#[test]
fn facts_come_from_stored_attributes() {
    let attributes = json!({
        "userName": "a",
        "active": false,
        "entitlements": [{"value": "pro"}, {"display": "no value"}],
        "roles": [{"value": "developer", "primary": true}],
    });
    let facts = UserFacts::from_attributes(attributes.as_object().unwrap(), vec!["G".into()]);
    assert_eq!(
        facts,
        UserFacts {
            active: false,
            entitlements: vec!["pro".into()],
            roles: vec!["developer".into()],
            groups: vec!["G".into()],
        }
    );
    let empty = json!({"userName": "b"});
    assert!(UserFacts::from_attributes(empty.as_object().unwrap(), vec![]).active);
}

#[test]
fn pools_report_their_use() {
    let mut pro = pool("pro", 5);
    pro.used = 7;
    assert_eq!(pro.available(), 0);
    assert!(pro.is_over_assigned());
    pro.used = 2;
    assert_eq!(pro.available(), 3);
    assert!(validate_sku("pro-2026.eu:seat_x").is_ok());
    for bad in ["", "with space", "é", &"x".repeat(65), "a/b"] {
        assert_eq!(
            validate_sku(bad).unwrap_err().scim_type(),
            Some("invalidValue"),
            "{bad}"
        );
    }
}

#[test]
fn unmapped_values_are_tallied_once_per_user() {
    let rules = rules();
    let mut tally = UnmappedTally::default();
    for user in [
        facts(true, &["Mystery", "mystery", "pro"], &["Reader"], &[]),
        facts(false, &["MYSTERY"], &[], &[]),
        facts(true, &["basic", "reader"], &["reader"], &[]),
    ] {
        tally.add(&rules.grants_for(&user));
    }
    let unmapped = |value: &str, users| UnmappedValue {
        value: value.into(),
        users,
    };
    assert_eq!(
        tally.finish(),
        [unmapped("Mystery", 2), unmapped("Reader", 2)]
    );
}
