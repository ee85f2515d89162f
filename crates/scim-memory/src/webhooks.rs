//! `Webhooks`: push receivers and their queue, kept with their tenant. A committed write
//! queues each of its events for every receiver of the tenant ([`TenantData::enqueue`]);
//! claims lease deliveries by pushing their due time past the attempt.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scim_core::StoreError;
use scim_core::events::{
    ClaimedDelivery, DeadLetter, Receiver, ReceiverStatus, Settled, Settlement, StoredEvent,
};
use scim_core::ports::Webhooks;
use scim_core::tenant::TenantId;

use crate::{MemoryStore, TenantData};

/// A receiver and its delivery figures.
#[derive(Debug, Clone)]
pub(crate) struct StoredReceiver {
    receiver: Receiver,
    delivered: i64,
    retried: i64,
    dead_lettered: i64,
}

/// One event queued for one receiver.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    receiver: String,
    pub(crate) seq: i64,
    subject: String,
    /// Given up on, waiting for a re-drive.
    dead: bool,
    attempts: u32,
    due: DateTime<Utc>,
    last_error: Option<String>,
}

impl TenantData {
    /// Queues a committed event for every receiver of the tenant, due at once.
    pub(crate) fn enqueue(&mut self, event: &StoredEvent) {
        for stored in &self.receivers {
            self.deliveries.push(Delivery {
                receiver: stored.receiver.id.clone(),
                seq: event.seq,
                subject: event.event.subject.clone(),
                dead: false,
                attempts: 0,
                due: event.at,
                last_error: None,
            });
        }
    }

    fn holds_receiver(&self, id: &str) -> bool {
        self.receivers.iter().any(|stored| stored.receiver.id == id)
    }

    /// The ids of the tenant's receivers, or of its one receiver `receiver`.
    fn owned(&self, receiver: Option<&str>) -> HashSet<String> {
        let ids = self.receivers.iter().map(|stored| &stored.receiver.id);
        ids.filter(|id| receiver.is_none_or(|one| one == id.as_str()))
            .cloned()
            .collect()
    }

    fn event(&self, seq: i64) -> Option<&StoredEvent> {
        self.outbox.iter().find(|stored| stored.seq == seq)
    }

    /// The deliveries a claim at `now` can take: due, and each the earliest waiting one of
    /// its subject for its receiver (a retried delivery holds back the later ones).
    fn claimable(&self, now: DateTime<Utc>) -> Vec<usize> {
        let waiting = |d: &&Delivery| !d.dead;
        (self.deliveries.iter().enumerate())
            .filter(|(_, d)| !d.dead && d.due <= now)
            .filter(|(_, d)| {
                !self.deliveries.iter().filter(waiting).any(|earlier| {
                    earlier.receiver == d.receiver
                        && earlier.subject == d.subject
                        && earlier.seq < d.seq
                })
            })
            .map(|(at, _)| at)
            .collect()
    }

    /// Settles one attempt; which figure it moved (delivered, retried, dead), if any.
    fn settle(&mut self, entry: &Settled) -> Option<usize> {
        let at = self
            .deliveries
            .iter()
            .position(|d| d.receiver == entry.receiver_id && d.seq == entry.seq && !d.dead)?;
        if entry.settlement == Settlement::Delivered {
            // A delivery another process took over and settled first is gone: counted once.
            self.deliveries.remove(at);
            return Some(0);
        }
        let delivery = &mut self.deliveries[at];
        // Fenced by the attempt: one another process took over (after the lease) is its.
        if delivery.attempts != entry.attempts {
            return None;
        }
        match &entry.settlement {
            Settlement::Retry { due, error } => {
                delivery.due = *due;
                delivery.last_error = Some(error.clone());
                let (receiver, subject) = (delivery.receiver.clone(), delivery.subject.clone());
                // The ones behind it wait no less.
                for later in &mut self.deliveries {
                    if later.receiver == receiver
                        && later.subject == subject
                        && !later.dead
                        && later.seq > entry.seq
                        && later.due < *due
                    {
                        later.due = *due;
                    }
                }
                Some(1)
            }
            Settlement::Dead { error } => {
                delivery.dead = true;
                delivery.last_error = Some(error.clone());
                Some(2)
            }
            _ => None,
        }
    }
}

#[async_trait]
impl Webhooks for MemoryStore {
    async fn add_receiver(&self, receiver: &Receiver) -> Result<(), StoreError> {
        let taken = (self.lock().tenants.values()).any(|data| data.holds_receiver(&receiver.id));
        if taken {
            return Err(StoreError::Conflict {
                attribute: "id".into(),
            });
        }
        self.write(&receiver.tenant, |data| {
            data.receivers.push(StoredReceiver {
                receiver: receiver.clone(),
                delivered: 0,
                retried: 0,
                dead_lettered: 0,
            });
            Ok(())
        })
    }

