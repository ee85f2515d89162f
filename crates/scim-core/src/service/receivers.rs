//! The operator's side of push delivery: registering a tenant's receivers, reading how
//! their deliveries go, and re-driving dead letters.

use std::sync::Arc;

use crate::error::StoreError;
use crate::events::{DeadLetter, OAuthClient, Receiver, ReceiverStatus};
use crate::outbound::{NetworkPolicy, check_outbound_url};
use crate::ports::{Clock, IdGenerator, SecretGenerator, TenantDirectory, Webhooks};
use crate::tenant::Tenant;

/// RFC 7518 §3.2: an HS256 key is at least as long as the hash, 256 bits: a secret has at
/// least this many characters, and so at least as many UTF-8 bytes (counted in
/// characters, as JSON Schema's `minLength` counts, so the OpenAPI document can say it).
pub const MIN_SECRET_BYTES: usize = 32;

/// Dead letters listed at most.
pub const DEAD_LETTERS_SHOWN: usize = 1_000;

/// Why a receiver operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiverError {
    #[error("no tenant '{0}'")]
    /// No such tenant.
    UnknownTenant(String),
    #[error("no receiver '{0}' in this tenant")]
    /// No such receiver in the tenant.
    UnknownReceiver(String),
    #[error("'{url}' is not a usable receiver URL: it {reason}")]
    /// The URL is not one the server may push to.
    InvalidUrl {
        /// The URL given.
        url: String,
        /// Why it is refused.
        reason: String,
    },
    #[error(
        "the secret is too short: an HS256 key needs at least {MIN_SECRET_BYTES} characters \
         (32 bytes)"
    )]
    /// The HS256 secret is too short.
    WeakSecret,
    #[error(transparent)]
    /// The store failed.
    Store(#[from] StoreError),
}

/// A receiver to register.
#[derive(Clone, PartialEq, Eq)]
pub struct NewReceiver {
    /// Where SETs are POSTed (RFC 8935).
    pub url: String,
    /// The HS256 secret; `None` to have one generated.
    pub secret: Option<String>,
    /// The OAuth client credentials the receiver wants a token from, if any.
    pub oauth: Option<OAuthClient>,
}

impl std::fmt::Debug for NewReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewReceiver")
            .field("url", &self.url)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("oauth", &self.oauth)
            .finish()
    }
}

/// Push receivers: register (URL checked against the network policy), list, remove.
#[derive(Clone)]
pub struct ReceiverService {
    webhooks: Arc<dyn Webhooks>,
    tenants: Arc<dyn TenantDirectory>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    secrets: Arc<dyn SecretGenerator>,
    network: NetworkPolicy,
}

impl ReceiverService {
    /// On the receivers' store and the tenants.
    pub fn new(
        webhooks: Arc<dyn Webhooks>,
        tenants: Arc<dyn TenantDirectory>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
        secrets: Arc<dyn SecretGenerator>,
    ) -> Self {
        Self {
            webhooks,
            tenants,
            clock,
            ids,
            secrets,
            network: NetworkPolicy::default(),
        }
    }

    /// Where receivers may be (by default: the public internet only).
    #[must_use]
    pub fn with_network_policy(mut self, network: NetworkPolicy) -> Self {
        self.network = network;
        self
    }

    async fn tenant(&self, slug: &str) -> Result<Tenant, ReceiverError> {
        self.tenants
            .find_tenant(slug)
            .await?
            .ok_or_else(|| ReceiverError::UnknownTenant(slug.to_owned()))
    }

    /// Registers a receiver of the tenant's events from now on; the result holds its
    /// secret, for the operator to hand to the receiver once.
    pub async fn add(&self, slug: &str, new: NewReceiver) -> Result<Receiver, ReceiverError> {
        let tenant = self.tenant(slug).await?;
        for url in std::iter::once(&new.url).chain(new.oauth.iter().map(|o| &o.token_url)) {
            if let Err(reason) = check_outbound_url(url, self.network) {
                return Err(ReceiverError::InvalidUrl {
                    url: url.clone(),
                    reason,
                });
            }
        }
        let secret = match new.secret {
            Some(secret) if secret.chars().count() < MIN_SECRET_BYTES => {
                return Err(ReceiverError::WeakSecret);
            }
            Some(secret) => secret,
            None => self.secrets.new_secret(),
        };
        let receiver = Receiver {
            id: self.ids.new_id(),
            tenant: tenant.id,
            url: new.url,
            secret,
            oauth: new.oauth,
            created: self.clock.now(),
        };
        self.webhooks.add_receiver(&receiver).await?;
        Ok(receiver)
    }

    /// The tenant's receivers, with their delivery state.
    pub async fn list(&self, slug: &str) -> Result<Vec<ReceiverStatus>, ReceiverError> {
        let tenant = self.tenant(slug).await?;
        Ok(self.webhooks.receivers(&tenant.id).await?)
    }

