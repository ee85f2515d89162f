//! `token …`: SCIM bearer tokens.

use clap::Subcommand;

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
