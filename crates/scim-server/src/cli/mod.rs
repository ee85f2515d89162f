//! The operator contract (DESIGN.md): commands, flags and their environment variables, one
//! module per command group.

mod admin;
mod api_key;
mod client;
mod config;
mod keys;
mod license;
mod schema;
mod serve;
mod tenant;
mod token;
mod webhook;

pub use admin::AdminCommand;
pub use api_key::ApiKeyCommand;
pub use client::ClientCommand;
pub use config::ConfigCommand;
pub use keys::{SecretKeyCommand, SigningKeyCommand};
pub use license::{LicenseCommand, MapSource, RuleArgs};
pub use schema::SchemaCommand;
pub use serve::ServeArgs;
pub use tenant::TenantCommand;
pub use token::TokenCommand;
pub use webhook::WebhookCommand;

use clap::{Parser, Subcommand, ValueEnum};

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

    /// Let webhook receivers, their token endpoints and federated clients' JWKS URLs be
    /// on loopback, private or link-local addresses (and `http://` to this machine). Off
    /// by default: the server would otherwise call into its own network on a tenant's
    /// behalf. For tests and single-host setups.
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
    /// Manage the vendor's API keys: the credentials of the Management API (/api/v1).
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
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
