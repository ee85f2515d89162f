//! `secret-key …` and `signing-key …`.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum SecretKeyCommand {
    /// Print a new secret key (base64 of 256 random bits) as the LAST line of stdout, to
    /// put in a key file or SCIM_SECRET_KEYS. Touches no database.
    #[command(
        after_help = "Examples:\n  scim-server secret-key generate > /etc/scim/keys && chmod 600 /etc/scim/keys\n  \
                            A rotation: put a new key FIRST in the file (keep the old one below it),\n  \
                            restart every process, run `scim-server secret-key reseal`, then remove\n  \
                            the old key and restart again (docs/security.md)."
    )]
    Generate {
        /// Print one JSON object (`key`, `id`) instead.
        #[arg(long)]
        json: bool,
    },
    /// Show the configured keys' ids and how many stored secrets each one seals.
    #[command(after_help = "Example:\n  scim-server secret-key status --json")]
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Re-seal every stored secret under the first configured key, so that the others
    /// can be removed; safe to run again.
    #[command(
        after_help = "Example:\n  SCIM_SECRET_KEYS=\"$NEW,$OLD\" scim-server secret-key reseal"
    )]
    Reseal {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SigningKeyCommand {
    /// Every stored SET signing key, when it signs, and whether it is published.
    #[command(after_help = "Example:\n  scim-server signing-key list --json")]
    List {
        #[arg(long)]
        json: bool,
    },
    /// Store a new signing key: published in the JWK Set at once, signing from
    /// --activate-in-minutes from now (every replica switches then), while the old key stays
    /// published a day longer for the SETs it signed.
    #[command(after_help = "Example:\n  scim-server signing-key rotate --activate-in-minutes 120")]
    Rotate {
        /// Minutes until the new key signs: longer than receivers cache the JWK Set.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(10..=10_080))]
        activate_in_minutes: u32,
        #[arg(long)]
        json: bool,
    },
}
