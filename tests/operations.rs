//! Operating the server: Prometheus metrics, JSON logs with request ids, graceful shutdown.

use std::fs::File;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{
    METRICS_TOKEN, Server, Store, UNREACHABLE_RECEIVER, USER_SCHEMA, add_receiver, cli,
    tenant_with_token,
};
use crate::receiver::{Answer, Receiver};

/// The value of the one series named `name` whose labels include every `labels` pair.
fn series(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<f64> = text
        .lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|line| {
            labels
                .iter()
                .all(|(k, v)| line.contains(&format!("{k}=\"{v}\"")))
        })
        .map(|line| {
            line.rsplit(' ')
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no value in {line}"))
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {name} series with {labels:?} in:\n{text}"
    );
    found[0]
}

#[test]
fn metrics_hold_requests_latencies_seats_connections_and_delivery_lag() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    cli(
        &store,
        &[
            "license", "set", "--tenant", "acme", "--sku", "pro", "--seats", "5",
        ],
    );
    // A receiver nobody listens on: its SETs wait, so it has a lag.
    add_receiver(&store, UNREACHABLE_RECEIVER);
    let server = Server::start_with(
        store,
        &[
            "--webhook-first-backoff-ms",
            "5000",
            "--metrics-token",
            METRICS_TOKEN,
        ],
        "warn",
        Stdio::inherit(),
    );
    for name in ["ann", "bob"] {
        let body = json!({"schemas": [USER_SCHEMA], "userName": name,
                          "entitlements": [{"value": "pro"}]});
        assert_eq!(server.post("/scim/v2/Users", &token, &body).status, 201);
    }
    assert_eq!(server.get("/scim/v2/Users/nope", &token).status, 404);
    assert_eq!(server.get("/scim/v2/Users", "scim_wrong").status, 401);

    let scraped = server.get("/metrics", METRICS_TOKEN);
    assert_eq!(scraped.status, 200, "{}", scraped.text);
    assert!(
        scraped
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/openmetrics-text")),
        "{:?}",
        scraped.headers
    );
    let text = &scraped.text;
    let created = [
        ("route", "/scim/v2/Users"),
        ("method", "POST"),
        ("status", "201"),
        ("tenant", "acme"),
    ];
    assert_eq!(series(text, "scim_http_requests_total", &created), 2.0);
    let missing = [
        ("route", "/scim/v2/Users/{id}"),
        ("status", "404"),
        ("tenant", "acme"),
    ];
    assert_eq!(series(text, "scim_http_requests_total", &missing), 1.0);
    // A refused credential names no tenant.
    let refused = [
        ("route", "/scim/v2/Users"),
        ("status", "401"),
        ("tenant", ""),
    ];
    assert_eq!(series(text, "scim_http_requests_total", &refused), 1.0);
    let posts = [("route", "/scim/v2/Users"), ("method", "POST")];
    assert_eq!(
        series(text, "scim_http_request_duration_seconds_count", &posts),
        2.0
    );
    assert!(series(text, "scim_http_request_duration_seconds_sum", &posts) > 0.0);

    // Seats as /Licenses shows them.
    let pool = server.get("/scim/v2/Licenses/pro", &token).json;
    let sku = [("tenant", "acme"), ("sku", "pro")];
    assert_eq!(pool["used"], 2);
    assert_eq!(series(text, "scim_license_seats", &sku), 5.0);
    assert_eq!(
        series(text, "scim_license_seats_used", &sku),
        pool["used"].as_f64().unwrap()
    );
    assert_eq!(
        series(text, "scim_license_seats_available", &sku),
        pool["available"].as_f64().unwrap()
    );

    let max = series(text, "scim_store_connections", &[("state", "max")]);
    assert_eq!(max, 16.0);
    assert!(series(text, "scim_store_connections", &[("state", "open")]) >= 1.0);

    // Two users, each with a create and a license event, wait for the dead receiver.
    let tenant = [("tenant", "acme")];
    assert!(series(text, "scim_event_deliveries_pending", &tenant) >= 4.0);
    assert!(series(text, "scim_event_delivery_lag_seconds", &tenant) > 0.0);
    assert_eq!(series(text, "scim_event_dead_letters", &tenant), 0.0);
    assert!(text.contains("scim_build_info{version=\""), "{text}");
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
}

