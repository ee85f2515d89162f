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
        .map(|(sku, source)| {
            let at = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
            HeldLicense::active(*sku, *source, at)
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
        revoke: Vec<(&'static str, LicenseSource)>,
        source_changed: Vec<(&'static str, LicenseSource)>,
    }
    let case = |name, held, facts, assign, revoke, source_changed| Case {
        name,
        held,
        facts,
        assign,
        revoke,
        source_changed,
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
            vec![("pro", Direct)],
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
            vec![("Basic", Group), ("pro", Direct)],
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
            vec![("Basic", Group), ("pro", Direct)],
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
            vec![("pro", Group)],
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
            vec![("legacy", Direct)],
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
            revoke: own(case.revoke),
            source_changed: own(case.source_changed),
            withdraw: Vec::new(),
            suspend: Vec::new(),
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
    assert_eq!(changes.revoke, [("Basic".to_owned(), Direct)]);
    // Removing the pool revokes what its rules granted.
    rules.pools.retain(|p| p.sku != "pro");
    let user = facts(true, &["pro"], &["developer"], &["Engineering"]);
    let changes = plan_license_changes(&held(&[("pro", Direct)]), &rules.grants_for(&user));
    assert_eq!(changes.revoke, [("pro".to_owned(), Direct)]);
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

/// The engine as tables: a tenant in a few lines, one write or re-evaluation, and what it
/// did, in the order of its events, with the pools' `seats/used` after it.
#[test]
fn every_seat_policy_and_ordering_rule() {
    struct Case {
        name: &'static str,
        tenant: Licensing,
        run: fn(&mut Licensing) -> Vec<String>,
        lines: &'static [&'static str],
        pools: &'static [&'static str],
    }
    let sales = || Licensing::new().pool("pro", 1).rule("group Sales -> pro");
    let cases = [
        Case {
            name: "a full pool hands B's seat to A when both are re-evaluated together",
            tenant: sales()
                .user("A", "group:Sales")
                .user("B", "holds:pro(group)"),
            run: Licensing::reevaluate,
            lines: &["B -pro", "A +pro (group)"],
            pools: &["pro 1/1"],
        },
        Case {
            name: "… and in one SCIM write affecting both (a group's member swap)",
            tenant: sales()
                .user("A", "group:Sales")
                .user("B", "holds:pro(group)"),
            run: |t| t.write(&["A", "B"]),
            lines: &["B -pro", "A +pro (group)"],
            pools: &["pro 1/1"],
        },
        Case {
            name: "a SCIM write that needs a seat of a full pool is refused whole",
            tenant: sales()
                .pool("basic", 5)
                .rule("group Sales -> basic")
                .user("A", "group:Sales")
                .user("B", "holds:pro"),
            run: |t| t.write(&["A"]),
            lines: &["refused: pro 1/1"],
            pools: &["pro 1/1", "basic 5/0"],
        },
        Case {
            name: "the write taking a pool's last seat says so",
            tenant: Licensing::new()
                .pool("pro", 2)
                .user("A", "entitlement:pro")
                .user("B", "holds:pro"),
            run: |t| t.write(&["A"]),
            lines: &["A +pro (direct)", "pro exhausted 2/2"],
            pools: &["pro 2/2"],
        },
        Case {
            name: "while seats last: creation order, the rest wait",
            tenant: Licensing::new()
                .pool("pro", 2)
                .rule("role admin -> pro")
                .user("A", "role:Admin")
                .user("B", "role:admin")
                .user("C", "role:ADMIN"),
            run: Licensing::reevaluate,
            lines: &[
                "A +pro (direct)",
                "B +pro (direct)",
                "pro exhausted 2/2",
                "C waits for pro",
            ],
            pools: &["pro 2/2"],
        },
        Case {
            name: "revocations of every user come before any assignment",
            tenant: Licensing::new()
                .pool("pro", 1)
                .pool("basic", 1)
                .user("A", "entitlement:pro holds:basic")
                .user("B", "entitlement:basic holds:pro"),
            run: Licensing::reevaluate,
            lines: &["A -basic", "B -pro", "A +pro (direct)", "B +basic (direct)"],
            pools: &["pro 1/1", "basic 1/1"],
        },
        Case {
            name: "a pool lowered below its use grants nobody new, even on a hand-over",
            tenant: Licensing::new()
                .pool("pro", 3)
                .user("A", "holds:pro")
                .user("B", "entitlement:pro holds:pro")
                .user("C", "entitlement:pro holds:pro")
                .user("D", "entitlement:pro"),
            run: |t| t.seats("pro", 1).reevaluate(),
            lines: &["A -pro", "D waits for pro"],
            pools: &["pro 1/2"],
        },
        Case {
            name: "a bulk run seats each new user whole, in order, or refuses it",
            tenant: Licensing::new()
                .pool("pro", 1)
                .pool("basic", 2)
                .user("A", "entitlement:basic entitlement:pro")
                .user("B", "entitlement:basic entitlement:pro")
                .user("C", "entitlement:basic"),
            run: |t| t.bulk_create(&["A", "B", "C"]),
            // As written one after the other: A takes pro's last seat, C basic's.
            lines: &[
                "A +basic (direct)",
                "A +pro (direct)",
                "pro exhausted 1/1",
                "C +basic (direct)",
                "basic exhausted 2/2",
                "B refused: pro 1/1",
            ],
            pools: &["pro 1/1", "basic 2/2"],
        },
        Case {
            name: "deactivation revokes everything, whatever its source",
            tenant: Licensing::new()
                .pool("pro", 1)
                .pool("basic", 1)
                .rule("group Everyone -> basic")
                .user(
                    "A",
                    "inactive entitlement:pro group:Everyone holds:pro holds:basic(group)",
                ),
            run: |t| t.write(&["A"]),
            lines: &["A -basic", "A -pro"],
            pools: &["pro 1/0", "basic 1/0"],
        },
        Case {
            name: "a deleted user's seats are freed",
            tenant: Licensing::new()
                .pool("pro", 1)
                .user("A", "entitlement:pro holds:pro"),
            run: |t| t.delete("A"),
            lines: &["A -pro"],
            pools: &["pro 1/0"],
        },
        Case {
            name: "a sku granted another way stays, its source follows, no seat moves",
            tenant: sales().user("A", "entitlement:pro holds:pro(group)"),
            run: |t| t.write(&["A"]),
            lines: &["A pro now direct"],
            pools: &["pro 1/1"],
        },
        Case {
            name: "nothing to change asks for no seat, even of a pool over its seats",
            tenant: Licensing::new()
                .pool("pro", 1)
                .user("A", "entitlement:pro holds:pro")
                .user("B", "entitlement:pro holds:pro"),
            run: Licensing::reevaluate,
            lines: &[],
            pools: &["pro 1/2"],
        },
        Case {
            name: "overage: a write past the seats bought is granted while the allowance lasts",
            tenant: Licensing::new()
                .pool("pro", 1)
                .overage("pro", 1)
                .user("A", "entitlement:pro holds:pro")
                .user("B", "entitlement:pro"),
            run: |t| t.write(&["B"]),
            lines: &["B +pro (direct)", "pro exhausted 1/2"],
            pools: &["pro 1/2"],
        },
        Case {
            name: "overage: past the allowance, as strict",
            tenant: Licensing::new()
                .pool("pro", 1)
                .overage("pro", 1)
                .user("A", "entitlement:pro holds:pro")
                .user("B", "entitlement:pro holds:pro")
                .user("C", "entitlement:pro"),
            run: |t| t.write(&["C"]),
            lines: &["refused: pro 1/2"],
            pools: &["pro 1/2"],
        },
        Case {
            name: "overage: an admin's change seats users up to the allowance, the rest wait",
            tenant: Licensing::new()
                .pool("pro", 2)
                .overage("pro", 1)
                .rule("group Sales -> pro")
                .user("A", "group:Sales")
                .user("B", "group:Sales")
                .user("C", "group:Sales")
                .user("D", "group:Sales"),
            run: Licensing::reevaluate,
            lines: &[
                "A +pro (group)",
                "B +pro (group)",
                "C +pro (group)",
                "pro exhausted 2/3",
                "D waits for pro",
            ],
            pools: &["pro 2/3"],
        },
        Case {
            name: "overage: a /Bulk run seats whole users up to the allowance",
            tenant: Licensing::new()
                .pool("pro", 1)
                .overage("pro", 1)
                .user("A", "entitlement:pro")
                .user("B", "entitlement:pro")
                .user("C", "entitlement:pro"),
            run: |t| t.bulk_create(&["A", "B", "C"]),
            lines: &[
                "A +pro (direct)",
                "B +pro (direct)",
                "pro exhausted 1/2",
                "C refused: pro 1/2",
            ],
            pools: &["pro 1/2"],
        },
        Case {
            name: "pending: a write that needs a seat of a full pool is made, the license waits",
            tenant: waiting_list().user("B", "entitlement:pro"),
            run: |t| t.write(&["B"]),
            lines: &["B +pro (direct) pending"],
            pools: &["pro 1/1, 1 waiting"],
        },
        Case {
            name: "pending: a /Bulk run seats whole users while seats last, the rest wait",
            tenant: Licensing::new()
                .pool("pro", 1)
                .pending("pro")
                .user("A", "entitlement:pro")
                .user("B", "entitlement:pro")
                .user("C", "entitlement:pro"),
            run: |t| t.bulk_create(&["A", "B", "C"]),
            lines: &[
                "A +pro (direct)",
                "pro exhausted 1/1",
                "B +pro (direct) pending",
                "C +pro (direct) pending",
            ],
            pools: &["pro 1/1, 2 waiting"],
        },
        Case {
            name: "pending: a deletion's seat goes to the license waiting longest, not the \
                   user created first",
            tenant: waiting_list()
                .user("B", "entitlement:pro")
                .user("C", "entitlement:pro"),
            run: |t| {
                t.write(&["C"]);
                t.write(&["B"]);
                t.delete("A")
            },
            lines: &["A -pro", "C +pro (direct)"],
            pools: &["pro 1/1, 1 waiting"],
        },
        Case {
            name: "pending: a deactivation's seat goes to the oldest waiting license",
            tenant: waiting_list()
                .user("B", "entitlement:pro waits:pro")
                .user("C", "entitlement:pro waits:pro"),
            run: |t| t.set("A", "inactive entitlement:pro").write(&["A"]),
            lines: &["A -pro", "B +pro (direct)"],
            pools: &["pro 1/1, 1 waiting"],
        },
        Case {
            name: "pending: more seats serve the waiting licenses in order",
            tenant: waiting_list()
                .user("B", "entitlement:pro waits:pro")
                .user("C", "entitlement:pro waits:pro")
                .user("D", "entitlement:pro waits:pro"),
            run: |t| t.seats("pro", 3).reevaluate(),
            lines: &["B +pro (direct)", "C +pro (direct)", "pro exhausted 3/3"],
            pools: &["pro 3/3, 1 waiting"],
        },
        Case {
            name: "pending: a seat freed beside a new request goes to the license waiting",
            tenant: waiting_list()
                .user("B", "entitlement:pro waits:pro")
                .user("D", "entitlement:pro"),
            run: |t| t.set("A", "").write(&["A", "D"]),
            lines: &["A -pro", "B +pro (direct)", "D +pro (direct) pending"],
            pools: &["pro 1/1, 1 waiting"],
        },
        Case {
            name: "pending: a waiting license no longer granted is withdrawn, no seat moves",
            tenant: waiting_list().user("B", "waits:pro"),
            run: |t| t.write(&["B"]),
            lines: &["B -pro pending"],
            pools: &["pro 1/1"],
        },
        Case {
            name: "pending: a license withdrawn in the write that frees a seat is not given it",
            tenant: waiting_list()
                .user("B", "waits:pro")
                .user("C", "entitlement:pro waits:pro"),
            run: |t| t.set("A", "").write(&["A", "B"]),
            lines: &["A -pro", "B -pro pending", "C +pro (direct)"],
            pools: &["pro 1/1"],
        },
        Case {
            name: "pending: a pool that no longer waits asks its waiting licenses again",
            tenant: Licensing::new()
                .pool("pro", 2)
                .user("A", "entitlement:pro holds:pro")
                .user("B", "entitlement:pro waits:pro")
                .user("C", "entitlement:pro waits:pro"),
            run: Licensing::reevaluate,
            lines: &[
                "B -pro pending",
                "C -pro pending",
                "B +pro (direct)",
                "pro exhausted 2/2",
                "C waits for pro",
            ],
            pools: &["pro 2/2"],
        },
        Case {
            name: "pending: a strict pool still refuses a write that also waits elsewhere",
            tenant: waiting_list()
                .pool("basic", 0)
                .user("B", "entitlement:pro entitlement:basic"),
            run: |t| t.write(&["B"]),
            lines: &["refused: basic 0/0"],
            pools: &["pro 1/1", "basic 0/0"],
        },
        Case {
            name: "terms: before its start a pool grants nothing, and the user is written",
            tenant: Licensing::new()
                .pool("pro", 5)
                .term("pro", Some(10), None)
                .user("A", "entitlement:pro"),
            run: |t| {
                assert_eq!(
                    t.write(&["A"]),
                    [] as [String; 0],
                    "nothing before the start"
                );
                t.later(10).reevaluate()
            },
            lines: &["A +pro (direct)"],
            pools: &["pro 5/1"],
        },
        Case {
            name: "terms: a /Bulk run before the start creates the users, refusing none",
            tenant: Licensing::new()
                .pool("pro", 0)
                .term("pro", Some(10), None)
                .user("A", "entitlement:pro"),
            run: |t| t.bulk_create(&["A"]),
            lines: &[],
            pools: &["pro 0/0"],
        },
        Case {
            name: "terms: at its end a pool's seats are revoked, and a later write gets none",
            tenant: Licensing::new()
                .pool("pro", 5)
                .term("pro", None, Some(5))
                .user("A", "entitlement:pro holds:pro")
                .user("B", "entitlement:pro"),
            run: |t| {
                let lines = t.later(5).reevaluate();
                assert_eq!(t.write(&["B"]), [] as [String; 0], "nothing after the end");
                lines
            },
            lines: &["A -pro"],
            pools: &["pro 5/0"],
        },
        Case {
            name: "terms: a renewal gives the seats back",
            tenant: Licensing::new()
                .pool("pro", 2)
                .term("pro", None, Some(3))
                .user("A", "entitlement:pro holds:pro")
                .user("B", "entitlement:pro holds:pro"),
            run: |t| {
                assert_eq!(t.later(3).reevaluate(), ["A -pro", "B -pro"]);
                t.renew("pro", Some(100)).reevaluate()
            },
            lines: &["A +pro (direct)", "B +pro (direct)", "pro exhausted 2/2"],
            pools: &["pro 2/2"],
        },
        Case {
            name: "terms: at its end a pending pool's licenses wait, keeping their place",
            tenant: waiting_list()
                .term("pro", None, Some(5))
                .user("B", "entitlement:pro waits:pro"),
            run: |t| t.later(5).reevaluate(),
            lines: &["A -pro", "A +pro (direct) pending"],
            pools: &["pro 1/0, 2 waiting"],
        },
        Case {
            name: "terms: a pending pool out of term queues new licenses; its renewal serves \
                   those who held seats first",
            tenant: waiting_list()
                .term("pro", None, Some(5))
                .user("B", "entitlement:pro"),
            run: |t| {
                let ended = [
                    "A -pro",
                    "A +pro (direct) pending",
                    "B +pro (direct) pending",
                ];
                assert_eq!(t.later(5).reevaluate(), ended);
                t.renew("pro", None).reevaluate()
            },
            lines: &["A +pro (direct)", "pro exhausted 1/1"],
            pools: &["pro 1/1, 1 waiting"],
        },
    ];
    for mut case in cases {
        let lines = (case.run)(&mut case.tenant);
        assert_eq!(lines, case.lines, "{}", case.name);
        assert_eq!(case.tenant.pools(), case.pools, "{}", case.name);
    }
}

/// One seat of `pro`, held by A (entitled), under the `pending` policy.
fn waiting_list() -> Licensing {
    Licensing::new()
        .pool("pro", 1)
        .pending("pro")
        .user("A", "entitlement:pro holds:pro")
}

#[test]
fn a_refused_write_changes_nothing_and_a_freed_seat_serves_the_next() {
    let mut tenant = Licensing::new()
        .pool("pro", 1)
        .rule("group Sales -> pro")
        .user("A", "holds:pro(group) group:Sales")
        .user("B", "group:Sales");
    assert_eq!(tenant.write(&["B"]), ["refused: pro 1/1"]);
    assert_eq!(tenant.holdings(), ["A: pro (group)", "B: "]);
    tenant.set("A", "");
    assert_eq!(tenant.write(&["A"]), ["A -pro"]);
    assert_eq!(
        tenant.write(&["B"]),
        ["B +pro (group)", "pro exhausted 1/1"]
    );
    assert_eq!(tenant.holdings(), ["A: ", "B: pro (group)"]);
}

#[test]
fn the_engine_records_one_audit_entry_and_one_event_per_change() {
    let rules = LicenseRules {
        pools: vec![pool("pro", 1), pool("basic", 1)],
        rules: vec![],
    };
    let user = |key: u8, id: &str, facts: UserFacts, held| LicensedUser {
        key,
        id: id.into(),
        facts: Some(facts),
        held,
    };
    let users = vec![
        user(
            1,
            "a",
            facts(true, &["pro"], &[], &[]),
            held(&[("basic", Direct)]),
        ),
        user(2, "b", facts(true, &["basic"], &[], &[]), vec![]),
    ];
    let at = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
    let plan = LicensePlan::new(&rules, users, SeatPolicy::Strict, at);
    let mut pools = rules.pools.clone();
    pools[1].used = 1;
    let ctx = crate::WriteContext {
        tenant: crate::tenant::TenantId("t".into()),
        actor: "okta".into(),
        cause: "PATCH /Users/a".into(),
        at,
        events: vec![],
    };
    let outcome = plan.decide(&mut PoolSeats::new(&mut pools), &ctx).unwrap();
    let audit: Vec<_> = outcome
        .audit
        .iter()
        .map(|e| (e.user.as_str(), e.sku.as_str(), e.action, e.source, e.at))
        .collect();
    assert_eq!(
        audit,
        [
            ("a", "basic", AuditAction::Revoked, None, at),
            ("a", "pro", AuditAction::Assigned, Some(Direct), at),
            ("b", "basic", AuditAction::Assigned, Some(Direct), at),
        ]
    );
    assert!(
        outcome
            .audit
            .iter()
            .all(|e| e.cause == "PATCH /Users/a" && e.actor == "okta")
    );
    let uris: Vec<Vec<&String>> = outcome
        .events
        .iter()
        .map(|e| e.events.keys().collect())
        .collect();
    assert_eq!(
        uris,
        [
            vec![crate::events::LICENSE_REVOKED],
            vec![crate::events::LICENSE_ASSIGNED],
            vec![crate::events::LICENSE_ASSIGNED],
            // pro's last seat; basic was full already and only changed hands.
            vec![crate::events::POOL_EXHAUSTED],
        ]
    );
    let keys: Vec<u8> = outcome.assigned.iter().map(|c| c.user).collect();
    assert_eq!(keys, [1, 2]);
    assert_eq!((pools[0].used, pools[1].used), (1, 1));
}

/// A preview says, pool by pool, what re-evaluating after the rule change does: the same
/// gains, losses, waits and use, and it changes nothing itself.
#[test]
fn a_rule_preview_foretells_the_reevaluation() {
    let group = |value: &str, sku: &str| rule(MappingSource::Group, value, sku);
    let cases: Vec<(&str, Licensing, RuleChange, [u64; 3])> = vec![
        (
            "a group rule on a pool too small: the first users get seats, the rest wait",
            Licensing::new()
                .pool("pro", 2)
                .user("A", "group:Sales")
                .user("B", "group:sales")
                .user("C", "group:Sales"),
            RuleChange::Add(group("Sales", "pro")),
            [2, 0, 1],
        ),
        (
            "removing the rule that alone grants a seat revokes it; a direct grant stays",
            Licensing::new()
                .pool("pro", 5)
                .rule("group Sales -> pro")
                .user("A", "group:Sales holds:pro(group)")
                .user("B", "group:Sales entitlement:pro holds:pro"),
            RuleChange::Remove(group("Sales", "pro")),
            [0, 1, 0],
        ),
        (
            "a rule the tenant has changes nothing",
            Licensing::new()
                .pool("pro", 5)
                .rule("role Admin -> pro")
                .user("A", "role:Admin holds:pro"),
            RuleChange::Add(rule(MappingSource::Role, "admin", "PRO")),
            [0, 0, 0],
        ),
        (
            "an inactive user gains nothing; an entitlement value maps by its rule",
            Licensing::new()
                .pool("pro", 5)
                .user("A", "entitlement:Premium inactive")
                .user("B", "entitlement:premium"),
            RuleChange::Add(rule(MappingSource::Entitlement, "Premium", "pro")),
            [1, 0, 0],
        ),
        (
            "a user waiting under today's rules is counted as waiting still",
            Licensing::new()
                .pool("pro", 1)
                .rule("role Admin -> pro")
                .user("A", "role:Admin holds:pro")
                .user("B", "role:Admin")
                .user("C", "group:Ops"),
            RuleChange::Add(group("Ops", "pro")),
            [0, 0, 2],
        ),
    ];
    for (name, tenant, change, [gaining, losing, waiting]) in cases {
        let preview = tenant.preview(&change);
        let pro = &preview.pools[0];
        assert_eq!(
            (pro.gaining, pro.losing, pro.waiting),
            (gaining, losing, waiting),
            "{name}"
        );
        assert_eq!(preview.users, tenant.holdings().len() as u64, "{name}");
        assert_eq!(
            preview.changes_nothing(),
            gaining + losing + waiting == 0,
            "{name}"
        );
        // The change and the re-evaluation do what the preview said.
        let mut after = tenant.clone();
        let lines = after.change_rules(&change).reevaluate();
        let count = |needle: &str| lines.iter().filter(|line| line.contains(needle)).count() as u64;
        assert_eq!(count(" +pro"), pro.gaining, "{name}: {lines:?}");
        assert_eq!(count(" -pro"), pro.losing, "{name}: {lines:?}");
        assert_eq!(count("waits for pro"), pro.waiting, "{name}: {lines:?}");
        assert_eq!(
            after.pools(),
            [format!("pro {}/{}", pro.seats, pro.used_after)],
            "{name}"
        );
        assert_eq!(pro.takes_everyone(), waiting == 0, "{name}");
    }
}

#[test]
fn seat_policies_are_named_with_their_allowance() {
    assert_eq!(PoolPolicy::parse("strict", None), Ok(PoolPolicy::Strict));
    assert_eq!(PoolPolicy::named(None, None), Ok(None));
    assert_eq!(
        PoolPolicy::named(None, Some(3)),
        Ok(Some(PoolPolicy::Overage { allowance: 3 }))
    );
    assert_eq!(
        PoolPolicy::named(Some("strict"), None),
        Ok(Some(PoolPolicy::Strict))
    );
    assert_eq!(PoolPolicy::parse("strict", Some(0)), Ok(PoolPolicy::Strict));
    assert_eq!(PoolPolicy::parse("pending", None), Ok(PoolPolicy::Pending));
    assert_eq!(PoolPolicy::stored("pending", 0), Some(PoolPolicy::Pending));
    assert!(PoolPolicy::Pending.waits() && !PoolPolicy::Strict.waits());
    assert_eq!(PoolPolicy::Pending.allowance(), 0);
    assert_eq!(
        PoolPolicy::parse("overage", Some(6)),
        Ok(PoolPolicy::Overage { allowance: 6 })
    );
    for (name, allowance, says) in [
        ("strict", Some(2), "needs the policy 'overage'"),
        ("overage", None, "needs an overage allowance of 1 to"),
        ("overage", Some(0), "needs an overage allowance of 1 to"),
        (
            "overage",
            Some(MAX_OVERAGE + 1),
            "needs an overage allowance of 1 to",
        ),
        ("pending", Some(2), "needs the policy 'overage'"),
        ("lenient", None, "is not a seat policy"),
    ] {
        let error = PoolPolicy::parse(name, allowance)
            .expect_err(name)
            .to_string();
        assert!(error.contains(says), "{name} {allowance:?}: {error}");
    }
    let pool = Pool::new("pro", 5).with_policy(PoolPolicy::Overage { allowance: 2 });
    assert_eq!(pool.capacity(), 7);
    let over = Pool { used: 6, ..pool };
    assert_eq!((over.overage_used(), over.available()), (1, 0));
    assert!(!over.is_over_assigned());
    assert!(Pool { used: 8, ..over }.is_over_assigned());
    assert_eq!(
        PoolPolicy::stored("overage", 2),
        Some(PoolPolicy::Overage { allowance: 2 })
    );
    assert_eq!(PoolPolicy::stored("lenient", 0), None);
}

/// The allowance counts as the ledger read it under its locks, not as the rules were read
/// before: an allowance lowered meanwhile refuses, one raised meanwhile grants.
#[test]
fn the_overage_allowance_is_the_one_read_under_lock() {
    let overage = |allowance| PoolPolicy::Overage { allowance };
    let rules = |policy| LicenseRules {
        pools: vec![Pool {
            used: 1,
            ..pool("pro", 1).with_policy(policy)
        }],
        rules: vec![],
    };
    let ctx = crate::WriteContext {
        tenant: crate::tenant::TenantId("t".into()),
        actor: "test".into(),
        cause: "test".into(),
        at: Utc.timestamp_opt(1_800_000_000, 0).unwrap(),
        events: vec![],
    };
    let newcomer = || {
        vec![LicensedUser::new(
            1_u8,
            "b",
            facts(true, &["pro"], &[], &[]),
        )]
    };
    for (planned, locked, granted) in [
        (overage(1), PoolPolicy::Strict, false),
        (PoolPolicy::Strict, overage(1), true),
    ] {
        let plan = LicensePlan::new(&rules(planned), newcomer(), SeatPolicy::Strict, ctx.at);
        let mut pools = rules(locked).pools;
        let outcome = plan.decide(&mut PoolSeats::new(&mut pools), &ctx);
        assert_eq!(
            outcome.is_ok(),
            granted,
            "{planned:?} then {locked:?}: {outcome:?}"
        );
        assert_eq!(pools[0].used, if granted { 2 } else { 1 });
    }
}

#[test]
fn a_term_holds_from_its_start_until_its_end() {
    use super::Term;
    let at = |second: i64| Utc.timestamp_opt(second, 0).unwrap();
    let term = Term::new(Some(at(10)), Some(at(20))).unwrap();
    let holds: Vec<bool> = [9, 10, 19, 20].iter().map(|s| term.holds(at(*s))).collect();
    assert_eq!(holds, [false, true, true, false]);
    assert_eq!(term.next_boundary(at(0)), Some(at(10)));
    assert_eq!(
        term.next_boundary(at(10)),
        Some(at(20)),
        "a bound reached is past"
    );
    assert_eq!(term.next_boundary(at(20)), None);
    assert!(Term::default().holds(at(0)));
    assert_eq!(Term::default().next_boundary(at(0)), None);
    assert_eq!(
        term.to_string(),
        "1970-01-01 00:00 UTC – 1970-01-01 00:00 UTC"
    );
    let until = Term::new(None, Some(at(86_400 * 365))).unwrap();
    assert_eq!(until.to_string(), "until 1971-01-01 00:00 UTC");
    assert_eq!(Term::default().to_string(), "—");
    let backwards = Term::new(Some(at(20)), Some(at(20))).unwrap_err();
    assert!(
        backwards.to_string().contains("must end after it starts"),
        "{backwards}"
    );
}
