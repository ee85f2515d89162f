//! `scim-server serve`: the HTTP server.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App as ActixApp, HttpMessage, HttpServer, web};
use anyhow::Context;
use scim_core::events::{RetryPolicy, issuer};
use scim_core::paging::CursorCodec;
use scim_core::service::{DeliveryConfig, DeliveryService, Retention};
use scim_http::{
    AppState, AuthenticatedTenant, HttpConfig, MatchedRoute, RateLimit, ScimApi, SetSigner,
    TrustedProxies,
};
use scim_push::{HttpPusher, JwksVerifier, PushConfig};
use tracing::Instrument;

use crate::cli::ServeArgs;
use crate::metrics::{Metrics, MetricsToken};
use crate::wiring::App;

/// Binds (HTTPS when a certificate is configured), prints `listening on http[s]://ADDR` on
/// stdout (tests and scripts read it), and
/// serves until SIGINT/SIGTERM, finishing in-flight requests.
pub async fn serve(app: App, args: ServeArgs) -> anyhow::Result<()> {
    // Each replica keeps its share of every per-key limit.
    let share = |limit: RateLimit| limit.shared(args.replicas);
    let http = HttpConfig {
        public_url: args.public_url.clone(),
        max_body_bytes: args.max_body_bytes,
        bulk_max_operations: usize::try_from(args.bulk_max_operations).unwrap_or(usize::MAX),
        bulk_max_payload_bytes: args.bulk_max_payload_bytes,
        poll_wait: std::time::Duration::from_secs(u64::from(args.poll_wait_seconds)),
        advertise_security_events: args.advertise_security_events,
        advertise_roles_and_entitlements: args.advertise_roles_and_entitlements,
        trusted_proxies: TrustedProxies(args.trusted_proxies.clone()),
        scan_limit: (args.max_filter_scan > 0).then_some(args.max_filter_scan),
        polls_per_tenant: usize::try_from(args.polls_per_tenant).unwrap_or(4),
        https: args.tls_cert.is_some()
            || args
                .public_url
                .as_deref()
                .is_some_and(|url| url.starts_with("https://")),
        tenant_rate: RateLimit::of(args.rate_limit, args.rate_burst).map(share),
        address_rate: RateLimit::of(args.auth_rate_limit, args.auth_rate_burst).map(share),
        credential_cache: Duration::from_secs(u64::from(args.credential_cache_seconds)),
        job_lease: Duration::from_secs(u64::from(args.job_lease_seconds)),
        api_rate: RateLimit::of(args.api_rate_limit, args.api_rate_burst).map(share),
        access_token_lifetime: Duration::from_secs(u64::from(args.access_token_minutes) * 60),
        record_activity: args.record_activity,
    };
    let metrics_token = args
        .metrics_token
        .as_deref()
        .map(MetricsToken::new)
        .transpose()?;
    let signer = Arc::new(signer(&app).await?);
    let key_reloader = tokio::spawn(reload_signing_keys(
        Arc::clone(&signer),
        Arc::clone(&app.services.signing_keys),
        Arc::clone(&app.services.clock),
    ));
    let cursors = Arc::new(CursorCodec::new(&app.secret_keys));
    let metrics = web::Data::new(Metrics::new(&app));
    let delivery = delivery(&app, &args);
    // Federated clients' assertions are verified with their issuers' keys, fetched where
    // the network policy allows, as pushes are.
    let verifier = JwksVerifier::new(
        Duration::from_secs(10),
        app.network,
        Duration::from_secs(u64::from(args.jwks_refetch_seconds)),
    );
    let services = app
        .services
        .clone()
        .with_assertion_verifier(Arc::new(verifier));
    let state = AppState::new(&services, signer, cursors, http);
    let runner = tokio::spawn(crate::jobs::run_jobs(
        state.jobs.clone(),
        Arc::clone(&state.job_wake),
    ));
    let snapshots = tokio::spawn(crate::housekeeping::run(
        app.services.clone(),
        args.activity_days,
        Retention {
            events_days: Retention::days(args.event_retention_days),
            audit_days: Retention::days(args.audit_retention_days),
            jobs_days: Retention::days(args.job_retention_days),
        },
    ));
    let terms = tokio::spawn(crate::housekeeping::run_terms(
        app.services.licenses.clone(),
    ));
    let activity_writer = tokio::spawn(crate::housekeeping::flush_activity(
        app.services.activity.clone(),
    ));
    // A round of pushes settles within its deadline; the lease is longer still.
    let dispatcher_drain = delivery_drain(&args);
    let (stop_dispatcher, stop) = tokio::sync::watch::channel(false);
    let dispatcher = tokio::spawn(crate::delivery::run_deliveries(delivery, stop));
    // Metrics name every tenant, its pools and its traffic: the SCIM listener serves them
    // only behind the metrics token.
    let public_metrics = metrics_token.clone();
    if public_metrics.is_none() && args.metrics_listen.is_none() {
        tracing::info!(
            "/metrics is not served: set --metrics-listen (an internal address) or \
             --metrics-token"
        );
    }
    let app_metrics = metrics.clone();
    let api = ScimApi::new(state);
    let mut server = HttpServer::new(move || {
        let api = api.clone();
        let public_metrics = public_metrics.clone();
        ActixApp::new()
            .app_data(app_metrics.clone())
            .wrap(from_fn(scim_http::actix::security_headers))
            .wrap(from_fn(trace_request))
            .configure(|cfg| {
                if let Some(token) = &public_metrics {
                    crate::metrics::configure(cfg, Some(token));
                }
            })
            .configure(move |cfg| scim_http::actix::configure(cfg, api))
    })
    .shutdown_timeout(30);
    if let Some(workers) = args.workers {
        server = server.workers(workers);
    }
    let (server, scheme) = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let tls = crate::tls::server_config(cert, key)?;
            let server = server
                .on_connect(crate::tls::remember_peer_certificate)
                .bind_rustls_0_23(&args.listen, tls)
                .with_context(|| format!("binding {}", args.listen))?;
            (server, "https")
        }
        (None, None) => {
            let server = server
                .bind(&args.listen)
                .with_context(|| format!("binding {}", args.listen))?;
            (server, "http")
        }
        // clap's `requires` does not see values from the config file.
        _ => anyhow::bail!(HALF_TLS),
    };
    for addr in server.addrs() {
        println!("listening on {scheme}://{addr}");
    }
    let metrics_server = match &args.metrics_listen {
        Some(listen) => {
            let metrics = metrics.clone();
            let token = metrics_token.clone();
            let server = HttpServer::new(move || {
                let token = token.clone();
                ActixApp::new()
                    .app_data(metrics.clone())
                    .configure(move |cfg| crate::metrics::configure(cfg, token.as_ref()))
            })
            .workers(1)
            .bind(listen)
            .with_context(|| format!("binding {listen} for /metrics"))?;
            for addr in server.addrs() {
                println!("metrics on http://{addr}/metrics");
            }
            Some(server.run())
        }
        None => None,
    };
    std::io::stdout().flush().ok();
    tracing::info!(addresses = ?server.addrs(), "serving SCIM at /scim/v2");
    let served = match metrics_server {
        Some(metrics_server) => {
            let (served, metrics_served) = tokio::join!(server.run(), metrics_server);
            metrics_served.context("running the metrics server")?;
            served
        }
        None => server.run().await,
    }
    .context("running the HTTP server");
    // A job under way stops here; its lease expires and the next start resumes it.
    runner.abort();
    snapshots.abort();
    terms.abort();
    activity_writer.abort();
    if let Err(error) = app.services.activity.flush().await {
        tracing::warn!(%error, "the last provisioning activity could not be written");
    }
    key_reloader.abort();
    // The dispatcher finishes the round under way, so its pushes are settled, not left to
    // their leases; one that outlives the bound is stopped and its pushes leased again.
    stop_dispatcher.send_replace(true);
    let abort = dispatcher.abort_handle();
    if tokio::time::timeout(dispatcher_drain, dispatcher)
        .await
        .is_err()
    {
        abort.abort();
        tracing::warn!("event delivery stopped mid-round; its pushes will be retried");
    }
    tracing::info!("stopped");
    served
}

