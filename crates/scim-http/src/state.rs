//! What every handler shares.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use scim_core::bulk::BulkLimits;
use scim_core::paging::CursorCodec;
use scim_core::schema::TenantSchemas;
use scim_core::service::{
    ActivityService, AdminService, ApiKeyService, BulkJobService, BulkService, EventFeedService,
    IdempotencyService, LicenseService, PortalService, ReceiverService, ResourceService, Services,
    TenantService,
};
use scim_core::tenant::TenantId;
use scim_core::{SchemaRegistry, ScimResult};
use tokio::sync::Notify;

use crate::address::TrustedProxies;
use crate::auth::{Authenticator, TenantCredentials};
use crate::handlers::events::PollSlots;
use crate::handlers::health::HealthCheck;
use crate::handlers::oauth::TokenIssuance;
use crate::limits::{AddressLimits, AddressLookups};
use crate::rate::{RateLimit, RateLimiter};
use crate::sets::SetSigner;

/// Limits and addresses the operator configures.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The externally visible origin (`https://scim.example.com`) used in `meta.location`
    /// and `Location`; when `None`, the request's scheme and Host are used.
    pub public_url: Option<String>,
    /// Largest request body outside `/Bulk`, in bytes.
    pub max_body_bytes: usize,
    /// Advertised for `/Bulk` in `/ServiceProviderConfig`.
    pub bulk_max_operations: usize,
    pub bulk_max_payload_bytes: usize,
    /// How long a poll (RFC 8936) waits for an event before answering empty.
    pub poll_wait: Duration,
    /// Whether `/ServiceProviderConfig` carries RFC 9967's `securityEvents`.
    pub advertise_security_events: bool,
    /// Whether `/ServiceProviderConfig` carries draft-ietf-scim-roles-entitlements'
    /// `RolesAndEntitlements` (never for a tenant of the `strict` profile).
    pub advertise_roles_and_entitlements: bool,
    /// The proxies whose `X-Forwarded-For` names the client (for the per-address limit).
    pub trusted_proxies: TrustedProxies,
    /// Whether browsers reach the server over HTTPS (it serves TLS, or its public URL is
    /// `https://`): responses then carry `Strict-Transport-Security`.
    pub https: bool,
    /// The most resources a list request may make the store evaluate one by one (see
    /// [`scim_core::query::ListQuery::scan_limit`]); `None`: no bound.
    pub scan_limit: Option<u64>,
    /// Long polls (RFC 8936) one tenant may hold open at once in this process.
    pub polls_per_tenant: usize,
    /// Each tenant's request rate (`None`: no limit).
    pub tenant_rate: Option<RateLimit>,
    /// Each client address's rate of credential lookups that fail (`None`: no limit).
    pub address_rate: Option<RateLimit>,
    /// How long accepted bearer tokens are remembered (zero: every request looks its
    /// token up).
    pub credential_cache: Duration,
    /// How long a process holds an asynchronous /Bulk job before another may take it.
    pub job_lease: Duration,
    /// Each API key's request rate on the Management API (`None`: no limit).
    pub api_rate: Option<RateLimit>,
    /// How long an access token from `/oauth/token` lives (1 to 6 hours).
    pub access_token_lifetime: Duration,
    /// Whether each SCIM request is recorded in its tenant's provisioning activity.
    pub record_activity: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            max_body_bytes: 1024 * 1024,
            bulk_max_operations: 1000,
            bulk_max_payload_bytes: 4 * 1024 * 1024,
            poll_wait: Duration::from_secs(25),
            advertise_security_events: true,
            advertise_roles_and_entitlements: true,
            trusted_proxies: TrustedProxies::default(),
            https: false,
            scan_limit: Some(25_000),
            polls_per_tenant: 4,
            tenant_rate: None,
            address_rate: None,
            credential_cache: Duration::ZERO,
            job_lease: Duration::from_secs(60),
            api_rate: RateLimit::of(1_000, 2_000),
            access_token_lifetime: Duration::from_secs(3600),
            record_activity: true,
        }
    }
}

