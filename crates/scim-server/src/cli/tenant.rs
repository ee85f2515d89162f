//! `tenant …`, with the values its profile flags take.

use clap::Subcommand;
use scim_core::compat::{Deactivation, PatchResponse};

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
    /// Rename a tenant, or set how the server meets its identity provider: a compatibility profile
    /// (standard, entra, okta, strict; see docs/compatibility.md), and overrides of what
    /// PATCH answers and what active=false does. The running server takes it on the
    /// tenant's next request (within --credential-cache-seconds).
    #[command(
        after_help = "Examples:\n  scim-server tenant set acme --profile entra\n  \
                            scim-server tenant set acme --on-deactivate delete --json"
    )]
    Set {
        slug: String,
        /// A new display name.
        #[arg(long)]
        name: Option<String>,
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
    /// Delete a tenant and everything it owns: users, groups, credentials, pools, rules,
    /// events, audit, jobs and webhooks. Its identity provider's credentials stop working
    /// at once. Large tenants are removed in batches without blocking the others; an
    /// interrupted deletion is finished by running it again.
    #[command(after_help = "Example:\n  scim-server tenant delete acme --yes")]
    Delete {
        slug: String,
        /// Confirm: nothing of the tenant can be recovered.
        #[arg(long)]
        yes: bool,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Make a setup link for the tenant's IT admin: it opens the tenant's portal (that
    /// tenant only) until it expires or is revoked. The link is the LAST line of stdout,
    /// shown only once.
    #[command(
        after_help = "Example:\n  scim-server tenant setup-link acme --base-url https://scim.example.com | tail -n1"
    )]
    SetupLink {
        slug: String,
        /// How long it works, in hours (default: a week; at most 30 days).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=720))]
        expires_in_hours: Option<u32>,
        /// The server's address as the admin's browser reaches it.
        #[arg(long, env = "SCIM_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
        base_url: String,
        /// Print one JSON object (`id`, `url`, `expiresAt`) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List the tenant's setup links that work (ids and expiry, never the links).
    #[command(after_help = "Example:\n  scim-server tenant setup-links acme --json")]
    SetupLinks {
        slug: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a setup link; the portal sessions it opened end with it.
    #[command(after_help = "Example:\n  scim-server tenant revoke-setup-link acme 3f9c2a7e-…")]
    RevokeSetupLink {
        slug: String,
        /// The link's id (from `tenant setup-links`).
        id: String,
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