#[test]
fn json_logs_carry_each_request_id_tenant_and_credential() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    let dir = tempfile::tempdir().expect("temp dir");
    let log_path = dir.path().join("server.log");
    let logs = File::create(&log_path).expect("log file");
    let mut server =
        Server::start_with(store, &["--log-format", "json"], "info", Stdio::from(logs));
    let reply = server.get("/scim/v2/Users?filter=userName%20eq%20%22x%22", &token);
    assert_eq!(reply.status, 200);
    let request_id = reply
        .header("x-request-id")
        .expect("X-Request-Id")
        .to_owned();
    let other = server.send("GET", "/healthz", None, &[], None);
    let other_id = other
        .header("x-request-id")
        .expect("X-Request-Id")
        .to_owned();
    assert_ne!(request_id, other_id);
    // A client's own request id is logged beside the server's (never instead of it); one
    // that is not a plain token is not logged at all.
    let traced = server.send(
        "GET",
        "/healthz",
        None,
        &[("X-Request-Id", "idp-trace:42")],
        None,
    );
    let traced_id = traced
        .header("x-request-id")
        .expect("X-Request-Id")
        .to_owned();
    assert!(uuid::Uuid::parse_str(&traced_id).is_ok(), "{traced_id}");
    let hostile = server.send(
        "GET",
        "/healthz",
        None,
        &[("X-Request-Id", "a\"b\\n")],
        None,
    );
    let replaced = hostile.header("x-request-id").expect("X-Request-Id");
    assert!(uuid::Uuid::parse_str(replaced).is_ok(), "{replaced}");
    assert!(server.terminate().success());

    let written = std::fs::read_to_string(&log_path).expect("logs");
    let lines: Vec<Value> = written
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let of_request: Vec<&Value> = lines
        .iter()
        .filter(|line| line["span"]["request_id"] == request_id.as_str())
        .collect();
    assert!(!of_request.is_empty(), "no line of {request_id}: {written}");
    assert!(
        lines
            .iter()
            .any(|line| line["span"]["request_id"] == traced_id.as_str()
                && line["span"]["client_request_id"] == "idp-trace:42"),
        "the client's request id is logged beside the server's: {written}"
    );
    assert!(
        !written.contains("a\\\"b"),
        "a hostile id is not logged: {written}"
    );
    let response = of_request
        .iter()
        .find(|line| line["message"] == "response")
        .unwrap_or_else(|| panic!("no response line of {request_id}: {written}"));
    assert_eq!(response["status"], 200);
    assert_eq!(response["level"], "INFO");
    assert_eq!(response["span"]["tenant"], "acme");
    assert_eq!(response["span"]["method"], "GET");
    assert_eq!(response["span"]["path"], "/scim/v2/Users");
    let credential = response["span"]["credential"].as_str().expect("credential");
    assert!(
        !credential.is_empty() && !token.contains(credential),
        "{credential}"
    );
    assert!(
        lines.iter().any(|line| line["message"] == "stopped"),
        "shutdown is logged: {written}"
    );
}

#[test]
fn sigterm_lets_the_request_in_flight_finish() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    let mut server = Server::start_with(
        store,
        &["--poll-wait-seconds", "2"],
        "warn",
        Stdio::inherit(),
    );
    // A long poll waits its 2 s for events that never come; SIGTERM arrives meanwhile.
    let url = server.url("/events/poll");
    let poll = std::thread::spawn(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let started = Instant::now();
        let mut response = agent
            .post(&url)
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .send(json!({"maxEvents": 10}).to_string())
            .expect("the poll is answered");
        let status = response.status().as_u16();
        let body: Value = response.body_mut().read_json().expect("JSON");
        (status, body, started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(500));
    let exited = server.terminate();
    let (status, body, waited) = poll.join().expect("poll thread");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sets"], json!({}));
    assert!(waited >= Duration::from_millis(1500), "{waited:?}");
    assert!(exited.success(), "{exited:?}");
}

