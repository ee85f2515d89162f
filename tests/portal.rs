//! The customer's portal over HTTP: setup links made by the Management API (and the CLI)
//! open a session of one tenant in a `__Host-` cookie; its page shows that tenant's SCIM
//! base URL, seats and provisioning activity and nothing of another tenant; logout (CSRF
//! checked) and a revoked link end the session.

use serde_json::json;

use crate::helpers::{Server, Store, cli, tenant_with_token, user};

const OKTA: &str = "Okta SCIM Client 1.0.0";
use crate::management::{api_key, call};

/// A GET that does not follow redirects, with a cookie; status, headers, body.
fn get(server: &Server, path: &str, cookie: Option<&str>) -> (u16, ureq::http::HeaderMap, String) {
    request(server, "GET", path, cookie, &[])
}

fn request(
    server: &Server,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, ureq::http::HeaderMap, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut builder = ureq::http::Request::builder()
        .method(method)
        .uri(server.url(path));
    if let Some(cookie) = cookie {
        builder = builder.header("Cookie", cookie);
    }
    for (name, value) in headers.iter().filter(|(name, _)| *name != "x-test-form") {
        builder = builder.header(*name, *value);
    }
    let form = headers
        .iter()
        .find(|(name, _)| *name == "x-test-form")
        .map(|(_, form)| (*form).to_owned());
    let mut answer = match form {
        Some(form) => agent.run(
            builder
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(form.into_bytes())
                .expect("a request"),
        ),
        None => agent.run(builder.body(()).expect("a request")),
    }
    .expect("an answer");
    let status = answer.status().as_u16();
    let headers = answer.headers().clone();
    let text = answer.body_mut().read_to_string().unwrap_or_default();
    (status, headers, text)
}

/// Opens `url` (a setup link): the session cookie it sets, as a `Cookie` header value,
/// and its `Max-Age`.
fn open(server: &Server, url: &str) -> (String, i64) {
    let path = url
        .strip_prefix(&server.base)
        .expect("a link to this server");
    let (status, headers, text) = get(server, path, None);
    assert_eq!(status, 303, "{text}");
    assert_eq!(headers["location"], "/portal");
    let set = headers["set-cookie"].to_str().expect("a cookie");
    assert!(
        set.starts_with("__Host-scim_portal=scim_")
            && set.contains("; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age="),
        "{set}"
    );
    let max_age = set
        .rsplit("Max-Age=")
        .next()
        .and_then(|age| age.parse().ok());
    let cookie = set.split(';').next().expect("name=value").to_owned();
    (cookie, max_age.expect("a Max-Age"))
}

