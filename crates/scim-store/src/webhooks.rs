//! Push delivery's receivers and queue (`Webhooks`). The queue is filled by
//! [`crate::outbox::record`] in the writing transaction and emptied as receivers accept.
//! Claims take rows with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so replicas claiming at
//! the same moment take different deliveries without waiting for each other; on SQLite the
//! one writer at a time does the same.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::dsl::{count_star, exists, min, not};
use diesel::prelude::*;
use scim_core::StoreError;
use scim_core::events::{
    ClaimedDelivery, DeadLetter, OAuthClient, Receiver, ReceiverStatus, Settled, Settlement,
};
use scim_core::ports::Webhooks;
use scim_core::secrets::SecretKeys;
use scim_core::tenant::TenantId;

use crate::connection::{DbConnection, execute_per_backend};
use crate::errors::from_diesel;
use crate::outbox::{EVENT_COLUMNS, EventColumns, stored_event};
use crate::rows::{from_micros, to_micros};
use crate::schema::{deliveries, outbox, receivers, tenants};
use crate::sealing::{Place, open, seal};
use crate::store::DieselStore;

const PENDING: &str = "pending";
const DEAD: &str = "dead";

/// Rows per INSERT statement.
const CHUNK: usize = 500;

/// The ids of the tenant's receivers: whom a new event is queued for.
///
/// On PostgreSQL the rows are read `FOR KEY SHARE`: a receiver removed meanwhile waits for
/// this write instead of failing its deliveries' foreign key.
pub(crate) fn receiver_ids(
    connection: &mut DbConnection,
    tenant: &TenantId,
) -> Result<Vec<String>, StoreError> {
    let query = receivers::table
        .filter(receivers::tenant_id.eq(&tenant.0))
        .select(receivers::id);
    match connection {
        #[cfg(feature = "postgres")]
        DbConnection::Pg(connection) => query.for_key_share().load(connection),
        #[cfg(feature = "sqlite")]
        DbConnection::Sqlite(connection) => query.load(connection),
    }
    .map_err(from_diesel)
}

/// The condition of the partial indexes of pending deliveries, written out rather than
/// bound, so that the planner can use them for a prepared (generic) plan too.
fn pending_rows() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql("deliveries.state = 'pending'")
}

/// Queues each recorded event (`seq`, subject) for each receiver, due at once.
pub(crate) fn enqueue(
    connection: &mut DbConnection,
    tenant: &str,
    receivers: &[String],
    recorded: &[(i64, String)],
    at: i64,
) -> Result<(), StoreError> {
    let rows: Vec<_> = receivers
        .iter()
        .flat_map(|receiver| {
            recorded.iter().map(move |(seq, subject)| {
                (
                    deliveries::receiver_id.eq(receiver),
                    deliveries::seq.eq(*seq),
                    deliveries::subject.eq(subject),
                    deliveries::state.eq(PENDING),
                    deliveries::attempts.eq(0),
                    deliveries::due.eq(at),
                    deliveries::tenant_id.eq(tenant),
                )
            })
        })
        .collect();
    for chunk in rows.chunks(CHUNK) {
        execute_per_backend!(
            connection,
            diesel::insert_into(deliveries::table).values(chunk)
        )
        .map_err(from_diesel)?;
    }
    Ok(())
}

/// The columns a receiver is read back from.
type ReceiverColumns = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
);

const RECEIVER_COLUMNS: (
    receivers::id,
    receivers::tenant_id,
    receivers::url,
    receivers::secret,
    receivers::token_url,
    receivers::client_id,
    receivers::client_secret,
    receivers::scope,
    receivers::created,
) = (
    receivers::id,
    receivers::tenant_id,
    receivers::url,
    receivers::secret,
    receivers::token_url,
    receivers::client_id,
    receivers::client_secret,
    receivers::scope,
    receivers::created,
);

