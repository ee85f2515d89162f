//! A first sync through `/Bulk`: `BENCH_USERS` users (default 10,000), each with a license
//! (entitlement `pro`), 1,000 POSTs per request, on SQLite and on PostgreSQL, against the
//! release server.
//!
//! Reports users per second for the bulk path, and in the same run the same work done one
//! POST per user (the first `BENCH_SINGLE` users, default 1,000) and the stack's ceiling (an
//! authenticated `GET /ServiceProviderConfig`), so the figures read as ratios. Then a
//! re-sync: every bulk user PATCHed (Entra's shape) through `/Bulk`, against one PATCH per
//! request for the single users. Writes
//! `bulk_provisioning.json` under cargo's `target/tmp`.
//!
//! Run: `cargo bench -p scim-server --bench bulk_provisioning`.

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
use std::time::Instant;

use support::{env_or, median, timed};

use helpers::{Server, Store, USER_SCHEMA, cli, tenant_with_token};
use serde_json::{Value, json};

const PER_REQUEST: usize = 1_000;

fn main() {
    let users: usize = env_or("BENCH_USERS", 10_000);
    let single: usize = env_or("BENCH_SINGLE", 1_000);
    let mut rows = Vec::new();
    println!(
        "| store | bulk users/s | single-POST users/s | bulk ÷ single | ms per user ÷ ceiling \
         | bulk PATCH users/s | single PATCH users/s | bulk ÷ single |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for name in ["sqlite", "postgres"] {
        let store = match name {
            "sqlite" => Store::sqlite(),
            _ => Store::postgres("bulk_provisioning bench")
                .expect("PostgreSQL is required for this benchmark"),
        };
        rows.push(run(name, store, users, single));
    }
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bulk_provisioning.json");
    std::fs::write(&out, Value::Array(rows).to_string()).expect("write report");
    eprintln!("wrote {}", out.display());
}

fn run(name: &str, store: Store, users: usize, single: usize) -> Value {
    let token = tenant_with_token(&store, "bench");
    cli(
        &store,
        &[
            "license",
            "set",
            "--tenant",
            "bench",
            "--sku",
            "pro",
            "--seats",
            &(users + single).to_string(),
        ],
    );
    let analyze = |server: &Server| {
        if let Store::Postgres(database) = &server.store {
            scim_testkit::postgres::execute(database.url(), "ANALYZE");
        }
    };
    let server = Server::start_with(store, &["--rate-limit", "0"], "warn", Stdio::inherit());
    let ceiling = median((0..200).map(|_| {
        timed(|| {
            assert_eq!(
                server.get("/scim/v2/ServiceProviderConfig", &token).status,
                200
            );
        })
    }));

    // One POST per user.
    let started = Instant::now();
    let mut single_ids = Vec::with_capacity(single);
    for n in 0..single {
        let reply = server.post("/scim/v2/Users", &token, &user(&format!("single{n}")));
        assert_eq!(reply.status, 201, "{}", reply.text);
        single_ids.push(reply.json["id"].as_str().expect("id").to_owned());
    }
    let single_rate = single as f64 / started.elapsed().as_secs_f64();
    analyze(&server);

    // The same users' kind through /Bulk, PER_REQUEST per request.
    let started = Instant::now();
    let mut bulk_ids = Vec::with_capacity(users);
    for from in (0..users).step_by(PER_REQUEST) {
        let operations: Vec<Value> = (from..(from + PER_REQUEST).min(users))
            .map(|n| json!({"method": "POST", "path": "/Users", "bulkId": format!("b{n}"), "data": user(&format!("bulk{n}"))}))
            .collect();
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": operations});
        let reply = server.post("/scim/v2/Bulk", &token, &body);
        assert_eq!(reply.status, 200, "{}", reply.text);
        let created = reply.json["Operations"]
            .as_array()
            .expect("Operations")
            .iter()
            .filter(|op| op["status"] == "201")
            .count();
        assert_eq!(
            created,
            operations.len(),
            "every user got created: {}",
            reply.text
        );
        bulk_ids.extend(
            reply.json["Operations"]
                .as_array()
                .expect("Operations")
                .iter()
                .map(|op| {
                    op["location"]
                        .as_str()
                        .expect("location")
                        .rsplit('/')
                        .next()
                        .expect("id")
                        .to_owned()
                }),
        );
        analyze(&server);
    }
    let bulk_rate = users as f64 / started.elapsed().as_secs_f64();

    // The re-sync: one PATCH per user, then the bulk users' PATCHes through /Bulk.
    let started = Instant::now();
    for id in &single_ids {
        let reply = server.patch(&format!("/scim/v2/Users/{id}"), &token, &rename());
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    let single_patch_rate = single as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for chunk in bulk_ids.chunks(PER_REQUEST) {
        let operations: Vec<Value> = chunk
            .iter()
            .map(|id| json!({"method": "PATCH", "path": format!("/Users/{id}"), "data": {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": rename()}}))
            .collect();
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": operations});
        let reply = server.post("/scim/v2/Bulk", &token, &body);
        assert_eq!(reply.status, 200, "{}", reply.text);
        let patched = reply.json["Operations"]
            .as_array()
            .expect("Operations")
            .iter()
            .filter(|op| op["status"] == "200")
            .count();
        assert_eq!(
            patched,
            chunk.len(),
            "every user got patched: {}",
            reply.text
        );
    }
    let bulk_patch_rate = bulk_ids.len() as f64 / started.elapsed().as_secs_f64();

    let usage = cli(
        &server.store,
        &["license", "usage", "--tenant", "bench", "--json"],
    );
    let usage: Value = serde_json::from_str(usage.trim()).expect("usage json");
    assert_eq!(
        usage["pools"][0]["used"].as_u64(),
        Some((users + single) as u64),
        "every user holds a seat"
    );

    let per_user_vs_ceiling = (1.0 / bulk_rate) / ceiling.as_secs_f64();
    println!(
        "| {name} | {bulk_rate:.0} | {single_rate:.0} | {:.1}× | {per_user_vs_ceiling:.1}× \
         | {bulk_patch_rate:.0} | {single_patch_rate:.0} | {:.1}× |",
        bulk_rate / single_rate,
        bulk_patch_rate / single_patch_rate
    );
    json!({
        "store": name,
        "users": users,
        "bulk_users_per_s": bulk_rate,
        "single_users_per_s": single_rate,
        "ceiling_ms": ceiling.as_secs_f64() * 1000.0,
        "bulk_ms_per_user_vs_ceiling": per_user_vs_ceiling,
        "bulk_patch_users_per_s": bulk_patch_rate,
        "single_patch_users_per_s": single_patch_rate,
    })
}

/// Entra ID's PATCH of a changed display name.
fn rename() -> Value {
    json!([{"op": "Replace", "path": "displayName", "value": "Renamed by the re-sync"}])
}

fn user(name: &str) -> Value {
    json!({"schemas": [USER_SCHEMA], "userName": format!("{name}@example.com"), "entitlements": [{"value": "pro"}]})
}