#[test]
fn a_setup_link_opens_its_tenants_portal_only() {
    let server = Server::start(Store::sqlite());
    let token = tenant_with_token(&server.store, "acme");
    let other = tenant_with_token(&server.store, "globex");
    for (tenant, sku) in [("acme", "pro"), ("globex", "globex-secret-sku")] {
        cli(
            &server.store,
            &[
                "license", "set", "--tenant", tenant, "--sku", sku, "--seats", "5",
            ],
        );
    }
    // acme's pro is sold until 2099.
    let term = ["--seats", "5", "--ends", "2099-01-01T00:00:00Z"];
    let set = ["license", "set", "--tenant", "acme", "--sku", "pro"];
    cli(&server.store, &[&set[..], &term[..]].concat());
    assert_eq!(
        server
            .post("/scim/v2/Users", &other, &user("zed@globex.example"))
            .status,
        201
    );
    let key = api_key(&server, &[]);
    let reader = api_key(&server, &["tenants:read"]);

    // Made by the Management API: portal:write, a week unless asked, 1 to 720 hours.
    let refused = call(
        &server,
        "POST",
        "/tenants/acme/setup-links",
        &reader,
        Some(&json!({})),
    );
    assert_eq!(refused.status, 403, "{}", refused.text);
    for hours in [0, 721] {
        let bad = call(
            &server,
            "POST",
            "/tenants/acme/setup-links",
            &key,
            Some(&json!({"expiresInHours": hours})),
        );
        assert_eq!(bad.status, 400, "{hours}: {}", bad.text);
    }
    let made = call(
        &server,
        "POST",
        "/tenants/acme/setup-links",
        &key,
        Some(&json!({})),
    );
    assert_eq!(made.status, 201, "{}", made.text);
    let url = made.json["url"].as_str().expect("a url").to_owned();
    assert!(
        url.starts_with(&format!("{}/portal/open?code=scim_", server.base)),
        "{url}"
    );
    let expires = chrono::DateTime::parse_from_rfc3339(made.json["expiresAt"].as_str().unwrap())
        .expect("a time");
    let week = expires.timestamp() - chrono::Utc::now().timestamp();
    assert!((7 * 86_400 - 60..=7 * 86_400).contains(&week), "{week}");
    let listed = call(&server, "GET", "/tenants/acme/setup-links", &reader, None);
    assert_eq!(listed.json["data"][0]["id"], made.json["id"]);
    let code = url.split("code=").nth(1).expect("a code");
    assert!(
        !listed.text.contains(code),
        "a listing never shows the code"
    );

    // Without a session: nothing.
    let (status, _, text) = get(&server, "/portal", None);
    assert_eq!(status, 401, "{text}");
    assert!(!text.contains("Acme") && !text.contains("acme"), "{text}");
    let (status, _, _) = get(&server, "/portal/open?code=scim_not-a-code", None);
    assert_eq!(status, 401);

    // The IdP's first request, then the portal's page.
    let created = server.scim_as(
        OKTA,
        "POST",
        "/scim/v2/Users",
        &token,
        Some(&user("ada@acme.example")),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let (cookie, max_age) = open(&server, &url);
    assert_eq!(max_age, 12 * 3_600, "a session lasts 12 hours");
    let (status, headers, page) = get(&server, "/portal", Some(&cookie));
    assert_eq!(status, 200, "{page}");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    // As HTML writes it (`/` escaped), which a browser shows as the URL.
    let base_url = format!("{}/scim/v2", server.base).replace('/', "&#x2F;");
    assert!(
        page.contains(&format!("data-field=\"scim-base-url\">{base_url}<")),
        "{page}"
    );
    assert!(
        page.contains("data-sku=\"pro\" data-field=\"seats\">5<"),
        "{page}"
    );
    assert!(
        page.contains("data-sku=\"pro\" data-field=\"term\">until 2099-01-01 00:00 UTC<"),
        "{page}"
    );
    // Health: acme's one request and one user, none of globex's.
    assert_eq!(field(&page, "requests-24h"), Some("1"), "{page}");
    assert_eq!(field(&page, "failures-24h"), Some("0 (0.0%)"), "{page}");
    assert_eq!(field(&page, "users"), Some("1"), "{page}");
    assert!(
        page.contains("ada@acme.example") && page.contains("Okta"),
        "{page}"
    );
    for foreign in ["globex", "zed@", "Globex"] {
        assert!(!page.contains(foreign), "{foreign} on acme's page: {page}");
    }

    // A refused request, and the activity filtered to refusals: the reason in words.
    let again = server.scim_as(
        OKTA,
        "POST",
        "/scim/v2/Users",
        &token,
        Some(&user("ada@acme.example")),
    );
    assert_eq!(again.status, 409, "{}", again.text);
    let (_, _, refusals) = get(&server, "/portal/activity?outcome=failure", Some(&cookie));
    assert_eq!(
        refusals.matches("data-outcome=\"failure\"").count(),
        1,
        "{refusals}"
    );
    assert!(!refusals.contains("data-outcome=\"success\""), "{refusals}");
    assert!(
        refusals.contains("ada@acme.example") && refusals.contains("409"),
        "{refusals}"
    );
    let (_, _, users) = get(&server, "/portal/activity?resource=User", Some(&cookie));
    assert_eq!(users.matches("<tr data-outcome=").count(), 2, "{users}");

    // Another tenant's credential cannot be revoked from this portal.
    let listed = cli(
        &server.store,
        &["token", "list", "--tenant", "globex", "--json"],
    );
    let theirs: serde_json::Value = serde_json::from_str(listed.lines().last().unwrap()).unwrap();
    let their_id = theirs[0]["id"].as_str().expect("globex's token id");
    let form = format!("kind=token&id={their_id}");
    let (status, _, _) = request(
        &server,
        "POST",
        "/portal/credentials/revoke",
        Some(&cookie),
        &[("Sec-Fetch-Site", "same-origin"), ("x-test-form", &form)],
    );
    assert_eq!(status, 404, "not this tenant's credential");
    assert_eq!(
        server.get("/scim/v2/Users", &other).status,
        200,
        "globex's token works on"
    );
    let (_, _, credentials) = get(&server, "/portal/credentials", Some(&cookie));
    assert!(!credentials.contains(their_id), "{credentials}");

    // Logout: only from this origin; then the cookie opens nothing.
    let (status, _, _) = request(&server, "POST", "/portal/logout", Some(&cookie), &[]);
    assert_eq!(status, 403, "a cross-site form cannot log the admin out");
    let (status, headers, _) = request(
        &server,
        "POST",
        "/portal/logout",
        Some(&cookie),
        &[("Sec-Fetch-Site", "same-origin")],
    );
    assert_eq!(status, 200);
    assert!(
        headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(get(&server, "/portal", Some(&cookie)).0, 401);

    // The link still opens sessions until it is revoked, which ends them too.
    let (again, _) = open(&server, &url);
    assert_eq!(get(&server, "/portal", Some(&again)).0, 200);
    let id = made.json["id"].as_str().unwrap();
    let revoked = call(
        &server,
        "DELETE",
        &format!("/tenants/acme/setup-links/{id}"),
        &key,
        None,
    );
    assert_eq!(revoked.status, 204, "{}", revoked.text);
    assert_eq!(get(&server, "/portal", Some(&again)).0, 401);
    let path = url.strip_prefix(&server.base).unwrap();
    assert_eq!(get(&server, path, None).0, 401);
    assert!(
        call(&server, "GET", "/tenants/acme/setup-links", &key, None).json["data"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );

    // The CLI makes the same links: the link is its last line.
    let out = cli(
        &server.store,
        &[
            "tenant",
            "setup-link",
            "acme",
            "--base-url",
            &server.base,
            "--expires-in-hours",
            "2",
        ],
    );
    let link = out.lines().last().expect("a last line");
    let (cookie, max_age) = open(&server, link);
    assert!(
        (7_000..=7_200).contains(&max_age),
        "never past its link: {max_age}"
    );
    let (_, _, page) = get(&server, "/portal", Some(&cookie));
    assert!(page.contains("ada@acme.example"), "{page}");
}

/// A setup link of `slug` made with `key`, opened: its id and the session's cookie.
fn session(server: &Server, key: &str, slug: &str) -> (String, String) {
    let path = format!("/tenants/{slug}/setup-links");
    let made = call(server, "POST", &path, key, Some(&json!({})));
    assert_eq!(made.status, 201, "{}", made.text);
    let (cookie, _) = open(server, made.json["url"].as_str().expect("a url"));
    (made.json["id"].as_str().expect("an id").to_owned(), cookie)
}

/// The `data-field` value of a page, as HTML wrote it (escaped).
fn field<'a>(page: &'a str, name: &str) -> Option<&'a str> {
    let marker = format!("data-field=\"{name}\">");
    let start = page.find(&marker)? + marker.len();
    page[start..].split('<').next()
}

#[test]
fn each_idp_is_guided_to_its_first_request() {
    let server = Server::start(Store::sqlite());
    cli(&server.store, &["tenant", "create", "acme"]);
    let key = api_key(&server, &[]);
    let (_, cookie) = session(&server, &key, "acme");
    let same_origin = [("Sec-Fetch-Site", "same-origin")];

    let (_, _, choice) = get(&server, "/portal/setup", Some(&cookie));
    for idp in [
        "entra",
        "okta",
        "onelogin",
        "jumpcloud",
        "generic",
        "google",
    ] {
        assert!(
            choice.contains(&format!("href=\"/portal/setup/{idp}\"")),
            "{choice}"
        );
    }

    // Okta: a header token, the okta profile.
    let (status, _, guide) = get(&server, "/portal/setup/okta", Some(&cookie));
    assert_eq!(status, 200, "{guide}");
    let escaped_base = format!("{}/scim/v2", server.base).replace('/', "&#x2F;");
    assert_eq!(field(&guide, "base-url"), Some(escaped_base.as_str()));
    let (status, _, _) = request(&server, "POST", "/portal/setup/okta", Some(&cookie), &[]);
    assert_eq!(status, 403, "the form is refused from another site");
    let (status, _, shown) = request(
        &server,
        "POST",
        "/portal/setup/okta",
        Some(&cookie),
        &same_origin,
    );
    assert_eq!(status, 200, "{shown}");
    let token = field(&shown, "secret")
        .expect("the token, shown once")
        .to_owned();
    assert!(token.starts_with("scim_"), "{token}");
    let tenant = call(&server, "GET", "/tenants/acme", &key, None);
    assert_eq!(tenant.json["profile"], "okta", "{}", tenant.text);
    let status_path = shown
        .split("href=\"")
        .find_map(|part| part.strip_prefix("/portal/setup/okta/status?credential="))
        .and_then(|rest| rest.split('"').next())
        .map(|credential| format!("/portal/setup/okta/status?credential={credential}"))
        .expect("a link to the connection status");
    let (_, headers, waiting) = get(&server, &status_path, Some(&cookie));
    assert!(waiting.contains("Waiting for Okta"), "{waiting}");
    assert_eq!(headers["refresh"], "5");
    let probe = "/scim/v2/Users?filter=userName%20eq%20%22probe%22";
    let first = server.scim_as(OKTA, "GET", probe, &token, None);
    assert_eq!(first.status, 200, "{}", first.text);
    let (_, headers, connected) = get(&server, &status_path, Some(&cookie));
    let said = field(&connected, "connection").expect("the connection's state");
    assert!(
        said.starts_with("Connected: first request from Okta"),
        "{said}"
    );
    assert!(headers.get("refresh").is_none());

    // Entra ID: an OAuth client, exchanged for an access token as Entra does.
    let (_, _, shown) = request(
        &server,
        "POST",
        "/portal/setup/entra",
        Some(&cookie),
        &same_origin,
    );
    let id = field(&shown, "client-id").expect("a client id").to_owned();
    let secret = field(&shown, "secret").expect("a secret").to_owned();
    assert_eq!(
        field(&shown, "base-url"),
        Some(format!("{escaped_base}?aadOptscim062020").as_str())
    );
    let issued = server.token_form(&format!(
        "grant_type=client_credentials&client_id={id}&client_secret={secret}"
    ));
    assert_eq!(issued.status, 200, "{}", issued.text);
    let access = issued.json["access_token"].as_str().expect("a token");
    assert_eq!(server.get("/scim/v2/Users", access).status, 200);
    let (_, _, connected) = get(
        &server,
        &format!("/portal/setup/entra/status?credential=client:{id}"),
        Some(&cookie),
    );
    assert!(
        field(&connected, "connection").is_some_and(|said| said.starts_with("Connected")),
        "{connected}"
    );
    assert_eq!(
        call(&server, "GET", "/tenants/acme", &key, None).json["profile"],
        "entra"
    );

    // Entra's workload identity federation: the four values Entra shows, checked.
    let (_, _, guide) = get(&server, "/portal/setup/entra", Some(&cookie));
    assert!(guide.contains("data-action=\"federate\""), "{guide}");
    let federate = |jwks: &str| {
        let form = format!(
            "issuer=https%3A%2F%2Flogin.microsoftonline.com%2Ft%2Fv2.0&jwks_url={jwks}\
             &subject=workload-object-id&audience=api%3A%2F%2Fapp-id%2F.default"
        );
        let headers = [
            ("Sec-Fetch-Site", "same-origin"),
            ("x-test-form", form.as_str()),
        ];
        request(
            &server,
            "POST",
            "/portal/setup/entra/federation",
            Some(&cookie),
            &headers,
        )
    };
    let (status, _, refused) = federate("ftp%3A%2F%2Fkeys.example.com");
    assert_eq!(status, 200);
    assert!(
        field(&refused, "refused").is_some_and(|why| why.starts_with("the JWKS URL")),
        "{refused}"
    );
    let (_, _, trusted) =
        federate("https%3A%2F%2Flogin.microsoftonline.com%2Ft%2Fdiscovery%2Fv2.0%2Fkeys");
    let federated = field(&trusted, "client-id")
        .expect("a client id")
        .to_owned();
    let clients = call(&server, "GET", "/tenants/acme/clients", &key, None);
    let listed = clients.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|client| client["client_id"] == federated.as_str())
        .expect("the federated client")
        .clone();
    assert_eq!(listed["authentication"], "federation");
    assert_eq!(listed["federation"]["subject"], "workload-object-id");

    // Google Workspace: an honest page, no credential.
    let (_, _, google) = get(&server, "/portal/setup/google", Some(&cookie));
    assert!(
        google.contains("no SCIM client") && !google.contains("create-credential"),
        "{google}"
    );
    let (status, _, _) = request(
        &server,
        "POST",
        "/portal/setup/google",
        Some(&cookie),
        &same_origin,
    );
    assert_eq!(status, 404);
}

