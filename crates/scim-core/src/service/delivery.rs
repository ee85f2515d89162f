//! Push delivery (RFC 8935), one round at a time: take the deliveries that are due, push
//! their SETs, settle each by the receiver's answer. Any number of processes may run
//! rounds against one store; the store's claim keeps them from taking the same delivery.
//! The loop around the rounds (when to run the next) is the adapter's.

use std::sync::Arc;
use std::time::Duration;

use crate::error::StoreError;
use crate::events::{Push, RetryPolicy, Settled, Settlement, poll_jti, tenant_audience};
use crate::ports::{Clock, SetPusher, Webhooks};

/// How a round goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// When a failed push is tried again, and when it is given up.
    pub retry: RetryPolicy,
    /// How long a claimed delivery is kept from other processes: longer than an attempt
    /// can take, or a slow attempt may be repeated by another process.
    pub lease: Duration,
    /// Deliveries taken per round.
    pub batch: usize,
    /// The SETs' `iss`.
    pub issuer: String,
}

/// What a round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Deliveries taken.
    pub claimed: usize,
    /// Accepted by their receivers.
    pub delivered: usize,
    /// Failed, to be tried again.
    pub retried: usize,
    /// Failed for the last time: dead letters.
    pub dead: usize,
}

/// Push delivery (RFC 8935): claims due deliveries, has them signed and sent, and settles
/// each (delivered, retried later, or dead-lettered).
#[derive(Clone)]
pub struct DeliveryService {
    webhooks: Arc<dyn Webhooks>,
    pusher: Arc<dyn SetPusher>,
    clock: Arc<dyn Clock>,
    config: DeliveryConfig,
}

impl DeliveryService {
    /// On the receivers' queue, sending with `pusher`.
    pub fn new(
        webhooks: Arc<dyn Webhooks>,
        pusher: Arc<dyn SetPusher>,
        clock: Arc<dyn Clock>,
        config: DeliveryConfig,
    ) -> Self {
        Self {
            webhooks,
            pusher,
            clock,
            config,
        }
    }

