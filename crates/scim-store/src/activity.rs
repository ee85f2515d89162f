//! `ActivityLog`: the tenants' provisioning activity, in `activity`. Entries arrive in
//! batches (one INSERT each); a tenant's are read newest first on `(tenant_id, seq)`;
//! pruning removes the oldest from the primary key's start, a bounded number per
//! statement.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use scim_core::StoreError;
use scim_core::activity::{ActivityEntry, ActivityQuery, ActivitySummary, Outcome, hour_of};
use scim_core::ports::ActivityLog;
use scim_core::tenant::TenantId;

use crate::connection::{execute_per_backend, placeholders};
use crate::errors::from_diesel;
use crate::rows::{CorruptRow, from_micros, to_micros};
use crate::schema::{activity, activity_hours};
use crate::store::DieselStore;

/// Of the `$2` oldest entries (the lowest seqs: the primary key's start), those before
/// `$1`. Entries are numbered as they are written, within a second of when they happened,
/// so this walks no further than the entries it removes (and one batch past them), with
/// no index on `at` to keep up on every write.
const PRUNE: &str = "DELETE FROM activity WHERE seq IN \
     (SELECT seq FROM (SELECT seq, at FROM activity ORDER BY seq LIMIT $2) oldest WHERE at < $1)";

/// Adds a batch's counts to its tenant's hour (`$1`, `$2`): requests `$3`, failures `$4`,
/// the last answered at `$5`.
const COUNT_HOUR: &str = "INSERT INTO activity_hours (tenant_id, hour, requests, failures, last_at) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, hour) DO UPDATE SET \
     requests = activity_hours.requests + excluded.requests, \
     failures = activity_hours.failures + excluded.failures, \
     last_at = CASE WHEN excluded.last_at > activity_hours.last_at \
     THEN excluded.last_at ELSE activity_hours.last_at END";

#[derive(Insertable)]
#[diesel(table_name = activity)]
struct NewActivity {
    tenant_id: String,
    at: i64,
    client: String,
    credential: String,
    method: String,
    resource_type: String,
    resource_id: Option<String>,
    resource_name: Option<String>,
    status: i32,
    scim_type: Option<String>,
    detail: Option<String>,
}

impl From<&ActivityEntry> for NewActivity {
    fn from(entry: &ActivityEntry) -> Self {
        Self {
            tenant_id: entry.tenant.0.clone(),
            at: to_micros(&entry.at),
            client: entry.client.clone(),
            credential: entry.credential.clone(),
            method: entry.method.clone(),
            resource_type: entry.resource_type.clone(),
            resource_id: entry.resource_id.clone(),
            resource_name: entry.resource_name.clone(),
            status: i32::from(entry.status),
            scim_type: entry.scim_type.clone(),
            detail: entry.detail.clone(),
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = activity)]
struct ActivityRow {
    seq: i64,
    tenant_id: String,
    at: i64,
    client: String,
    credential: String,
    method: String,
    resource_type: String,
    resource_id: Option<String>,
    resource_name: Option<String>,
    status: i32,
    scim_type: Option<String>,
    detail: Option<String>,
}

impl TryFrom<ActivityRow> for ActivityEntry {
    type Error = CorruptRow;