    /// Removes a receiver and its queued deliveries.
    pub async fn remove(&self, slug: &str, id: &str) -> Result<(), ReceiverError> {
        let tenant = self.tenant(slug).await?;
        match self.webhooks.remove_receiver(&tenant.id, id).await {
            Err(StoreError::NotFound) => Err(ReceiverError::UnknownReceiver(id.to_owned())),
            other => Ok(other?),
        }
    }

    /// The tenant's dead letters (of one receiver when given), oldest first.
    pub async fn dead_letters(
        &self,
        slug: &str,
        receiver: Option<&str>,
    ) -> Result<Vec<DeadLetter>, ReceiverError> {
        let tenant = self.tenant(slug).await?;
        Ok(self
            .webhooks
            .dead_letters(&tenant.id, receiver.map(str::to_owned), DEAD_LETTERS_SHOWN)
            .await?)
    }

    /// Queues the dead letters again, due now with a fresh count of attempts.
    pub async fn redrive(&self, slug: &str, receiver: Option<&str>) -> Result<u64, ReceiverError> {
        let tenant = self.tenant(slug).await?;
        Ok(self
            .webhooks
            .redrive(&tenant.id, receiver.map(str::to_owned), self.clock.now())
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::ports::{
        MockClock, MockIdGenerator, MockSecretGenerator, MockTenantDirectory, MockWebhooks,
    };
    use crate::tenant::TenantId;

    fn service(webhooks: MockWebhooks) -> ReceiverService {
        let mut tenants = MockTenantDirectory::new();
        tenants.expect_find_tenant().returning(|slug| {
            Ok((slug == "acme").then(|| Tenant {
                id: TenantId("t1".into()),
                slug: "acme".into(),
                name: "Acme".into(),
                created: Utc.timestamp_opt(0, 0).unwrap(),
                client_certs: Vec::new(),
                custom_attributes: Vec::new(),
                compatibility: crate::compat::Compatibility::default(),
            }))
        });
        let mut clock = MockClock::new();
        clock
            .expect_now()
            .return_const(Utc.timestamp_opt(10, 0).unwrap());
        let mut ids = MockIdGenerator::new();
        ids.expect_new_id().return_const("r-1".to_owned());
        let mut secrets = MockSecretGenerator::new();
        secrets
            .expect_new_secret()
            .return_const(format!("scim_{}", "x".repeat(43)));
        ReceiverService::new(
            Arc::new(webhooks),
            Arc::new(tenants),
            Arc::new(clock),
            Arc::new(ids),
            Arc::new(secrets),
        )
    }

    #[tokio::test]
    async fn adding_checks_the_url_and_the_secret_and_generates_one_when_none_is_given() {
        let mut webhooks = MockWebhooks::new();
        webhooks
            .expect_add_receiver()
            .withf(|r| r.id == "r-1" && r.tenant.0 == "t1" && r.secret.starts_with("scim_"))
            .times(2)
            .returning(|_| Ok(()));
        let service = service(webhooks);
        let new = |url: &str, secret: Option<&str>| NewReceiver {
            url: url.into(),
            secret: secret.map(str::to_owned),
            oauth: None,
        };
        let added = service
            .add("acme", new("https://hooks.example.com/e", None))
            .await
            .unwrap();
        assert_eq!(added.url, "https://hooks.example.com/e");
        // Private networks only when the operator allows them.
        let allowing = service.clone().with_network_policy(NetworkPolicy {
            allow_private: true,
        });
        assert!(
            allowing
                .add("acme", new("http://127.0.0.1:9/e", None))
                .await
                .is_ok()
        );
        for refused in [
            "http://hooks.example.com/e",
            "https://10.0.0.7/e",
            "http://127.0.0.1:9/e",
        ] {
            assert!(
                matches!(
                    service.add("acme", new(refused, None)).await,
                    Err(ReceiverError::InvalidUrl { .. })
                ),
                "{refused}"
            );
        }
        assert!(matches!(
            service
                .add("acme", new("https://hooks.example.com/e", Some("short")))
                .await,
            Err(ReceiverError::WeakSecret)
        ));
        assert!(matches!(
            service
                .add("nobody", new("https://h.example.com", None))
                .await,
            Err(ReceiverError::UnknownTenant(_))
        ));
    }

    #[tokio::test]
    async fn removing_an_unknown_receiver_says_so() {
        let mut webhooks = MockWebhooks::new();
        webhooks
            .expect_remove_receiver()
            .returning(|_, _| Err(StoreError::NotFound));
        assert!(matches!(
            service(webhooks).remove("acme", "r-9").await,
            Err(ReceiverError::UnknownReceiver(id)) if id == "r-9"
        ));
    }
}