    /// One round. A round that claimed a full batch suggests another right away.
    pub async fn deliver_due(&self) -> Result<Round, StoreError> {
        let now = self.clock.now();
        let lease = chrono::Duration::from_std(self.config.lease).unwrap_or(chrono::Duration::MAX);
        let claimed = self
            .webhooks
            .claim_deliveries(now, now + lease, self.config.batch)
            .await?;
        if claimed.is_empty() {
            return Ok(Round::default());
        }
        let pushes = claimed
            .iter()
            .map(|delivery| Push {
                receiver: delivery.receiver.clone(),
                claims: delivery.event.set_claims(
                    &self.config.issuer,
                    &tenant_audience(&delivery.tenant_slug),
                    &poll_jti(delivery.event.seq),
                    now,
                ),
            })
            .collect();
        let outcomes = self.pusher.push(pushes).await;
        let done = self.clock.now();
        let mut round = Round {
            claimed: claimed.len(),
            ..Round::default()
        };
        let settled: Vec<Settled> = claimed
            .iter()
            .zip(outcomes)
            .map(|(delivery, outcome)| {
                let settlement = self.config.retry.settle(delivery, outcome, done);
                match &settlement {
                    Settlement::Delivered => round.delivered += 1,
                    Settlement::Retry { .. } => round.retried += 1,
                    Settlement::Dead { .. } => round.dead += 1,
                }
                Settled {
                    receiver_id: delivery.receiver.id.clone(),
                    seq: delivery.event.seq,
                    attempts: delivery.attempts,
                    settlement,
                }
            })
            .collect();
        // A pusher that answered fewer outcomes than SETs leaves the rest leased: they are
        // taken again when the lease ends.
        self.webhooks.settle_deliveries(&settled).await?;
        Ok(round)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::Value;

    use super::*;
    use crate::events::{ClaimedDelivery, PushOutcome, Receiver, ResourceEvent, StoredEvent};
    use crate::ports::{MockClock, MockSetPusher, MockWebhooks};
    use crate::resource::ResourceKind;
    use crate::tenant::TenantId;

    fn claimed(seq: i64, attempts: u32) -> ClaimedDelivery {
        ClaimedDelivery {
            receiver: Receiver {
                id: "r1".into(),
                tenant: TenantId("t1".into()),
                url: "https://hooks.example.com/scim".into(),
                secret: "secret".into(),
                oauth: None,
                created: Utc.timestamp_opt(0, 0).unwrap(),
            },
            tenant_slug: "acme".into(),
            event: StoredEvent {
                seq,
                at: Utc.timestamp_opt(1_000, 0).unwrap(),
                event: ResourceEvent::deleted(ResourceKind::User, &format!("u{seq}"), Some("ext")),
            },
            attempts,
        }
    }

    fn config() -> DeliveryConfig {
        DeliveryConfig {
            retry: RetryPolicy {
                max_attempts: 3,
                ..RetryPolicy::default()
            },
            lease: Duration::from_secs(30),
            batch: 50,
            issuer: "https://scim.example.com".into(),
        }
    }

    #[tokio::test]
    async fn a_round_pushes_the_claimed_sets_and_settles_each_by_its_answer() {
        let now = Utc.timestamp_opt(2_000, 0).unwrap();
        let mut clock = MockClock::new();
        clock.expect_now().return_const(now);
        let mut webhooks = MockWebhooks::new();
        webhooks
            .expect_claim_deliveries()
            .withf(move |at, until, limit| {
                *at == now && *until == now + chrono::Duration::seconds(30) && *limit == 50
            })
            .times(1)
            .returning(|_, _, _| Ok(vec![claimed(1, 1), claimed(2, 1), claimed(3, 3)]));
        let mut pusher = MockSetPusher::new();
        pusher
            .expect_push()
            .withf(|pushes| {
                let claims: Vec<&Value> = pushes.iter().map(|push| &push.claims).collect();
                claims.len() == 3
                    && claims[0]["jti"] == "evt-1"
                    && claims[1]["jti"] == "evt-2"
                    && claims[0]["iss"] == "https://scim.example.com"
                    && claims[0]["aud"][0] == "urn:scim-license:tenant:acme"
                    && claims[0]["sub_id"]["uri"] == "/Users/u1"
                    && claims[0]["sub_id"]["externalId"] == "ext"
                    && claims[0]["toe"] == 1_000
                    && claims[0]["iat"] == 2_000
            })
            .times(1)
            .returning(|_| {
                let failed = PushOutcome::Failed {
                    error: "HTTP 503".into(),
                    permanent: false,
                };
                vec![PushOutcome::Delivered, failed.clone(), failed]
            });
        webhooks
            .expect_settle_deliveries()
            .withf(move |settled| {
                settled.len() == 3
                    && settled[0].seq == 1
                    && settled[0].settlement == Settlement::Delivered
                    && matches!(&settled[1].settlement,
                        Settlement::Retry { due, error } if *due > now && error == "HTTP 503")
                    && settled[2].settlement
                        == Settlement::Dead {
                            error: "HTTP 503".into(),
                        }
            })
            .times(1)
            .returning(|_| Ok(()));
        let service = DeliveryService::new(
            Arc::new(webhooks),
            Arc::new(pusher),
            Arc::new(clock),
            config(),
        );
        let round = service.deliver_due().await.unwrap();
        assert_eq!(
            round,
            Round {
                claimed: 3,
                delivered: 1,
                retried: 1,
                dead: 1
            }
        );
    }

    #[tokio::test]
    async fn an_empty_queue_pushes_nothing() {
        let mut clock = MockClock::new();
        clock
            .expect_now()
            .return_const(Utc.timestamp_opt(5, 0).unwrap());
        let mut webhooks = MockWebhooks::new();
        webhooks
            .expect_claim_deliveries()
            .returning(|_, _, _| Ok(Vec::new()));
        let pusher = MockSetPusher::new();
        let service = DeliveryService::new(
            Arc::new(webhooks),
            Arc::new(pusher),
            Arc::new(clock),
            config(),
        );
        assert_eq!(service.deliver_due().await.unwrap(), Round::default());
    }
}
