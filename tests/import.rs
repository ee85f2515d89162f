//! `scim-server import` (directory exports through the bulk engine) and
//! `scim-server license reconcile`.

use std::process::Command;

use serde_json::Value;

use crate::helpers::{Store, cli, cli_output};

fn pool_used(store: &Store, sku: &str) -> i64 {
    let usage: Value = serde_json::from_str(&cli(
        store,
        &["license", "usage", "--tenant", "acme", "--json"],
    ))
    .expect("usage JSON");
    usage["pools"]
        .as_array()
        .expect("pools")
        .iter()
        .find(|p| p["sku"] == sku)
        .and_then(|p| p["used"].as_i64())
        .expect("the pool")
}

#[test]
fn import_provisions_a_directory_export_and_converges_when_run_again() {
    let store = Store::sqlite();
    cli(&store, &["tenant", "create", "acme"]);
    cli(
        &store,
        &[
            "license", "set", "--tenant", "acme", "--sku", "pro", "--seats", "5",
        ],
    );
    let export = tempfile::tempdir().expect("export dir");
    let csv = "userName,name.givenName,emails,active,entitlements\n\
               ann@acme.example,Ann,ann@acme.example,true,pro;beta\n\
               bob@acme.example,Bob,,true,pro\n\
               cid@acme.example,Cid,,maybe,\n";
    std::fs::write(export.path().join("a-users.csv"), csv).expect("csv");
    let json = r#"{"Resources": [{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                   "userName": "dan@acme.example", "roles": [{"value": "pro"}]}]}"#;
    std::fs::write(export.path().join("b-users.json"), json).expect("json");
    std::fs::write(export.path().join("notes.txt"), "not an export").expect("txt");
    let dir = export.path().to_string_lossy().into_owned();

    let first = cli_output(&store, &["import", "--tenant", "acme", &dir, "--json"]);
    assert_eq!(first.status.code(), Some(1), "one user failed: {first:?}");
    let report: Value = serde_json::from_slice(&first.stdout).expect("JSON");
    assert_eq!(report["created"], 3, "{report}");
    assert_eq!(report["replaced"], 0, "{report}");
    let failed = report["failed"].as_array().expect("failed");
    assert_eq!(failed.len(), 1, "{report}");
    assert_eq!(failed[0]["userName"], "cid@acme.example");
    assert_eq!(failed[0]["status"], 400);
    assert!(
        failed[0]["origin"]
            .as_str()
            .unwrap()
            .ends_with("a-users.csv:4"),
        "{report}"
    );
    assert!(
        failed[0]["detail"].as_str().unwrap().contains("active"),
        "{report}"
    );
    assert_eq!(pool_used(&store, "pro"), 3, "ann, bob and dan hold pro");
    let audit = cli(&store, &["license", "audit", "--tenant", "acme", "--json"]);
    assert!(
        audit.contains("import "),
        "the audit names the import: {audit}"
    );

    // Fixed and run again: the same users are replaced, not created twice.
    std::fs::write(
        export.path().join("a-users.csv"),
        csv.replace("maybe", "false"),
    )
    .expect("csv");
    let again = cli(&store, &["import", "--tenant", "acme", &dir]);
    assert_eq!(
        again.trim(),
        "created 1 users, replaced 3, failed 0",
        "{again}"
    );
    assert_eq!(pool_used(&store, "pro"), 3);

    let missing = cli_output(&store, &["import", "--tenant", "acme", "/nonexistent.csv"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("/nonexistent.csv"),
        "{missing:?}"
    );
}

/// A rule written into the database behind the server's back licenses nobody until
/// `license reconcile` re-evaluates the users; a second run changes nothing.
#[test]
fn reconcile_repairs_licenses_the_rules_no_longer_match() {
    let Some(store) = Store::postgres("e2e license reconcile") else {
        return;
    };
    cli(&store, &["tenant", "create", "acme"]);
    cli(
        &store,
        &[
            "license", "set", "--tenant", "acme", "--sku", "pro", "--seats", "2",
        ],
    );
    let export = tempfile::tempdir().expect("export dir");
    let csv = "userName,roles\nann,Developer\nbob,Developer\ncid,Developer\ndan,Sales\n";
    let file = export.path().join("users.csv");
    std::fs::write(&file, csv).expect("csv");
    cli(
        &store,
        &["import", "--tenant", "acme", &file.to_string_lossy()],
    );
    assert_eq!(pool_used(&store, "pro"), 0);
    let sql = "INSERT INTO license_rules (tenant_id, source, value_key, value, sku_key, sku) \
               SELECT id, 'role', 'developer', 'Developer', 'pro', 'pro' FROM tenants \
               WHERE slug = 'acme'";
    let inserted = Command::new("psql")
        .arg(store.url())
        .args(["-v", "ON_ERROR_STOP=1", "-Atc", sql])
        .output()
        .expect("psql runs");
    assert!(inserted.status.success(), "{inserted:?}");

    let out = cli(
        &store,
        &["license", "reconcile", "--tenant", "acme", "--json"],
    );
    let report: Value = serde_json::from_str(out.trim()).expect("JSON");
    assert_eq!(report["users"], 4, "{report}");
    assert_eq!(report["assigned"], 2, "{report}");
    assert_eq!(report["revoked"], 0, "{report}");
    assert_eq!(
        report["waiting"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );
    assert_eq!(pool_used(&store, "pro"), 2);

    let again = cli(&store, &["license", "reconcile", "--tenant", "acme"]);
    assert!(
        again.starts_with("re-evaluated 4 users: 0 licenses assigned, 0 revoked"),
        "{again}"
    );
}
