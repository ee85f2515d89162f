//! The operator contract (DESIGN.md): commands, flags and their environment variables.

use clap::{Args, Parser, Subcommand, ValueEnum};
use scim_core::compat::{Deactivation, PatchResponse};

#[derive(Debug, Parser)]
#[command(
    name = "scim-server",
    version,
    about = "SCIM 2.0 license server: identity providers provision users, we assign seats.",
    after_help = "Examples:\n  scim-server serve\n  scim-server tenant create acme --name \"Acme Corp\"\n  scim-server token issue --tenant acme\n  scim-server --database-url postgres://postgres@127.0.0.1/scim serve --listen 0.0.0.0:8080"
)]
pub struct Cli {
    /// A TOML file of settings (keys are the flags' names: `listen = "0.0.0.0:8080"`).
    /// Precedence: flag, then SCIM_* environment variable, then this file, then the
    /// default. `scim-server config check` shows what applies.
    #[arg(long, env = "SCIM_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,

    /// `postgres://…`/`postgresql://…` selects PostgreSQL; `sqlite://PATH` or a bare path
    /// selects the embedded SQLite store.
    #[arg(
        long,
        env = "SCIM_DATABASE_URL",
        default_value = "sqlite://scim.db",
        global = true,
        hide_env_values = true
    )]
    pub database_url: String,

    /// Connections in the store's pool.
    #[arg(long, env = "SCIM_POOL_SIZE", default_value_t = 16, global = true)]
    pub pool_size: u32,

    /// The server's secret keys (base64 of 32 random bytes each, comma-separated; the first
    /// seals): they seal the secrets the database keeps (signing keys, webhook secrets) and
    /// list cursors. Every process on one database needs the same. Takes precedence over
    /// --secret-key-file. Make one with `scim-server secret-key generate`.
    #[arg(long, env = "SCIM_SECRET_KEYS", global = true, hide_env_values = true)]
    pub secret_keys: Option<String>,

    /// A file of the server's secret keys, one per line, the sealing one first (mode 0600,
    /// outside the database and its backups). Default for SQLite: the database's path with
    /// `.key` appended, created with a new key when missing; PostgreSQL needs this or
    /// --secret-keys.
    #[arg(long, env = "SCIM_SECRET_KEY_FILE", global = true, value_name = "FILE")]
    pub secret_key_file: Option<std::path::PathBuf>,

    /// Let webhook receivers and their token endpoints be on loopback, private or
    /// link-local addresses (and `http://` to this machine). Off by default: the server
    /// would otherwise call into its own network on a tenant's behalf. For tests and
    /// single-host setups.
    #[arg(long, env = "SCIM_ALLOW_PRIVATE_WEBHOOKS", global = true, default_value_t = false,
          action = clap::ArgAction::Set, value_name = "true|false", num_args = 0..=1,
          default_missing_value = "true")]
    pub allow_private_webhooks: bool,

    /// Log format on stderr.
    #[arg(long, env = "SCIM_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the SCIM API.
    #[command(after_help = "Examples:\n  scim-server serve\n  \
                            scim-server --config /etc/scim/scim.toml serve\n  \
                            SCIM_LISTEN=0.0.0.0:8443 scim-server serve --tls-cert cert.pem --tls-key key.pem")]
    Serve(ServeArgs),
    /// Provision users from a directory export (CSV or JSON files, or a folder of them)
    /// through the bulk engine: a user whose userName exists is replaced, any other is
    /// created; licenses and events follow as for an IdP's writes. Exits 1 when a user
    /// could not be imported (each is listed with why).
    #[command(
        after_help = "Examples:\n  scim-server import --tenant acme users.csv\n  \
                            scim-server import --tenant acme okta-export/ --json\n\n\
                            CSV: a header row of SCIM attributes, e.g.\n  \
                            userName,name.givenName,name.familyName,emails,active,entitlements\n  \
                            ann@acme.example,Ann,Lee,ann@acme.example,true,pro;beta\n\
                            JSON: a user, a list of users, or a ListResponse (\"Resources\")."
    )]
    Import {
        #[arg(long)]
        tenant: String,
        /// A .csv or .json file, or a directory of them.
        path: std::path::PathBuf,
        /// Print one JSON object instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// The license dashboard at /admin: make a login link for it.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The server's secret keys: make one, see what the database's secrets are sealed
    /// with, and re-seal them under the first key (rotation).
    #[command(subcommand, name = "secret-key")]
    SecretKey(SecretKeyCommand),
    /// The keys SETs are signed with (ES256, published at /.well-known/jwks.json): list
    /// them, and rotate to a new one.
    #[command(subcommand, name = "signing-key")]
    SigningKey(SigningKeyCommand),
    /// Check the configuration (flags, SCIM_* environment, --config file) and show it.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Apply the database migrations and exit (every command also applies them).
    #[command(after_help = "Examples:\n  scim-server migrate\n  \
                            SCIM_DATABASE_URL=postgres://postgres@127.0.0.1/scim scim-server migrate")]
    Migrate {
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Manage tenants: one per enterprise customer.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage the bearer tokens a tenant's identity provider authenticates with.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage a tenant's own attributes (`costCenter`…): published in its /Schemas and
    /// validated, filtered and patched like the built-in ones.
    #[command(subcommand)]
    Schema(SchemaCommand),
    /// Manage a tenant's license pools and the rules that assign them.
    #[command(subcommand)]
    License(LicenseCommand),
    /// Manage OAuth 2.0 clients (client credentials grant, or HTTP Basic).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Push a tenant's events to receivers (RFC 8935): each SET is POSTed as
    /// `application/secevent+jwt`, signed HS256 with the receiver's secret.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Show a tenant's recorded events (the outbox), oldest first, as JSON: each with its
    /// `seq`, time, subject (`sub_id`) and events (event URI → payload).
    #[command(after_help = "Examples:\n  scim-server events --tenant acme\n  \
                            scim-server events --tenant acme --after 1200 --limit 50")]
    Events {
        #[arg(long)]
        tenant: String,
        /// Only events after this `seq`.
        #[arg(long, default_value_t = 0)]
        after: i64,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Print a one-time link that logs a browser in to the dashboard (/admin) for 12 hours,
    /// seeing one tenant (--tenant) or, when asked for, every tenant (--all-tenants). The
    /// link is the LAST line of stdout; it works once, within --minutes. Anyone with the
    /// link can log in: hand it over as you would a password.
    #[command(
        name = "login-link",
        after_help = "Examples:\n  scim-server admin login-link --tenant acme\n  \
                      scim-server admin login-link --all-tenants --base-url https://scim.example.com"
    )]
    LoginLink {
        /// The one tenant the session sees.
        #[arg(
            long,
            required_unless_present = "all_tenants",
            conflicts_with = "all_tenants"
        )]
        tenant: Option<String>,
        /// The session sees every tenant.
        #[arg(long)]
        all_tenants: bool,
        /// How long the link may be used, in minutes.
        #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=1440))]
        minutes: u32,
        /// The server's address as the browser reaches it.
        #[arg(long, env = "SCIM_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
        base_url: String,
        /// Print one JSON object (`url`, `expires`) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List the dashboard sessions open now: id, what they see, when they end.
    #[command(after_help = "Example:\n  scim-server admin sessions --json")]
    Sessions {
        #[arg(long)]
        json: bool,
    },
    /// End a dashboard session at once (its browser must log in again), or every session
    /// and unused login link with --all.
    #[command(
        after_help = "Examples:\n  scim-server admin revoke 0d6b3c1e-…\n  scim-server admin revoke --all"
    )]
    Revoke {
        /// The session's id, from `admin sessions`.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SecretKeyCommand {
    /// Print a new secret key (base64 of 256 random bits) as the LAST line of stdout, to
    /// put in a key file or SCIM_SECRET_KEYS. Touches no database.
    #[command(
        after_help = "Examples:\n  scim-server secret-key generate > /etc/scim/keys && chmod 600 /etc/scim/keys\n  \
                            A rotation: put a new key FIRST in the file (keep the old one below it),\n  \
                            restart every process, run `scim-server secret-key reseal`, then remove\n  \
                            the old key and restart again (docs/security.md)."
    )]
    Generate {
        /// Print one JSON object (`key`, `id`) instead.
        #[arg(long)]
        json: bool,
    },
    /// Show the configured keys' ids and how many stored secrets each one seals.
    #[command(after_help = "Example:\n  scim-server secret-key status --json")]
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Re-seal every stored secret under the first configured key, so that the others
    /// can be removed; safe to run again.
    #[command(
        after_help = "Example:\n  SCIM_SECRET_KEYS=\"$NEW,$OLD\" scim-server secret-key reseal"
    )]
    Reseal {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SigningKeyCommand {
    /// Every stored SET signing key, when it signs, and whether it is published.
    #[command(after_help = "Example:\n  scim-server signing-key list --json")]
    List {
        #[arg(long)]
        json: bool,
    },
    /// Store a new signing key: published in the JWK Set at once, signing from
    /// --activate-in-minutes from now (every replica switches then), while the old key stays
    /// published a day longer for the SETs it signed.
    #[command(after_help = "Example:\n  scim-server signing-key rotate --activate-in-minutes 120")]
    Rotate {
        /// Minutes until the new key signs: longer than receivers cache the JWK Set.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(10..=10_080))]
        activate_in_minutes: u32,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the settings `serve` would run with and print each one's effective value
    /// (secrets masked) and where it came from; exits 1 when a setting is unusable. Takes
    /// every `serve` flag. Does not touch the database.
    #[command(
        after_help = "Examples:\n  scim-server --config scim.toml config check\n  \
                            SCIM_RATE_LIMIT=50 scim-server config check --listen 0.0.0.0:8080 --json"
    )]
    Check {
        #[command(flatten)]
        serve: Box<ServeArgs>,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print every setting as the Markdown table of docs/configuration.md.
    #[command(after_help = "Example:\n  scim-server config reference > settings.md")]
    Reference,
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Register a receiver of the tenant's events from now on. The last line of stdout is
    /// {"id": "...", "secret": "..."}: the HS256 secret, shown only once.
    #[command(after_help = "Examples:\n  \
        scim-server webhook add --tenant acme --url https://hooks.acme.example/scim-events\n  \
        SCIM_WEBHOOK_SECRET=\"$(openssl rand -base64 48)\" scim-server webhook add --tenant acme --url https://hooks.acme.example/e\n  \
        SCIM_WEBHOOK_OAUTH_CLIENT_SECRET=\"$CLIENT_SECRET\" scim-server webhook add --tenant acme \\\n      \
        --url https://hooks.acme.example/e --oauth-token-url https://login.acme.example/oauth2/token \\\n      \
        --oauth-client-id scim-push --oauth-scope events.write")]
    Add {
        #[arg(long)]
        tenant: String,
        /// Where SETs are POSTed: https:// to a public host (private, loopback and
        /// link-local addresses only with --allow-private-webhooks).
        #[arg(long)]
        url: String,
        /// The HS256 secret (at least 32 bytes); generated when not given.
        #[arg(long, env = "SCIM_WEBHOOK_SECRET", hide_env_values = true)]
        secret: Option<String>,
        /// The receiver wants an OAuth 2.0 bearer token from this token endpoint (client
        /// credentials grant).
        #[arg(long, requires_all = ["oauth_client_id", "oauth_client_secret"])]
        oauth_token_url: Option<String>,
        #[arg(long, requires = "oauth_token_url")]
        oauth_client_id: Option<String>,
        #[arg(
            long,
            env = "SCIM_WEBHOOK_OAUTH_CLIENT_SECRET",
            hide_env_values = true,
            requires = "oauth_token_url"
        )]
        oauth_client_secret: Option<String>,
        /// Scopes to ask for, space-separated.
        #[arg(long, requires = "oauth_token_url")]
        oauth_scope: Option<String>,
        /// Print only the JSON object.
        #[arg(long)]
        json: bool,
    },
    /// List the tenant's receivers with their delivery figures: delivered, retried,
    /// dead-lettered, pending, and lag (seconds since the oldest pending event).
    #[command(after_help = "Example:\n  scim-server webhook list --tenant acme --json")]
    List {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove a receiver and its queue.
    #[command(after_help = "Example:\n  scim-server webhook remove --tenant acme 0d6b3c1e-…")]
    Remove {
        #[arg(long)]
        tenant: String,
        /// The receiver id shown by `webhook add` and `webhook list`.
        id: String,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show the deliveries given up on (after --webhook-max-attempts, or rejected for good
    /// with 400); `--redrive` queues them again.
    #[command(
        after_help = "Examples:\n  scim-server webhook deadletters --tenant acme\n  \
                            scim-server webhook deadletters --tenant acme --receiver 0d6b3c1e-… --redrive"
    )]
    Deadletters {
        #[arg(long)]
        tenant: String,
        /// Only this receiver's.
        #[arg(long)]
        receiver: Option<String>,
        /// Queue them again, due now, with a fresh count of attempts.
        #[arg(long)]
        redrive: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Create an OAuth 2.0 client; the last line of stdout is
    /// {"client_id": "...", "client_secret": "..."} (the secret is shown only once).
    #[command(after_help = "Example:\n  scim-server client create --tenant acme | tail -n1")]
    Create {
        #[arg(long)]
        tenant: String,
        /// Print only the JSON object.
        #[arg(long)]
        json: bool,
    },
    /// List a tenant's clients (ids, never secrets).
    #[command(after_help = "Example:\n  scim-server client list --tenant acme --json")]
    List {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a client and every access token it obtained.
    #[command(after_help = "Example:\n  scim-server client revoke --tenant acme 3f9c2a7e-…")]
    Revoke {
        #[arg(long)]
        tenant: String,
        /// The client_id.
        id: String,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

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

    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "SCIM_WORKERS")]
    pub workers: Option<usize>,

    /// How long an accepted bearer token is remembered, in seconds, before it is looked up
    /// in the store again; 0 looks every request's token up. A token revoked from another
    /// process keeps working on this one for at most this long (see docs/security.md).
    #[arg(long, env = "SCIM_CREDENTIAL_CACHE_SECONDS", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(0..=60))]
    pub credential_cache_seconds: u32,

    /// Requests per second each tenant may sustain, per server process; beyond it (and
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

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    #[command(after_help = "Example:\n  scim-server tenant create acme --name \"Acme Corp\"")]
    Create {
        /// Short name: 1-63 of a-z, 0-9 and '-'.
        slug: String,
        /// Display name (defaults to the slug).
        #[arg(long)]
        name: Option<String>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Require a TLS client certificate (mTLS) of a tenant's identity provider: pins the
    /// SHA-256 fingerprint of the certificate in PEM file(s); `--none` removes the pins.
    #[command(
        name = "client-cert",
        after_help = "Examples:\n  scim-server tenant client-cert acme --cert entra-client.pem\n  \
                      scim-server tenant client-cert acme --none"
    )]
    ClientCert {
        slug: String,
        /// PEM certificate(s) to pin (repeat to allow several, e.g. during a rotation).
        #[arg(
            long = "cert",
            required_unless_present = "none",
            conflicts_with = "none"
        )]
        certs: Vec<std::path::PathBuf>,
        /// Remove the pins: no client certificate is required.
        #[arg(long)]
        none: bool,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Set how the server meets a tenant's identity provider: a compatibility profile
    /// (standard, entra, okta, strict; see docs/compatibility.md), and overrides of what
    /// PATCH answers and what active=false does. The running server takes it on the
    /// tenant's next request (within --credential-cache-seconds).
    #[command(
        after_help = "Examples:\n  scim-server tenant set acme --profile entra\n  \
                            scim-server tenant set acme --on-deactivate delete --json"
    )]
    Set {
        slug: String,
        /// standard, entra, okta or strict (resets the overrides to the profile's).
        #[arg(long)]
        profile: Option<String>,
        /// resource (200 with the resource), no-content (204) or no-content-for-groups.
        #[arg(long, value_parser = parse_patch_response)]
        patch_response: Option<PatchResponse>,
        /// keep (the user stays, inactive, its licenses revoked) or delete (hard delete).
        #[arg(long, value_parser = parse_deactivation)]
        on_deactivate: Option<Deactivation>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List tenants.
    #[command(
        after_help = "Examples:\n  scim-server tenant list\n  scim-server tenant list --json"
    )]
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Define an attribute of the tenant's Users (or Groups), in an extension schema. The
    /// running server takes it on the tenant's next request (within
    /// --credential-cache-seconds).
    #[command(after_help = "Examples:\n  \
        scim-server schema add --tenant acme --name costCenter\n  \
        scim-server schema add --tenant acme --name level --type integer\n  \
        scim-server schema add --tenant acme --name badges --multi-valued \\\n    \
        --schema urn:ietf:params:scim:schemas:extension:acme:2.0:User")]
    Add {
        #[arg(long)]
        tenant: String,
        /// The attribute's name: a letter, then letters, digits, '-' or '_'.
        #[arg(long)]
        name: String,
        /// string, boolean, integer, decimal or dateTime.
        #[arg(long = "type", default_value = "string")]
        ty: String,
        /// User or Group.
        #[arg(long, default_value = "User")]
        resource: String,
        /// The extension schema's URN (default: urn:scim-license:schemas:extension:custom:2.0:<resource>).
        #[arg(long)]
        schema: Option<String>,
        /// The attribute holds a list of values.
        #[arg(long)]
        multi_valued: bool,
        /// Compare its values case-sensitively (filters, uniqueness of nothing: SCIM's caseExact).
        #[arg(long)]
        case_exact: bool,
        /// Writes must carry it (once the extension is in a resource's schemas).
        #[arg(long)]
        required: bool,
        /// What it means, as /Schemas shows.
        #[arg(long, default_value = "")]
        description: String,
        /// Print the tenant's attributes as one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List a tenant's own attributes.
    #[command(after_help = "Example:\n  scim-server schema list --tenant acme --json")]
    List {
        #[arg(long)]
        tenant: String,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove a tenant attribute. Values already stored stay in the resources, unshown and
    /// unchecked, until a write replaces them.
    #[command(after_help = "Example:\n  scim-server schema remove --tenant acme --name costCenter")]
    Remove {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        /// User or Group (for the default schema URN).
        #[arg(long, default_value = "User")]
        resource: String,
        /// The extension schema's URN (default: the custom extension of --resource).
        #[arg(long)]
        schema: Option<String>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a bearer token; it is printed once, as the last line of stdout. It expires
    /// after a year unless told otherwise.
    #[command(
        after_help = "Examples:\n  TOKEN=$(scim-server token issue --tenant acme | tail -n1)\n  \
                            scim-server token issue --tenant acme --expires-in-days 90"
    )]
    Issue {
        #[arg(long)]
        tenant: String,
        /// Let the token expire after this many days (default: 365).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650),
              conflicts_with = "never_expires")]
        expires_in_days: Option<u32>,
        /// A token that never expires: only for what cannot rotate its credential.
        #[arg(long)]
        never_expires: bool,
        /// Print one JSON object (`id`, `token`, `expires`) as the last line instead.
        #[arg(long)]
        json: bool,
    },
    /// List a tenant's tokens (ids and hints, never the secrets).
    #[command(after_help = "Example:\n  scim-server token list --tenant acme --json")]
    List {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id.
    #[command(after_help = "Example:\n  scim-server token revoke --tenant acme 8d2f61b0-…")]
    Revoke {
        #[arg(long)]
        tenant: String,
        /// The token id shown by `token list`.
        id: String,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum LicenseCommand {
    /// Create a license pool, or change its seats (and name).
    #[command(
        after_help = "Examples:\n  scim-server license set --tenant acme --sku pro --seats 50 --name \"Pro plan\"\n  \
                            scim-server license set --tenant acme --sku pro --seats 60"
    )]
    Set {
        #[arg(long)]
        tenant: String,
        /// The pool's sku: letters, digits, '-', '_', '.', ':' (compared case-insensitively).
        #[arg(long)]
        sku: String,
        /// Seats bought. Lowering them below their use keeps every holder's seat.
        #[arg(long)]
        seats: i64,
        /// Display name (defaults to the sku).
        #[arg(long)]
        name: Option<String>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Map an entitlement value, a role value or a group to a pool's sku. (A value equal
    /// to a sku maps to it without a rule.)
    #[command(
        after_help = "Examples:\n  scim-server license map --tenant acme --role \"Developer\" --sku pro\n  \
                            scim-server license map --tenant acme --group \"Engineering\" --sku pro\n  \
                            scim-server license map --tenant acme --entitlement \"premium\" --sku pro"
    )]
    Map(RuleArgs),
    /// Remove a mapping rule: the users it alone granted the sku lose it.
    #[command(
        after_help = "Example:\n  scim-server license unmap --tenant acme --group \"Engineering\" --sku pro"
    )]
    Unmap(RuleArgs),
    /// Print the audit log of license assignments and revocations, oldest first.
    #[command(
        after_help = "Examples:\n  scim-server license audit --tenant acme\n  \
                            scim-server license audit --tenant acme --user 2819c223-7f76-453a-919d-413861904646 --since 2026-11-01T00:00:00Z"
    )]
    Audit {
        #[arg(long)]
        tenant: String,
        /// Only this user's entries (its SCIM id).
        #[arg(long)]
        user: Option<String>,
        /// Only entries from this time on (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Re-evaluate every user's licenses against the pools and rules, while seats last,
    /// 1,000 users per transaction: repairs licenses changed behind the server's back
    /// (e.g. rows edited in the database). Writes keep licenses in line on their own, so on
    /// a healthy store it changes nothing.
    #[command(
        after_help = "Examples:\n  scim-server license reconcile --tenant acme\n  \
                            scim-server license reconcile --tenant acme --json"
    )]
    Reconcile {
        #[arg(long)]
        tenant: String,
        /// Print one JSON object instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Show the pools' seats and use, the mapping rules, and the entitlement and role values
    /// that map to nothing.
    #[command(after_help = "Example:\n  scim-server license usage --tenant acme --json")]
    Usage {
        #[arg(long)]
        tenant: String,
        /// Print one JSON object instead of tables.
        #[arg(long)]
        json: bool,
    },
}