#[test]
fn the_operator_opens_a_tenants_portal_from_the_dashboard() {
    let server = Server::start(Store::sqlite());
    let token = tenant_with_token(&server.store, "acme");
    cli(&server.store, &["tenant", "create", "globex"]);
    assert_eq!(server.get("/scim/v2/Users", &token).status, 200);
    let out = cli(
        &server.store,
        &[
            "admin",
            "login-link",
            "--tenant",
            "acme",
            "--base-url",
            &server.base,
            "--json",
        ],
    );
    let link: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let path = link["url"]
        .as_str()
        .unwrap()
        .strip_prefix(&server.base)
        .unwrap()
        .to_owned();
    let (status, headers, _) = get(&server, &path, None);
    assert_eq!(status, 303);
    let admin = headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();

    let (_, _, overview) = get(&server, "/admin", Some(&admin));
    assert_eq!(field(&overview, "requests-24h"), Some("1"), "{overview}");
    let same_origin = [("Sec-Fetch-Site", "same-origin")];
    let (status, _, _) = request(
        &server,
        "POST",
        "/admin/tenants/acme/portal",
        Some(&admin),
        &[],
    );
    assert_eq!(status, 403);
    let (status, _, _) = request(
        &server,
        "POST",
        "/admin/tenants/globex/portal",
        Some(&admin),
        &same_origin,
    );
    assert_eq!(status, 404, "a tenant the session does not see");
    let (status, headers, _) = request(
        &server,
        "POST",
        "/admin/tenants/acme/portal",
        Some(&admin),
        &same_origin,
    );
    assert_eq!(status, 303);
    let location = headers["location"].to_str().unwrap();
    assert!(
        location.starts_with("/portal/open?code=scim_"),
        "{location}"
    );
    let (cookie, max_age) = open(&server, &format!("{}{location}", server.base));
    assert!(max_age <= 3_600, "an hour's link: {max_age}");
    let (status, _, page) = get(&server, "/portal", Some(&cookie));
    assert_eq!(status, 200);
    assert!(page.contains("<h1>acme</h1>"), "{page}");
}

