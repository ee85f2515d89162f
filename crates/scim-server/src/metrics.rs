//! Prometheus metrics at `GET /metrics` (OpenMetrics text, no credential).
//!
//! Request counts and latencies are recorded by the request middleware as requests end;
//! what lives in the store (seats per pool, the push queues, the connection pool) is read
//! when the metrics are scraped, so every replica reports the same seat figures.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use scim_core::ports::{Clock, Webhooks};
use scim_core::service::{LicenseService, Pruned, RetentionService, TenantService};
use scim_core::tenant::TokenHash;
use scim_store::DieselStore;

use crate::wiring::App;

/// The OpenMetrics media type Prometheus asks for.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// The route's pattern (`/scim/v2/Users/{id}`), or `unmatched`: never the raw path,
    /// whose ids would make a series per resource.
    route: String,
    method: String,
    status: u16,
    /// The tenant's slug once its credential was accepted; empty otherwise.
    tenant: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    tenant: String,
    sku: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReceiverLabels {
    tenant: String,
    receiver: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectionLabels {
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HistoryLabels {
    history: &'static str,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// 0.5 ms to 16 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// Where the scraped figures come from.
struct Sources {
    tenants: TenantService,
    licenses: LicenseService,
    webhooks: Arc<dyn Webhooks>,
    clock: Arc<dyn Clock>,
    store: Arc<DieselStore>,
    retention: RetentionService,
}

/// The server's metrics, shared by every worker.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    connections: Family<ConnectionLabels, Gauge>,
    seats: Family<PoolLabels, Gauge>,
    seats_used: Family<PoolLabels, Gauge>,
    seats_available: Family<PoolLabels, Gauge>,
    seats_waiting: Family<PoolLabels, Gauge>,
    seats_over: Family<PoolLabels, Gauge>,
    pending: Family<ReceiverLabels, Gauge>,
    lag: Family<ReceiverLabels, Gauge<f64, AtomicU64>>,
    dead_letters: Family<ReceiverLabels, Gauge>,
    pruned: Family<HistoryLabels, Counter>,
    /// What the retention had removed at the last scrape (the counters grow by the rest).
    pruned_seen: std::sync::Mutex<Pruned>,
    sources: Sources,
    /// The last scrape's text and when it was made: scrapes within [`FRESH_FOR`] of it
    /// (several Prometheus servers, or a burst of requests) get it as it is. The lock also
    /// lets one scrape at a time read the store.
    last: tokio::sync::Mutex<Option<(Instant, String)>>,
}

/// How long a scrape's text is served again.
const FRESH_FOR: Duration = Duration::from_secs(2);

impl Metrics {
    pub fn new(app: &App) -> Self {
        let mut registry = Registry::with_prefix("scim");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route, method, status and tenant",
            requests.clone(),
        );
        let latency = LatencyFamily::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests, by route and method",
            latency.clone(),
        );
        let connections = Family::<ConnectionLabels, Gauge>::default();
        registry.register(
            "store_connections",
            "The store's connection pool: connections open, idle, and the most it may hold",
            connections.clone(),
        );
        let seats = Family::<PoolLabels, Gauge>::default();
        registry.register("license_seats", "Seats bought, per pool", seats.clone());
        let seats_used = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "license_seats_used",
            "Seats assigned, per pool",
            seats_used.clone(),
        );
        let seats_available = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "license_seats_available",
            "Seats left to assign, per pool (0 when the use exceeds the seats)",
            seats_available.clone(),
        );
        let seats_waiting = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "license_seats_waiting",
            "Licenses waiting for a seat, per pool (policy 'pending'; not in seats_used)",
            seats_waiting.clone(),
        );
        let seats_over = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "license_seats_overage",
            "Seats granted beyond those bought, per pool (policy 'overage', for a true-up)",
            seats_over.clone(),
        );
        let pending = Family::<ReceiverLabels, Gauge>::default();
        registry.register(
            "event_deliveries_pending",
            "SETs waiting to be pushed to a receiver",
            pending.clone(),
        );
        let lag = Family::<ReceiverLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "event_delivery_lag_seconds",
            "Age of the oldest SET waiting for a receiver (0 when none waits)",
            lag.clone(),
        );
        let dead_letters = Family::<ReceiverLabels, Gauge>::default();
        registry.register(
            "event_dead_letters",
            "Deliveries a receiver never accepted and that wait for a re-drive",
            dead_letters.clone(),
        );
        let pruned = Family::<HistoryLabels, Counter>::default();
        registry.register(
            "retention_pruned_rows",
            "Rows this process removed past their retention, by history (events, audit, jobs)",
            pruned.clone(),
        );
        let build = Family::<Vec<(&'static str, &'static str)>, Gauge>::default();
        build
            .get_or_create(&vec![("version", env!("CARGO_PKG_VERSION"))])
            .set(1);
        registry.register("build_info", "The server's version", build);
        Self {
            registry,
            requests,
            latency,
            connections,
            seats,
            seats_used,
            seats_available,
            seats_waiting,
            seats_over,
            pending,
            lag,
            dead_letters,
            pruned,
            pruned_seen: std::sync::Mutex::new(Pruned::default()),
            sources: Sources {
                tenants: app.services.tenants.clone(),
                licenses: app.services.licenses.clone(),
                webhooks: Arc::clone(&app.services.webhooks),
                clock: Arc::clone(&app.services.clock),
                store: Arc::clone(&app.store),
                retention: app.services.retention.clone(),
            },
            last: tokio::sync::Mutex::new(None),
        }
    }

    /// Counts an answered request.
    pub fn record_request(
        &self,
        route: Option<&str>,
        method: &str,
        status: u16,
        tenant: Option<&str>,
        seconds: f64,
    ) {
        let route = route.unwrap_or("unmatched").to_owned();
        // Any token is a method to HTTP: only the ones the server routes get a series.
        let method = match method {
            "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
            _ => "OTHER",
        }
        .to_owned();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.clone(),
                method: method.clone(),
            })
            .observe(seconds);
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status,
                tenant: tenant.unwrap_or_default().to_owned(),
            })
            .inc();
    }

    /// Reads the store's figures into the gauges and renders every series.
    async fn scrape(&self) -> Result<String, String> {
        let mut last = self.last.lock().await;
        if let Some((at, text)) = last.as_ref()
            && at.elapsed() < FRESH_FOR
        {
            return Ok(text.clone());
        }
        let pool = self.sources.store.pool_stats();
        for (state, value) in [
            ("open", pool.open),
            ("idle", pool.idle),
            ("max", pool.max_size),
        ] {
            self.connections
                .get_or_create(&ConnectionLabels { state })
                .set(i64::from(value));
        }
        let removed = self.sources.retention.removed();
        {
            let mut seen = self
                .pruned_seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (history, now, before) in [
                ("events", removed.events, seen.events),
                ("audit", removed.audit, seen.audit),
                ("jobs", removed.jobs, seen.jobs),
            ] {
                let counter = self.pruned.get_or_create(&HistoryLabels { history });
                counter.inc_by(now.saturating_sub(before));
            }
            *seen = removed;
        }
        // Pools and receivers that no longer exist disappear from the next scrape.
        self.seats.clear();
        self.seats_used.clear();
        self.seats_available.clear();
        self.seats_waiting.clear();
        self.seats_over.clear();
        self.pending.clear();
        self.lag.clear();
        self.dead_letters.clear();
        let now = self.sources.clock.now();
        let tenants = self
            .sources
            .tenants
            .list_tenants()
            .await
            .map_err(|e| e.to_string())?;
        for tenant in tenants {
            let pools = self
                .sources
                .licenses
                .pools(&tenant.id)
                .await
                .map_err(|e| e.to_string())?;
            for pool in pools {
                let labels = PoolLabels {
                    tenant: tenant.slug.clone(),
                    sku: pool.sku.clone(),
                };
                self.seats.get_or_create(&labels).set(pool.seats);
                self.seats_used.get_or_create(&labels).set(pool.used);
                self.seats_available
                    .get_or_create(&labels)
                    .set((pool.seats - pool.used).max(0));
                self.seats_waiting.get_or_create(&labels).set(pool.pending);
                self.seats_over
                    .get_or_create(&labels)
                    .set(pool.overage_used());
            }
            let receivers = self
                .sources
                .webhooks
                .receivers(&tenant.id)
                .await
                .map_err(|e| e.to_string())?;
            for status in receivers {
                let labels = ReceiverLabels {
                    tenant: tenant.slug.clone(),
                    receiver: status.receiver.id.clone(),
                };
                self.pending.get_or_create(&labels).set(status.pending);
                self.dead_letters
                    .get_or_create(&labels)
                    .set(status.dead_lettered);
                let lag = status.oldest_pending.map_or(0.0, |oldest| {
                    (now - oldest).num_milliseconds().max(0) as f64 / 1000.0
                });
                self.lag.get_or_create(&labels).set(lag);
            }
        }
        let mut text = String::new();
        encode(&mut text, &self.registry).map_err(|e| e.to_string())?;
        *last = Some((Instant::now(), text.clone()));
        Ok(text)
    }
}