/// A receiver from its row, its secrets opened with `keys`.
fn receiver(
    keys: &SecretKeys,
    (id, tenant, url, secret, token_url, client_id, client_secret, scope, created): ReceiverColumns,
) -> Result<Receiver, StoreError> {
    let oauth = match (token_url, client_id, client_secret) {
        (Some(token_url), Some(client_id), Some(client_secret)) => Some(OAuthClient {
            token_url,
            client_id,
            client_secret: open(keys, Place::ReceiverClientSecret, &id, &client_secret)?,
            scope,
        }),
        _ => None,
    };
    Ok(Receiver {
        secret: open(keys, Place::ReceiverSecret, &id, &secret)?,
        id,
        tenant: TenantId(tenant),
        url,
        oauth,
        created: from_micros(created)?,
    })
}

/// Keys grouped by receiver, for statements that name one receiver's rows.
fn by_receiver<'a>(keys: impl Iterator<Item = (&'a str, i64)>) -> BTreeMap<&'a str, Vec<i64>> {
    let mut grouped: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (receiver, seq) in keys {
        grouped.entry(receiver).or_default().push(seq);
    }
    grouped
}

fn claim(
    connection: &mut DbConnection,
    keys: &SecretKeys,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    // A queue grows from nothing to thousands of rows in seconds (a first sync), faster
    // than autovacuum analyzes it; a plan cached while it was nearly empty (a nested loop
    // over the whole queue per row) then turns each claim into seconds. Plan this query
    // for the queue as it is, every time.
    #[cfg(feature = "postgres")]
    if let DbConnection::Pg(pg) = connection {
        pg.batch_execute("SET LOCAL plan_cache_mode = force_custom_plan")
            .map_err(from_diesel)?;
    }
    let earlier = diesel::alias!(deliveries as earlier);
    // Due, and the first waiting one of its subject for its receiver: a retried delivery
    // holds back the later ones of its subject, so they arrive in order.
    let candidates = deliveries::table
        .filter(pending_rows())
        .filter(deliveries::due.le(now))
        .filter(not(exists(
            earlier
                .filter(
                    earlier
                        .field(deliveries::receiver_id)
                        .eq(deliveries::receiver_id),
                )
                .filter(earlier.field(deliveries::subject).eq(deliveries::subject))
                .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
                    "earlier.state = 'pending'",
                ))
                .filter(earlier.field(deliveries::seq).lt(deliveries::seq)),
        )))
        .order((deliveries::due.asc(), deliveries::seq.asc()))
        .limit(limit)
        .select((
            deliveries::receiver_id,
            deliveries::seq,
            deliveries::attempts,
        ));
    let taken: Vec<(String, i64, i32)> = match connection {
        #[cfg(feature = "postgres")]
        DbConnection::Pg(connection) => candidates.for_update().skip_locked().load(connection),
        #[cfg(feature = "sqlite")]
        DbConnection::Sqlite(connection) => candidates.load(connection),
    }
    .map_err(from_diesel)?;
    if taken.is_empty() {
        return Ok(Vec::new());
    }
    let grouped = by_receiver(taken.iter().map(|(r, seq, _)| (r.as_str(), *seq)));
    for (receiver, seqs) in &grouped {
        diesel::update(deliveries::table)
            .filter(deliveries::receiver_id.eq(receiver))
            .filter(deliveries::seq.eq_any(seqs))
            .set((
                deliveries::due.eq(lease_until),
                deliveries::attempts.eq(deliveries::attempts + 1),
            ))
            .execute(connection)
            .map_err(from_diesel)?;
    }
    let seqs: Vec<i64> = taken.iter().map(|(_, seq, _)| *seq).collect();
    let mut events = BTreeMap::new();
    for chunk in seqs.chunks(CHUNK) {
        let rows: Vec<EventColumns> = outbox::table
            .filter(outbox::seq.eq_any(chunk))
            .select(EVENT_COLUMNS)
            .load(connection)
            .map_err(from_diesel)?;
        for row in rows {
            let event = stored_event(row)?;
            events.insert(event.seq, event);
        }
    }
    let receiver_ids: Vec<&str> = grouped.into_keys().collect();
    let rows: Vec<(ReceiverColumns, String)> = receivers::table
        .inner_join(tenants::table)
        .filter(receivers::id.eq_any(receiver_ids))
        .select((RECEIVER_COLUMNS, tenants::slug))
        .load(connection)
        .map_err(from_diesel)?;
    let mut receivers = BTreeMap::new();
    for (row, slug) in rows {
        let receiver = receiver(keys, row)?;
        receivers.insert(receiver.id.clone(), (receiver, slug));
    }
    Ok(taken
        .into_iter()
        .filter_map(|(receiver_id, seq, attempts)| {
            let (receiver, slug) = receivers.get(&receiver_id)?;
            Some(ClaimedDelivery {
                receiver: receiver.clone(),
                tenant_slug: slug.clone(),
                event: events.get(&seq)?.clone(),
                attempts: u32::try_from(attempts).unwrap_or(0).saturating_add(1),
            })
        })
        .collect())
}

