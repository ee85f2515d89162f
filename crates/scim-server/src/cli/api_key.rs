//! `api-key …`: the vendor's keys for the Management API.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Make an API key for the Management API (/api/v1); it is printed once, as the last
    /// line of stdout, and kept only as its hash. Scopes: admin (everything; the default),
    /// tenants:read, tenants:write, licenses:read, licenses:write, credentials:write,
    /// portal:write, events:read (a `…:write` scope includes its `…:read`).
    #[command(
        after_help = "Examples:\n  KEY=$(scim-server api-key create --name billing --scope licenses:write | tail -n1)\n  \
                      scim-server api-key create --name signup --scope tenants:write --scope credentials:write --expires-in-days 365"
    )]
    Create {
        /// What the key is for (`billing`, `signup`): shown in listings.
        #[arg(long)]
        name: String,
        /// A scope the key holds (repeat for several; none: admin).
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// Let the key expire after this many days (default: never).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
        expires_in_days: Option<u32>,
        /// Print one JSON object (the key's fields and `key`) as the last line instead.
        #[arg(long)]
        json: bool,
    },
    /// List the API keys (ids, names, scopes, hints, last use; never the keys).
    #[command(after_help = "Example:\n  scim-server api-key list --json")]
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke an API key by its id: it stops working at once (within 10 s on other
    /// processes).
    #[command(after_help = "Example:\n  scim-server api-key revoke 8d2f61b0-…")]
    Revoke {
        /// The key's id shown by `api-key list`.
        id: String,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}
