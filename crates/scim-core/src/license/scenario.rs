//! License rules as tables: a tenant's pools, rules and users in a few lines, run through
//! the [engine](super::LicensePlan) synchronously, with the outcome in words.
//!
//! For unit-testing license rules, here and in services that embed the core:
//!
//! ```
//! use scim_core::license::Licensing;
//!
//! // One seat of `pro`, held by B through Sales; B leaves Sales as A joins it.
//! let mut tenant = Licensing::new()
//!     .pool("pro", 1)
//!     .rule("group Sales -> pro")
//!     .user("A", "group:Sales")
//!     .user("B", "holds:pro(group)");
//! // Re-evaluated together, B's seat goes to A: revocations serve assignments first.
//! assert_eq!(tenant.reevaluate(), ["B -pro", "A +pro (group)"]);
//! assert_eq!(tenant.pools(), ["pro 1/1"]);
//! ```
//!
//! A user is described by tokens: `entitlement:V`, `role:V`, `group:V` (a group it is in,
//! by displayName), `inactive`, and `holds:SKU` or `holds:SKU(group)` for what it holds
//! already (`waits:SKU` for a license waiting for a seat, older than any the write queues).
//! A rule reads `entitlement|role|group VALUE -> SKU`. Outcome lines are the
//! write's license events in the order it records them, `U -SKU` (revoked),
//! `U +SKU (SOURCE)` (assigned, or given a freed seat), `U +SKU (SOURCE) pending` (written
//! to wait), `U -SKU pending` (a waiting license withdrawn), `SKU exhausted SEATS/USED`,
//! then what records no event:
//! `U SKU now SOURCE` (held from a new source), `U waits for SKU`, `U refused: SKU S/U`;
//! a write refused as a whole is the one line `refused: SKU S/U`. Every method panics on a
//! description it cannot read: it is for tests.

use chrono::{DateTime, Utc};

use super::engine::{LicenseChange, LicenseOutcome, LicensePlan, LicensedUser, PoolSeats};
use super::mapping::{MappingRule, MappingSource};
use super::planner::{HeldLicense, LicenseRules, LicenseSource, LicenseStatus, UserFacts};
use super::pool::{Pool, PoolPolicy};
use super::preview::{PreviewRun, RuleChange, RulePreview};
use super::seating::{SeatPolicy, Shortage};
use crate::context::WriteContext;
use crate::error::StoreError;
use crate::events::{LICENSE_ASSIGNED, LICENSE_PENDING, LICENSE_REVOKED};
use crate::fold::fold_key;
use crate::tenant::TenantId;

/// A tenant's licenses in memory, changed by the engine as a store would.
#[derive(Debug, Clone, Default)]
pub struct Licensing {
    rules: LicenseRules,
    /// In creation order.
    users: Vec<User>,
    /// Writes run so far: the seconds after the epoch the next one is made at, so that a
    /// license queued by a later write waits behind those queued before.
    writes: i64,
}

#[derive(Debug, Clone)]
struct User {
    id: String,
    facts: UserFacts,
    held: Vec<HeldLicense>,
}

impl Licensing {
    /// A tenant without pools, rules or users.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a pool of `seats` (none used).
    pub fn pool(mut self, sku: &str, seats: i64) -> Self {
        self.rules.pools.push(Pool::new(sku, seats));
        self
    }

    /// Lets the pool `sku` grant up to `allowance` seats beyond those bought
    /// ([`PoolPolicy::Overage`]).
    pub fn overage(mut self, sku: &str, allowance: i64) -> Self {
        self.pool_of(sku).policy = PoolPolicy::Overage { allowance };
        self
    }

    /// Makes the pool `sku` keep licenses it has no seat for waiting, first come first
    /// served ([`PoolPolicy::Pending`]).
    pub fn pending(mut self, sku: &str) -> Self {
        self.pool_of(sku).policy = PoolPolicy::Pending;
        self
    }

    /// Gives the pool `sku` a [term](super::Term): it grants seats from the `starts`-th
    /// second after the epoch to the `ends`-th (the `n`-th write is made at second `n`).
    pub fn term(mut self, sku: &str, starts: Option<i64>, ends: Option<i64>) -> Self {
        let second = |n: i64| epoch() + chrono::Duration::seconds(n);
        let term = super::pool::Term::new(starts.map(second), ends.map(second));
        self.pool_of(sku).term = term.unwrap_or_else(|error| panic!("{error}"));
        self
    }

