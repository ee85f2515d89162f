//! The use cases: each plans a change purely, then commits it through the ports.

mod batch;
mod bulk;
mod feed;
mod jobs;
mod licenses;
mod plan;
mod resources;
mod tenants;

pub use batch::BatchOp;
pub use bulk::BulkService;
pub use feed::{EventFeedService, Polled};
pub use jobs::{BulkJobService, Progress};
pub use licenses::{LicenseError, LicenseService, Usage};
pub use plan::{plan_create, plan_patch, plan_replace};
pub use resources::{Precondition, ResourceService};
pub use tenants::{ACCESS_TOKEN_LIFETIME, AccessToken, TenantError, TenantService};
