//! `admin …`: the dashboard's login links and sessions.

use clap::Subcommand;

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
