//! `config check|reference`.

use clap::Subcommand;

use super::ServeArgs;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the settings `serve` would run with and print each one's effective value
    /// (secrets masked) and where it came from; exits 1 when a setting is unusable. Takes
    /// every `serve` flag. Does not touch the database.
    #[command(
        after_help = "Examples:\n  scim-server --config scim.toml config check\n  \
                            SCIM_RATE_LIMIT=50 scim-server config check --listen 0.0.0.0:8080 --json"
    )]
    Check {
        #[command(flatten)]
        serve: Box<ServeArgs>,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print every setting as the Markdown table of docs/configuration.md.
    #[command(after_help = "Example:\n  scim-server config reference > settings.md")]
    Reference,
}