/// Application state, cloned into every worker.
#[derive(Clone)]
pub struct AppState {
    pub resources: ResourceService,
    pub bulk: BulkService,
    pub jobs: BulkJobService,
    /// The tenants' event feeds, and the key their SETs are signed with.
    pub feed: EventFeedService,
    pub signer: Arc<SetSigner>,
    /// Seals and opens list cursors (RFC 9865).
    pub cursors: Arc<CursorCodec>,
    /// Wakes the job runner when a job is submitted.
    pub job_wake: Arc<Notify>,
    pub licenses: LicenseService,
    pub tenants: TenantService,
    /// The dashboard at `/admin`.
    pub admin: AdminService,
    pub registry: Arc<SchemaRegistry>,
    /// Each tenant's registry: the server's with the tenant's own attributes.
    pub schemas: Arc<TenantSchemas>,
    pub config: Arc<HttpConfig>,
    /// Per-tenant request rate limit, shared by every worker.
    pub limiter: Arc<RateLimiter<TenantId>>,
    /// Per-client-address limits on the work callers without a working credential cause.
    pub address_limits: Arc<AddressLimits>,
    /// Per-client limit on the access tokens `/oauth/token` issues.
    pub token_issuance: Arc<TokenIssuance>,
    /// The last health check, shared so that a flood of probes pings the store once a
    /// second at most.
    pub health: Arc<HealthCheck>,
    /// The long polls each tenant holds open.
    pub polls: Arc<PollSlots>,
    /// The time, as every service reads it.
    pub clock: Arc<dyn scim_core::ports::Clock>,
    /// Who sends each request ([`TenantCredentials`] unless the host brings its own).
    pub authenticator: Arc<dyn Authenticator>,
    /// The Management API's credentials.
    pub api_keys: ApiKeyService,
    /// The Management API's Idempotency-Keys.
    pub idempotency: IdempotencyService,
    /// The tenants' provisioning activity (every SCIM request, buffered; the server
    /// flushes it).
    pub activity: ActivityService,
    /// The customer's portal: setup links and sessions.
    pub portal: PortalService,
    /// Tenants' push receivers (webhooks).
    pub receivers: ReceiverService,
    /// Per-API-key request rate limit.
    pub api_limiter: Arc<RateLimiter<String>>,
}

impl AppState {
    /// The state of the API on the core's `services`: the bulk engine and its job runner,
    /// the event feed, the limiters, with the operator's `config`. `signer` signs SETs,
    /// `cursors` seals list cursors.
    pub fn new(
        services: &Services,
        signer: Arc<SetSigner>,
        cursors: Arc<CursorCodec>,
        config: HttpConfig,
    ) -> Self {
        let bulk = BulkService::new(
            services.resources.clone(),
            BulkLimits {
                max_operations: config.bulk_max_operations,
            },
        );
        let lease = chrono::Duration::from_std(config.job_lease).unwrap_or(chrono::Duration::MAX);
        let jobs = BulkJobService::new(
            bulk.clone(),
            Arc::clone(&services.bulk_jobs),
            Arc::clone(&services.clock),
            Arc::clone(&services.ids),
            lease,
        )
        .with_tenant_schemas(
            Arc::clone(&services.directory),
            Arc::clone(&services.schemas),
        );
        let credential_cache =
            chrono::TimeDelta::from_std(config.credential_cache).unwrap_or(chrono::TimeDelta::MAX);
        Self {
            bulk,
            jobs,
            job_wake: Arc::new(Notify::new()),
            feed: services.feed(),
            signer,
            cursors,
            resources: services.resources.clone(),
            licenses: services.licenses.clone(),
            admin: services.admin.clone(),
            tenants: services
                .tenants
                .clone()
                .with_credential_cache(credential_cache)
                .with_access_token_lifetime(
                    chrono::TimeDelta::from_std(config.access_token_lifetime)
                        .unwrap_or(scim_core::service::ACCESS_TOKEN_LIFETIME),
                ),
            registry: Arc::clone(&services.registry),
            schemas: Arc::clone(&services.schemas),
            limiter: Arc::new(RateLimiter::new(config.tenant_rate)),
            address_limits: Arc::new(AddressLimits::new(config.address_rate)),
            token_issuance: Arc::default(),
            health: Arc::default(),
            polls: Arc::default(),
            api_limiter: Arc::new(RateLimiter::new(config.api_rate)),
            config: Arc::new(config),
            clock: Arc::clone(&services.clock),
            authenticator: Arc::new(TenantCredentials),
            api_keys: services.api_keys.clone(),
            idempotency: services.idempotency.clone(),
            activity: services.activity.clone(),
            portal: services.portal.clone(),
            receivers: services.receivers.clone(),
        }
    }

    /// The same API, its callers authenticated by `authenticator` instead of the server's
    /// credentials (an embedding service's own scheme).
    #[must_use]
    pub fn with_authenticator(mut self, authenticator: Arc<dyn Authenticator>) -> Self {
        self.authenticator = authenticator;
        self
    }

    /// Takes a token of the client address's bucket (429 beyond it).
    pub(crate) fn limit_address(&self, client: IpAddr) -> ScimResult<()> {
        self.address_limits.charge(client)
    }

    /// The per-address limit on credential lookups of a request from `client`.
    pub(crate) fn lookup_limit(&self, client: IpAddr) -> AddressLookups<'_> {
        self.address_limits.lookups(client)
    }
}