/// Mounts `GET /metrics`.
pub fn configure(cfg: &mut web::ServiceConfig, token: Option<&MetricsToken>) {
    cfg.app_data(web::Data::new(token.cloned()))
        .service(scim_http::actix::endpoint("/metrics").route(web::get().to(metrics)));
}

/// The bearer token `/metrics` requires, kept as its SHA-256.
#[derive(Clone)]
pub struct MetricsToken(TokenHash);

impl MetricsToken {
    /// The fewest characters a metrics token may have.
    pub const MIN_CHARS: usize = 32;

    pub fn new(token: &str) -> anyhow::Result<Self> {
        if token.chars().count() < Self::MIN_CHARS {
            anyhow::bail!(
                "--metrics-token must have at least {} characters (e.g. `openssl rand -hex 32`)",
                Self::MIN_CHARS
            );
        }
        Ok(Self(TokenHash::of(token)))
    }

    /// Whether the request carries it as `Authorization: Bearer …` (compared in constant
    /// time).
    fn admits(&self, req: &HttpRequest) -> bool {
        req.headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .is_some_and(|token| self.0.matches(&TokenHash::of(token.trim())))
    }
}

/// `GET /metrics`.
pub async fn metrics(
    req: HttpRequest,
    metrics: web::Data<Metrics>,
    token: web::Data<Option<MetricsToken>>,
) -> HttpResponse {
    if let Some(token) = token.get_ref()
        && !token.admits(&req)
    {
        return HttpResponse::Unauthorized()
            .insert_header(("WWW-Authenticate", "Bearer realm=\"metrics\""))
            .content_type("text/plain; charset=utf-8")
            .body("/metrics needs the metrics token: Authorization: Bearer <token>\n");
    }
    match metrics.scrape().await {
        Ok(text) => HttpResponse::Ok().content_type(CONTENT_TYPE).body(text),
        Err(error) => {
            tracing::warn!(%error, "metrics unavailable: the store failed");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain; charset=utf-8")
                .body("the store is unavailable\n")
        }
    }
}
