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
    /// Create a federated OAuth client (RFC 7523 workload identity federation, as Entra
    /// ID's provisioning offers): it holds no secret, and gets access tokens at
    /// /oauth/token with JWTs its issuer signs. Give the four values the IdP shows; the
    /// last line of stdout is {"client_id": "...", "federation": {...}, ...}.
    #[command(
        after_help = "Example:\n  scim-server client federate --tenant acme \\\n    \
        --issuer https://login.microsoftonline.com/<tenant id>/v2.0 \\\n    \
        --jwks-url https://login.microsoftonline.com/<tenant id>/discovery/v2.0/keys \\\n    \
        --subject <object id> --audience api://<app id>"
    )]
    Federate {
        #[arg(long)]
        tenant: String,
        /// The assertions' issuer (`iss`).
        #[arg(long)]
        issuer: String,
        /// Where the issuer publishes its signing keys (https://).
        #[arg(long)]
        jwks_url: String,
        /// The assertions' subject (`sub`).
        #[arg(long)]
        subject: String,
        /// A value the assertions' audience (`aud`) must hold.
        #[arg(long)]
        audience: String,
        /// Let the client expire after this many days (default: never; revoke it to end
        /// the trust).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
        expires_in_days: Option<u32>,
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
