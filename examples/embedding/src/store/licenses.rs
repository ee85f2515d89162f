//! Licenses brought in line with the tenant's rules inside the transaction of the write that
//! changed what they depend on. The core plans (`grants_for`, `plan_license_changes`);
//! [`crate::seats::take_seats`] takes the seats; this module keeps the books: held licenses,
//! the audit log, the license events.

use scim_core::WriteContext;
use scim_core::events::ResourceEvent;
use scim_core::fold::fold_key;
use scim_core::license::{
    AuditAction, AuditEntry, Grants, HeldLicense, LicenseChanges, LicenseRules, LicenseSource,
    Reevaluation, UserFacts, plan_license_changes,
};
use scim_core::{ResourceKind, StoreError};

use super::TenantData;
use crate::seats::{pool_mut, take_seats};

/// What to do when a plan needs a seat a pool does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Seating {
    /// A SCIM write: fail it as a whole with `SeatsExhausted`.
    Strict,
    /// An admin's change of seats or rules: assign while seats last, report the rest as
    /// waiting.
    WhileSeatsLast,
}

impl TenantData {
    /// Brings the licenses of `users` (ids, in any order, repeats allowed; deleted users
    /// lose everything) to what the rules grant them now, in the users' creation order.
    pub(super) fn reconcile(
        &mut self,
        ctx: &WriteContext,
        users: &[String],
        seating: Seating,
    ) -> Result<Reevaluation, StoreError> {
        let mut report = Reevaluation::default();
        if self.pools.is_empty() {
            return Ok(report);
        }
        let rules = LicenseRules {
            pools: self.pools.clone(),
            rules: self.rules.clone(),
        };
        let mut users = users.to_vec();
        // Creation order; users deleted by this write (no position) last.
        users.sort_by_cached_key(|id| {
            let position = self.position(ResourceKind::User, id);
            (position.unwrap_or(usize::MAX), id.clone())
        });
        users.dedup();
        for user in users {
            let grants = match self.facts(&user) {
                Some(facts) => rules.grants_for(&facts),
                None => Grants::default(),
            };
            let held = self.licenses.get(&user).cloned().unwrap_or_default();
            let changes = plan_license_changes(&held, &grants);
            let granted = match seating {
                Seating::Strict => {
                    take_seats(&mut self.pools, &changes)?;
                    changes
                }
                Seating::WhileSeatsLast => {
                    // Revocations and source changes need no seat; each assignment is
                    // tried on its own, the ones without a seat left waiting.
                    let mut granted = LicenseChanges {
                        assign: Vec::new(),
                        ..changes.clone()
                    };
                    take_seats(&mut self.pools, &granted)?;
                    for assignment in changes.assign {
                        let one = LicenseChanges {
                            assign: vec![assignment.clone()],
                            ..LicenseChanges::default()
                        };
                        match take_seats(&mut self.pools, &one) {
                            Ok(()) => granted.assign.push(assignment),
                            Err(_) => report.waiting.push((user.clone(), assignment.0)),
                        }
                    }
                    granted
                }
            };
            self.commit(ctx, &user, &granted);
            report.users += 1;
            report.assigned += granted.assign.len() as u64;
            report.revoked += granted.revoke.len() as u64;
        }
        Ok(report)
    }

    /// What the rules read about a user: its attributes and the displayNames of its groups
    /// (direct and nested). `None` when the user is gone.
    pub(super) fn facts(&self, user: &str) -> Option<UserFacts> {
        let resource = self.find(ResourceKind::User, user)?;
        let (direct, indirect) = self.groups_of(user);
        let groups = direct
            .into_iter()
            .chain(indirect)
            .filter_map(|group| group.str_attribute("displayName"))
            .map(str::to_owned)
            .collect();
        Some(UserFacts::from_attributes(&resource.attributes, groups))
    }

    /// Writes the user's license changes (their seats already taken): held licenses, audit
    /// entries and license events.
    fn commit(&mut self, ctx: &WriteContext, user: &str, changes: &LicenseChanges) {
        let mut held = self.licenses.remove(user).unwrap_or_default();
        let mut events = Vec::new();
        for sku in &changes.revoke {
            held.retain(|license| fold_key(&license.sku) != fold_key(sku));
            self.audit(ctx, user, sku, AuditAction::Revoked, None);
            events.push(ResourceEvent::license(user, sku, false, None));
        }
        for (sku, source) in &changes.resource {
            for license in held
                .iter_mut()
                .filter(|l| fold_key(&l.sku) == fold_key(sku))
            {
                license.source = *source;
            }
        }
        for (sku, source) in &changes.assign {
            held.push(HeldLicense {
                sku: sku.clone(),
                source: *source,
                assigned: ctx.at,
            });
            self.audit(ctx, user, sku, AuditAction::Assigned, Some(*source));
            events.push(ResourceEvent::license(
                user,
                sku,
                true,
                Some(source.as_str()),
            ));
            if let Some(pool) = pool_mut(&mut self.pools, sku)
                && pool.used == pool.seats
            {
                events.push(ResourceEvent::pool_exhausted(
                    &pool.sku, pool.seats, pool.used,
                ));
            }
        }
        held.sort_by_key(|license| fold_key(&license.sku));
        if !held.is_empty() {
            self.licenses.insert(user.to_owned(), held);
        }
        self.record(ctx.at, events);
    }

    fn audit(
        &mut self,
        ctx: &WriteContext,
        user: &str,
        sku: &str,
        action: AuditAction,
        source: Option<LicenseSource>,
    ) {
        self.audit.push(AuditEntry {
            at: ctx.at,
            user: user.to_owned(),
            sku: sku.to_owned(),
            action,
            source,
            cause: ctx.cause.clone(),
            actor: ctx.actor.clone(),
        });
    }
}
