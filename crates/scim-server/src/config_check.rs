//! `scim-server config check` and `config reference`.

use std::net::ToSocketAddrs;

use serde_json::json;

use crate::cli::{ConfigCommand, ServeArgs};
use crate::config::{Loaded, reference};

/// Answers a `config` command; `check` fails (exit 1) when a setting is unusable.
pub(crate) fn config(loaded: &Loaded, command: &ConfigCommand) -> anyhow::Result<()> {
    match command {
        ConfigCommand::Reference => {
            print!("{}", reference());
            Ok(())
        }
        ConfigCommand::Check { serve, json } => {
            let problems = problems(&loaded.cli.database_url, serve);
            let effective = loaded.effective();
            if *json {
                let settings: Vec<_> = effective
                    .iter()
                    .map(|e| json!({"name": e.name, "value": e.value, "source": e.source.to_string()}))
                    .collect();
                let file = loaded.file.as_ref().map(|f| f.display().to_string());
                println!(
                    "{}",
                    json!({"file": file, "valid": problems.is_empty(), "problems": problems, "settings": settings})
                );
            } else {
                println!("{:<32} {:<40} SOURCE", "SETTING", "VALUE");
                for e in &effective {
                    let value = e.value.as_deref().unwrap_or("(unset)");
                    println!("{:<32} {:<40} {}", e.name, value, e.source);
                }
                if problems.is_empty() {
                    println!("configuration OK");
                }
            }
            anyhow::ensure!(
                problems.is_empty(),
                "the configuration is unusable:\n  {}",
                problems.join("\n  ")
            );
            Ok(())
        }
    }
}

/// What would stop `serve` from starting with these settings, beyond what the flags'
/// parsers already refused: the database URL, the listen address, the public URL and the
/// TLS files. The database itself is not contacted.
fn problems(database_url: &str, serve: &ServeArgs) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(error) = scim_store::Database::from_url(database_url) {
        problems.push(format!(
            "database-url {}: {error}",
            crate::wiring::redact_url(database_url)
        ));
    }
    match serve.listen.to_socket_addrs().map(|mut addrs| addrs.next()) {
        Ok(Some(_)) => {}
        Ok(None) => problems.push(format!("listen {}: resolves to no address", serve.listen)),
        Err(error) => problems.push(format!("listen {}: {error}", serve.listen)),
    }
    if let Some(public) = &serve.public_url
        && !(public.starts_with("https://") || public.starts_with("http://"))
    {
        problems.push(format!(
            "public-url {public}: must be an absolute http:// or https:// URL"
        ));
    }
    match (&serve.tls_cert, &serve.tls_key) {
        (Some(cert), Some(key)) => {
            if let Err(error) = crate::tls::server_config(cert, key) {
                problems.push(format!("tls-cert/tls-key: {error:#}"));
            }
        }
        (None, None) => {}
        _ => problems.push(crate::serve::HALF_TLS.to_owned()),
    }
    problems
}