fn settle(connection: &mut DbConnection, settled: &[Settled]) -> Result<(), StoreError> {
    // Per receiver: delivered, retried, dead-lettered.
    let mut figures: BTreeMap<&str, [i64; 3]> = BTreeMap::new();
    let delivered = by_receiver(
        settled
            .iter()
            .filter(|s| s.settlement == Settlement::Delivered)
            .map(|s| (s.receiver_id.as_str(), s.seq)),
    );
    for (receiver, seqs) in delivered {
        for chunk in seqs.chunks(CHUNK) {
            // A delivery another process took over after the lease and settled first is
            // gone: counted once.
            let gone = diesel::delete(deliveries::table)
                .filter(deliveries::receiver_id.eq(receiver))
                .filter(deliveries::seq.eq_any(chunk))
                .execute(connection)
                .map_err(from_diesel)?;
            figures.entry(receiver).or_default()[0] += i64::try_from(gone).unwrap_or(0);
        }
    }
    for entry in settled {
        // Fenced by the attempt: one another process took over (after the lease) is its.
        let row = deliveries::table
            .filter(deliveries::receiver_id.eq(&entry.receiver_id))
            .filter(deliveries::seq.eq(entry.seq))
            .filter(deliveries::state.eq(PENDING))
            .filter(deliveries::attempts.eq(i32::try_from(entry.attempts).unwrap_or(i32::MAX)));
        let (changed, figure) = match &entry.settlement {
            Settlement::Delivered => continue,
            Settlement::Retry { due, error } => (
                diesel::update(row)
                    .set((
                        deliveries::due.eq(to_micros(due)),
                        deliveries::last_error.eq(error),
                    ))
                    .execute(connection),
                1,
            ),
            Settlement::Dead { error } => (
                diesel::update(row)
                    .set((deliveries::state.eq(DEAD), deliveries::last_error.eq(error)))
                    .execute(connection),
                2,
            ),
        };
        let changed = changed.map_err(from_diesel)?;
        figures.entry(&entry.receiver_id).or_default()[figure] +=
            i64::try_from(changed).unwrap_or(0);
        if let (1.., Settlement::Retry { due, .. }) = (changed, &entry.settlement) {
            hold_followers(connection, entry, to_micros(due))?;
        }
    }
    for (receiver, [delivered, retried, dead]) in figures {
        if delivered + retried + dead == 0 {
            continue;
        }
        diesel::update(receivers::table.find(receiver))
            .set((
                receivers::delivered.eq(receivers::delivered + delivered),
                receivers::retried.eq(receivers::retried + retried),
                receivers::dead_lettered.eq(receivers::dead_lettered + dead),
            ))
            .execute(connection)
            .map_err(from_diesel)?;
    }
    Ok(())
}

