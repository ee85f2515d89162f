//! The load tool (`scim-bench`) against the real server, small: every workload runs and
//! checks what it gets back, the figures add up, and the cleanup leaves nothing behind.

use scim_bench::{Ceiling, Config};

use crate::helpers::{Server, Store, cli, tenant_with_token};

#[test]
fn the_load_tool_runs_every_workload_and_cleans_up() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    cli(
        &store,
        &[
            "license", "set", "--tenant", "acme", "--sku", "pro", "--seats", "5000",
        ],
    );
    let api_key = cli(
        &store,
        &[
            "api-key",
            "create",
            "--name",
            "bench",
            "--scope",
            "licenses:read",
        ],
    )
    .lines()
    .last()
    .expect("the key")
    .to_owned();
    // A load test is not a runaway client: the per-tenant rate limit is off.
    let server = Server::start_with(
        store,
        &["--rate-limit", "0", "--api-rate-limit", "0"],
        "warn",
        std::process::Stdio::inherit(),
    );
    let config = Config {
        url: server.base.clone(),
        token: token.clone(),
        users: 130,
        concurrency: 4,
        reads: 200,
        bulk_users: 1_500,
        sku: Some("pro".into()),
        ceiling_requests: 300,
        cleanup: true,
        // Store ceilings as scripts/load.sh passes them from pgbench (made up here: the
        // test checks the arithmetic, not PostgreSQL).
        store_ceilings: vec![("create".into(), 1_000.0), ("lookup".into(), 2_000.0)],
        license_lookup: Some((api_key, "acme".into())),
    };
    let report = scim_bench::run(&config).expect("the run");
    println!("{}", report.table());
    assert_eq!(report.errors(), 0, "{report:#?}");
    let ops = |scenario: &str| report.row(scenario).expect(scenario).stats.ops;
    assert_eq!(ops("create"), 130);
    assert_eq!((ops("get"), ops("lookup")), (200, 200));
    assert_eq!(
        ops("license lookup"),
        200,
        "each found its user holding pro"
    );
    assert_eq!(ops("page"), 2, "130 users in pages of 100");
    assert_eq!(ops("patch"), 130);
    assert_eq!(ops("group add 100"), 2, "two PATCHes of up to 100 members");
    assert_eq!(ops("bulk"), 1_500);
    assert_eq!(ops("delete"), 1_630);
    for row in &report.rows {
        assert!(row.stats.ops_per_second > 0.0, "{row:?}");
        assert!(row.stats.p99_ms >= row.stats.p50_ms, "{row:?}");
        match row.ceiling {
            Some(Ceiling::Get | Ceiling::Post) => {
                assert!(row.ratio.is_some_and(|r| r > 0.0), "{row:?}");
            }
            None => assert!(row.scenario.starts_with("ceiling"), "{row:?}"),
        }
    }
    assert!(report.table().contains("| lookup | 200 |"));
    for scenario in ["create", "bulk", "get", "lookup", "license lookup"] {
        let row = report.row(scenario).expect(scenario);
        let ceiling = if matches!(scenario, "create" | "bulk") {
            1_000.0
        } else {
            2_000.0
        };
        assert_eq!(
            row.store_ratio,
            Some(row.stats.ops_per_second / ceiling),
            "{row:?}"
        );
    }
    let page = report.row("page").expect("page");
    assert_eq!(
        (page.store_ceiling.as_deref(), page.store_ratio),
        (None, None)
    );
    assert!(
        report.table().contains("| create | 1000 |"),
        "{}",
        report.table()
    );
    // The cleanup removed the users, and with them their seats.
    let left = server.get("/scim/v2/Users?count=1", &token);
    assert_eq!(left.json["totalResults"], 0, "{}", left.text);
    let usage = cli(
        &server.store,
        &["license", "usage", "--tenant", "acme", "--json"],
    );
    let usage: serde_json::Value = serde_json::from_str(usage.trim()).expect("JSON");
    assert_eq!(usage["pools"][0]["used"], 0, "{usage}");

    // A wrong token stops the run before any load.
    let refused = scim_bench::run(&Config {
        token: "scim_wrong".into(),
        ..config
    });
    assert!(refused.is_err_and(|e| e.contains("401")));
}
