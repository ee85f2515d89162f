//! The transactional outbox: recording a write's events in its own transaction, and reading
//! them back (`EventLog`).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::dsl::{exists, not};
use diesel::prelude::*;
use scim_core::events::{EventHorizon, ResourceEvent, SigningKey, StoredEvent};
use scim_core::ports::{EventLog, SigningKeys};
use scim_core::tenant::TenantId;
use scim_core::{StoreError, WriteContext};
use serde_json::Value;

use crate::connection::{DbConnection, execute_per_backend};
use crate::errors::from_diesel;
use crate::rows::{CorruptRow, from_micros, to_micros};
use crate::schema::{deliveries, event_horizons, outbox, poll_acks, signing_keys};
use crate::sealing::{Place, open, seal};
use crate::store::DieselStore;
use crate::webhooks;

/// Rows per INSERT statement.
const CHUNK: usize = 500;

#[derive(Insertable)]
#[diesel(table_name = outbox)]
struct EventRow<'a> {
    tenant_id: &'a str,
    at: i64,
    subject: &'a str,
    external_id: Option<&'a str>,
    events: String,
    actor: &'a str,
    cause: &'a str,
    txn: Option<&'a str>,
}

/// Records `events` of a write made with `ctx`, in the caller's transaction, and queues
/// each for every push receiver the tenant has.
pub(crate) fn record(
    connection: &mut DbConnection,
    ctx: &WriteContext,
    events: &[ResourceEvent],
) -> Result<(), StoreError> {
    let at = to_micros(&ctx.at);
    let rows: Vec<EventRow<'_>> = events
        .iter()
        .filter(|event| !event.events.is_empty())
        .map(|event| EventRow {
            tenant_id: &ctx.tenant.0,
            at,
            subject: &event.subject,
            external_id: event.external_id.as_deref(),
            events: Value::Object(event.events.clone()).to_string(),
            actor: &ctx.actor,
            cause: &ctx.cause,
            txn: event.txn.as_deref(),
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let receivers = webhooks::receiver_ids(connection, &ctx.tenant)?;
    for chunk in rows.chunks(CHUNK) {
        if receivers.is_empty() {
            execute_per_backend!(connection, diesel::insert_into(outbox::table).values(chunk))
                .map_err(from_diesel)?;
            continue;
        }
        let statement = diesel::insert_into(outbox::table)
            .values(chunk)
            .returning((outbox::seq, outbox::subject));
        let recorded: Vec<(i64, String)> = match connection {
            #[cfg(feature = "postgres")]
            DbConnection::Pg(connection) => statement.get_results(connection),
            #[cfg(feature = "sqlite")]
            DbConnection::Sqlite(connection) => statement.get_results(connection),
        }
        .map_err(from_diesel)?;
        webhooks::enqueue(connection, &ctx.tenant.0, &receivers, &recorded, at)?;
    }
    Ok(())
}

/// The columns an event is read back from.
pub(crate) type EventColumns = (i64, i64, String, Option<String>, String, Option<String>);

pub(crate) fn stored_event(
    (seq, at, subject, external_id, text, txn): EventColumns,
) -> Result<StoredEvent, StoreError> {
    let Value::Object(events) = serde_json::from_str(&text).map_err(CorruptRow::Json)? else {
        return Err(CorruptRow::EventsNotObject.into());
    };
    Ok(StoredEvent {
        seq,
        at: from_micros(at)?,
        event: ResourceEvent {
            subject,
            external_id,
            events,
            txn,
        },
    })
}

pub(crate) const EVENT_COLUMNS: (
    outbox::seq,
    outbox::at,
    outbox::subject,
    outbox::external_id,
    outbox::events,
    outbox::txn,
) = (
    outbox::seq,
    outbox::at,
    outbox::subject,
    outbox::external_id,
    outbox::events,
    outbox::txn,
);

#[async_trait]
impl EventLog for DieselStore {
    async fn events_after(
        &self,
        tenant: &TenantId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let tenant = tenant.0.clone();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(move |connection| {
            let rows: Vec<EventColumns> = outbox::table
                .filter(outbox::tenant_id.eq(tenant))
                .filter(outbox::seq.gt(after))
                .order(outbox::seq.asc())
                .limit(limit)
                .select(EVENT_COLUMNS)
                .load(connection)
                .map_err(from_diesel)?;
            rows.into_iter().map(stored_event).collect()
        })
        .await
    }

    async fn unacknowledged(
        &self,
        tenant: &TenantId,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let tenant = tenant.0.clone();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(move |connection| {
            let acked = poll_acks::table.filter(poll_acks::seq.eq(outbox::seq));
            let rows: Vec<EventColumns> = outbox::table
                .filter(outbox::tenant_id.eq(tenant))
                .filter(not(exists(acked)))
                .order(outbox::seq.asc())
                .limit(limit)
                .select(EVENT_COLUMNS)
                .load(connection)
                .map_err(from_diesel)?;
            rows.into_iter().map(stored_event).collect()
        })
        .await
    }

    async fn acknowledge(
        &self,
        tenant: &TenantId,
        seqs: &[i64],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (tenant, seqs) = (tenant.0.clone(), seqs.to_vec());
        self.write(move |connection| {
            // Only the tenant's own entries.
            let mut owned: Vec<i64> = Vec::with_capacity(seqs.len());
            for chunk in seqs.chunks(CHUNK) {
                owned.extend(
                    outbox::table
                        .filter(outbox::tenant_id.eq(&tenant))
                        .filter(outbox::seq.eq_any(chunk))
                        .select(outbox::seq)
                        .load::<i64>(connection)
                        .map_err(from_diesel)?,
                );
            }
            let at = to_micros(&at);
            let rows: Vec<_> = owned
                .iter()
                .map(|seq| {
                    (
                        poll_acks::seq.eq(*seq),
                        poll_acks::at.eq(at),
                        poll_acks::tenant_id.eq(&tenant),
                    )
                })
                .collect();
            for chunk in rows.chunks(CHUNK) {
                match connection {
                    #[cfg(feature = "postgres")]
                    DbConnection::Pg(connection) => diesel::insert_into(poll_acks::table)
                        .values(chunk)
                        .on_conflict_do_nothing()
                        .execute(connection),
                    #[cfg(feature = "sqlite")]
                    DbConnection::Sqlite(connection) => {
                        diesel::insert_or_ignore_into(poll_acks::table)
                            .values(chunk)
                            .execute(connection)
                    }
                }
                .map_err(from_diesel)?;
            }
            // From now on, retention counts what this feed loses.
            if !owned.is_empty() {
                mark_polled(connection, &tenant)?;
            }
            Ok(())
        })
        .await
    }

    async fn prune_events(&self, before: DateTime<Utc>, limit: u64) -> Result<u64, StoreError> {
        let (before, limit) = (to_micros(&before), i64::try_from(limit).unwrap_or(i64::MAX));
        self.write(move |connection| {
            // The oldest events, by seq (the primary key); those recorded before the cutoff.
            let oldest: Vec<(i64, String, i64)> = outbox::table
                .order(outbox::seq)
                .limit(limit)
                .select((outbox::seq, outbox::tenant_id, outbox::at))
                .load(connection)
                .map_err(from_diesel)?;
            let batch: Vec<(i64, String)> = oldest
                .into_iter()
                .filter(|(_, _, at)| *at < before)
                .map(|(seq, tenant, _)| (seq, tenant))
                .collect();
            let seqs: Vec<i64> = batch.iter().map(|(seq, _)| *seq).collect();
            let mut acked = std::collections::HashSet::new();
            for chunk in seqs.chunks(CHUNK) {
                let rows: Vec<i64> = poll_acks::table
                    .filter(poll_acks::seq.eq_any(chunk))
                    .select(poll_acks::seq)
                    .load(connection)
                    .map_err(from_diesel)?;
                acked.extend(rows);
            }
            // Per tenant: the newest seq removed, and how many its poll feed never acknowledged.
            let mut tenants: std::collections::BTreeMap<&str, (i64, i64)> = Default::default();
            for (seq, tenant) in &batch {
                let entry = tenants.entry(tenant.as_str()).or_default();
                entry.0 = entry.0.max(*seq);
                entry.1 += i64::from(!acked.contains(seq));
            }
            for (tenant, (through, unacked)) in tenants {
                record_horizon(connection, tenant, through, unacked)?;
            }
            for chunk in seqs.chunks(CHUNK) {
                diesel::delete(poll_acks::table.filter(poll_acks::seq.eq_any(chunk)))
                    .execute(connection)
                    .map_err(from_diesel)?;
                diesel::delete(deliveries::table.filter(deliveries::seq.eq_any(chunk)))
                    .execute(connection)
                    .map_err(from_diesel)?;
                diesel::delete(outbox::table.filter(outbox::seq.eq_any(chunk)))
                    .execute(connection)
                    .map_err(from_diesel)?;
            }
            Ok(seqs.len() as u64)
        })
        .await
    }

    async fn horizon(&self, tenant: &TenantId) -> Result<EventHorizon, StoreError> {
        let tenant = tenant.0.clone();
        self.run(move |connection| {
            let row: Option<(i64, i64, i64)> = event_horizons::table
                .find(&tenant)
                .select((
                    event_horizons::pruned_through,
                    event_horizons::lost,
                    event_horizons::told,
                ))
                .first(connection)
                .optional()
                .map_err(from_diesel)?;
            Ok(
                row.map_or_else(EventHorizon::default, |(through, lost, told)| {
                    EventHorizon {
                        pruned_through: through,
                        lost: u64::try_from(lost - told).unwrap_or_default(),
                    }
                }),
            )
        })
        .await
    }

    async fn take_lost(&self, tenant: &TenantId) -> Result<u64, StoreError> {
        let tenant = tenant.0.clone();
        self.write(move |connection| {
            let row: Option<(i64, i64)> = event_horizons::table
                .find(&tenant)
                .select((event_horizons::lost, event_horizons::told))
                .first(connection)
                .optional()
                .map_err(from_diesel)?;
            let Some((lost, told)) = row.filter(|(lost, told)| lost > told) else {
                return Ok(0);
            };
            // Told once: the update counts only if no other poll told it meanwhile.
            let updated = diesel::update(event_horizons::table.find(&tenant))
                .filter(event_horizons::told.eq(told))
                .set(event_horizons::told.eq(lost))
                .execute(connection)
                .map_err(from_diesel)?;
            Ok(if updated == 1 {
                u64::try_from(lost - told).unwrap_or_default()
            } else {
                0
            })
        })
        .await
    }

    async fn events_generation(&self, tenant: &TenantId) -> Result<u64, StoreError> {
        self.generation_of(tenant).await
    }

    async fn events_recorded(&self, tenant: &TenantId, seen: u64, timeout: Duration) -> bool {
        self.wait_for_generation(tenant, seen, timeout).await
    }
}

/// Notes that the tenant's poll feed is read (acknowledged): events it loses to retention
/// are counted from now on.
fn mark_polled(connection: &mut DbConnection, tenant: &str) -> Result<(), StoreError> {
    let polled: Option<i64> = event_horizons::table
        .find(tenant)
        .select(event_horizons::polled)
        .first(connection)
        .optional()
        .map_err(from_diesel)?;
    match polled {
        Some(1) => Ok(()),
        Some(_) => diesel::update(event_horizons::table.find(tenant))
            .set(event_horizons::polled.eq(1))
            .execute(connection)
            .map(|_| ())
            .map_err(from_diesel),
        None => diesel::insert_into(event_horizons::table)
            .values((
                event_horizons::tenant_id.eq(tenant),
                event_horizons::polled.eq(1),
            ))
            .execute(connection)
            .map(|_| ())
            .map_err(from_diesel),
    }
}

/// Records that retention removed the tenant's events up to `through`, `unacked` of them
/// never acknowledged (lost to its poll feed, if it is read).
fn record_horizon(
    connection: &mut DbConnection,
    tenant: &str,
    through: i64,
    unacked: i64,
) -> Result<(), StoreError> {
    let row: Option<(i64, i64)> = event_horizons::table
        .find(tenant)
        .select((event_horizons::pruned_through, event_horizons::polled))
        .first(connection)
        .optional()
        .map_err(from_diesel)?;
    match row {
        Some((known, polled)) => diesel::update(event_horizons::table.find(tenant))
            .set((
                event_horizons::pruned_through.eq(known.max(through)),
                event_horizons::lost.eq(event_horizons::lost + unacked * polled),
            ))
            .execute(connection),
        None => diesel::insert_into(event_horizons::table)
            .values((
                event_horizons::tenant_id.eq(tenant),
                event_horizons::pruned_through.eq(through),
            ))
            .execute(connection),
    }
    .map(|_| ())
    .map_err(from_diesel)
}

/// The SET signing keys, sealed at rest.
#[async_trait]
impl SigningKeys for DieselStore {
    async fn signing_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
        let keys = self.keys();
        self.run(move |connection| {
            let rows: Vec<(String, String, String, String, i64, i64)> = signing_keys::table
                .order((signing_keys::created.desc(), signing_keys::kid.asc()))
                .select((
                    signing_keys::kid,
                    signing_keys::algorithm,
                    signing_keys::private_key,
                    signing_keys::public_jwk,
                    signing_keys::created,
                    signing_keys::activates,
                ))
                .load(connection)
                .map_err(from_diesel)?;
            rows.into_iter()
                .map(
                    |(kid, algorithm, private_key, public_jwk, created, activates)| {
                        Ok(SigningKey {
                            private_key: open(&keys, Place::SigningKey, &kid, &private_key)?,
                            kid,
                            algorithm,
                            public_jwk: serde_json::from_str(&public_jwk)
                                .map_err(CorruptRow::Json)?,
                            created: from_micros(created)?,
                            activates: from_micros(activates)?,
                        })
                    },
                )
                .collect()
        })
        .await
    }

    async fn add_signing_key(&self, key: &SigningKey) -> Result<(), StoreError> {
        let sealed = seal(&self.keys(), Place::SigningKey, &key.kid, &key.private_key);
        let values = (
            signing_keys::kid.eq(key.kid.clone()),
            signing_keys::algorithm.eq(key.algorithm.clone()),
            signing_keys::private_key.eq(sealed),
            signing_keys::public_jwk.eq(key.public_jwk.to_string()),
            signing_keys::created.eq(to_micros(&key.created)),
            signing_keys::activates.eq(to_micros(&key.activates)),
        );
        self.write(move |connection| {
            diesel::insert_into(signing_keys::table)
                .values(values)
                .execute(connection)
                .map_err(from_diesel)?;
            Ok(())
        })
        .await
    }

    async fn forget_signing_keys(&self, kids: &[String]) -> Result<(), StoreError> {
        let kids = kids.to_vec();
        self.write(move |connection| {
            diesel::delete(signing_keys::table.filter(signing_keys::kid.eq_any(kids)))
                .execute(connection)
                .map_err(from_diesel)?;
            Ok(())
        })
        .await
    }
}