    /// Lets `seconds` pass before the next write.
    pub fn later(&mut self, seconds: i64) -> &mut Self {
        self.writes += seconds;
        self
    }

    /// Changes the pool's term, as an admin renewing it does before re-evaluating.
    pub fn renew(&mut self, sku: &str, ends: Option<i64>) -> &mut Self {
        let ends = ends.map(|n| epoch() + chrono::Duration::seconds(n));
        let pool = self.pool_of(sku);
        pool.term = super::pool::Term::new(pool.term.starts, ends)
            .unwrap_or_else(|error| panic!("{error}"));
        self
    }

    /// Adds a rule, `"group Sales -> pro"`.
    pub fn rule(mut self, rule: &str) -> Self {
        let read = || {
            let (source_value, sku) = rule.split_once("->")?;
            let (source, value) = source_value.trim().split_once(' ')?;
            let source = MappingSource::parse(source)?;
            Some(MappingRule::new(source, value.trim(), sku.trim()))
        };
        let rule = read()
            .unwrap_or_else(|| panic!("'{rule}' is not 'entitlement|role|group VALUE -> SKU'"));
        self.rules.rules.push(rule);
        self
    }

    /// Adds a user (after the others) described by tokens; what it holds takes its seats.
    pub fn user(mut self, id: &str, description: &str) -> Self {
        let mut user = User {
            id: id.to_owned(),
            facts: UserFacts {
                active: true,
                ..UserFacts::default()
            },
            held: Vec::new(),
        };
        user.describe(description);
        for license in &user.held {
            if license.status == LicenseStatus::Active {
                self.pool_of(&license.sku).used += 1;
            }
        }
        self.users.push(user);
        self
    }

    /// Changes a user's facts (what it holds stays): the tokens replace its entitlements,
    /// roles, groups and `active`.
    pub fn set(&mut self, id: &str, description: &str) -> &mut Self {
        let user = self.user_mut(id);
        let held = std::mem::take(&mut user.held);
        user.facts = UserFacts {
            active: true,
            ..UserFacts::default()
        };
        user.describe(description);
        assert!(user.held.is_empty(), "`set` changes facts, not holdings");
        user.held = held;
        self
    }

    /// Sets a pool's seats, as an admin does before re-evaluating.
    pub fn seats(&mut self, sku: &str, seats: i64) -> &mut Self {
        self.pool_of(sku).seats = seats;
        self
    }

    /// An admin's change: every user re-evaluated, in creation order, while seats last.
    pub fn reevaluate(&mut self) -> Vec<String> {
        let ids: Vec<String> = self.users.iter().map(|user| user.id.clone()).collect();
        self.run(&ids, &[], SeatPolicy::WhileSeatsLast)
    }

    /// What [`Self::reevaluate`] would do once `change` is made to the rules, changing
    /// nothing.
    pub fn preview(&self, change: &RuleChange) -> RulePreview {
        let at = context(self.writes + 1).at;
        let mut run = PreviewRun::new(self.rules.pools.clone(), &self.rules.rules, change, at);
        let users = self
            .users
            .iter()
            .enumerate()
            .map(|(at, user)| LicensedUser {
                key: at,
                id: user.id.clone(),
                facts: Some(user.facts.clone()),
                held: user.held.clone(),
            });
        run.batch(users.collect())
            .unwrap_or_else(|error| panic!("the engine failed: {error}"));
        run.finish()
    }

    /// Makes a rule change, as an admin does before re-evaluating.
    pub fn change_rules(&mut self, change: &RuleChange) -> &mut Self {
        self.rules.rules = change.applied_to(&self.rules.rules);
        self
    }

    /// A SCIM write affecting `ids` (a user's PATCH, a group's member change): all or
    /// nothing.
    pub fn write(&mut self, ids: &[&str]) -> Vec<String> {
        let ids: Vec<String> = ids.iter().map(|id| (*id).to_owned()).collect();
        self.run(&ids, &[], SeatPolicy::Strict)
    }

    /// A SCIM DELETE of a user: what it holds is revoked and it is gone.
    pub fn delete(&mut self, id: &str) -> Vec<String> {
        let lines = self.run(&[], &[id.to_owned()], SeatPolicy::Strict);
        self.users.retain(|user| user.id != id);
        lines
    }

