//! `scim-bench`: load a running SCIM server and report ops/s, p50/p99 and errors per
//! workload, as ratios to a bare HTTP handler measured in the same run.

use std::process::ExitCode;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "scim-bench",
    version,
    about = "Load a running SCIM server and report throughput and latency as ratios to the HTTP stack's ceiling. \
             Serve with --rate-limit 0: the per-tenant limit would answer the load with 429s.",
    after_help = "Example:\n  TOKEN=$(scim-server token issue --tenant bench | tail -n1)\n  \
                  scim-bench --url http://127.0.0.1:8080 --token \"$TOKEN\" --users 5000 --bulk-users 10000 --json bench.json"
)]
struct Args {
    /// The server's base URL (without /scim/v2).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// A bearer token of the tenant to load.
    #[arg(long, env = "SCIM_BENCH_TOKEN", hide_env_values = true)]
    token: String,
    /// Users created one POST each, then read, looked up, PATCHed, added to a group.
    #[arg(long, default_value_t = 2_000)]
    users: usize,
    /// Clients at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// GETs by id, and userName lookups, made each.
    #[arg(long, default_value_t = 10_000)]
    reads: usize,
    /// Users created through /Bulk, 1,000 per request (0: skip).
    #[arg(long, default_value_t = 10_000)]
    bulk_users: usize,
    /// The entitlement value every user gets (e.g. a licensed sku).
    #[arg(long)]
    sku: Option<String>,
    /// Requests made to the bare handler, GET and POST each (0: skip the ceiling).
    #[arg(long, default_value_t = 20_000)]
    ceiling_requests: usize,
    /// Keep what the run created (by default it is deleted, which is measured too).
    #[arg(long)]
    keep: bool,
    /// The store's own rate for a workload, measured in the same run (scripts/load.sh runs
    /// pgbench): NAME=OPS_PER_SECOND, repeated; create, lookup and page are compared to.
    #[arg(long = "store-ceiling", value_parser = store_ceiling)]
    store_ceilings: Vec<(String, f64)>,
    /// Also write the report as JSON here.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// A Management API key (with licenses:read): measures the license lookup too.
    #[arg(
        long,
        env = "SCIM_BENCH_API_KEY",
        hide_env_values = true,
        requires = "tenant"
    )]
    api_key: Option<String>,
    /// The slug of the tenant the token belongs to (for the license lookup).
    #[arg(long)]
    tenant: Option<String>,
}

fn store_ceiling(text: &str) -> Result<(String, f64), String> {
    let (name, rate) = text
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=OPS_PER_SECOND, got '{text}'"))?;
    let rate: f64 = rate
        .trim()
        .parse()
        .map_err(|_| format!("'{rate}' is not a rate"))?;
    Ok((name.trim().to_owned(), rate))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = scim_bench::Config {
        url: args.url,
        token: args.token,
        users: args.users,
        concurrency: args.concurrency,
        reads: args.reads,
        bulk_users: args.bulk_users,
        sku: args.sku,
        ceiling_requests: args.ceiling_requests,
        cleanup: !args.keep,
        store_ceilings: args.store_ceilings,
        license_lookup: args.api_key.zip(args.tenant),
    };
    let report = match scim_bench::run(&config) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", report.table());
    for row in &report.rows {
        for sample in &row.error_samples {
            eprintln!("{}: {sample}", row.scenario);
        }
    }
    if let Some(path) = args.json {
        let written = serde_json::to_string_pretty(&report)
            .map_err(|e| e.to_string())
            .and_then(|text| std::fs::write(&path, text).map_err(|e| e.to_string()));
        if let Err(error) = written {
            eprintln!("error: cannot write {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
    }
    if report.errors() > 0 {
        eprintln!("{} requests failed", report.errors());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
