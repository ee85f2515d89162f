//! `scim-server`: the SCIM 2.0 license server. See `scim-server --help`.

use std::process::ExitCode;

use clap::Parser;
use scim_server::cli::{Cli, Command};

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_level = if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    scim_server::telemetry::init(cli.log_format, default_level);
    match scim_server::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