/// How long shutdown waits for a delivery round to end: its pushes' deadline.
fn delivery_drain(args: &ServeArgs) -> Duration {
    Duration::from_secs(args.webhook_timeout_seconds) * 4
}

/// The push delivery service, from the flags.
fn delivery(app: &App, args: &ServeArgs) -> DeliveryService {
    let timeout = Duration::from_secs(args.webhook_timeout_seconds);
    let concurrency = usize::try_from(args.webhook_concurrency).unwrap_or(16);
    // Two waves of pushes per round; each push may take a token request and the POST.
    let batch = concurrency * 2;
    let lease = timeout * 4 + Duration::from_secs(5);
    let pusher = HttpPusher::new(PushConfig {
        timeout,
        concurrency,
        // Settled before the lease ends, so no other process takes the delivery meanwhile.
        deadline: delivery_drain(args),
        network: app.network,
    });
    let config = DeliveryConfig {
        retry: RetryPolicy {
            first_backoff: Duration::from_millis(args.webhook_first_backoff_ms),
            max_backoff: Duration::from_secs(args.webhook_max_backoff_seconds),
            max_attempts: args.webhook_max_attempts,
        },
        lease,
        batch,
        issuer: issuer(args.public_url.as_deref()),
    };
    DeliveryService::new(
        Arc::clone(&app.services.webhooks),
        Arc::new(pusher),
        Arc::clone(&app.services.clock),
        config,
    )
}

