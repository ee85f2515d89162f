//! `serve`: every flag of the server.

use clap::Args;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the address is printed).
    #[arg(long, env = "SCIM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,

    /// Externally visible origin for `meta.location` and `Location` (e.g.
    /// `https://scim.example.com`); by default the request's scheme and Host.
    #[arg(long, env = "SCIM_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Largest request body outside /Bulk, in bytes (413 beyond it).
    #[arg(long, env = "SCIM_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Most operations a /Bulk request (or `POST /Users?bulk=true`) may carry (413 beyond
    /// it); advertised in /ServiceProviderConfig. Raise it for large asynchronous jobs.
    #[arg(long, env = "SCIM_BULK_MAX_OPERATIONS", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub bulk_max_operations: u32,

    /// Largest /Bulk body, in bytes (413 beyond it); advertised in /ServiceProviderConfig.
    #[arg(long, env = "SCIM_BULK_MAX_PAYLOAD_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub bulk_max_payload_bytes: usize,

    /// Serve `GET /metrics` on this address (e.g. an internal interface). Metrics name
    /// every tenant, its pools and its traffic, so --listen never serves them without
    /// --metrics-token.
    #[arg(long, env = "SCIM_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,

    /// A bearer token (at least 32 characters) that `GET /metrics` requires, on --listen
    /// and on --metrics-listen alike: without it, --listen answers 404 for /metrics.
    /// Prometheus sends it with `authorization: {credentials_file: …}`.
    #[arg(long, env = "SCIM_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Credentials the store refused (bearer, Basic, /oauth/token) and dashboard logins
    /// each client address may cause per second, per server process; once a refusal finds
    /// the bucket empty, the address's credential lookups answer 429 with Retry-After until
    /// it refills. Credentials accepted within the last day never count and are never held
    /// back. 0 turns the limit off.
    #[arg(long, env = "SCIM_AUTH_RATE_LIMIT", default_value_t = 50)]
    pub auth_rate_limit: u32,

    /// Such refusals and logins a client address may have at once above --auth-rate-limit.
    #[arg(long, env = "SCIM_AUTH_RATE_BURST", default_value_t = 200)]
    pub auth_rate_burst: u32,

    /// The most resources one list request may have evaluated one by one, when its filter
    /// or sort reads an attribute no index holds (`title`, `emails.value`…); beyond it the
    /// request answers 400 `tooMany` instead of loading the tenant's whole set. 0: no
    /// bound.
    #[arg(long, env = "SCIM_MAX_FILTER_SCAN", default_value_t = 25_000)]
    pub max_filter_scan: u64,

    /// Long polls (`POST /events/poll` waiting for events) one tenant may hold open at
    /// once, per server process; beyond it a poll answers 429 with Retry-After.
    #[arg(long, env = "SCIM_POLLS_PER_TENANT", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub polls_per_tenant: u32,

    /// Proxies (addresses or CIDR blocks, comma-separated) whose `X-Forwarded-For` names
    /// the client, for --auth-rate-limit; a request from any other peer is counted by
    /// its own address.
    #[arg(long, env = "SCIM_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_net)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// How many `serve` processes share the store behind one load balancer that spreads
    /// requests evenly: each keeps 1/N of every per-key limit (--rate-limit and
    /// --rate-burst, --auth-rate-limit and --auth-rate-burst, --api-rate-limit and
    /// --api-rate-burst, rounded up), so a tenant allowed 200 requests/s gets 200 across
    /// the replicas, not 200 each. Give every replica the same N.
    #[arg(long, env = "SCIM_REPLICAS", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub replicas: u32,

    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "SCIM_WORKERS")]
    pub workers: Option<usize>,

    /// How long an accepted bearer token is remembered, in seconds, before it is looked up
    /// in the store again; 0 looks every request's token up. A token revoked from another
    /// process keeps working on this one for at most this long (see docs/security.md).
    #[arg(long, env = "SCIM_CREDENTIAL_CACHE_SECONDS", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(0..=60))]
    pub credential_cache_seconds: u32,

    /// Requests per second each tenant may sustain, across the --replicas; beyond it (and
    /// the burst) requests answer 429 with Retry-After. 0 turns the limit off. The default
    /// is far above what Entra ID or Okta send (see docs/security.md).
    #[arg(long, env = "SCIM_RATE_LIMIT", default_value_t = 200)]
    pub rate_limit: u32,

    /// PEM certificate chain to serve HTTPS with (with --tls-key). Client certificates are
    /// then asked for, and checked per tenant (`tenant client-cert`).
    #[arg(long, env = "SCIM_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,

    /// PEM private key of --tls-cert.
    #[arg(long, env = "SCIM_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,

    /// Requests a tenant may send at once above the sustained rate.
    #[arg(long, env = "SCIM_RATE_BURST", default_value_t = 400)]
    pub rate_burst: u32,

    /// Requests per second each API key may sustain on the Management API (/api/v1), per
    /// server process; beyond it (and the burst) requests answer 429 with Retry-After. 0
    /// turns the limit off. The license lookup is the product's hot path (every login):
    /// the default leaves it room, and only stops a runaway loop.
    #[arg(long, env = "SCIM_API_RATE_LIMIT", default_value_t = 1_000)]
    pub api_rate_limit: u32,

    /// How long an access token from POST /oauth/token lives, in minutes: 60 to 360 (the
    /// 1 to 6 hours Entra's gallery asks for).
    #[arg(long, env = "SCIM_ACCESS_TOKEN_MINUTES", default_value_t = 60,
          value_parser = clap::value_parser!(u32).range(60..=360))]
    pub access_token_minutes: u32,

    /// Days the provisioning activity (every SCIM request of each tenant, for its admin)
    /// is kept before it is pruned.
    #[arg(long, env = "SCIM_ACTIVITY_DAYS", default_value_t = scim_core::activity::DEFAULT_ACTIVITY_DAYS,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub activity_days: u32,

    /// Days events are kept (the outbox behind webhooks, the RFC 8936 poll feed and the
    /// events listings, with their acknowledgements and pushes) before they are pruned;
    /// 0 keeps them forever. A poll feed or a cursor that falls behind is told, not
    /// silently skipped past.
    #[arg(long, env = "SCIM_EVENT_RETENTION_DAYS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(0..=3650))]
    pub event_retention_days: u32,

    /// Days license audit entries are kept before they are pruned (the true-up reads back
    /// through them: keep more than the longest period you invoice); 0 keeps them forever.
    #[arg(long, env = "SCIM_AUDIT_RETENTION_DAYS", default_value_t = 400,
          value_parser = clap::value_parser!(u32).range(0..=36500))]
    pub audit_retention_days: u32,

    /// Days an ended asynchronous /Bulk job (and its outcomes) can still be read before it
    /// is pruned; 0 keeps them forever.
    #[arg(long, env = "SCIM_JOB_RETENTION_DAYS", default_value_t = 7,
          value_parser = clap::value_parser!(u32).range(0..=3650))]
    pub job_retention_days: u32,

    /// Record the provisioning activity (every SCIM request of each tenant: who sent it,
    /// what it addressed, how it ended) for the tenants' admins and the Management API.
    #[arg(long, env = "SCIM_RECORD_ACTIVITY", default_value_t = true,
          action = clap::ArgAction::Set, value_name = "true|false", num_args = 0..=1,
          default_missing_value = "true")]
    pub record_activity: bool,

    /// The shortest time between two fetches of one federated issuer's keys (its JWKS
    /// URL), in seconds: an assertion naming a key the server does not hold is refused
    /// until the next fetch is due, and made-up keys cannot make the server fetch more
    /// often.
    #[arg(long, env = "SCIM_JWKS_REFETCH_SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub jwks_refetch_seconds: u32,

    /// Requests an API key may send at once above --api-rate-limit.
    #[arg(long, env = "SCIM_API_RATE_BURST", default_value_t = 2_000)]
    pub api_rate_burst: u32,

    /// Seconds a server process holds an asynchronous bulk job between checkpoints; a job
    /// whose process died is resumed (by any process on the store) once this has passed.
    #[arg(long, env = "SCIM_JOB_LEASE_SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub job_lease_seconds: u32,

    /// How long `POST /events/poll` waits for an event (an RFC 8936 long poll) before it
    /// answers with none.
    #[arg(long, env = "SCIM_POLL_WAIT_SECONDS", default_value_t = 25,
          value_parser = clap::value_parser!(u32).range(1..=300))]
    pub poll_wait_seconds: u32,

    /// Advertise RFC 9967's `securityEvents` (asynchronous requests, the event URIs) in
    /// /ServiceProviderConfig. Turn it off for SCIM clients whose strict parsers predate
    /// RFC 9967 and reject unknown attributes (e.g. python scim2-models 0.12).
    #[arg(long, env = "SCIM_ADVERTISE_SECURITY_EVENTS", default_value_t = true,
          action = clap::ArgAction::Set, value_name = "true|false")]
    pub advertise_security_events: bool,

    /// Advertise draft-ietf-scim-roles-entitlements' `RolesAndEntitlements` (what /Roles
    /// and /Entitlements list) in /ServiceProviderConfig; never to a tenant of the `strict`
    /// profile. Turn it off for SCIM clients whose strict parsers reject unknown attributes.
    #[arg(long, env = "SCIM_ADVERTISE_ROLES_AND_ENTITLEMENTS", default_value_t = true,
          action = clap::ArgAction::Set, value_name = "true|false")]
    pub advertise_roles_and_entitlements: bool,

    /// Attempts to push one SET to a receiver before it becomes a dead letter.
    #[arg(long, env = "SCIM_WEBHOOK_MAX_ATTEMPTS", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub webhook_max_attempts: u32,

    /// Wait before the first retry of a failed push, in milliseconds; it doubles with each
    /// failure (less up to half of it as jitter).
    #[arg(long, env = "SCIM_WEBHOOK_FIRST_BACKOFF_MS", default_value_t = 2000,
          value_parser = clap::value_parser!(u64).range(10..=5000))]
    pub webhook_first_backoff_ms: u64,

    /// The longest wait between retries, in seconds.
    #[arg(long, env = "SCIM_WEBHOOK_MAX_BACKOFF_SECONDS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub webhook_max_backoff_seconds: u64,

    /// The longest one push (or token request) may take, in seconds.
    #[arg(long, env = "SCIM_WEBHOOK_TIMEOUT_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=120))]
    pub webhook_timeout_seconds: u64,

    /// Pushes in flight at once, per server process.
    #[arg(long, env = "SCIM_WEBHOOK_CONCURRENCY", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub webhook_concurrency: u32,
}

/// An address (a /32 or /128) or a CIDR block.
fn parse_net(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("'{text}' is not an IP address or CIDR block"))
}