    fn try_from(row: ActivityRow) -> Result<Self, CorruptRow> {
        Ok(Self {
            seq: row.seq,
            tenant: TenantId(row.tenant_id),
            at: from_micros(row.at)?,
            client: row.client,
            credential: row.credential,
            method: row.method,
            resource_type: row.resource_type,
            resource_id: row.resource_id,
            resource_name: row.resource_name,
            status: u16::try_from(row.status).unwrap_or_default(),
            scim_type: row.scim_type,
            detail: row.detail,
        })
    }
}

#[async_trait]
impl ActivityLog for DieselStore {
    async fn record_activity(&self, entries: &[ActivityEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let rows: Vec<NewActivity> = entries.iter().map(NewActivity::from).collect();
        // The hourly counts, in the same transaction: one row per tenant and hour.
        let mut hours: BTreeMap<(String, i64), ActivitySummary> = BTreeMap::new();
        for entry in entries {
            (hours
                .entry((entry.tenant.0.clone(), hour_of(entry.at)))
                .or_default())
            .add(entry);
        }
        self.write(move |connection| {
            execute_per_backend!(
                connection,
                diesel::insert_into(activity::table).values(&rows)
            )
            .map_err(from_diesel)?;
            let sql = placeholders(connection, COUNT_HOUR);
            for ((tenant, hour), counted) in &hours {
                let statement = diesel::sql_query(sql.as_str())
                    .bind::<Text, _>(tenant)
                    .bind::<BigInt, _>(hour)
                    .bind::<BigInt, _>(i64::try_from(counted.requests).unwrap_or(i64::MAX))
                    .bind::<BigInt, _>(i64::try_from(counted.failures).unwrap_or(i64::MAX))
                    .bind::<BigInt, _>(counted.last.as_ref().map_or(0, to_micros));
                execute_per_backend!(connection, statement).map_err(from_diesel)?;
            }
            Ok(())
        })
        .await
    }

    async fn activity(
        &self,
        tenant: &TenantId,
        query: &ActivityQuery,
    ) -> Result<Vec<ActivityEntry>, StoreError> {
        let tenant = tenant.0.clone();
        let query = query.clone();
        self.run(move |connection| {
            let mut select = activity::table
                .filter(activity::tenant_id.eq(tenant))
                .order(activity::seq.desc())
                .limit(i64::try_from(query.limit).unwrap_or(i64::MAX))
                .select(ActivityRow::as_select())
                .into_boxed();
            if let Some(before) = query.before {
                select = select.filter(activity::seq.lt(before));
            }
            match query.outcome {
                Some(Outcome::Success) => select = select.filter(activity::status.lt(400)),
                Some(Outcome::Failure) => select = select.filter(activity::status.ge(400)),
                None => {}
            }
            if let Some(kind) = query.resource_type {
                select = select.filter(activity::resource_type.eq(kind));
            }
            if let Some(since) = query.since {
                select = select.filter(activity::at.ge(to_micros(&since)));
            }
            if let Some(until) = query.until {
                select = select.filter(activity::at.le(to_micros(&until)));
            }
            let rows: Vec<ActivityRow> = select.load(connection).map_err(from_diesel)?;
            rows.into_iter()
                .map(|row| ActivityEntry::try_from(row).map_err(StoreError::from))
                .collect()
        })
        .await
    }

    async fn prune_activity(&self, before: DateTime<Utc>, limit: u64) -> Result<u64, StoreError> {
        let hour = hour_of(before);
        let before = to_micros(&before);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.write(move |connection| {
            let sql = placeholders(connection, PRUNE);
            let statement = diesel::sql_query(sql)
                .bind::<BigInt, _>(before)
                .bind::<BigInt, _>(limit);
            let removed = execute_per_backend!(connection, statement).map_err(from_diesel)?;
            diesel::delete(activity_hours::table.filter(activity_hours::hour.lt(hour)))
                .execute(connection)
                .map_err(from_diesel)?;
            Ok(u64::try_from(removed).unwrap_or_default())
        })
        .await
    }

    async fn activity_summary(
        &self,
        tenant: &TenantId,
        since: DateTime<Utc>,
    ) -> Result<ActivitySummary, StoreError> {
        let (tenant, from) = (tenant.0.clone(), hour_of(since));
        self.run(move |connection| {
            let rows: Vec<(i64, i64, i64)> = activity_hours::table
                .filter(activity_hours::tenant_id.eq(tenant))
                .filter(activity_hours::hour.ge(from))
                .select((
                    activity_hours::requests,
                    activity_hours::failures,
                    activity_hours::last_at,
                ))
                .load(connection)
                .map_err(from_diesel)?;
            let mut summary = ActivitySummary::default();
            for (requests, failures, last_at) in rows {
                summary.requests += u64::try_from(requests).unwrap_or_default();
                summary.failures += u64::try_from(failures).unwrap_or_default();
                summary.last = summary.last.max(Some(from_micros(last_at)?));
            }
            Ok(summary)
        })
        .await
    }
}