#[test]
fn config_check_shows_where_each_setting_came_from_and_refuses_what_cannot_work() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("scim.toml");
    std::fs::write(
        &file,
        "database-url = \"postgres://scim:hunter2@db.internal/scim\"\n\
         listen = \"127.0.0.1:9000\"\nrate-limit = 50\nrate-burst = 60\n",
    )
    .expect("config file");
    let check = |extra: &[&str], config: &std::path::Path| {
        std::process::Command::new(crate::helpers::server_binary())
            .args(["config", "check", "--json"])
            .args(extra)
            .env("SCIM_CONFIG", config)
            .env("SCIM_RATE_LIMIT", "70")
            .env_remove("SCIM_DATABASE_URL")
            .output()
            .expect("run scim-server")
    };
    let output = check(&["--workers", "3"], &file);
    assert!(output.status.success(), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["valid"], true);
    let setting = |name: &str| {
        report["settings"]
            .as_array()
            .expect("settings")
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {report}"))
            .clone()
    };
    let from_file = format!("file {}", file.display());
    assert_eq!(
        setting("workers"),
        json!({"name": "workers", "value": "3", "source": "flag"})
    );
    assert_eq!(setting("rate-limit")["value"], "70");
    assert_eq!(setting("rate-limit")["source"], "env SCIM_RATE_LIMIT");
    assert_eq!(setting("rate-burst")["value"], "60");
    assert_eq!(setting("rate-burst")["source"], from_file.as_str());
    assert_eq!(setting("listen")["value"], "127.0.0.1:9000");
    assert_eq!(setting("pool-size")["source"], "default");
    assert_eq!(
        setting("database-url")["value"],
        "postgres://scim:***@db.internal/scim"
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains("hunter2"));

    // What serve could not start with: exit 1, each problem named.
    let output = check(
        &["--public-url", "scim.example.com", "--listen", "nowhere"],
        &file,
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["valid"], false);
    let problems = report["problems"].to_string();
    assert!(
        problems.contains("public-url scim.example.com"),
        "{problems}"
    );
    assert!(problems.contains("listen nowhere"), "{problems}");

    // The file's database password stays out of --help, which shows defaults.
    let help = std::process::Command::new(crate::helpers::server_binary())
        .args(["serve", "--help"])
        .env("SCIM_CONFIG", &file)
        .output()
        .expect("run scim-server");
    assert!(help.status.success(), "{help:?}");
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--listen"), "{help}");
    assert!(!help.contains("hunter2"), "{help}");

    // A certificate without its key, from the file (clap's `requires` does not see it).
    let half = dir.path().join("half-tls.toml");
    std::fs::write(&half, "tls-cert = \"/etc/scim/cert.pem\"\n").expect("half file");
    let output = check(&[], &half);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("tls-cert and tls-key go together"),
        "{output:?}"
    );

    // A file that names no setting stops every command, naming the key.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "rate_limit = 5\n").expect("bad file");
    let output = check(&[], &bad);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("unknown setting `rate_limit` (did you mean `rate-limit`?)"),
        "{said}"
    );
    // A value is checked as its flag is.
    std::fs::write(&bad, "credential-cache-seconds = 600\n").expect("bad file");
    let output = check(&[], &bad);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("600"),
        "{output:?}"
    );
}

#[test]
fn serve_runs_with_the_settings_of_its_config_file() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("scim.toml");
    std::fs::write(&file, "rate-limit = 1\nrate-burst = 2\n").expect("config file");
    let path = file.to_string_lossy().into_owned();
    let server = Server::start_with(store, &["--config", &path], "warn", Stdio::inherit());
    let statuses: Vec<u16> = (0..3)
        .map(|_| server.get("/scim/v2/Users", &token).status)
        .collect();
    assert_eq!(statuses, [200, 200, 429]);
}

