//! Every use case wired on one store: what the server, the in-process tests and an
//! embedding service each build the same way.

#![warn(missing_docs)]

use std::sync::Arc;

use crate::SchemaRegistry;
use crate::outbound::NetworkPolicy;
use crate::ports::{
    AssertionVerifier, BulkJobRepository, Clock, EventLog, IdGenerator, SecretGenerator,
    SigningKeys, Storage, TenantDirectory, Webhooks,
};
use crate::schema::TenantSchemas;
use crate::service::{
    ActivityService, AdminPorts, AdminService, ApiKeyService, IdempotencyService, LicenseService,
    PortalService, ReceiverService, ResourceService, RetentionService, TenantService,
};

/// The ports that are not storage: the time, new ids, new secrets.
#[derive(Clone)]
pub struct Runtime {
    /// Every timestamp the services write.
    pub clock: Arc<dyn Clock>,
    /// New resource and credential ids.
    pub ids: Arc<dyn IdGenerator>,
    /// New tokens and client secrets.
    pub secrets: Arc<dyn SecretGenerator>,
}

/// The services on one store, and the ports the long-running work (deliveries, jobs, the
/// event feed, SET signing) is built on.
#[derive(Clone)]
pub struct Services {
    /// The server's schemas.
    pub registry: Arc<SchemaRegistry>,
    /// Each tenant's registry: the server's with the tenant's own attributes.
    pub schemas: Arc<TenantSchemas>,
    /// Users and Groups.
    pub resources: ResourceService,
    /// Tenants and their credentials.
    pub tenants: TenantService,
    /// Pools, mapping rules, usage and audit.
    pub licenses: LicenseService,
    /// Push receivers (RFC 8935).
    pub receivers: ReceiverService,
    /// The dashboard's logins and what it shows.
    pub admin: AdminService,
    /// The vendor's API keys (the Management API's credentials).
    pub api_keys: ApiKeyService,
    /// The Management API's `Idempotency-Key`s.
    pub idempotency: IdempotencyService,
    /// The tenants' provisioning activity.
    pub activity: ActivityService,
    /// The customer's portal: setup links and sessions.
    pub portal: PortalService,
    /// Pruning the histories past their retention.
    pub retention: RetentionService,
    /// The tenants (for the jobs' tenant schemas).
    pub directory: Arc<dyn TenantDirectory>,
    /// What asynchronous /Bulk jobs run on.
    pub bulk_jobs: Arc<dyn BulkJobRepository>,
    /// The outbox.
    pub events: Arc<dyn EventLog>,
    /// The SET signing keys.
    pub signing_keys: Arc<dyn SigningKeys>,
    /// Push receivers and their queue.
    pub webhooks: Arc<dyn Webhooks>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// New ids.
    pub ids: Arc<dyn IdGenerator>,
}

impl Services {
    /// The tenants' event feed (RFC 8936 polls, the events listings) on the outbox.
    pub fn feed(&self) -> crate::service::EventFeedService {
        crate::service::EventFeedService::new(Arc::clone(&self.events), Arc::clone(&self.clock))
    }

    /// Every service on `store`, with `registry`'s schemas.
    pub fn on<S: Storage>(store: &Arc<S>, registry: Arc<SchemaRegistry>, runtime: Runtime) -> Self {
        let Runtime {
            clock,
            ids,
            secrets,
        } = runtime;
        let resources = ResourceService::new(
            Arc::clone(store) as _,
            Arc::clone(&registry),
            Arc::clone(&clock),
            Arc::clone(&ids),
        );
        let licenses = LicenseService::new(Arc::clone(store) as _, Arc::clone(&clock));
        let tenants = TenantService::on(
            Arc::clone(store),
            Arc::clone(&clock),
            Arc::clone(&ids),
            Arc::clone(&secrets),
        );
        let portal = PortalService::new(
            Arc::clone(store) as _,
            tenants.clone(),
            Arc::clone(&clock),
            Arc::clone(&ids),
            Arc::clone(&secrets),
        );
        let webhooks = Arc::clone(store) as Arc<dyn Webhooks>;
        let directory = Arc::clone(store) as Arc<dyn TenantDirectory>;
        let receivers = ReceiverService::new(
            Arc::clone(&webhooks),
            Arc::clone(&directory),
            Arc::clone(&clock),
            Arc::clone(&ids),
            Arc::clone(&secrets),
        );
        let api_keys = ApiKeyService::new(
            Arc::clone(store) as _,
            Arc::clone(&clock),
            Arc::clone(&ids),
            Arc::clone(&secrets),
        );
        let admin = AdminService::new(AdminPorts {
            repo: Arc::clone(store) as _,
            tenants: tenants.clone(),
            licenses: licenses.clone(),
            resources: resources.clone(),
            webhooks: Arc::clone(&webhooks),
            clock: Arc::clone(&clock),
            secrets,
            ids: Arc::clone(&ids),
        });
        Self {
            schemas: Arc::new(TenantSchemas::new(Arc::clone(&registry))),
            registry,
            resources,
            tenants,
            licenses,
            receivers,
            admin,
            api_keys,
            idempotency: IdempotencyService::new(Arc::clone(store) as _, Arc::clone(&clock)),
            activity: ActivityService::new(Arc::clone(store) as _, Arc::clone(&clock)),
            portal,
            retention: RetentionService::new(
                Arc::clone(store) as _,
                Arc::clone(store) as _,
                Arc::clone(store) as _,
                Arc::clone(&clock),
            ),
            directory,
            bulk_jobs: Arc::clone(store) as _,
            events: Arc::clone(store) as _,
            signing_keys: Arc::clone(store) as _,
            webhooks,
            clock,
            ids,
        }
    }

    /// Where the server may call on tenants' behalf (receivers, their token endpoints,
    /// federated clients' JWKS).
    #[must_use]
    pub fn with_network_policy(mut self, network: NetworkPolicy) -> Self {
        self.receivers = self.receivers.with_network_policy(network);
        self.tenants = self.tenants.with_network_policy(network);
        self
    }

    /// Federated clients' assertions are verified by `verifier` (see
    /// [`TenantService::with_assertion_verifier`]).
    #[must_use]
    pub fn with_assertion_verifier(mut self, verifier: Arc<dyn AssertionVerifier>) -> Self {
        self.tenants = self.tenants.with_assertion_verifier(verifier);
        self
    }
}
