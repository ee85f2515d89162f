//! Deleting a tenant in bounded steps: each step one transaction removing at most a batch
//! of rows, so a tenant of a million users never holds one giant transaction nor the
//! write lock other tenants wait on for long. Credentials go first (the tenant stops
//! authenticating at the first step), then what refers to its users and groups, then
//! those, then the rest; the tenant's own row last, taking its few remaining rows (pools,
//! stripes, rules, receivers) with it by cascade. Every statement names the tenant.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use scim_core::StoreError;
use scim_core::tenant::{PurgeStep, TenantId};

use crate::connection::{execute_per_backend, placeholders};
use crate::errors::from_diesel;
use crate::store::DieselStore;

/// The first statement of every step: the tenant is marked as being deleted (once), so
/// that it is no longer found, listed or authenticated.
const MARK: &str = "UPDATE tenants SET deleting = $2 WHERE id = $1 AND deleting IS NULL";

/// The statements of a purge, children before parents. Each deletes at most `$2` rows of
/// the tenant `$1` (written with PostgreSQL's placeholders; SQLite's are `?1`, `?2`).
const STEPS: &[&str] = &[
    "DELETE FROM tokens WHERE id IN (SELECT id FROM tokens WHERE tenant_id = $1 LIMIT $2)",
    "DELETE FROM clients WHERE id IN (SELECT id FROM clients WHERE tenant_id = $1 LIMIT $2)",
    "DELETE FROM admin_sessions WHERE hash IN \
     (SELECT hash FROM admin_sessions WHERE tenant_id = $1 LIMIT $2)",
    "DELETE FROM portal_grants WHERE hash IN \
     (SELECT hash FROM portal_grants WHERE tenant_id = $1 LIMIT $2)",
    "DELETE FROM activity_hours WHERE (tenant_id, hour) IN \
     (SELECT tenant_id, hour FROM activity_hours WHERE tenant_id = $1 LIMIT $2)",
    "DELETE FROM activity WHERE seq IN (SELECT seq FROM activity WHERE tenant_id = $1 LIMIT $2)",
    "DELETE FROM deliveries WHERE (receiver_id, seq) IN \
     (SELECT d.receiver_id, d.seq FROM deliveries d JOIN receivers r ON r.id = d.receiver_id \
      WHERE r.tenant_id = $1 LIMIT $2)",
    "DELETE FROM poll_acks WHERE seq IN \
     (SELECT a.seq FROM poll_acks a JOIN outbox o ON o.seq = a.seq WHERE o.tenant_id = $1 LIMIT $2)",
    "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE tenant_id = $1 LIMIT $2)",
    "DELETE FROM license_audit WHERE seq IN \
     (SELECT seq FROM license_audit WHERE tenant_id = $1 LIMIT $2)",
    "DELETE FROM license_assignments WHERE (user_seq, sku_key) IN \
     (SELECT user_seq, sku_key FROM license_assignments WHERE tenant_id = $1 LIMIT $2)",
    "DELETE FROM group_members WHERE (group_seq, member_seq) IN \
     (SELECT m.group_seq, m.member_seq FROM group_members m JOIN resources r ON r.seq = m.group_seq \
      WHERE r.tenant_id = $1 LIMIT $2)",
    "DELETE FROM resources WHERE seq IN (SELECT seq FROM resources WHERE tenant_id = $1 LIMIT $2)",
    "DELETE FROM bulk_job_outcomes WHERE (job_id, position) IN \
     (SELECT o.job_id, o.position FROM bulk_job_outcomes o JOIN bulk_jobs j ON j.id = o.job_id \
      WHERE j.tenant_id = $1 LIMIT $2)",
    "DELETE FROM bulk_jobs WHERE id IN (SELECT id FROM bulk_jobs WHERE tenant_id = $1 LIMIT $2)",
    "DELETE FROM license_usage_daily WHERE (tenant_id, sku_key, day) IN \
     (SELECT tenant_id, sku_key, day FROM license_usage_daily WHERE tenant_id = $1 LIMIT $2)",
];

/// The tenant's own row, once nothing of the steps is left.
const LAST: &str = "DELETE FROM tenants WHERE id = $1";

impl DieselStore {
    /// One step of the purge (see [`scim_core::ports::TenantDirectory::purge_tenant`]).
    pub(crate) async fn purge_step(
        &self,
        tenant: &TenantId,
        batch: usize,
    ) -> Result<PurgeStep, StoreError> {
        let tenant = tenant.0.clone();
        let batch = i64::try_from(batch.max(1)).unwrap_or(i64::MAX);
        let now = chrono::Utc::now().timestamp_micros();
        self.write(move |connection| {
            let sql = placeholders(connection, MARK);
            let statement = diesel::sql_query(sql)
                .bind::<Text, _>(&tenant)
                .bind::<BigInt, _>(now);
            execute_per_backend!(connection, statement).map_err(from_diesel)?;
            let mut removed: i64 = 0;
            for step in STEPS {
                let sql = placeholders(connection, step);
                let statement = diesel::sql_query(sql)
                    .bind::<Text, _>(&tenant)
                    .bind::<BigInt, _>(batch - removed);
                let rows = execute_per_backend!(connection, statement).map_err(from_diesel)?;
                removed += i64::try_from(rows).unwrap_or(i64::MAX);
                if removed >= batch {
                    return Ok(PurgeStep {
                        removed: u64::try_from(removed).unwrap_or_default(),
                        finished: false,
                    });
                }
            }
            let sql = placeholders(connection, LAST);
            let statement = diesel::sql_query(sql).bind::<Text, _>(&tenant);
            let rows = execute_per_backend!(connection, statement).map_err(from_diesel)?;
            Ok(PurgeStep {
                removed: u64::try_from(removed).unwrap_or_default()
                    + u64::try_from(rows).unwrap_or_default(),
                finished: true,
            })
        })
        .await
    }
}