/// A mapping rule: a tenant's value of one source, and the sku it grants.
#[derive(Debug, Args)]
pub struct RuleArgs {
    #[arg(long)]
    pub tenant: String,
    #[command(flatten)]
    pub source: MapSource,
    #[arg(long)]
    pub sku: String,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What a mapping rule reads: exactly one of these.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct MapSource {
    /// A value of the users' `entitlements` (what Okta and most SCIM clients send).
    #[arg(long)]
    pub entitlement: Option<String>,
    /// A value of the users' `roles` (Entra ID sends app role assignments there).
    #[arg(long)]
    pub role: Option<String>,
    /// A group's displayName: its members, direct or through nested groups, hold the sku.
    #[arg(long)]
    pub group: Option<String>,
}

fn parse_patch_response(text: &str) -> Result<PatchResponse, String> {
    match text {
        "resource" => Ok(PatchResponse::Resource),
        "no-content" => Ok(PatchResponse::NoContent),
        "no-content-for-groups" => Ok(PatchResponse::NoContentForGroups),
        other => Err(format!(
            "'{other}': use resource, no-content or no-content-for-groups"
        )),
    }
}

fn parse_deactivation(text: &str) -> Result<Deactivation, String> {
    match text {
        "keep" => Ok(Deactivation::Keep),
        "delete" => Ok(Deactivation::Delete),
        other => Err(format!("'{other}': use keep or delete")),
    }
}