/// The signer of SETs: the stored keys, or a new key stored first when there is none
/// (replicas starting together on an empty store may each add one; the schedule has them
/// all sign with the one stored first).
async fn signer(app: &App) -> anyhow::Result<SetSigner> {
    let mut keys = app
        .services
        .signing_keys
        .signing_keys()
        .await
        .context("reading the signing keys")?;
    if keys.is_empty() {
        let key = SetSigner::generate_key(app.services.clock.now(), chrono::DateTime::UNIX_EPOCH)
            .context("generating a signing key")?;
        match app.services.signing_keys.add_signing_key(&key).await {
            Ok(()) | Err(scim_core::StoreError::Conflict { .. }) => {}
            Err(error) => return Err(error).context("storing the signing key"),
        }
        tracing::info!(kid = %key.kid, "generated the SET signing key");
        keys = app
            .services
            .signing_keys
            .signing_keys()
            .await
            .context("reading the signing keys")?;
    }
    SetSigner::new(&keys).context("loading the signing key")
}

/// How often a process reads the signing keys again (a rotation gives at least ten
/// minutes' notice, so every replica has the new key before it signs).
const SIGNING_KEY_RELOAD: Duration = Duration::from_secs(60);

/// Reads the signing keys every [`SIGNING_KEY_RELOAD`], and forgets retired keys that are
/// no longer published.
async fn reload_signing_keys(
    signer: Arc<SetSigner>,
    stored: Arc<dyn scim_core::ports::SigningKeys>,
    clock: Arc<dyn scim_core::ports::Clock>,
) {
    let mut ticks = tokio::time::interval(SIGNING_KEY_RELOAD);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let keys = match stored.signing_keys().await {
            Ok(keys) => keys,
            Err(error) => {
                tracing::warn!(%error, "cannot read the signing keys; keeping those loaded");
                continue;
            }
        };
        let expired: Vec<String> = scim_core::events::key_schedule(&keys, clock.now())
            .expired
            .iter()
            .map(|key| key.kid.clone())
            .collect();
        if let Err(error) = signer.reload(&keys) {
            tracing::warn!(%error, "cannot load the signing keys; keeping those loaded");
        }
        if !expired.is_empty()
            && let Err(error) = stored.forget_signing_keys(&expired).await
        {
            tracing::warn!(%error, "cannot forget retired signing keys");
        }
    }
}

/// Whether a client's request id is safe to log and echo: 1 to 128 characters of letters,
/// digits and `-_.:`.
fn is_plain_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Why `serve` refuses a certificate without its key or a key without its certificate.
pub(crate) const HALF_TLS: &str =
    "tls-cert and tls-key go together: give both to serve HTTPS, or neither for plain HTTP";

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// One span per request, carrying a request id (echoed as `X-Request-Id`), and the tenant
/// and credential id once authenticated; one log line per response. The span is at the
/// ERROR level so that it is on whatever the log level: a warning logged at `warn` still
/// names its request. The id is always the server's (a client cannot make two requests
/// look like one in the logs and the audit trail); a client's own `X-Request-Id` (a
/// proxy's, an IdP's) is logged beside it as `client_request_id` when it is a plain token
/// of at most 128 characters.
async fn trace_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let client_request_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| is_plain_request_id(id))
        .map(str::to_owned);
    let span = tracing::error_span!(
        "request",
        request_id = %request_id,
        client_request_id = client_request_id.as_deref(),
        method = %req.method(),
        path = %req.path(),
        tenant = tracing::field::Empty,
        credential = tracing::field::Empty,
    );
    req.extensions_mut()
        .insert(scim_http::RequestId(request_id.clone()));
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    async move {
        let mut response = next.call(req).await?;
        let status = response.status().as_u16();
        let seconds = started.elapsed().as_secs_f64();
        let millis = seconds * 1000.0;
        if let Some(metrics) = metrics {
            let request = response.request();
            let tenant = request.extensions().get::<AuthenticatedTenant>().cloned();
            let route = request.extensions().get::<MatchedRoute>().copied();
            let pattern = route.map(|route| route.0.to_owned());
            metrics.record_request(
                pattern.or_else(|| request.match_pattern()).as_deref(),
                request.method().as_str(),
                status,
                tenant.as_ref().map(|t| t.0.as_str()),
                seconds,
            );
        }
        // 501 (`/Me`) is an answer, not a failure.
        if status >= 500 && status != 501 {
            tracing::error!(status, millis, "response");
        } else {
            tracing::info!(status, millis, "response");
        }
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert(REQUEST_ID.clone(), value);
        }
        Ok(response)
    }
    .instrument(span)
    .await
}
