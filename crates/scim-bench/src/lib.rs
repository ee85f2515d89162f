//! `scim-bench`: a compiled load client for a running SCIM server. It drives the workloads
//! identity providers send (creates, reads, `userName` lookups, paging, PATCH, group adds,
//! /Bulk, deletes) with a bearer token, and measures a bare actix-web handler with the
//! same client in the same run, so each figure reads as a ratio to what the HTTP stack
//! allows on this machine. See `docs/performance.md`.

mod ceiling;
mod client;
mod drive;
pub mod scenarios;
mod stats;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

pub use client::Client;
pub use drive::Measured;
pub use stats::{Stats, percentile};

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The server's base URL (without `/scim/v2`).
    pub url: String,
    /// A bearer token of the tenant to load.
    pub token: String,
    /// Users created one POST each (and then read, looked up, PATCHed, deleted).
    pub users: usize,
    /// Clients at once.
    pub concurrency: usize,
    /// GETs and lookups made, each.
    pub reads: usize,
    /// Users created through /Bulk (0: none).
    pub bulk_users: usize,
    /// The entitlement each user gets (a licensed sku), if any.
    pub sku: Option<String>,
    /// Requests to the bare handler, GET and POST each (0: no ceiling).
    pub ceiling_requests: usize,
    /// Delete what the run created at the end.
    pub cleanup: bool,
    /// The store's own rates measured in the same run (e.g. with pgbench), by name:
    /// `create` (user + assignment + event transactions/s), `lookup` (indexed point reads/s),
    /// `page` (keyset pages of 100/s); others are reported as they are.
    pub store_ceilings: Vec<(String, f64)>,
    /// A Management API key and the tenant's slug: the license lookup (`GET
    /// /api/v1/tenants/{slug}/licenses?userName=`) is measured too, after every user exists.
    pub license_lookup: Option<(String, String)>,
}

/// The store ceiling a scenario compares to: what the store alone does for the statements
/// that scenario needs at least.
fn store_ceiling_of(scenario: &str) -> Option<&'static str> {
    match scenario {
        "create" | "bulk" => Some("create"),
        "get" | "lookup" | "license lookup" => Some("lookup"),
        "page" => Some("page"),
        _ => None,
    }
}

/// Which ceiling a scenario compares to.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Ceiling {
    Get,
    Post,
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub scenario: String,
    #[serde(flatten)]
    pub stats: Stats,
    pub ceiling: Option<Ceiling>,
    /// ops/s as a fraction of the ceiling's requests/s.
    pub ratio: Option<f64>,
    /// The store ceiling it compares to, and ops/s as a fraction of it.
    pub store_ceiling: Option<String>,
    pub store_ratio: Option<f64>,
    pub note: String,
    pub error_samples: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub run: String,
    pub concurrency: usize,
    pub rows: Vec<Row>,
    pub store_ceilings: Vec<(String, f64)>,
}

impl Report {
    /// The report as a Markdown table.
    pub fn table(&self) -> String {
        let mut out = String::from(
            "| scenario | ops | ops/s | p50 ms | p99 ms | errors | ratio to HTTP ceiling | ratio to store ceiling | note |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---|\n",
        );
        for row in &self.rows {
            let ratio = match (row.ratio, row.ceiling) {
                (Some(ratio), Some(ceiling)) => format!("{:.1}% of {ceiling:?}", ratio * 100.0),
                _ => "—".into(),
            };
            let store = match (row.store_ratio, &row.store_ceiling) {
                (Some(ratio), Some(name)) => format!("{:.1}% of {name}", ratio * 100.0),
                _ => "—".into(),
            };
            out.push_str(&format!(
                "| {} | {} | {:.0} | {:.2} | {:.2} | {} | {ratio} | {store} | {} |\n",
                row.scenario,
                row.stats.ops,
                row.stats.ops_per_second,
                row.stats.p50_ms,
                row.stats.p99_ms,
                row.stats.errors,
                row.note
            ));
        }
        if !self.store_ceilings.is_empty() {
            out.push_str("\n| store ceiling | ops/s |\n|---|---:|\n");
            for (name, rate) in &self.store_ceilings {
                out.push_str(&format!("| {name} | {rate:.0} |\n"));
            }
        }
        out
    }

    pub fn row(&self, scenario: &str) -> Option<&Row> {
        self.rows.iter().find(|row| row.scenario == scenario)
    }

    /// Errors in every scenario.
    pub fn errors(&self) -> usize {
        self.rows.iter().map(|row| row.stats.errors).sum()
    }
}

/// Median of in-order latencies `from..to`, in ms.
fn median_ms(latencies: &[Duration]) -> f64 {
    let mut window = latencies.to_vec();
    window.sort_unstable();
    percentile(&window, 50.0).as_secs_f64() * 1000.0
}

