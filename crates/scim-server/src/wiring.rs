//! Choosing the store from the database URL and assembling the services.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use scim_core::SchemaRegistry;
use scim_core::outbound::NetworkPolicy;
use scim_core::ports::{Clock, IdGenerator, SecretGenerator};
use scim_core::secrets::SecretKeys;
use scim_core::service::{Runtime, Services};
use scim_core::tenant::TOKEN_PREFIX;
use scim_store::{DieselStore, StoreConfig};

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Random (v4) UUIDs.
pub struct UuidIds;

impl IdGenerator for UuidIds {
    fn new_id(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

/// Secrets of `scim_` and 256 random bits, base64url: tokens and client secrets.
pub struct RandomSecrets;

impl SecretGenerator for RandomSecrets {
    fn new_secret(&self) -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
    }
}

/// Everything a command needs: the core's services on the store the URL names.
pub struct App {
    pub services: Services,
    /// The store itself, for what only the operator asks of it (its pool's state).
    pub store: Arc<DieselStore>,
    /// The server's secret keys (they also seal list cursors).
    pub secret_keys: SecretKeys,
    /// Where pushes may go.
    pub network: NetworkPolicy,
}

impl App {
    /// Opens the store named by `database_url` (running its migrations) and wires the
    /// services on it.
    pub async fn open(
        database_url: &str,
        pool_size: u32,
        secret_keys: SecretKeys,
    ) -> anyhow::Result<Self> {
        let registry = Arc::new(SchemaRegistry::standard());
        let config = StoreConfig {
            pool_size,
            connect_timeout: Duration::from_secs(5),
            secret_keys: secret_keys.clone(),
        };
        let url = database_url.to_owned();
        let reg = Arc::clone(&registry);
        let store = tokio::task::spawn_blocking(move || open_store(&url, reg, &config))
            .await
            .context("opening the store")??;
        let store = Arc::new(store);
        let runtime = Runtime {
            clock: Arc::new(SystemClock),
            ids: Arc::new(UuidIds),
            secrets: Arc::new(RandomSecrets),
        };
        Ok(Self {
            services: Services::on(&store, registry, runtime),
            store,
            secret_keys,
            network: NetworkPolicy::default(),
        })
    }

    /// Where the server may call on tenants' behalf (receivers, their token endpoints,
    /// federated clients' JWKS).
    #[must_use]
    pub fn with_network_policy(mut self, network: NetworkPolicy) -> Self {
        self.services = self.services.with_network_policy(network);
        self.network = network;
        self
    }
}

fn open_store(
    url: &str,
    registry: Arc<SchemaRegistry>,
    config: &StoreConfig,
) -> anyhow::Result<DieselStore> {
    let shown = redact_url(url);
    // The URL is read in one place, `Database::from_url`, for every caller.
    let database =
        scim_store::Database::from_url(url).with_context(|| format!("database URL {shown}"))?;
    let backend = database.backend();
    scim_store::open_database(database, registry, config)
        .with_context(|| format!("opening {backend} store {shown}"))
}

/// The URL with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, None), |(a, p)| (a, Some(p)));
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let query_free = path.map(|p| p.split('?').next().unwrap_or_default());
    match query_free {
        Some(path) => format!("{scheme}://{authority}/{path}"),
        None => format!("{scheme}://{authority}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_and_carry_256_bits() {
        let a = RandomSecrets.new_secret();
        let b = RandomSecrets.new_secret();
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 43);
        assert_ne!(a, b);
    }

    #[test]
    fn redacts_passwords_and_query_parameters() {
        let cases = [
            (
                "postgres://u:secret@db:5432/scim",
                "postgres://u:***@db:5432/scim",
            ),
            (
                "postgres://u@db/scim?password=secret",
                "postgres://u@db/scim",
            ),
            ("sqlite://scim.db", "sqlite://scim.db"),
            ("scim.db", "scim.db"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact_url(url), shown);
        }
    }
}