/// Makes the deliveries waiting behind a retried one (same receiver and subject, later
/// `seq`) due no sooner than it: claims then pass over them by the due index instead of
/// probing each while it waits. They need no release: the retried delivery is attempted
/// again, and so settled, only once that time has come.
fn hold_followers(
    connection: &mut DbConnection,
    entry: &Settled,
    due: i64,
) -> Result<(), StoreError> {
    let subject: Option<String> = deliveries::table
        .filter(deliveries::receiver_id.eq(&entry.receiver_id))
        .filter(deliveries::seq.eq(entry.seq))
        .select(deliveries::subject)
        .first(connection)
        .optional()
        .map_err(from_diesel)?;
    let Some(subject) = subject else {
        return Ok(());
    };
    diesel::update(deliveries::table)
        .filter(deliveries::receiver_id.eq(&entry.receiver_id))
        .filter(deliveries::subject.eq(subject))
        .filter(pending_rows())
        .filter(deliveries::seq.gt(entry.seq))
        .filter(deliveries::due.lt(due))
        .set(deliveries::due.eq(due))
        .execute(connection)
        .map_err(from_diesel)?;
    Ok(())
}

/// The ids of the tenant's receivers, or of its one receiver `receiver`.
fn owned_receivers(
    connection: &mut DbConnection,
    tenant: &str,
    receiver: Option<&str>,
) -> Result<Vec<String>, StoreError> {
    let mut ids: Vec<String> = receivers::table
        .filter(receivers::tenant_id.eq(tenant))
        .select(receivers::id)
        .load(connection)
        .map_err(from_diesel)?;
    if let Some(receiver) = receiver {
        ids.retain(|id| id == receiver);
    }
    Ok(ids)
}

#[async_trait]
impl Webhooks for DieselStore {
    async fn add_receiver(&self, receiver: &Receiver) -> Result<(), StoreError> {
        let keys = self.keys();
        let oauth = receiver.oauth.as_ref();
        let values = (
            receivers::id.eq(receiver.id.clone()),
            receivers::tenant_id.eq(receiver.tenant.0.clone()),
            receivers::url.eq(receiver.url.clone()),
            receivers::secret.eq(seal(
                &keys,
                Place::ReceiverSecret,
                &receiver.id,
                &receiver.secret,
            )),
            receivers::token_url.eq(oauth.map(|o| o.token_url.clone())),
            receivers::client_id.eq(oauth.map(|o| o.client_id.clone())),
            receivers::client_secret.eq(oauth.map(|o| {
                seal(
                    &keys,
                    Place::ReceiverClientSecret,
                    &receiver.id,
                    &o.client_secret,
                )
            })),
            receivers::scope.eq(oauth.and_then(|o| o.scope.clone())),
            receivers::created.eq(to_micros(&receiver.created)),
        );
        self.write(move |connection| {
            diesel::insert_into(receivers::table)
                .values(values)
                .execute(connection)
                .map_err(from_diesel)?;
            Ok(())
        })
        .await
    }

