//! The use cases: each plans a change purely, then commits it through the ports.
#![warn(missing_docs)]

mod activity;
pub mod admin;
mod api_keys;
mod batch;
mod bulk;
mod credentials;
mod delivery;
mod feed;
mod idempotency;
mod jobs;
mod licenses;
mod lookup;
mod plan;
mod portal;
mod receivers;
mod resources;
mod retention;
mod services;
mod tenants;
mod turns;

pub use activity::{ACTIVITY_BUFFER, ActivityService};
pub use admin::{AdminError, AdminPorts, AdminService, InactiveHolder, TenantDashboard};
pub use api_keys::{API_KEY_CACHE, ApiKeyError, ApiKeyService};
pub use batch::BatchOp;
pub use bulk::BulkService;
pub use credentials::{CredentialCache, KNOWN_GOOD_TTL, REFUSAL_TTL, Remembered};
pub use delivery::{DeliveryConfig, DeliveryService, Round};
pub use feed::{EventFeedService, FeedError, Polled};
pub use idempotency::{Begun, Claim, IdempotencyError, IdempotencyService};
pub use jobs::{BulkJobService, Progress, SLICE_OPERATIONS};
pub use licenses::{
    LicenseError, LicenseService, PoolChange, RECONCILE_BATCH, Usage, add_rule_and_reevaluate,
    parse_term_bound, preview_rule_change, reevaluate, remove_rule_and_reevaluate,
    set_pool_and_reevaluate,
};
pub use lookup::{UserKey, UserLicenses};
pub use plan::{plan_create, plan_patch, plan_replace};
pub use portal::{OpenedSession, PortalService};
pub use receivers::{
    DEAD_LETTERS_SHOWN, MIN_SECRET_BYTES, NewReceiver, ReceiverError, ReceiverService,
};
pub use resources::{Precondition, ResourceService};
pub use retention::{PRUNE_BATCH, Pruned, Retention, RetentionService};
pub use services::{Runtime, Services};
pub use tenants::{
    ACCESS_TOKEN_LIFETIME, ACCESS_TOKEN_LIFETIMES, AccessToken, AssertionGrantError, Credential,
    DEFAULT_TOKEN_DAYS, FederationRequest, LookupLimit, LookupPermit, MAX_TENANT_NAME, PURGE_BATCH,
    TenantError, TenantService, TenantUpdate, TokenLifetime, Unlimited,
};
