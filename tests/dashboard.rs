//! The license dashboard at /admin, in a real browser: Debian's headless Chromium logs in
//! with a one-time link from the CLI, and the figures it shows are compared with the API.
//! A screenshot is saved in `target/ci-artifacts/` (or `$SCIM_ARTIFACTS_DIR`).

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::{
    Server, Store, UNREACHABLE_RECEIVER, USER_SCHEMA, add_receiver, cli, tenant_with_token,
};

/// The browser, or `None` outside CI when it is not installed (CI installs it, and fails
/// without it).
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("SCIM_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{} is missing: .ci/run installs Debian's chromium package",
        path.display()
    );
    eprintln!(
        "NOTE: the dashboard test did NOT run: {} is missing (apt-get install chromium)",
        path.display()
    );
    None
}

/// Runs headless Chromium on `url` with `args` in a fresh profile; its stdout.
fn browse(browser: &PathBuf, args: &[&str], url: &str) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let output = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(output.status.success(), "chromium failed: {output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A number the page shows for a pool, from its `data-sku`/`data-field` cell.
fn figure(dom: &str, sku: &str, field: &str) -> i64 {
    let marker = format!("data-sku=\"{sku}\" data-field=\"{field}\">");
    let found: Vec<i64> = dom
        .match_indices(&marker)
        .map(|(at, _)| {
            let rest = &dom[at + marker.len()..];
            rest[..rest.find('<').expect("cell end")]
                .trim()
                .parse()
                .expect("a number")
        })
        .collect();
    assert_eq!(found.len(), 1, "one {sku} {field} cell in {dom}");
    found[0]
}

/// The text of the one element with `data-field="{field}"`.
fn text_of(dom: &str, field: &str) -> String {
    let marker = format!("data-field=\"{field}\"");
    let at = dom
        .find(&marker)
        .unwrap_or_else(|| panic!("{field} in {dom}"));
    let rest = &dom[at..];
    let start = rest.find('>').expect("tag end") + 1;
    let end = rest.find('<').expect("text end");
    rest[start..end].trim().to_owned()
}

/// A one-time login link for `tenant`'s page and that tenant only, or for every tenant.
fn login_link(store: &Store, base: &str, tenant: Option<&str>) -> String {
    let mut args = vec!["admin", "login-link", "--base-url", base];
    match tenant {
        Some(tenant) => args.extend(["--tenant", tenant]),
        None => args.push("--all-tenants"),
    }
    let out = cli(store, &args);
    out.lines().last().expect("link").trim().to_owned()
}

#[test]
fn the_dashboard_shows_what_the_api_says_in_a_real_browser() {
    let Some(browser) = chromium() else {
        return;
    };
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    for (sku, seats) in [("pro", "3"), ("basic", "10")] {
        cli(
            &store,
            &[
                "license", "set", "--tenant", "acme", "--sku", sku, "--seats", seats,
            ],
        );
    }
    cli(
        &store,
        &[
            "license",
            "map",
            "--tenant",
            "acme",
            "--role",
            "Developer",
            "--sku",
            "basic",
        ],
    );
    // A receiver nobody listens on: its SETs wait.
    add_receiver(&store, UNREACHABLE_RECEIVER);
    let server = Server::start_with(
        store,
        &["--webhook-first-backoff-ms", "5000"],
        "warn",
        std::process::Stdio::inherit(),
    );
    let users = [
        json!({"userName": "ann", "entitlements": [{"value": "pro"}, {"value": "gold"}]}),
        json!({"userName": "bob", "entitlements": [{"value": "pro"}], "roles": [{"value": "Developer"}]}),
        json!({"userName": "cid", "roles": [{"value": "Developer"}], "active": false}),
    ];
    for mut body in users {
        body["schemas"] = json!([USER_SCHEMA]);
        assert_eq!(server.post("/scim/v2/Users", &token, &body).status, 201);
    }

    // Without a session: a page saying how to log in, never the figures.
    let anonymous = server.send("GET", "/admin/tenants/acme", None, &[], None);
    assert_eq!(anonymous.status, 401);
    assert!(
        anonymous.text.contains("admin login-link"),
        "{}",
        anonymous.text
    );
    assert!(!anonymous.text.contains("data-sku"), "{}", anonymous.text);
    // A SCIM token is no admin credential.
    let scim = server.send(
        "GET",
        "/admin",
        None,
        &[
            ("Authorization", &format!("Bearer {token}")),
            ("Cookie", &format!("__Host-scim_admin={token}")),
        ],
        None,
    );
    assert_eq!(scim.status, 401);

    // The overview lists every tenant's pools.
    let overview = browse(
        &browser,
        &["--dump-dom"],
        &login_link(&server.store, &server.base, None),
    );
    assert!(overview.contains("<h1>Tenants</h1>"), "{overview}");
    assert_eq!(
        overview.matches("data-tenant=\"acme\"").count(),
        2,
        "{overview}"
    );
    assert_eq!(figure(&overview, "pro", "available"), 1);

    let link = login_link(&server.store, &server.base, Some("acme"));
    let dom = browse(&browser, &["--dump-dom"], &link);
    assert!(dom.contains("<h1>acme"), "the tenant's page: {dom}");
    let pools = server.get("/scim/v2/Licenses", &token).json;
    let pools = pools["Resources"].as_array().expect("pools");
    assert_eq!(pools.len(), 2);
    for pool in pools {
        let sku = pool["sku"].as_str().expect("sku");
        let fields = [
            ("seats", "seats"),
            ("used", "used"),
            ("available", "available"),
            ("waiting", "pending"),
        ];
        for (field, of_pool) in fields {
            assert_eq!(
                figure(&dom, sku, field),
                pool[of_pool].as_i64().expect("figure"),
                "{sku} {field}"
            );
        }
    }
    assert_eq!(figure(&dom, "pro", "used"), 2);
    assert_eq!(figure(&dom, "basic", "used"), 1);
    // Today's point of each pool's history.
    assert!(dom.contains("data-sku=\"pro\" data-days=\"1\""), "{dom}");
    // One row per assignment: ann pro, bob pro, bob basic.
    let audit: Value = serde_json::from_str(&cli(
        &server.store,
        &["license", "audit", "--tenant", "acme", "--json"],
    ))
    .expect("audit JSON");
    assert_eq!(audit.as_array().expect("entries").len(), 3);
    assert_eq!(dom.matches("data-field=\"change\"").count(), 3);
    // Users by their userName, not their id.
    for entry in audit.as_array().expect("entries") {
        let id = entry["userId"].as_str().expect("a user id");
        let name = if dom.contains(&format!("data-user=\"{id}\">ann<")) {
            "ann"
        } else {
            "bob"
        };
        assert!(
            dom.contains(&format!("data-user=\"{id}\">{name}<")),
            "{id} shown as {name}: {dom}"
        );
    }
    assert_eq!(text_of(&dom, "inactive-holders"), "0");
    assert_eq!(text_of(&dom, "unmapped"), "1");
    assert_eq!(text_of(&dom, "unmapped-value"), "gold");
    let receivers: Value = serde_json::from_str(&cli(
        &server.store,
        &["webhook", "list", "--tenant", "acme", "--json"],
    ))
    .expect("receivers JSON");
    let pending = receivers[0]["pending"].as_i64().expect("pending");
    assert!(pending >= 5, "{receivers}");
    assert_eq!(
        text_of(&dom, "pending").parse::<i64>().expect("pending"),
        pending
    );

    // The link worked once.
    let again = server.send(
        "GET",
        link.trim_start_matches(&server.base),
        None,
        &[],
        None,
    );
    assert_eq!(again.status, 401, "{}", again.text);
    assert!(again.text.contains("does not work"), "{}", again.text);

    let dir = std::env::var_os("SCIM_ARTIFACTS_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/ci-artifacts"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    let shot = dir.join("dashboard.png");
    std::fs::remove_file(&shot).ok();
    let link = login_link(&server.store, &server.base, Some("acme"));
    browse(
        &browser,
        &[
            "--window-size=1200,1500",
            &format!("--screenshot={}", shot.display()),
        ],
        &link,
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
}

/// What a request to the dashboard answers, without following redirects.
struct Answer {
    status: u16,
    location: Option<String>,
    set_cookie: Option<String>,
    text: String,
}

fn dashboard(base: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut request = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{base}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = agent
        .run(request.body(()).expect("request"))
        .expect("HTTP exchange");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (location, set_cookie) = (header("location"), header("set-cookie"));
    let status = response.status().as_u16();
    let text = response.into_body().read_to_string().unwrap_or_default();
    Answer {
        status,
        location,
        set_cookie,
        text,
    }
}

/// Follows a login link: the session cookie (`name=value`) it sets.
fn log_in(server: &Server, link: &str) -> String {
    let answer = dashboard(
        &server.base,
        "GET",
        link.trim_start_matches(&server.base),
        &[],
    );
    assert_eq!(answer.status, 303, "{}", answer.text);
    let cookie = answer.set_cookie.expect("a session cookie");
    for attribute in ["Path=/;", "Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    assert!(cookie.starts_with("__Host-scim_admin="), "{cookie}");
    cookie.split(';').next().expect("name=value").to_owned()
}

/// Sessions see one tenant unless the operator asked for every tenant; they end on logout
/// (from this origin only) and when revoked from the CLI; a login link over plain HTTP to
/// another host is refused unspent, since the browser would drop the `Secure` cookie.
#[test]
fn dashboard_sessions_see_what_their_link_names_and_end_when_told() {
    let store = Store::sqlite();
    for tenant in ["acme", "globex"] {
        cli(&store, &["tenant", "create", tenant]);
        cli(
            &store,
            &[
                "license", "set", "--tenant", tenant, "--sku", "pro", "--seats", "5",
            ],
        );
    }
    let server = Server::start(store);
    let scoped = log_in(
        &server,
        &login_link(&server.store, &server.base, Some("acme")),
    );
    let cookie = [("Cookie", scoped.as_str())];
    let overview = dashboard(&server.base, "GET", "/admin", &cookie);
    assert_eq!(overview.status, 200);
    assert!(
        overview.text.contains("data-tenant=\"acme\""),
        "{}",
        overview.text
    );
    assert!(!overview.text.contains("globex"), "{}", overview.text);
    assert!(
        overview.text.contains("Tenant acme"),
        "the header says what it sees"
    );
    assert_eq!(
        dashboard(&server.base, "GET", "/admin/tenants/acme", &cookie).status,
        200
    );
    let other = dashboard(&server.base, "GET", "/admin/tenants/globex", &cookie);
    let unknown = dashboard(&server.base, "GET", "/admin/tenants/initech", &cookie);
    assert_eq!((other.status, unknown.status), (404, 404));
    assert_eq!(
        other.text.replace("globex", "X"),
        unknown.text.replace("initech", "X"),
        "another tenant reads as an unknown one"
    );
    // Every tenant only when asked for.
    let wide = log_in(&server, &login_link(&server.store, &server.base, None));
    let overview = dashboard(&server.base, "GET", "/admin", &[("Cookie", wide.as_str())]);
    assert!(
        overview.text.contains("data-tenant=\"globex\""),
        "{}",
        overview.text
    );
    let refused = crate::helpers::cli_output(&server.store, &["admin", "login-link"]);
    assert!(
        !refused.status.success(),
        "a link names its tenant or --all-tenants"
    );

    // Listed, and revoked from the CLI: the browser must log in again.
    let sessions: Value =
        serde_json::from_str(&cli(&server.store, &["admin", "sessions", "--json"])).expect("JSON");
    let sessions = sessions.as_array().expect("sessions");
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    assert_eq!(sessions[0]["tenant"], "acme");
    assert_eq!(sessions[1]["tenant"], "all tenants");
    let id = sessions[0]["id"].as_str().expect("id");
    cli(&server.store, &["admin", "revoke", id]);
    assert_eq!(
        dashboard(&server.base, "GET", "/admin", &cookie).status,
        401
    );

    // Logout: from another origin refused; from the page, the session ends.
    let wide_cookie = ("Cookie", wide.as_str());
    let forged = dashboard(
        &server.base,
        "POST",
        "/admin/logout",
        &[wide_cookie, ("Origin", "https://evil.example")],
    );
    assert_eq!(forged.status, 403, "{}", forged.text);
    let no_origin = dashboard(&server.base, "POST", "/admin/logout", &[wide_cookie]);
    assert_eq!(no_origin.status, 403, "{}", no_origin.text);
    assert_eq!(
        dashboard(&server.base, "GET", "/admin", &[wide_cookie]).status,
        200
    );
    let out = dashboard(
        &server.base,
        "POST",
        "/admin/logout",
        &[wide_cookie, ("Sec-Fetch-Site", "same-origin")],
    );
    assert_eq!(out.status, 200, "{}", out.text);
    assert!(out.set_cookie.is_some_and(|c| c.contains("Max-Age=0")));
    assert_eq!(
        dashboard(&server.base, "GET", "/admin", &[wide_cookie]).status,
        401
    );
    let listed = cli(&server.store, &["admin", "sessions", "--json"]);
    assert_eq!(listed.trim(), "[]");

    // Plain HTTP to another host: refused, the link unspent.
    let link = login_link(&server.store, &server.base, Some("acme"));
    let path = link.trim_start_matches(&server.base);
    let remote = dashboard(&server.base, "GET", path, &[("Host", "scim.example.com")]);
    assert_eq!(remote.status, 400, "{}", remote.text);
    assert!(remote.text.contains("needs HTTPS"), "{}", remote.text);
    assert!(remote.set_cookie.is_none());
    log_in(&server, &link);
    assert!(remote.location.is_none());
}
