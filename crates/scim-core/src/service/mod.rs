//! The use cases: each plans a change purely, then commits it through the ports.

mod plan;
mod resources;
mod tenants;

pub use plan::{plan_create, plan_replace};
pub use resources::{Precondition, ResourceService};
pub use tenants::{TenantError, TenantService};
