//! `license …`: pools, mapping rules, usage, audit, reconcile.

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum LicenseCommand {
    /// Create a license pool, or change its seats (and name).
    #[command(
        after_help = "Examples:\n  scim-server license set --tenant acme --sku pro --seats 50 --name \"Pro plan\"\n  \
                            scim-server license set --tenant acme --sku pro --seats 60\n  \
                            scim-server license set --tenant acme --sku pro --seats 60 --policy overage --overage 6\n  \
                            scim-server license set --tenant acme --sku pro --seats 60 --policy pending\n  \
                            scim-server license set --tenant acme --sku pro --seats 60 --starts 2027-01-01T00:00:00Z --ends 2028-01-01T00:00:00Z\n  \
                            scim-server license set --tenant acme --sku pro --seats 60 --ends none"
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
        /// What the pool does once its seats are all used: `strict` refuses the write
        /// (the default for a new pool), `pending` makes the write and lets the license
        /// wait, first come first served, for the next seat freed, `overage` grants up to
        /// `--overage` seats beyond them. Kept when not given.
        #[arg(long, value_parser = ["strict", "pending", "overage"])]
        policy: Option<String>,
        /// With `--policy overage`: the seats that may be granted beyond `--seats`.
        #[arg(long)]
        overage: Option<i64>,
        /// When the pool starts granting seats (RFC 3339), or `none`; before it, it grants
        /// nothing (a `pending` pool's licenses wait). Kept when not given.
        #[arg(long, value_name = "TIME")]
        starts: Option<String>,
        /// When the pool stops granting seats (RFC 3339), or `none`: its seats are then
        /// revoked (in a `pending` pool, its licenses wait again), and given back when the
        /// term is renewed. Kept when not given.
        #[arg(long, value_name = "TIME")]
        ends: Option<String>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Map an entitlement value, a role value or a group to a pool's sku. (A value equal
    /// to a sku maps to it without a rule.)
    #[command(
        after_help = "Examples:\n  scim-server license map --tenant acme --role \"Developer\" --sku pro\n  \
                            scim-server license map --tenant acme --group \"Engineering\" --sku pro\n  \
                            scim-server license map --tenant acme --entitlement \"premium\" --sku pro\n  \
                            scim-server license map --tenant acme --group \"Sales\" --sku pro --dry-run"
    )]
    Map(RuleArgs),
    /// Remove a mapping rule: the users it alone granted the sku lose it.
    #[command(
        after_help = "Examples:\n  scim-server license unmap --tenant acme --group \"Engineering\" --sku pro\n  \
                            scim-server license unmap --tenant acme --group \"Engineering\" --sku pro --dry-run"
    )]
    Unmap(RuleArgs),
    /// Print a pool's true-up over a period, from the audit log: the use at its start and
    /// end, the peak use, the most seats beyond those bought, and the seat-days over them
    /// (for an overage invoice). Measured against the seats bought now; exact while the
    /// audit log reaches back to FROM.
    #[command(
        after_help = "Examples:\n  scim-server license true-up --tenant acme --sku pro --from 2026-11-01T00:00:00Z --to 2026-12-01T00:00:00Z\n  \
                            scim-server license true-up --tenant acme --sku pro --from 2026-12-01T00:00:00Z --to 2027-01-01T00:00:00Z --json"
    )]
    TrueUp {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        sku: String,
        /// The period's start (RFC 3339).
        #[arg(long)]
        from: String,
        /// The period's end, excluded (RFC 3339); a period still running ends now.
        #[arg(long)]
        to: String,
        /// Print one JSON object instead of a summary.
        #[arg(long)]
        json: bool,
    },
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
    /// Print what the change would do to each pool (users gaining, losing or getting no
    /// seat), changing nothing.
    #[arg(long)]
    pub dry_run: bool,
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