    async fn receivers(&self, tenant: &TenantId) -> Result<Vec<ReceiverStatus>, StoreError> {
        let tenant = tenant.0.clone();
        let keys = self.keys();
        self.run(move |connection| {
            let rows: Vec<(ReceiverColumns, i64, i64, i64)> = receivers::table
                .filter(receivers::tenant_id.eq(&tenant))
                .order((receivers::created.asc(), receivers::id.asc()))
                .select((
                    RECEIVER_COLUMNS,
                    receivers::delivered,
                    receivers::retried,
                    receivers::dead_lettered,
                ))
                .load(connection)
                .map_err(from_diesel)?;
            // By the tenant's receivers, on the partial index of pending deliveries (its
            // condition written out, so that a generic plan can use it too).
            let ids: Vec<&str> = rows.iter().map(|(row, ..)| row.0.as_str()).collect();
            let waiting: Vec<(String, i64, Option<i64>)> = deliveries::table
                .inner_join(outbox::table)
                .filter(deliveries::tenant_id.eq(&tenant))
                .filter(deliveries::receiver_id.eq_any(&ids))
                .filter(pending_rows())
                .group_by(deliveries::receiver_id)
                .select((deliveries::receiver_id, count_star(), min(outbox::at)))
                .load(connection)
                .map_err(from_diesel)?;
            let waiting: BTreeMap<String, (i64, Option<i64>)> = waiting
                .into_iter()
                .map(|(id, pending, oldest)| (id, (pending, oldest)))
                .collect();
            rows.into_iter()
                .map(|(row, delivered, retried, dead_lettered)| {
                    let receiver = receiver(&keys, row)?;
                    let (pending, oldest) = waiting.get(&receiver.id).copied().unwrap_or((0, None));
                    Ok(ReceiverStatus {
                        receiver,
                        delivered,
                        retried,
                        dead_lettered,
                        pending,
                        oldest_pending: oldest.map(from_micros).transpose()?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn remove_receiver(&self, tenant: &TenantId, id: &str) -> Result<(), StoreError> {
        let (tenant, id) = (tenant.0.clone(), id.to_owned());
        self.write(move |connection| {
            let removed = diesel::delete(receivers::table)
                .filter(receivers::tenant_id.eq(tenant))
                .filter(receivers::id.eq(id))
                .execute(connection)
                .map_err(from_diesel)?;
            if removed == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let (now, lease_until) = (to_micros(&now), to_micros(&lease_until));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let keys = self.keys();
        self.write(move |connection| claim(connection, &keys, now, lease_until, limit))
            .await
    }

    async fn settle_deliveries(&self, settled: &[Settled]) -> Result<(), StoreError> {
        if settled.is_empty() {
            return Ok(());
        }
        let settled = settled.to_vec();
        self.write(move |connection| settle(connection, &settled))
            .await
    }

    async fn dead_letters(
        &self,
        tenant: &TenantId,
        receiver: Option<String>,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let tenant = tenant.0.clone();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(move |connection| {
            let owned = owned_receivers(connection, &tenant, receiver.as_deref())?;
            let rows: Vec<(String, i64, String, i32, Option<String>, i64)> = deliveries::table
                .inner_join(outbox::table)
                .filter(deliveries::state.eq(DEAD))
                .filter(deliveries::receiver_id.eq_any(owned))
                .order((deliveries::seq.asc(), deliveries::receiver_id.asc()))
                .limit(limit)
                .select((
                    deliveries::receiver_id,
                    deliveries::seq,
                    deliveries::subject,
                    deliveries::attempts,
                    deliveries::last_error,
                    outbox::at,
                ))
                .load(connection)
                .map_err(from_diesel)?;
            rows.into_iter()
                .map(|(receiver_id, seq, subject, attempts, error, at)| {
                    Ok(DeadLetter {
                        receiver_id,
                        seq,
                        subject,
                        attempts: u32::try_from(attempts).unwrap_or(0),
                        error: error.unwrap_or_default(),
                        at: from_micros(at)?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn redrive(
        &self,
        tenant: &TenantId,
        receiver: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let tenant = tenant.0.clone();
        let now = to_micros(&now);
        self.write(move |connection| {
            let owned = owned_receivers(connection, &tenant, receiver.as_deref())?;
            let queued = diesel::update(deliveries::table)
                .filter(deliveries::state.eq(DEAD))
                .filter(deliveries::receiver_id.eq_any(owned))
                .set((
                    deliveries::state.eq(PENDING),
                    deliveries::attempts.eq(0),
                    deliveries::due.eq(now),
                ))
                .execute(connection)
                .map_err(from_diesel)?;
            Ok(u64::try_from(queued).unwrap_or(0))
        })
        .await
    }
}
