//! `ActivityLog`: the tenants' provisioning activity, one list for all tenants (as one
//! table holds it in a database), numbered store-wide.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scim_core::StoreError;
use scim_core::activity::{ActivityEntry, ActivityQuery, ActivitySummary, hour_of};
use scim_core::ports::ActivityLog;
use scim_core::tenant::TenantId;

use crate::MemoryStore;

#[async_trait]
impl ActivityLog for MemoryStore {
    async fn record_activity(&self, entries: &[ActivityEntry]) -> Result<(), StoreError> {
        let mut state = self.lock();
        for entry in entries {
            state.last_activity += 1;
            let seq = state.last_activity;
            state.activity.push(ActivityEntry {
                seq,
                ..entry.clone()
            });
            let key = (entry.tenant.clone(), hour_of(entry.at));
            state.activity_hours.entry(key).or_default().add(entry);
        }
        Ok(())
    }

    async fn activity(
        &self,
        tenant: &TenantId,
        query: &ActivityQuery,
    ) -> Result<Vec<ActivityEntry>, StoreError> {
        let state = self.lock();
        Ok(state
            .activity
            .iter()
            .rev()
            .filter(|entry| entry.tenant == *tenant && query.matches(entry))
            .take(query.limit)
            .cloned()
            .collect())
    }

    async fn activity_summary(
        &self,
        tenant: &TenantId,
        since: DateTime<Utc>,
    ) -> Result<ActivitySummary, StoreError> {
        let from = hour_of(since);
        let mut summary = ActivitySummary::default();
        let state = self.lock();
        for counted in (state.activity_hours.iter())
            .filter(|((owner, hour), _)| owner == tenant && *hour >= from)
            .map(|(_, counted)| counted)
        {
            summary.requests += counted.requests;
            summary.failures += counted.failures;
            summary.last = summary.last.max(counted.last);
        }
        Ok(summary)
    }

    async fn prune_activity(&self, before: DateTime<Utc>, limit: u64) -> Result<u64, StoreError> {
        let mut state = self.lock();
        let mut budget = limit;
        state.activity.retain(|entry| {
            if entry.at < before && budget > 0 {
                budget -= 1;
                return false;
            }
            true
        });
        let hour = hour_of(before);
        state
            .activity_hours
            .retain(|(_, counted), _| *counted >= hour);
        Ok(limit - budget)
    }
}
