//! The server's wiring: CLI, configuration, store selection, the HTTP server.
//! `scim-server` is the only crate that knows every adapter.

pub mod cli;
mod commands;
pub mod config;
mod config_check;
mod delivery;
mod housekeeping;
mod import;
mod jobs;
mod keys;
pub mod metrics;
mod progress;
pub mod serve;
pub mod telemetry;
pub mod tls;
pub mod wiring;

use cli::Command;

/// Runs one CLI command. Migrations run when the store is opened, so every command works
/// on a fresh database.
pub async fn run(loaded: config::Loaded) -> anyhow::Result<()> {
    // Checking the configuration must not touch (or migrate) the database.
    if let Command::Config(command) = &loaded.cli.command {
        return config_check::config(&loaded, command);
    }
    if let Command::SecretKey(cli::SecretKeyCommand::Generate { json }) = &loaded.cli.command {
        keys::generate(*json);
        return Ok(());
    }
    let cli = loaded.cli;
    let secret_keys = keys::load(
        cli.secret_keys.as_deref(),
        cli.secret_key_file.as_deref(),
        &cli.database_url,
    )?;
    let network = scim_core::outbound::NetworkPolicy {
        allow_private: cli.allow_private_webhooks,
    };
    let app = wiring::App::open(&cli.database_url, cli.pool_size, secret_keys.clone())
        .await?
        .with_network_policy(network);
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
        Command::ApiKey(command) => commands::api_key(&app, command).await,
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
        Command::SecretKey(command) => keys::secret_key(&app, &secret_keys, command).await,
        Command::SigningKey(command) => keys::signing_key(&app, command).await,
        Command::Config(_) => unreachable!("answered before the store is opened"),
    }
}
