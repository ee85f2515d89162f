//! `scim-server`: the SCIM 2.0 license server. See `scim-server --help`.

use std::process::ExitCode;

use scim_server::cli::Command;

#[actix_web::main]
async fn main() -> ExitCode {
    let loaded = match scim_server::config::load() {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(2);
        }
    };
    let cli = &loaded.cli;
    let default_level = if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    scim_server::telemetry::init(cli.log_format, default_level);
    match scim_server::run(loaded).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