/// The portal's license mapping: the tenant's pools and the groups its IdP pushed (never
/// another tenant's); a change previewed by the engine writes nothing; saving it
/// re-evaluates as `license map` does, audited as the portal's; removal is previewed too.
#[test]
fn a_license_mapping_is_saved_after_its_preview() {
    let server = Server::start(Store::sqlite());
    let token = tenant_with_token(&server.store, "acme");
    let other = tenant_with_token(&server.store, "globex");
    for (tenant, sku, seats) in [
        ("acme", "pro", "2"),
        ("acme", "basic", "10"),
        ("globex", "globex-secret-sku", "100"),
    ] {
        cli(
            &server.store,
            &[
                "license", "set", "--tenant", tenant, "--sku", sku, "--seats", seats,
            ],
        );
    }
    let mut ids = Vec::new();
    for name in ["ann", "bob", "cy"] {
        let made = server.post(
            "/scim/v2/Users",
            &token,
            &user(&format!("{name}@acme.example")),
        );
        assert_eq!(made.status, 201, "{}", made.text);
        ids.push(made.json["id"].as_str().expect("an id").to_owned());
    }
    let mut premium = user("dee@acme.example");
    premium["entitlements"] = json!([{"value": "Premium"}]);
    assert_eq!(server.post("/scim/v2/Users", &token, &premium).status, 201);
    let members: Vec<_> = ids.iter().map(|id| json!({"value": id})).collect();
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Sales",
        "members": members,
    });
    assert_eq!(server.post("/scim/v2/Groups", &token, &group).status, 201);
    let theirs = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Globex Secret Group",
    });
    assert_eq!(server.post("/scim/v2/Groups", &other, &theirs).status, 201);
    let key = api_key(&server, &[]);
    let (link, cookie) = session(&server, &key, "acme");
    let post = |path: &str, form: &str| {
        let headers = [("Sec-Fetch-Site", "same-origin"), ("x-test-form", form)];
        request(&server, "POST", path, Some(&cookie), &headers)
    };
    let seats_of = |page: &str, sku: &str| {
        let marker = format!("data-sku=\"{sku}\" data-field=\"used\">");
        let at = page
            .find(&marker)
            .unwrap_or_else(|| panic!("no {sku}: {page}"));
        page[at + marker.len()..]
            .split('<')
            .next()
            .map(str::to_owned)
    };

    let (status, _, page) = get(&server, "/portal/licenses", Some(&cookie));
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<option>Sales</option>"), "{page}");
    assert!(
        page.contains("data-field=\"rules\">No mappings yet."),
        "{page}"
    );
    assert!(page.contains("data-unmapped=\"Premium\""), "{page}");
    assert_eq!(seats_of(&page, "pro").as_deref(), Some("0"));
    for foreign in ["Globex Secret Group", "globex-secret-sku"] {
        assert!(!page.contains(foreign), "{foreign} on acme's page");
    }
    let (_, _, home) = get(&server, "/portal", Some(&cookie));
    assert!(home.contains("href=\"/portal/licenses\""), "{home}");

    // The preview: 2 seats for 3 members; nothing is written.
    let sales = "change=add&source=group&value=Sales&sku=pro";
    let (status, _, preview) = post("/portal/licenses/preview", sales);
    assert_eq!(status, 200, "{preview}");
    let pro = preview
        .split("<tr data-sku=\"pro\">")
        .nth(1)
        .expect("pro's row");
    let figures: Vec<_> = ["used", "used-after", "gaining", "losing", "waiting"]
        .iter()
        .map(|name| field(pro, name).expect(name))
        .collect();
    assert_eq!(figures, ["0", "2", "2", "0", "1"], "{preview}");
    assert!(
        preview.contains("pro cannot take everyone: 2 users would get a seat; 1 user would get no seat (2 of 2 seats used after)"),
        "{preview}"
    );
    assert!(
        preview.contains("name=\"value\" value=\"Sales\""),
        "{preview}"
    );
    assert!(
        preview.contains(
            "Members of the group <strong>Sales</strong> would get <strong>pro</strong>."
        ),
        "{preview}"
    );
    let (_, _, page) = get(&server, "/portal/licenses", Some(&cookie));
    assert!(page.contains("No mappings yet."), "{page}");
    assert_eq!(seats_of(&page, "pro").as_deref(), Some("0"));

    // What the form may not name: another tenant's group or pool, a foreign origin.
    let (status, _, refused) = post(
        "/portal/licenses/preview",
        "change=add&source=group&value=Globex+Secret+Group&sku=pro",
    );
    assert_eq!(status, 400, "{refused}");
    assert!(refused.contains("has pushed no group"), "{refused}");
    let (status, _, refused) = post(
        "/portal/licenses/preview",
        "change=add&source=group&value=Sales&sku=globex-secret-sku",
    );
    assert_eq!(status, 400, "{refused}");
    assert!(refused.contains("You have no license"), "{refused}");
    for bad in [
        "change=add&source=nope&value=Sales&sku=pro",
        "change=swap&source=group&value=Sales&sku=pro",
        "value=Sales",
    ] {
        let (status, _, refused) = post("/portal/licenses/preview", bad);
        assert_eq!(status, 400, "{bad}: {refused}");
    }
    let (status, _, _) = request(
        &server,
        "POST",
        "/portal/licenses/apply",
        Some(&cookie),
        &[("Sec-Fetch-Site", "cross-site"), ("x-test-form", sales)],
    );
    assert_eq!(status, 403);
    let (_, _, page) = get(&server, "/portal/licenses", Some(&cookie));
    assert!(page.contains("No mappings yet."), "{page}");

    // Saved: what the preview said, audited as the portal's.
    let (status, _, saved) = post("/portal/licenses/apply", sales);
    assert_eq!(status, 200, "{saved}");
    assert!(
        saved.contains("Saved: Members of the group <strong>Sales</strong> now get pro. 2 users got a seat, 0 users lost one, 1 user got none: no seat was left."),
        "{saved}"
    );
    assert_eq!(seats_of(&saved, "pro").as_deref(), Some("2"));
    assert!(saved.contains("<tr data-rule="), "{saved}");
    let audit = call(&server, "GET", "/tenants/acme/audit", &key, None);
    let actors: Vec<_> = audit.json["data"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|entry| entry["actor"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        actors,
        [format!("portal:{link}"), format!("portal:{link}")],
        "{}",
        audit.text
    );

    // Removing it: previewed, then saved.
    let remove = "change=remove&source=group&value=Sales&sku=pro";
    let (status, _, preview) = post("/portal/licenses/preview", remove);
    assert_eq!(status, 200, "{preview}");
    assert!(
        preview.contains("pro: 2 users would lose theirs (0 of 2 seats used after)"),
        "{preview}"
    );
    let (status, _, removed) = post("/portal/licenses/apply", remove);
    assert_eq!(status, 200, "{removed}");
    assert_eq!(seats_of(&removed, "pro").as_deref(), Some("0"));
    assert!(removed.contains("No mappings yet."), "{removed}");
    let (status, _, gone) = post("/portal/licenses/preview", remove);
    assert_eq!(status, 404, "{gone}");

    // Without a session, nothing.
    let (status, _, _) = get(&server, "/portal/licenses", None);
    assert_eq!(status, 401);
}
