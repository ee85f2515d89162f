//! `client …`: OAuth clients.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Create an OAuth 2.0 client; the last line of stdout is
    /// {"client_id": "...", "client_secret": "..."} (the secret is shown only once).
    #[command(after_help = "Example:\n  scim-server client create --tenant acme | tail -n1")]
    Create {
        #[arg(long)]
        tenant: String,
        /// Let the secret expire after this many days (default: 365, as IdP galleries
        /// require). Rotate by creating a second client, switching the IdP to it, then
        /// revoking the first.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650),
              conflicts_with = "never_expires")]
        expires_in_days: Option<u32>,
        /// A secret that never expires: only for what cannot rotate its credential.
        #[arg(long)]
        never_expires: bool,
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
