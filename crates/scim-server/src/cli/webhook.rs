//! `webhook …`: push receivers.

use clap::Subcommand;

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
        /// The HS256 secret (at least 32 characters); generated when not given.
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
