//! The server's wiring: CLI, configuration, store selection, the HTTP server.
//! `scim-server` is the only crate that knows every adapter.

pub mod cli;
mod commands;
pub mod config;
mod config_check;
mod delivery;
mod import;
mod jobs;
pub mod metrics;
mod progress;
pub mod serve;
pub mod telemetry;
pub mod tls;
mod usage;
pub mod wiring;

use cli::Command;

/// Runs one CLI command. Migrations run when the store is opened, so every command works
/// on a fresh database.
pub async fn run(loaded: config::Loaded) -> anyhow::Result<()> {
    // Checking the configuration must not touch (or migrate) the database.
    if let Command::Config(command) = &loaded.cli.command {
        return config_check::config(&loaded, command);
    }
    let cli = loaded.cli;
    let app = wiring::App::open(&cli.database_url, cli.pool_size).await?;
    match cli.command {
        Command::Serve(args) => serve::serve(app, args).await,
        Command::Migrate { json } => {
            let database = wiring::redact_url(&cli.database_url);
            if json {
                println!(
                    "{}",
                    serde_json::json!({"database": database, "migrated": true})
                );
            } else {
                println!("migrations applied to {database}");
            }
            Ok(())
        }
        Command::Tenant(command) => commands::tenant(&app, command).await,
        Command::Token(command) => commands::token(&app, command).await,
        Command::Schema(command) => commands::schema(&app, command).await,
        Command::License(command) => commands::license(&app, command).await,
        Command::Client(command) => commands::client(&app, command).await,
        Command::Webhook(command) => commands::webhook(&app, command).await,
        Command::Events {
            tenant,
            after,
            limit,
        } => commands::events(&app, &tenant, after, limit).await,
        Command::Admin(command) => commands::admin(&app, command).await,
        Command::Import { tenant, path, json } => {
            commands::import(&app, &tenant, &path, json).await
        }
        Command::Config(_) => unreachable!("answered before the store is opened"),
    }
}