/// A push under way when SIGTERM arrives is finished and recorded, not left to its lease
/// (which would push it again from another process, up to 45 s later).
#[test]
fn sigterm_settles_the_pushes_in_flight() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    let receiver = Receiver::start(Answer::Slow(1500));
    add_receiver(&store, &receiver.url());
    let mut server = Server::start(store);
    let user = json!({"schemas": [USER_SCHEMA], "userName": "ann"});
    assert_eq!(server.post("/scim/v2/Users", &token, &user).status, 201);
    // The dispatcher looks every 200 ms; the receiver then takes 1.5 s to answer.
    std::thread::sleep(Duration::from_millis(700));
    assert!(receiver.accepted().is_empty(), "still in flight");
    assert!(server.terminate().success());
    assert_eq!(receiver.accepted().len(), 1, "the push finished");
    let listed = cli(
        &server.store,
        &["webhook", "list", "--tenant", "acme", "--json"],
    );
    let figures: Value = serde_json::from_str(listed.trim()).expect("JSON");
    assert_eq!(figures[0]["delivered"], 1, "{figures}");
    assert_eq!(figures[0]["pending"], 0, "{figures}");
}

/// Metrics name every tenant, its pools and its traffic: the SCIM listener never serves
/// them without the metrics token (404 when none is set, 401 without it), and the separate
/// metrics listener asks for the token too once one is set.
#[test]
fn metrics_are_never_public_on_the_scim_listener() {
    let free_port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port()
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let scrape = |url: &str, token: Option<&str>| {
        let mut request = agent.get(url);
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let mut response = request.call().expect("the listener answers");
        let text = response.body_mut().read_to_string().expect("text");
        (response.status().as_u16(), text)
    };

    // By default: not served at all.
    let store = Store::sqlite();
    tenant_with_token(&store, "acme");
    let server = Server::start(store);
    let on_scim = server.send("GET", "/metrics", None, &[], None);
    assert_eq!(on_scim.status, 404, "{}", on_scim.text);

    // A separate listener: served there, still not on the SCIM listener.
    let address = format!("127.0.0.1:{}", free_port());
    let server = Server::start_with(
        Store::sqlite(),
        &["--metrics-listen", &address],
        "warn",
        Stdio::inherit(),
    );
    assert_eq!(server.send("GET", "/metrics", None, &[], None).status, 404);
    let (status, text) = scrape(&format!("http://{address}/metrics"), None);
    assert_eq!(status, 200);
    assert!(text.contains("scim_build_info{version=\""), "{text}");
    // The SCIM request above is counted there.
    assert!(text.contains("route=\"unmatched\""), "{text}");

    // A token: required on both listeners.
    let address = format!("127.0.0.1:{}", free_port());
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    let server = Server::start_with(
        store,
        &[
            "--metrics-listen",
            &address,
            "--metrics-token",
            METRICS_TOKEN,
        ],
        "warn",
        Stdio::inherit(),
    );
    for refused in [
        server.send("GET", "/metrics", None, &[], None),
        server.get("/metrics", &token),
        server.get("/metrics", &format!("{METRICS_TOKEN}x")),
    ] {
        assert_eq!(refused.status, 401, "{}", refused.text);
        assert!(!refused.text.contains("acme"), "{}", refused.text);
    }
    let scraped = server.get("/metrics", METRICS_TOKEN);
    assert_eq!(scraped.status, 200, "{}", scraped.text);
    assert!(scraped.text.contains("scim_build_info"), "{}", scraped.text);
    let apart = format!("http://{address}/metrics");
    assert_eq!(scrape(&apart, None).0, 401);
    assert_eq!(scrape(&apart, Some(METRICS_TOKEN)).0, 200);
}
