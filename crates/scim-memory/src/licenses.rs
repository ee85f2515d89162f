//! Licenses brought in line with the tenant's rules inside the transaction of the write that
//! changed what they depend on. Every decision is the core engine's
//! ([`LicensePlan`]); this module hands it the affected users and the pools, and keeps
//! the books it returns: held licenses, the audit log, the license events.

use scim_core::WriteContext;
use scim_core::fold::fold_key;
use scim_core::license::{
    LicenseChange, LicenseOutcome, LicensePlan, LicenseRules, LicenseStatus, LicensedUser, Pool,
    PoolSeats, Reevaluation, SeatPolicy, UserFacts,
};
use scim_core::{ResourceKind, StoreError};

use crate::TenantData;

impl TenantData {
    /// Brings the licenses of `users` (ids, in any order, repeats allowed; deleted users
    /// lose everything) to what the rules grant them now, in the users' creation order.
    pub(crate) fn reconcile(
        &mut self,
        ctx: &WriteContext,
        users: &[String],
        policy: SeatPolicy,
    ) -> Result<Reevaluation, StoreError> {
        if self.pools.is_empty() {
            return Ok(Reevaluation::default());
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
        let users: Vec<LicensedUser<String>> = users
            .into_iter()
            .map(|id| LicensedUser {
                facts: self.facts(&id),
                held: self.licenses.get(&id).cloned().unwrap_or_default(),
                key: id.clone(),
                id,
            })
            .collect();
        let count = users.len() as u64;
        let plan = LicensePlan::new(&rules, users, policy, ctx.at);
        // The pools keep their use ([`scim_core::license::Pool::used`]): the engine counts
        // and changes it in place (a failed write's copy of the data is dropped).
        let waiting = self.waiting();
        let outcome = plan.decide(
            &mut PoolSeats::new(&mut self.pools).with_waiting(waiting),
            ctx,
        )?;
        let report = outcome.report(count);
        self.keep(ctx, outcome);
        Ok(report)
    }

    /// What the rules read about a user: its attributes and the displayNames of its groups
    /// (direct and nested). `None` when the user is gone.
    pub(crate) fn facts(&self, user: &str) -> Option<UserFacts> {
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

    /// The pools with their use and, counted from the licenses held, how many wait.
    pub(crate) fn pools_with_waiting(&self) -> Vec<Pool> {
        let mut pools = self.pools.clone();
        let waiting = self.licenses.values().flatten();
        for license in waiting.filter(|license| license.status == LicenseStatus::Pending) {
            let key = fold_key(&license.sku);
            if let Some(pool) = pools.iter_mut().find(|pool| fold_key(&pool.sku) == key) {
                pool.pending += 1;
            }
        }
        pools
    }

    /// Every license waiting for a seat, oldest first (then in creation order); none
    /// unless a pool waits.
    fn waiting(&self) -> Vec<LicenseChange<String>> {
        if !self.pools.iter().any(|pool| pool.policy.waits()) {
            return Vec::new();
        }
        let mut waiting: Vec<_> = self
            .licenses
            .iter()
            .flat_map(|(user, held)| held.iter().map(move |license| (user, license)))
            .filter(|(_, license)| license.status == LicenseStatus::Pending)
            .map(|(user, license)| {
                let position = self.position(ResourceKind::User, user);
                let order = (license.assigned, position.unwrap_or(usize::MAX));
                let change = LicenseChange {
                    user: user.clone(),
                    id: user.clone(),
                    sku: license.sku.clone(),
                    source: license.source,
                };
                (order, change)
            })
            .collect();
        waiting.sort_by_key(|(order, _)| *order);
        waiting.into_iter().map(|(_, change)| change).collect()
    }

    /// Keeps what the engine decided: held licenses, audit entries and license events.
    fn keep(&mut self, ctx: &WriteContext, outcome: LicenseOutcome<String>) {
        for change in outcome.revoked.iter().chain(&outcome.withdrawn) {
            let key = fold_key(&change.sku);
            if let Some(held) = self.licenses.get_mut(&change.user) {
                held.retain(|license| fold_key(&license.sku) != key);
            }
        }
        for change in &outcome.promoted {
            let key = fold_key(&change.sku);
            let held = self.licenses.entry(change.user.clone()).or_default();
            for license in held.iter_mut().filter(|l| fold_key(&l.sku) == key) {
                license.status = LicenseStatus::Active;
                license.assigned = ctx.at;
            }
        }
        for change in &outcome.source_changed {
            let key = fold_key(&change.sku);
            let held = self.licenses.entry(change.user.clone()).or_default();
            for license in held.iter_mut().filter(|l| fold_key(&l.sku) == key) {
                license.source = change.source;
            }
        }
        // A suspended license keeps its `assigned`: its place among those waiting.
        for change in &outcome.suspended {
            let key = fold_key(&change.sku);
            let held = self.licenses.entry(change.user.clone()).or_default();
            for license in held.iter_mut().filter(|l| fold_key(&l.sku) == key) {
                license.source = change.source;
                license.status = LicenseStatus::Pending;
            }
        }
        for (change, license) in outcome.new_licenses(ctx.at) {
            let held = self.licenses.entry(change.user.clone()).or_default();
            held.push(license);
            held.sort_by_key(|license| fold_key(&license.sku));
        }
        self.licenses.retain(|_, held| !held.is_empty());
        self.audit.extend(outcome.audit);
        self.record(ctx.at, outcome.events);
    }
}