    /// A `/Bulk` run creating these users together (added with [`Self::user`], holding
    /// nothing): each is seated whole or refused, in order; the refused are not created.
    pub fn bulk_create(&mut self, ids: &[&str]) -> Vec<String> {
        let ids: Vec<String> = ids.iter().map(|id| (*id).to_owned()).collect();
        let lines = self.run(&ids, &[], SeatPolicy::EachUserWhole);
        let refused: Vec<&str> = lines
            .iter()
            .filter_map(|line| line.split_once(" refused: ").map(|(id, _)| id))
            .collect();
        self.users
            .retain(|user| !refused.contains(&user.id.as_str()));
        lines
    }

    /// Each pool as `SKU SEATS/USED` (and `, N waiting` when licenses wait for it), in
    /// the order added.
    pub fn pools(&self) -> Vec<String> {
        self.rules
            .pools
            .iter()
            .map(|pool| {
                let key = fold_key(&pool.sku);
                let waiting = self
                    .users
                    .iter()
                    .flat_map(|user| &user.held)
                    .filter(|held| held.status == LicenseStatus::Pending)
                    .filter(|held| fold_key(&held.sku) == key)
                    .count();
                let line = format!("{} {}/{}", pool.sku, pool.seats, pool.used);
                match waiting {
                    0 => line,
                    n => format!("{line}, {n} waiting"),
                }
            })
            .collect()
    }

    /// What each user holds, as `U: SKU (SOURCE), …`, users in creation order.
    pub fn holdings(&self) -> Vec<String> {
        self.users
            .iter()
            .map(|user| {
                let held: Vec<String> = user
                    .held
                    .iter()
                    .map(|license| match license.status {
                        LicenseStatus::Active => format!("{} ({})", license.sku, license.source),
                        LicenseStatus::Pending => {
                            format!("{} ({}, pending)", license.sku, license.source)
                        }
                    })
                    .collect();
                format!("{}: {}", user.id, held.join(", "))
            })
            .collect()
    }

    fn run(&mut self, ids: &[String], leaving: &[String], policy: SeatPolicy) -> Vec<String> {
        let mut users: Vec<LicensedUser<usize>> = Vec::new();
        for (at, user) in self.users.iter().enumerate() {
            if leaving.contains(&user.id) {
                users.push(LicensedUser::leaving(at, &user.id, user.held.clone()));
            } else if ids.contains(&user.id) {
                users.push(LicensedUser {
                    key: at,
                    id: user.id.clone(),
                    facts: Some(user.facts.clone()),
                    held: user.held.clone(),
                });
            }
        }
        self.writes += 1;
        let ctx = context(self.writes);
        let plan = LicensePlan::new(&self.rules, users, policy, ctx.at);
        // Every waiting license, oldest first (then in the users' order).
        let mut waiting: Vec<(DateTime<Utc>, LicenseChange<usize>)> = Vec::new();
        for (at, user) in self.users.iter().enumerate() {
            for held in user.held.iter() {
                if held.status == LicenseStatus::Pending {
                    let license = LicenseChange {
                        user: at,
                        id: user.id.clone(),
                        sku: held.sku.clone(),
                        source: held.source,
                    };
                    waiting.push((held.assigned, license));
                }
            }
        }
        waiting.sort_by_key(|(since, license)| (*since, license.user));
        let waiting = waiting.into_iter().map(|(_, license)| license).collect();
        // On the pools themselves: a refused write must leave their use as it was.
        let mut ledger = PoolSeats::new(&mut self.rules.pools).with_waiting(waiting);
        match plan.decide(&mut ledger, &ctx) {
            Ok(outcome) => {
                let lines = self.lines(&outcome);
                self.apply(&outcome, ctx.at);
                lines
            }
            Err(StoreError::SeatsExhausted { sku, seats, used }) => {
                vec![format!("refused: {sku} {seats}/{used}")]
            }
            Err(other) => panic!("the engine failed: {other}"),
        }
    }

