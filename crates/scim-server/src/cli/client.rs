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
