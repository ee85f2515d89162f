//! Who asks for a write, why, and when: recorded with the license changes the write causes.

#![warn(missing_docs)]

use chrono::{DateTime, Utc};

use crate::compat::Deactivation;
use crate::events::ResourceEvent;
use crate::schema::TenantSchema;
use crate::tenant::TenantId;

/// The caller of a write: its tenant, the credential (or operator) acting, and the cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The tenant the write is for (its credential chose it).
    pub tenant: TenantId,
    /// The credential's id (`token:<id>`), never its secret; `cli` for operator commands.
    pub actor: String,
    /// What asked for the write: the request (`PATCH /Users/<id>` and its request id) or the
    /// command.
    pub cause: String,
    /// The tenant's schema, when it has attributes of its own; `None`: the server's.
    pub schema: Option<TenantSchema>,
    /// What a PUT or PATCH that deactivates a user does to it (the tenant's profile).
    pub deactivation: Deactivation,
}

impl Caller {
    /// A caller with the server's schema and the default deactivation (`Keep`).
    pub fn new(tenant: TenantId, actor: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            tenant,
            actor: actor.into(),
            cause: cause.into(),
            schema: None,
            deactivation: Deactivation::Keep,
        }
    }

    /// The caller, deactivating users as its tenant's profile says.
    #[must_use]
    pub fn with_deactivation(mut self, deactivation: Deactivation) -> Self {
        self.deactivation = deactivation;
        self
    }

    /// The caller, writing against the tenant's own schema.
    #[must_use]
    pub fn with_schema(mut self, schema: Option<TenantSchema>) -> Self {
        self.schema = schema;
        self
    }
}

/// A write as the stores receive it: the caller, and the time the write happens at (from the
/// core's clock), for `assigned` and the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteContext {
    /// The tenant written to.
    pub tenant: TenantId,
    /// Who acts, as [`Caller::actor`].
    pub actor: String,
    /// Why, as [`Caller::cause`].
    pub cause: String,
    /// When: every timestamp the write leaves (`meta`, `assigned`, audit, events).
    pub at: DateTime<Utc>,
    /// The events of a single write (`insert`, `update`, `delete`), recorded with it; a
    /// batched write carries its own. License events are the store's to add.
    pub events: Vec<ResourceEvent>,
}

impl WriteContext {
    /// The context of a write by `caller` at `at`, with no events yet.
    pub fn new(caller: &Caller, at: DateTime<Utc>) -> Self {
        Self {
            tenant: caller.tenant.clone(),
            actor: caller.actor.clone(),
            cause: caller.cause.clone(),
            at,
            events: Vec::new(),
        }
    }

    /// The context with the write's events.
    #[must_use]
    pub fn with_events(mut self, events: Vec<ResourceEvent>) -> Self {
        self.events = events;
        self
    }
}