    async fn receivers(&self, tenant: &TenantId) -> Result<Vec<ReceiverStatus>, StoreError> {
        let mut receivers = self
            .read(tenant, |data| {
                (data.receivers.iter())
                    .map(|stored| {
                        let waiting: Vec<&Delivery> = (data.deliveries.iter())
                            .filter(|d| d.receiver == stored.receiver.id && !d.dead)
                            .collect();
                        let recorded = waiting.iter().filter_map(|d| data.event(d.seq));
                        ReceiverStatus {
                            receiver: stored.receiver.clone(),
                            delivered: stored.delivered,
                            retried: stored.retried,
                            dead_lettered: stored.dead_lettered,
                            pending: waiting.len() as i64,
                            oldest_pending: recorded.map(|event| event.at).min(),
                        }
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        receivers.sort_by(|a, b| {
            let key = |s: &ReceiverStatus| (s.receiver.created, s.receiver.id.clone());
            key(a).cmp(&key(b))
        });
        Ok(receivers)
    }

    async fn remove_receiver(&self, tenant: &TenantId, id: &str) -> Result<(), StoreError> {
        self.write(tenant, |data| {
            if !data.holds_receiver(id) {
                return Err(StoreError::NotFound);
            }
            data.receivers.retain(|stored| stored.receiver.id != id);
            data.deliveries.retain(|delivery| delivery.receiver != id);
            Ok(())
        })
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let mut state = self.lock();
        // Oldest due first, across tenants.
        let mut candidates: Vec<(DateTime<Utc>, i64, TenantId, usize)> = Vec::new();
        for (tenant, data) in &state.tenants {
            for at in data.claimable(now) {
                let delivery = &data.deliveries[at];
                candidates.push((delivery.due, delivery.seq, tenant.clone(), at));
            }
        }
        candidates.sort();
        candidates.truncate(limit);
        let mut claimed = Vec::with_capacity(candidates.len());
        for (_, _, tenant, at) in candidates {
            let Some(data) = state.tenants.get_mut(&tenant) else {
                continue;
            };
            let delivery = &mut data.deliveries[at];
            delivery.due = lease_until;
            delivery.attempts += 1;
            let (receiver, seq, attempts) =
                (delivery.receiver.clone(), delivery.seq, delivery.attempts);
            let stored = data.receivers.iter().find(|s| s.receiver.id == receiver);
            if let (Some(stored), Some(event)) = (stored, data.event(seq)) {
                claimed.push(ClaimedDelivery {
                    receiver: stored.receiver.clone(),
                    tenant_slug: data.tenant.slug.clone(),
                    event: event.clone(),
                    attempts,
                });
            }
        }
        Ok(claimed)
    }

    async fn settle_deliveries(&self, settled: &[Settled]) -> Result<(), StoreError> {
        let mut state = self.lock();
        for entry in settled {
            let data =
                (state.tenants.values_mut()).find(|data| data.holds_receiver(&entry.receiver_id));
            let Some(data) = data else {
                continue;
            };
            let Some(figure) = data.settle(entry) else {
                continue;
            };
            let stored = (data.receivers.iter_mut()).find(|s| s.receiver.id == entry.receiver_id);
            if let Some(stored) = stored {
                match figure {
                    0 => stored.delivered += 1,
                    1 => stored.retried += 1,
                    _ => stored.dead_lettered += 1,
                }
            }
        }
        Ok(())
    }

    async fn dead_letters(
        &self,
        tenant: &TenantId,
        receiver: Option<String>,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        Ok(self
            .read(tenant, |data| {
                let owned = data.owned(receiver.as_deref());
                let mut dead: Vec<DeadLetter> = (data.deliveries.iter())
                    .filter(|d| d.dead && owned.contains(&d.receiver))
                    .filter_map(|d| {
                        Some(DeadLetter {
                            receiver_id: d.receiver.clone(),
                            seq: d.seq,
                            subject: d.subject.clone(),
                            attempts: d.attempts,
                            error: d.last_error.clone().unwrap_or_default(),
                            at: data.event(d.seq)?.at,
                        })
                    })
                    .collect();
                dead.sort_by(|a, b| (a.seq, &a.receiver_id).cmp(&(b.seq, &b.receiver_id)));
                dead.truncate(limit);
                dead
            })
            .unwrap_or_default())
    }

    async fn redrive(
        &self,
        tenant: &TenantId,
        receiver: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.write(tenant, |data| {
            let owned = data.owned(receiver.as_deref());
            let mut queued = 0;
            for delivery in &mut data.deliveries {
                if delivery.dead && owned.contains(&delivery.receiver) {
                    delivery.dead = false;
                    delivery.attempts = 0;
                    delivery.due = now;
                    queued += 1;
                }
            }
            Ok(queued)
        })
    }
}
