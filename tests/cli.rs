//! The operator CLI, also while `serve` runs on the same database.

use std::time::Duration;

use crate::helpers::{Server, Store, cli, cli_output, issue_token, tenant_with_token};

#[test]
fn tokens_are_listed_revoked_and_honoured_by_the_running_server() {
    let store = Store::sqlite();
    let first = tenant_with_token(&store, "acme");
    let server = Server::start_caching_credentials_for_a_second(store);
    let store = &server.store;

    // Issued while the server runs: usable on the next request.
    let second = issue_token(store, "acme");
    assert!(
        second.starts_with("scim_") && second.len() >= 40,
        "{second}"
    );
    assert_ne!(first, second);
    assert_eq!(server.get("/scim/v2/Users", &second).status, 200);

    let listed: serde_json::Value = serde_json::from_str(&cli(
        store,
        &["token", "list", "--tenant", "acme", "--json"],
    ))
    .expect("json");
    let tokens = listed.as_array().expect("array");
    assert_eq!(tokens.len(), 2);
    let text = listed.to_string();
    assert!(
        !text.contains(&first) && !text.contains(&second),
        "secrets are never listed"
    );
    let second_id = tokens
        .iter()
        .find(|t| second.starts_with(t["hint"].as_str().unwrap_or_default().trim_end_matches('…')))
        .and_then(|t| t["id"].as_str())
        .expect("the second token by its hint")
        .to_owned();

    cli(store, &["token", "revoke", "--tenant", "acme", &second_id]);
    // Another process revoked it: refused once the server's 1 s credential cache lets go.
    server
        .refused_within("/scim/v2/Users", &second, Duration::from_secs(5))
        .assert_error(401, None);
    assert_eq!(server.get("/scim/v2/Users", &first).status, 200);

    let tenants: serde_json::Value =
        serde_json::from_str(&cli(store, &["tenant", "list", "--json"])).expect("json");
    assert_eq!(tenants[0]["slug"], "acme");

    let duplicate = cli_output(store, &["tenant", "create", "acme"]);
    assert!(!duplicate.status.success());
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("already exists"));
    let unknown = cli_output(store, &["token", "issue", "--tenant", "nobody"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no tenant 'nobody'"));
}

/// Every command's path below the binary: `["tenant", "create"]`, …
fn command_paths(command: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
    for sub in command.get_subcommands() {
        let mut path = prefix.to_vec();
        path.push(sub.get_name().to_owned());
        out.push(path.clone());
        command_paths(sub, &path, out);
    }
}

#[test]
fn every_command_has_help_with_an_example() {
    use clap::CommandFactory;
    let mut paths = Vec::new();
    command_paths(&scim_server::cli::Cli::command(), &[], &mut paths);
    assert!(paths.len() >= 25, "{paths:?}");
    for path in paths {
        let output = std::process::Command::new(crate::helpers::server_binary())
            .args(&path)
            .arg("--help")
            .output()
            .expect("run scim-server");
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{path:?} --help: {output:?}");
        assert!(help.contains("Usage: scim-server"), "{path:?}: {help}");
        // A command with subcommands lists them; every other shows an example of itself.
        if !help.contains("\nCommands:\n") {
            let invocation = format!("scim-server {}", path.join(" "));
            assert!(
                help.contains("Example") && help.contains(&invocation),
                "{path:?} --help has no example of `{invocation}`:\n{help}"
            );
            // Output for scripts everywhere, but where it is always JSON (`events`), a
            // document (`config reference`), or the server itself.
            let exempt = ["serve", "events", "config reference"];
            if !exempt.contains(&path.join(" ").as_str()) {
                assert!(help.contains("--json"), "{path:?} has no --json:\n{help}");
            }
        }
    }
}

/// One JSON object on stdout, parsed.
fn json_of(store: &Store, args: &[&str]) -> serde_json::Value {
    let out = cli(store, args);
    assert_eq!(out.trim().lines().count(), 1, "{args:?} printed: {out}");
    serde_json::from_str(out.trim()).unwrap_or_else(|_| panic!("{args:?} printed: {out}"))
}

#[test]
fn commands_answer_one_json_object_with_json() {
    use serde_json::json;
    let store = Store::sqlite();
    assert_eq!(json_of(&store, &["migrate", "--json"])["migrated"], true);
    let tenant = json_of(
        &store,
        &["tenant", "create", "acme", "--name", "Acme", "--json"],
    );
    assert_eq!(
        (tenant["slug"].as_str(), tenant["name"].as_str()),
        (Some("acme"), Some("Acme"))
    );
    let certs = json_of(
        &store,
        &["tenant", "client-cert", "acme", "--none", "--json"],
    );
    assert_eq!(certs, json!({"slug": "acme", "clientCertificates": []}));

    let token = json_of(&store, &["token", "issue", "--tenant", "acme", "--json"]);
    let (id, secret) = (
        token["id"].as_str().unwrap(),
        token["token"].as_str().unwrap(),
    );
    // A year unless told otherwise.
    let expires = chrono::DateTime::parse_from_rfc3339(token["expires"].as_str().unwrap())
        .expect("an expiry");
    let days = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_days();
    assert!(
        secret.starts_with("scim_") && (364..=365).contains(&days),
        "{token}"
    );
    let forever = json_of(
        &store,
        &[
            "token",
            "issue",
            "--tenant",
            "acme",
            "--never-expires",
            "--json",
        ],
    );
    assert!(
        forever["expires"].is_null(),
        "only when asked for: {forever}"
    );
    let listed = cli(&store, &["token", "list", "--tenant", "acme"]);
    assert!(listed.contains(id) && !listed.contains(secret), "{listed}");
    let revoked = json_of(
        &store,
        &["token", "revoke", "--tenant", "acme", id, "--json"],
    );
    assert_eq!(revoked, json!({"revoked": id}));

    let pool = json_of(
        &store,
        &[
            "license", "set", "--tenant", "acme", "--sku", "pro", "--seats", "3", "--json",
        ],
    );
    assert_eq!(pool["pool"]["sku"], "pro");
    assert_eq!(pool["pool"]["available"], 3);
    assert_eq!(pool["reevaluation"]["assigned"], 0);
    let over = json_of(
        &store,
        &[
            "license",
            "set",
            "--tenant",
            "acme",
            "--sku",
            "pro",
            "--seats",
            "3",
            "--policy",
            "overage",
            "--overage",
            "2",
            "--json",
        ],
    );
    assert_eq!(
        (
            over["pool"]["policy"].clone(),
            over["pool"]["overage"].clone()
        ),
        (json!("overage"), json!(2))
    );
    let refused = crate::helpers::cli_output(
        &store,
        &[
            "license", "set", "--tenant", "acme", "--sku", "pro", "--seats", "3", "--policy",
            "overage",
        ],
    );
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("needs an overage allowance"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let dry = json_of(
        &store,
        &[
            "license",
            "map",
            "--tenant",
            "acme",
            "--role",
            "Dev",
            "--sku",
            "pro",
            "--dry-run",
            "--json",
        ],
    );
    assert_eq!(dry["users"], 0);
    assert_eq!(dry["pools"][0]["sku"], "pro");
    assert_eq!(dry["pools"][0]["gaining"], 0);
    let rules = json_of(&store, &["license", "usage", "--tenant", "acme", "--json"]);
    assert_eq!(rules["rules"], json!([]), "the dry run saved no rule");
    let mapped = json_of(
        &store,
        &[
            "license", "map", "--tenant", "acme", "--role", "Dev", "--sku", "pro", "--json",
        ],
    );
    assert_eq!(
        mapped["rule"],
        json!({"source": "role", "value": "Dev", "sku": "pro"})
    );
    let unmapped = json_of(
        &store,
        &[
            "license", "unmap", "--tenant", "acme", "--role", "Dev", "--sku", "pro", "--json",
        ],
    );
    assert_eq!(unmapped["removed"]["value"], "Dev");
    let reconciled = json_of(
        &store,
        &["license", "reconcile", "--tenant", "acme", "--json"],
    );
    assert_eq!(reconciled["users"], 0);

    let client = json_of(&store, &["client", "create", "--tenant", "acme", "--json"]);
    let client_id = client["client_id"].as_str().unwrap();
    assert!(client["client_secret"].as_str().unwrap().len() > 20);
    assert_eq!(
        json_of(
            &store,
            &["client", "revoke", "--tenant", "acme", client_id, "--json"]
        ),
        json!({"revoked": client_id})
    );
    let receiver = json_of(
        &store,
        &[
            "webhook",
            "add",
            "--tenant",
            "acme",
            "--url",
            "http://127.0.0.1:9/e",
            "--json",
        ],
    );
    let receiver_id = receiver["id"].as_str().unwrap();
    assert_eq!(
        json_of(
            &store,
            &[
                "webhook",
                "remove",
                "--tenant",
                "acme",
                receiver_id,
                "--json"
            ]
        ),
        json!({"removed": receiver_id})
    );
    let link = json_of(
        &store,
        &[
            "admin",
            "login-link",
            "--all-tenants",
            "--base-url",
            "https://scim.example.com",
            "--json",
        ],
    );
    assert!(
        link["url"]
            .as_str()
            .unwrap()
            .starts_with("https://scim.example.com/admin/login?code=scim_"),
        "{link}"
    );
    assert!(link["expires"].is_string(), "{link}");
}
