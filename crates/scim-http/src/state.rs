//! What every handler shares.

use std::sync::Arc;
use std::time::Duration;

use scim_core::SchemaRegistry;
use scim_core::schema::TenantSchemas;
use scim_core::service::{
    AdminService, BulkJobService, BulkService, EventFeedService, LicenseService, ResourceService,
    TenantService,
};
use tokio::sync::Notify;

use crate::rate::RateLimiter;
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
    pub limiter: Arc<RateLimiter>,
}
