//! The transactional outbox: recording a write's events in its own transaction, and reading
//! them back (`EventLog`).

use async_trait::async_trait;
use diesel::prelude::*;
use scim_core::events::{ResourceEvent, StoredEvent};
use scim_core::ports::EventLog;
use scim_core::tenant::TenantId;
use scim_core::{StoreError, WriteContext};
use serde_json::Value;

use crate::connection::{DbConnection, execute_per_backend};
use crate::errors::from_diesel;
use crate::rows::{CorruptRow, from_micros, to_micros};
use crate::schema::outbox;
use crate::store::DieselStore;

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
}

/// Records `events` of a write made with `ctx`, in the caller's transaction.
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
        })
        .collect();
    for chunk in rows.chunks(CHUNK) {
        execute_per_backend!(connection, diesel::insert_into(outbox::table).values(chunk))
            .map_err(from_diesel)?;
    }
    Ok(())
}

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
            let rows: Vec<(i64, i64, String, Option<String>, String)> = outbox::table
                .filter(outbox::tenant_id.eq(tenant))
                .filter(outbox::seq.gt(after))
                .order(outbox::seq.asc())
                .limit(limit)
                .select((
                    outbox::seq,
                    outbox::at,
                    outbox::subject,
                    outbox::external_id,
                    outbox::events,
                ))
                .load(connection)
                .map_err(from_diesel)?;
            rows.into_iter()
                .map(|(seq, at, subject, external_id, text)| {
                    let Value::Object(events) =
                        serde_json::from_str(&text).map_err(CorruptRow::Json)?
                    else {
                        return Err(CorruptRow::EventsNotObject.into());
                    };
                    Ok(StoredEvent {
                        seq,
                        at: from_micros(at)?,
                        event: ResourceEvent {
                            subject,
                            external_id,
                            events,
                        },
                    })
                })
                .collect()
        })
        .await
    }
}
