//! How adding members to a large group scales: 100 members per PATCH, Entra's shape, until
//! the group holds `BENCH_MEMBERS` members (default 100,000), against the real server on a
//! fresh PostgreSQL database (or SQLite with `BENCH_STORE=sqlite`).
//!
//! Reports the median time per PATCH around 1k, 10k and 100k members, each also as a ratio
//! to the first window and to the stack's ceiling measured in the same run (an
//! authenticated `GET /ServiceProviderConfig`, which touches the token check only).
//! Writes `group_members.json` under cargo's `target/tmp`.
//!
//! Run: `cargo bench -p scim-server --bench group_members` (release build).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark: a failure should stop it loudly"
)]

#[allow(
    dead_code,
    reason = "shared with the acceptance tests; the bench uses a part"
)]
#[path = "../../../tests/helpers.rs"]
mod helpers;
mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use support::{env_or, median, timed};

use helpers::{Server, Store, USER_SCHEMA, tenant_with_token};
use serde_json::{Value, json};

const BATCH: usize = 100;
const WINDOW: usize = 20;
const ANALYZE_EVERY: usize = 10_000;

fn main() {
    let total: usize = env_or("BENCH_MEMBERS", 100_000);
    let store = match std::env::var("BENCH_STORE").as_deref() {
        Ok("sqlite") => Store::sqlite(),
        _ => Store::postgres("group_members bench")
            .expect("PostgreSQL is required for this benchmark"),
    };
    let token = tenant_with_token(&store, "bench");
    // The load is the point here: no rate limit.
    let server = Server::start_with(store, &["--rate-limit", "0"], "warn", Stdio::inherit());

    // PostgreSQL plans from table statistics, which autovacuum (on by default) refreshes as
    // a table grows. Machines that run it with autovacuum off never gather them, and every
    // indexed lookup then risks a scan of the tenant, so the load analyzes every
    // `ANALYZE_EVERY` users as autovacuum would; BENCH_ANALYZE=0 measures without.
    let analyze = || {
        if let Store::Postgres(database) = &server.store
            && env_or("BENCH_ANALYZE", 1) == 1
        {
            scim_testkit::postgres::execute(database.url(), "ANALYZE");
        }
    };
    eprintln!("creating {total} users…");
    let started = Instant::now();
    let mut ids = Vec::with_capacity(total);
    for from in (0..total).step_by(ANALYZE_EVERY) {
        let to = (from + ANALYZE_EVERY).min(total);
        ids.extend(create_users(&server, &token, from..to));
        analyze();
    }
    eprintln!(
        "created {total} users in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let ceiling = median((0..200).map(|_| {
        timed(|| {
            let reply = server.get("/scim/v2/ServiceProviderConfig", &token);
            assert_eq!(reply.status, 200);
        })
    }));

    let group = server.post(
        "/scim/v2/Groups",
        &token,
        &json!({"schemas": [helpers::GROUP_SCHEMA], "displayName": "Everyone"}),
    );
    assert_eq!(group.status, 201, "{}", group.text);
    let path = format!(
        "/scim/v2/Groups/{}?excludedAttributes=members",
        group.json["id"].as_str().expect("id")
    );

    let marks: Vec<usize> = [1_000, 10_000, 100_000]
        .into_iter()
        .filter(|m| *m <= total)
        .collect();
    let mut samples: Vec<(usize, Duration)> = Vec::with_capacity(total / BATCH);
    for (n, chunk) in ids.chunks(BATCH).enumerate() {
        let value: Vec<Value> = chunk.iter().map(|id| json!({"value": id})).collect();
        let body = json!({
            "schemas": [helpers::PATCH_OP],
            "Operations": [{"op": "Add", "path": "members", "value": value}],
        })
        .to_string();
        let elapsed = timed(|| {
            let reply = server.send("PATCH", &path, Some(&token), &[], Some(body.as_bytes()));
            assert_eq!(reply.status, 200, "{}", reply.text);
        });
        samples.push(((n + 1) * BATCH, elapsed));
    }

    // The window of PATCHes that end at each mark.
    let windows: Vec<(usize, Duration)> = marks
        .iter()
        .map(|mark| {
            let end = samples
                .iter()
                .position(|(size, _)| size >= mark)
                .expect("mark reached");
            let start = end.saturating_sub(WINDOW - 1);
            (*mark, median(samples[start..=end].iter().map(|(_, d)| *d)))
        })
        .collect();
    let first = windows.first().map_or(Duration::ZERO, |(_, d)| *d);
    println!("| members | median ms per PATCH of {BATCH} | vs 1k | vs ceiling |");
    println!("|---:|---:|---:|---:|");
    let mut rows = Vec::new();
    for (mark, median) in &windows {
        let vs_first = median.as_secs_f64() / first.as_secs_f64();
        let vs_ceiling = median.as_secs_f64() / ceiling.as_secs_f64();
        println!(
            "| {mark} | {:.2} | {vs_first:.2}× | {vs_ceiling:.1}× |",
            median.as_secs_f64() * 1000.0
        );
        rows.push(json!({"members": mark, "median_ms": median.as_secs_f64() * 1000.0, "vs_first": vs_first, "vs_ceiling": vs_ceiling}));
    }
    println!(
        "ceiling (GET /ServiceProviderConfig): {:.3} ms",
        ceiling.as_secs_f64() * 1000.0
    );
    let report = json!({"batch": BATCH, "window": WINDOW, "ceiling_ms": ceiling.as_secs_f64() * 1000.0, "windows": rows});
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("group_members.json");
    std::fs::write(&out, report.to_string()).expect("write report");
    eprintln!("wrote {}", out.display());
}

fn create_users(server: &Server, token: &str, range: std::ops::Range<usize>) -> Vec<String> {
    const THREADS: usize = 8;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let range = range.clone();
                scope.spawn(move || {
                    (range.start + t..range.end)
                        .step_by(THREADS)
                        .map(|n| {
                            let body = json!({"schemas": [USER_SCHEMA], "userName": format!("member{n:07}@example.com")});
                            let reply = server.post("/scim/v2/Users", token, &body);
                            assert_eq!(reply.status, 201, "{}", reply.text);
                            reply.json["id"].as_str().expect("id").to_owned()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("creator thread"))
            .collect()
    })
}