/// Runs the scenarios in order against the server, then (if asked) the bare handler.
pub fn run(config: &Config) -> Result<Report, String> {
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_millis()
        .to_string();
    let client = Client::new(&config.url, Some(&config.token));
    client.expect("GET", "/scim/v2/Users?count=1", None, &[200])?;
    let mut rows: Vec<Row> = Vec::new();
    let mut push = |scenario: &str, measured: Measured, ceiling, note: String| {
        rows.push(Row {
            scenario: scenario.into(),
            stats: measured.stats,
            ceiling,
            ratio: None,
            store_ceiling: None,
            store_ratio: None,
            note,
            error_samples: measured.error_samples,
        });
    };
    let sku = config.sku.as_deref();
    let c = config.concurrency;

    let (measured, created) = scenarios::create(&client, c, &run, config.users, sku);
    let note = sku.map_or(String::new(), |sku| format!("each with entitlement {sku}"));
    push("create", measured, Some(Ceiling::Post), note);
    push(
        "get",
        scenarios::get(&client, c, &created, config.reads),
        Some(Ceiling::Get),
        String::new(),
    );
    push(
        "lookup",
        scenarios::lookup(&client, c, &created, config.reads),
        Some(Ceiling::Get),
        "filter=userName eq".into(),
    );
    let paged = scenarios::page(&client);
    let note = first_and_last(&paged.latencies, "page");
    push("page", paged, Some(Ceiling::Get), note);
    push(
        "patch",
        scenarios::patch(&client, c, &created),
        Some(Ceiling::Post),
        "Entra shape".into(),
    );
    let (adds, group) = scenarios::group_adds(&client, &created);
    let note = first_and_last(&adds.latencies, "PATCH");
    push("group add 100", adds, Some(Ceiling::Post), note);
    let mut bulk_ids = Vec::new();
    if config.bulk_users > 0 {
        let (measured, ids) = scenarios::bulk(&client, &run, config.bulk_users, sku);
        bulk_ids = ids;
        push(
            "bulk",
            measured,
            Some(Ceiling::Post),
            format!(
                "{} POSTs per request; ops = users",
                scenarios::BULK_PER_REQUEST
            ),
        );
    }
    if let Some((api_key, slug)) = &config.license_lookup {
        let api = Client::new(&config.url, Some(api_key));
        let users = created.ids.iter().flatten().count() + config.bulk_users;
        push(
            "license lookup",
            scenarios::license_lookup(&api, c, slug, &created, config.reads, sku),
            Some(Ceiling::Get),
            format!("Management API, {users} users in the tenant"),
        );
    }
    if config.cleanup {
        let mut ids: Vec<String> = created.ids.iter().flatten().cloned().collect();
        ids.extend(bulk_ids);
        push(
            "delete",
            scenarios::delete(&client, c, "Users", &ids),
            Some(Ceiling::Post),
            String::new(),
        );
        if let Some(group) = group {
            scenarios::delete(&client, 1, "Groups", &[group]);
        }
    }
    if config.ceiling_requests > 0 {
        let base = ceiling::start(2)?;
        let (get, post) = scenarios::ceiling(&base, c, config.ceiling_requests);
        let (get_rate, post_rate) = (get.stats.ops_per_second, post.stats.ops_per_second);
        push("ceiling GET", get, None, "bare actix-web handler".into());
        push(
            "ceiling POST",
            post,
            None,
            "bare handler echoing a user".into(),
        );
        for row in &mut rows {
            let rate = match row.ceiling {
                Some(Ceiling::Get) => get_rate,
                Some(Ceiling::Post) => post_rate,
                None => continue,
            };
            if rate > 0.0 {
                row.ratio = Some(row.stats.ops_per_second / rate);
            }
        }
    }
    for row in &mut rows {
        let Some(name) = store_ceiling_of(&row.scenario) else {
            continue;
        };
        let rate = config
            .store_ceilings
            .iter()
            .find(|(ceiling, _)| ceiling == name)
            .map(|(_, rate)| *rate);
        if let Some(rate) = rate.filter(|rate| *rate > 0.0) {
            row.store_ceiling = Some(name.to_owned());
            row.store_ratio = Some(row.stats.ops_per_second / rate);
        }
    }
    Ok(Report {
        run,
        concurrency: c,
        rows,
        store_ceilings: config.store_ceilings.clone(),
    })
}

/// "first 10 <what>s p50 X ms, last 10 Y ms" of in-order latencies.
fn first_and_last(latencies: &[Duration], what: &str) -> String {
    if latencies.len() < 20 {
        return String::new();
    }
    let n = latencies.len();
    format!(
        "p50 of the first 10 {what}s {:.2} ms, of the last 10 {:.2} ms",
        median_ms(&latencies[..10]),
        median_ms(&latencies[n - 10..])
    )
}