    fn lines(&self, outcome: &LicenseOutcome<usize>) -> Vec<String> {
        let events = outcome.events.iter().flat_map(|event| {
            let user = event.subject.trim_start_matches("/Users/");
            event.events.iter().map(move |(uri, body)| {
                let text = |name: &str| body[name].as_str().unwrap_or_default().to_owned();
                match uri.as_str() {
                    LICENSE_REVOKED if body.get("status").is_some() => {
                        format!("{user} -{} pending", text("sku"))
                    }
                    LICENSE_REVOKED => format!("{user} -{}", text("sku")),
                    LICENSE_PENDING => {
                        format!("{user} +{} ({}) pending", text("sku"), text("source"))
                    }
                    LICENSE_ASSIGNED => format!("{user} +{} ({})", text("sku"), text("source")),
                    _ => format!(
                        "{} exhausted {}/{}",
                        text("sku"),
                        body["seats"],
                        body["used"]
                    ),
                }
            })
        });
        let moved = outcome
            .source_changed
            .iter()
            .map(|change| format!("{} {} now {}", change.id, change.sku, change.source));
        let waiting = outcome
            .waiting
            .iter()
            .map(|(id, sku)| format!("{id} waits for {sku}"));
        let refused = outcome.refused.iter().map(|(at, shortage)| {
            let Shortage { sku, seats, used } = shortage;
            format!("{} refused: {sku} {seats}/{used}", self.users[*at].id)
        });
        events.chain(moved).chain(waiting).chain(refused).collect()
    }

    fn apply(&mut self, outcome: &LicenseOutcome<usize>, at: DateTime<Utc>) {
        for change in outcome.revoked.iter().chain(&outcome.withdrawn) {
            let key = fold_key(&change.sku);
            self.users[change.user]
                .held
                .retain(|license| fold_key(&license.sku) != key);
        }
        for change in &outcome.source_changed {
            let key = fold_key(&change.sku);
            for license in &mut self.users[change.user].held {
                if fold_key(&license.sku) == key {
                    license.source = change.source;
                }
            }
        }
        for change in &outcome.promoted {
            let key = fold_key(&change.sku);
            for license in &mut self.users[change.user].held {
                if fold_key(&license.sku) == key {
                    license.status = LicenseStatus::Active;
                    license.assigned = at;
                }
            }
        }
        for change in &outcome.suspended {
            let key = fold_key(&change.sku);
            for license in &mut self.users[change.user].held {
                if fold_key(&license.sku) == key {
                    license.status = LicenseStatus::Pending;
                    license.source = change.source;
                }
            }
        }
        for (change, license) in outcome.new_licenses(at) {
            let held = &mut self.users[change.user].held;
            held.push(license);
            held.sort_by_key(|license| fold_key(&license.sku));
        }
    }

    fn pool_of(&mut self, sku: &str) -> &mut Pool {
        let key = fold_key(sku);
        self.rules
            .pools
            .iter_mut()
            .find(|pool| fold_key(&pool.sku) == key)
            .unwrap_or_else(|| panic!("no pool '{sku}': add it first"))
    }

    fn user_mut(&mut self, id: &str) -> &mut User {
        self.users
            .iter_mut()
            .find(|user| user.id == id)
            .unwrap_or_else(|| panic!("no user '{id}'"))
    }
}

impl User {
    fn describe(&mut self, description: &str) {
        for token in description.split_whitespace() {
            let (kind, value) = token.split_once(':').unwrap_or((token, ""));
            match kind {
                "entitlement" => self.facts.entitlements.push(value.to_owned()),
                "role" => self.facts.roles.push(value.to_owned()),
                "group" => self.facts.groups.push(value.to_owned()),
                "inactive" => self.facts.active = false,
                "holds" | "waits" => {
                    let (sku, source) = match value.strip_suffix("(group)") {
                        Some(sku) => (sku, LicenseSource::Group),
                        None => (value, LicenseSource::Direct),
                    };
                    let status = match kind {
                        "holds" => LicenseStatus::Active,
                        _ => LicenseStatus::Pending,
                    };
                    self.held.push(HeldLicense {
                        status,
                        ..HeldLicense::active(sku, source, epoch())
                    });
                    self.held.sort_by_key(|license| fold_key(&license.sku));
                }
                _ => panic!("unknown token '{token}' in '{description}'"),
            }
        }
    }
}

fn epoch() -> DateTime<Utc> {
    DateTime::UNIX_EPOCH
}

/// The context of the `write`-th write, made `write` seconds after the epoch.
fn context(write: i64) -> WriteContext {
    WriteContext {
        tenant: TenantId("tenant".into()),
        actor: "test".into(),
        cause: "test".into(),
        at: epoch() + chrono::Duration::seconds(write),
        events: Vec::new(),
    }
}
