//! The Management API (`/api/v1`) end to end: the vendor's product creates a tenant, sells
//! seats, hands out the SCIM credential, maps values to pools, checks a user's licenses
//! and deletes the tenant, over HTTP, with API keys made by `scim-server api-key create`.

use serde_json::{Value, json};

use crate::helpers::{GROUP_SCHEMA, Reply, Server, Store, USER_SCHEMA, cli, cli_output};

const PROBLEM: &str = "application/problem+json";

/// An API key with `scopes` (none: admin), made with the CLI on the server's store.
pub(crate) fn api_key(server: &Server, scopes: &[&str]) -> String {
    let mut args = vec!["api-key", "create", "--name", "acceptance"];
    for scope in scopes {
        args.extend(["--scope", scope]);
    }
    let out = cli(&server.store, &args);
    let key = out.lines().last().expect("the key is the last line").trim();
    assert!(key.starts_with("scimkey_"), "{out}");
    key.to_owned()
}

/// Sends JSON (`application/json`) to the Management API.
pub(crate) fn call(
    server: &Server,
    method: &str,
    path: &str,
    key: &str,
    body: Option<&Value>,
) -> Reply {
    call_with(server, method, path, key, &[], body)
}

fn call_with(
    server: &Server,
    method: &str,
    path: &str,
    key: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Reply {
    let text = body.map(Value::to_string);
    let mut all = vec![("Content-Type", "application/json")];
    all.extend_from_slice(headers);
    server.send(
        method,
        &format!("/api/v1{path}"),
        Some(key),
        &all,
        text.as_deref().map(str::as_bytes),
    )
}

/// Asserts an RFC 9457 problem of `status` and kind `name`, returning its detail.
#[track_caller]
fn assert_problem(reply: &Reply, status: u16, name: &str) -> String {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(
        reply.header("content-type"),
        Some(PROBLEM),
        "{}",
        reply.text
    );
    assert_eq!(
        reply.json["type"],
        format!("urn:scim-license:problem:{name}"),
        "{}",
        reply.text
    );
    assert_eq!(reply.json["status"], status, "{}", reply.text);
    assert!(reply.json["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(
        reply.json["requestId"].as_str(),
        reply.header("x-request-id"),
        "the problem names the request"
    );
    reply.json["detail"].as_str().expect("detail").to_owned()
}

fn product_drives_a_tenant(store: Store) {
    let server = Server::start(store);
    let key = api_key(&server, &[]);

    // Sign-up: a tenant.
    let created = call(
        &server,
        "POST",
        "/tenants",
        &key,
        Some(&json!({"slug": "acme", "name": "Acme Corp", "profile": "okta"})),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["slug"], "acme");
    assert_eq!(created.json["name"], "Acme Corp");
    assert_eq!(created.json["profile"], "okta");
    assert_eq!(
        created.json["scimBaseUrl"],
        format!("{}/scim/v2", server.base)
    );
    assert_eq!(
        created.header("location"),
        Some(format!("{}/api/v1/tenants/acme", server.base).as_str())
    );
    let again = call(
        &server,
        "POST",
        "/tenants",
        &key,
        Some(&json!({"slug": "acme"})),
    );
    assert!(assert_problem(&again, 409, "conflict").contains("acme"));

    // Settings, with the ETag of what was read.
    let read = call(&server, "GET", "/tenants/acme", &key, None);
    assert_eq!(read.status, 200);
    let etag = read.header("etag").expect("an ETag").to_owned();
    assert_eq!(Some(etag.as_str()), created.header("etag"));
    let renamed = call_with(
        &server,
        "PATCH",
        "/tenants/acme",
        &key,
        &[("If-Match", &etag)],
        Some(&json!({"name": "Acme Inc", "settings": {"onDeactivate": "delete"}})),
    );
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.json["name"], "Acme Inc");
    assert_eq!(renamed.json["settings"]["onDeactivate"], "delete");
    assert_ne!(renamed.header("etag"), Some(etag.as_str()));
    let stale = call_with(
        &server,
        "PATCH",
        "/tenants/acme",
        &key,
        &[("If-Match", &etag)],
        Some(&json!({"name": "Lost update"})),
    );
    assert_problem(&stale, 412, "precondition-failed");
    let listed = cli(&server.store, &["tenant", "list", "--json"]);
    assert!(
        listed.contains("\"Acme Inc\""),
        "the CLI sees the change: {listed}"
    );

    // Seats, and a rule.
    let pool = call(
        &server,
        "PUT",
        "/tenants/acme/pools/pro",
        &key,
        Some(&json!({"seats": 2, "name": "Pro"})),
    );
    assert_eq!(pool.status, 201, "{}", pool.text);
    assert_eq!(
        (
            pool.json["sku"].clone(),
            pool.json["name"].clone(),
            pool.json["seats"].clone(),
            pool.json["available"].clone()
        ),
        (json!("pro"), json!("Pro"), json!(2), json!(2))
    );
    assert_eq!(
        (pool.json["policy"].clone(), pool.json["overage"].clone()),
        (json!("strict"), json!(0))
    );
    let pool_etag = pool.header("etag").expect("a pool's ETag").to_owned();
    // A pool sold with an overage allowance: up to 1 seat beyond the 1 bought.
    let team = call(
        &server,
        "PUT",
        "/tenants/acme/pools/team",
        &key,
        Some(&json!({"seats": 1, "policy": "overage", "overage": 1})),
    );
    assert_eq!(team.status, 201, "{}", team.text);
    assert_eq!(
        (
            team.json["policy"].clone(),
            team.json["overage"].clone(),
            team.json["overageUsed"].clone()
        ),
        (json!("overage"), json!(1), json!(0))
    );
    // Kept when a later change names only the seats.
    let team = call(
        &server,
        "PUT",
        "/tenants/acme/pools/team",
        &key,
        Some(&json!({"seats": 2})),
    );
    assert_eq!(
        (team.json["policy"].clone(), team.json["overage"].clone()),
        (json!("overage"), json!(1))
    );
    // A term: kept when not named, removed by null.
    let termed =
        json!({"seats": 2, "starts": "2026-01-01T00:00:00+01:00", "ends": "2099-01-01T00:00:00Z"});
    let team = call(
        &server,
        "PUT",
        "/tenants/acme/pools/team",
        &key,
        Some(&termed),
    );
    assert_eq!(team.status, 200, "{}", team.text);
    let term = |pool: &Value| (pool["starts"].clone(), pool["ends"].clone());
    let bounds = (
        json!("2025-12-31T23:00:00.000Z"),
        json!("2099-01-01T00:00:00.000Z"),
    );
    assert_eq!(term(&team.json), bounds);
    let kept = call(
        &server,
        "PUT",
        "/tenants/acme/pools/team",
        &key,
        Some(&json!({"seats": 2})),
    );
    assert_eq!(term(&kept.json), bounds);
    let open = json!({"seats": 2, "ends": null});
    let open = call(
        &server,
        "PUT",
        "/tenants/acme/pools/team",
        &key,
        Some(&open),
    );
    assert_eq!(term(&open.json), (bounds.0.clone(), Value::Null));
    let rule = call(
        &server,
        "POST",
        "/tenants/acme/rules",
        &key,
        Some(&json!({"source": "group", "value": "Sales", "sku": "pro"})),
    );
    assert_eq!(rule.status, 201, "{}", rule.text);
    let rule_id = rule.json["id"].as_str().expect("a rule id").to_owned();
    let same = call(
        &server,
        "POST",
        "/tenants/acme/rules",
        &key,
        Some(&json!({"source": "group", "value": "SALES", "sku": "PRO"})),
    );
    assert_eq!(same.status, 200, "the same rule again: {}", same.text);
    assert_eq!(same.json["id"], rule_id.as_str());

    // The customer's IdP gets a token, provisions a user and puts it in Sales.
    let token = call(
        &server,
        "POST",
        "/tenants/acme/tokens",
        &key,
        Some(&json!({"expiresInDays": 30})),
    );
    assert_eq!(token.status, 201, "{}", token.text);
    let secret = token.json["token"]
        .as_str()
        .expect("the token, once")
        .to_owned();
    assert!(token.json["expiresAt"].as_str().is_some());
    let listed = call(&server, "GET", "/tenants/acme/tokens", &key, None);
    assert_eq!(listed.json["data"][0]["id"], token.json["id"]);
    assert!(
        !listed.text.contains(&secret),
        "a listing never shows the secret"
    );

    let ada = server.post(
        "/scim/v2/Users",
        &secret,
        &json!({"schemas": [USER_SCHEMA], "userName": "ada@acme.example", "externalId": "e-ada"}),
    );
    assert_eq!(ada.status, 201, "{}", ada.text);
    let ada_id = ada.json["id"].as_str().unwrap().to_owned();
    let sales = server.post(
        "/scim/v2/Groups",
        &secret,
        &json!({"schemas": [GROUP_SCHEMA], "displayName": "Sales", "members": [{"value": ada_id}]}),
    );
    assert_eq!(sales.status, 201, "{}", sales.text);

    // The product checks the license on login, three ways.
    for path in [
        "/tenants/acme/licenses?userName=ADA@acme.example".to_owned(),
        "/tenants/acme/licenses?externalId=e-ada".to_owned(),
        format!("/tenants/acme/users/{ada_id}/licenses"),
    ] {
        let found = call(&server, "GET", &path, &key, None);
        assert_eq!(found.status, 200, "{path}: {}", found.text);
        assert_eq!(found.json["user"]["id"], ada_id.as_str());
        assert_eq!(found.json["user"]["userName"], "ada@acme.example");
        assert_eq!(found.json["user"]["active"], true);
        let licenses = found.json["licenses"].as_array().unwrap();
        assert_eq!(licenses.len(), 1, "{path}: {}", found.text);
        assert_eq!(
            (
                licenses[0]["sku"].clone(),
                licenses[0]["source"].clone(),
                licenses[0]["status"].clone()
            ),
            (json!("pro"), json!("group"), json!("active"))
        );
    }
    // The true-up around now: from none in use to what the pool holds, against 2 seats.
    let now = chrono::Utc::now();
    let hour = chrono::Duration::hours(1);
    let period = format!(
        "from={}&to={}",
        (now - hour).format("%Y-%m-%dT%H:%M:%SZ"),
        (now + hour).format("%Y-%m-%dT%H:%M:%SZ")
    );
    let pro = call(&server, "GET", "/tenants/acme/pools/pro", &key, None).json;
    let path = format!("/tenants/acme/pools/PRO/true-up?{period}");
    let true_up = call(&server, "GET", &path, &key, None);
    assert_eq!(true_up.status, 200, "{}", true_up.text);
    let figures = crate::licensing::true_up_figures(&true_up.json);
    let used = pro["used"].clone();
    assert_eq!(
        figures,
        [
            json!("pro"),
            json!(2),
            json!(0),
            used.clone(),
            used,
            json!(0)
        ]
    );
    assert_eq!(true_up.json["seatDaysOver"], 0.0);
    let missing = call(
        &server,
        "GET",
        "/tenants/acme/pools/pro/true-up?from=2026-12-01T00:00:00Z",
        &key,
        None,
    );
    assert!(assert_problem(&missing, 400, "invalid-value").contains("to is required"));
    let backwards =
        "/tenants/acme/pools/pro/true-up?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z";
    let backwards = call(&server, "GET", backwards, &key, None);
    assert!(assert_problem(&backwards, 400, "invalid-value").contains("must end after it starts"));
    let ghost = call(
        &server,
        "GET",
        &format!("/tenants/acme/pools/ghost/true-up?{period}"),
        &key,
        None,
    );
    assert_eq!(ghost.status, 404, "{}", ghost.text);
    let nobody = call(
        &server,
        "GET",
        "/tenants/acme/licenses?userName=nobody",
        &key,
        None,
    );
    assert!(assert_problem(&nobody, 404, "not-found").contains("nobody"));

    // What the tenant uses, what happened, what was recorded.
    let usage = call(&server, "GET", "/tenants/acme/usage", &key, None);
    assert_eq!(usage.json["pools"][0]["used"], 1, "{}", usage.text);
    let pool = call(&server, "GET", "/tenants/acme/pools/PRO", &key, None);
    assert_eq!(
        (pool.json["used"].clone(), pool.json["available"].clone()),
        (json!(1), json!(1))
    );
    let audit = call(
        &server,
        "GET",
        &format!("/tenants/acme/audit?userId={ada_id}"),
        &key,
        None,
    );
    assert_eq!(audit.status, 200, "{}", audit.text);
    assert_eq!(audit.json["data"][0]["action"], "assigned");
    assert_eq!(audit.json["data"][0]["sku"], "pro");
    let events = call(&server, "GET", "/tenants/acme/events?limit=1", &key, None);
    assert_eq!(
        events.json["data"].as_array().unwrap().len(),
        1,
        "{}",
        events.text
    );
    let next = events.json["next_cursor"]
        .as_str()
        .expect("more events follow");
    let rest = call(
        &server,
        "GET",
        &format!("/tenants/acme/events?cursor={next}"),
        &key,
        None,
    );
    assert!(rest.json["data"][0]["seq"].as_i64() > events.json["data"][0]["seq"].as_i64());

    // Previewed first, with a read-only key: ada would lose the seat; nothing changes.
    let reader = api_key(&server, &["licenses:read"]);
    let removal = json!({"change": "remove", "source": "group", "value": "sales", "sku": "pro"});
    let preview = call(
        &server,
        "POST",
        "/tenants/acme/rule-previews",
        &reader,
        Some(&removal),
    );
    assert_eq!(preview.status, 200, "{}", preview.text);
    assert_eq!(preview.json["rule"]["id"], rule_id.as_str());
    assert_eq!(
        preview.json["pools"][0],
        json!({"sku": "pro", "displayName": "Pro", "seats": 2, "used": 1, "usedAfter": 0,
               "gaining": 0, "losing": 1, "waiting": 0}),
        "{}",
        preview.text
    );
    let usage = call(&server, "GET", "/tenants/acme/usage", &key, None);
    assert_eq!(
        usage.json["pools"][0]["used"], 1,
        "the preview wrote nothing"
    );
    for (body, status) in [
        (
            json!({"change": "swap", "source": "group", "value": "Sales", "sku": "pro"}),
            400,
        ),
        (
            json!({"change": "remove", "source": "role", "value": "Sales", "sku": "pro"}),
            404,
        ),
        (
            json!({"source": "group", "value": "Sales", "sku": "nope"}),
            404,
        ),
    ] {
        let refused = call(
            &server,
            "POST",
            "/tenants/acme/rule-previews",
            &reader,
            Some(&body),
        );
        assert_eq!(refused.status, status, "{body}: {}", refused.text);
    }

    // The rule goes: ada loses the seat it alone gave.
    let removed = call(
        &server,
        "DELETE",
        &format!("/tenants/acme/rules/{rule_id}"),
        &key,
        None,
    );
    assert_eq!(removed.status, 200, "{}", removed.text);
    assert_eq!(removed.json["reevaluation"]["revoked"], 1);
    let found = call(
        &server,
        "GET",
        "/tenants/acme/licenses?externalId=e-ada",
        &key,
        None,
    );
    assert_eq!(found.json["licenses"], json!([]));
    // The audit log pages on, entry by entry, in the order recorded.
    let first = call(
        &server,
        "GET",
        &format!("/tenants/acme/audit?userId={ada_id}&limit=1"),
        &key,
        None,
    );
    assert_eq!(
        first.json["data"][0]["action"], "assigned",
        "{}",
        first.text
    );
    let cursor = first.json["next_cursor"]
        .as_str()
        .expect("a second entry follows");
    let second = call(
        &server,
        "GET",
        &format!("/tenants/acme/audit?userId={ada_id}&limit=1&cursor={cursor}"),
        &key,
        None,
    );
    assert_eq!(
        second.json["data"][0]["action"], "revoked",
        "{}",
        second.text
    );
    assert_eq!(second.json["next_cursor"], Value::Null);

    // The pool's ETag is of its seats and name, not of its use: a seat taken since does
    // not make the billing system's change a conflict.
    let more = call_with(
        &server,
        "PUT",
        "/tenants/acme/pools/pro",
        &key,
        &[("If-Match", &pool_etag)],
        Some(&json!({"seats": 3, "name": "Pro"})),
    );
    assert_eq!(more.status, 200, "{}", more.text);
    let stale = call_with(
        &server,
        "PUT",
        "/tenants/acme/pools/pro",
        &key,
        &[("If-Match", &pool_etag)],
        Some(&json!({"seats": 4, "name": "Pro"})),
    );
    assert_problem(&stale, 412, "precondition-failed");

    // Two users of one externalId: the lookup by it names neither.
    let twin = server.post(
        "/scim/v2/Users",
        &secret,
        &json!({"schemas": [USER_SCHEMA], "userName": "ada.twin@acme.example", "externalId": "e-ada"}),
    );
    assert_eq!(twin.status, 201, "{}", twin.text);
    let ambiguous = call(
        &server,
        "GET",
        "/tenants/acme/licenses?externalId=e-ada",
        &key,
        None,
    );
    assert!(assert_problem(&ambiguous, 409, "conflict").contains("more than one user"));

    // A token revoked through the API stops working at once on this server.
    let spare = call(&server, "POST", "/tenants/acme/tokens", &key, None);
    let spare_secret = spare.json["token"].as_str().unwrap().to_owned();
    assert_eq!(
        server.get("/scim/v2/Users?count=1", &spare_secret).status,
        200
    );
    let spare_id = spare.json["id"].as_str().unwrap();
    assert_eq!(
        call(
            &server,
            "DELETE",
            &format!("/tenants/acme/tokens/{spare_id}"),
            &key,
            None
        )
        .status,
        204
    );
    assert_eq!(
        server.get("/scim/v2/Users?count=1", &spare_secret).status,
        401
    );

    // The customer leaves: everything goes, the IdP's token stops working at once.
    let deleted = call(&server, "DELETE", "/tenants/acme", &key, None);
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_eq!(server.get("/scim/v2/Users", &secret).status, 401);
    assert_problem(
        &call(&server, "GET", "/tenants/acme", &key, None),
        404,
        "not-found",
    );
    assert_problem(
        &call(&server, "DELETE", "/tenants/acme", &key, None),
        404,
        "not-found",
    );
    assert_eq!(
        cli(&server.store, &["tenant", "list", "--json"]).trim(),
        "[]"
    );
}

#[test]
fn the_product_drives_a_tenant_on_sqlite() {
    product_drives_a_tenant(Store::sqlite());
}

#[test]
fn the_product_drives_a_tenant_on_postgres() {
    if let Some(store) = Store::postgres("e2e management on postgres") {
        product_drives_a_tenant(store);
    }
}

/// Scopes hold (403), and SCIM credentials and API keys open only their own API (401
/// both ways); a revoked key is refused.
#[test]
fn scopes_and_credentials_stay_apart() {
    let server = Server::start(Store::sqlite());
    let admin = api_key(&server, &[]);
    let reader = api_key(&server, &["tenants:read"]);
    let licenses = api_key(&server, &["licenses:write"]);
    assert_eq!(
        call(
            &server,
            "POST",
            "/tenants",
            &admin,
            Some(&json!({"slug": "acme"}))
        )
        .status,
        201
    );

    assert_eq!(call(&server, "GET", "/tenants", &reader, None).status, 200);
    let refused = call(
        &server,
        "POST",
        "/tenants",
        &reader,
        Some(&json!({"slug": "b"})),
    );
    assert!(assert_problem(&refused, 403, "forbidden").contains("tenants:write"));
    // licenses:write includes licenses:read, and nothing of tenants.
    assert_eq!(
        call(&server, "GET", "/tenants/acme/pools", &licenses, None).status,
        200
    );
    assert_problem(
        &call(&server, "GET", "/tenants", &licenses, None),
        403,
        "forbidden",
    );
    assert_problem(
        &call(
            &server,
            "POST",
            "/tenants/acme/tokens",
            &licenses,
            Some(&json!({})),
        ),
        403,
        "forbidden",
    );

    // A SCIM token on /api/v1, an API key on /scim/v2: 401 both ways.
    let scim_token = crate::helpers::issue_token(&server.store, "acme");
    let wrong_way = call(&server, "GET", "/tenants", &scim_token, None);
    assert_problem(&wrong_way, 401, "unauthorized");
    assert_eq!(
        wrong_way.header("www-authenticate"),
        Some("Bearer realm=\"api\"")
    );
    server.get("/scim/v2/Users", &admin).assert_error(401, None);
    let anonymous = server.send("GET", "/api/v1/tenants", None, &[], None);
    assert_problem(&anonymous, 401, "unauthorized");

    // A key revoked (from the CLI, another process) before its first use is refused.
    let out = cli(&server.store, &["api-key", "list", "--json"]);
    let keys: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(keys.as_array().unwrap().len(), 3);
    assert!(!out.contains(&admin), "a listing never shows a key");
    let doomed = api_key(&server, &[]);
    let listed: Value =
        serde_json::from_str(cli(&server.store, &["api-key", "list", "--json"]).trim()).unwrap();
    let id = listed[3]["id"].as_str().unwrap();
    cli(&server.store, &["api-key", "revoke", id]);
    assert_problem(
        &call(&server, "GET", "/tenants", &doomed, None),
        401,
        "unauthorized",
    );
    let unknown = cli_output(&server.store, &["api-key", "revoke", id]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no API key"));
    let bad_scope = cli_output(
        &server.store,
        &["api-key", "create", "--name", "x", "--scope", "tenants"],
    );
    assert!(!bad_scope.status.success());
    assert!(String::from_utf8_lossy(&bad_scope.stderr).contains("tenants:read"));
}

/// Bad input gets a precise problem, never a 5xx nor a SCIM error body: text no store can
/// hold (U+0000, an over-long indexed value) included.
fn bad_input_gets_a_precise_problem(store: Store) {
    let server = Server::start(store);
    let key = api_key(&server, &[]);
    assert_eq!(
        call(
            &server,
            "POST",
            "/tenants",
            &key,
            Some(&json!({"slug": "acme"}))
        )
        .status,
        201
    );
    let raw = |method: &str, path: &str, content_type: &str, body: &str| {
        server.send(
            method,
            &format!("/api/v1{path}"),
            Some(&key),
            &[("Content-Type", content_type)],
            Some(body.as_bytes()),
        )
    };
    let detail = assert_problem(
        &raw("POST", "/tenants", "application/json", "{\"slug\":"),
        400,
        "invalid-body",
    );
    assert!(detail.contains("JSON"), "{detail}");
    let detail = assert_problem(
        &raw(
            "POST",
            "/tenants",
            "application/json",
            r#"{"slug": "b", "plan": "gold"}"#,
        ),
        400,
        "invalid-body",
    );
    assert!(detail.contains("plan"), "{detail}");
    let detail = assert_problem(
        &raw(
            "PUT",
            "/tenants/acme/pools/pro",
            "application/json",
            r#"{"seats": "ten"}"#,
        ),
        400,
        "invalid-body",
    );
    assert!(
        detail.contains("seats") || detail.contains("integer"),
        "{detail}"
    );
    // serde reads a struct from an array of its fields: refused, as the schema says.
    for (path, body) in [
        ("/tenants/acme/setup-links", "[null]"),
        ("/tenants/acme/rules", r#"["group", "Sales", "pro"]"#),
        ("/tenants", "\"acme\""),
        (
            "/tenants/acme/webhooks",
            r#"{"url": "https://example.com/e", "oauth": ["https://example.com/t", "id", "secret", null]}"#,
        ),
        (
            "/tenants/acme/clients",
            r#"{"federation": ["https://issuer.example", "https://issuer.example/jwks", "sub", "aud"]}"#,
        ),
    ] {
        let detail = assert_problem(
            &raw("POST", path, "application/json", body),
            400,
            "invalid-body",
        );
        assert!(
            detail.contains("must be a JSON object"),
            "{path} {body}: {detail}"
        );
    }
    for (body, says) in [
        (
            r#"{"seats": 5, "policy": "pending", "overage": 1}"#,
            "needs the policy 'overage'",
        ),
        (
            r#"{"seats": 5, "policy": "lenient"}"#,
            "is not a seat policy",
        ),
        (
            r#"{"seats": 5, "policy": "overage"}"#,
            "needs an overage allowance",
        ),
        (
            r#"{"seats": 5, "policy": "strict", "overage": 2}"#,
            "needs the policy 'overage'",
        ),
        (
            r#"{"seats": 5, "ends": "next year"}"#,
            "ends must be an RFC 3339 time",
        ),
        (
            r#"{"seats": 5, "starts": "2027-01-01T00:00:00Z", "ends": "2026-01-01T00:00:00Z"}"#,
            "must end after it starts",
        ),
        (
            r#"{"seats": 5, "policy": "lenient"}"#,
            "is not a seat policy",
        ),
    ] {
        let detail = assert_problem(
            &raw("PUT", "/tenants/acme/pools/pro", "application/json", body),
            400,
            "invalid-value",
        );
        assert!(detail.contains(says), "{body}: {detail}");
    }
    assert_problem(
        &raw("POST", "/tenants", "text/plain", "slug=b"),
        415,
        "unsupported-media-type",
    );
    let detail = assert_problem(
        &raw(
            "POST",
            "/tenants",
            "application/json",
            r#"{"slug": "Not A Slug"}"#,
        ),
        400,
        "invalid-value",
    );
    assert!(detail.contains("slug"), "{detail}");
    assert_problem(
        &raw(
            "PUT",
            "/tenants/acme/pools/pro",
            "application/json",
            r#"{"seats": -1}"#,
        ),
        400,
        "invalid-value",
    );
    assert_problem(
        &raw(
            "POST",
            "/tenants/acme/rules",
            "application/json",
            r#"{"source": "department", "value": "x", "sku": "pro"}"#,
        ),
        400,
        "invalid-value",
    );
    let big = format!("{{\"slug\": \"{}\"}}", "a".repeat(2 * 1024 * 1024));
    assert_problem(
        &raw("POST", "/tenants", "application/json", &big),
        413,
        "payload-too-large",
    );
    assert_problem(
        &call(&server, "GET", "/tenants?limit=500", &key, None),
        400,
        "invalid-value",
    );
    assert_problem(
        &call(&server, "GET", "/tenants?cursor=bm9wZQ", &key, None),
        400,
        "invalid-cursor",
    );
    assert_problem(
        &call(
            &server,
            "GET",
            "/tenants/acme/audit?since=yesterday",
            &key,
            None,
        ),
        400,
        "invalid-value",
    );
    assert_problem(
        &call(&server, "GET", "/tenants/acme/licenses", &key, None),
        400,
        "invalid-value",
    );
    assert_problem(
        &call(&server, "GET", "/tenants/nobody/pools", &key, None),
        404,
        "not-found",
    );
    assert_problem(
        &call(&server, "GET", "/tenants/acme/nothing", &key, None),
        404,
        "not-found",
    );
    let wrong = call(&server, "PUT", "/tenants", &key, None);
    assert_problem(&wrong, 405, "method-not-allowed");
    assert_eq!(wrong.header("allow"), Some("GET, HEAD, POST"));

    // What no store can hold is refused up front, on both stores alike.
    assert_eq!(
        call(
            &server,
            "PUT",
            "/tenants/acme/pools/pro",
            &key,
            Some(&json!({"seats": 1}))
        )
        .status,
        201
    );
    let detail = assert_problem(
        &raw(
            "POST",
            "/tenants/acme/rules",
            "application/json",
            r#"{"source": "group", "value": "a\u0000b", "sku": "pro"}"#,
        ),
        400,
        "invalid-value",
    );
    assert!(
        detail.contains("'value'") && detail.contains("U+0000"),
        "{detail}"
    );
    let long = json!({"source": "group", "value": "x".repeat(5_000), "sku": "pro"});
    assert!(
        assert_problem(
            &call(&server, "POST", "/tenants/acme/rules", &key, Some(&long)),
            400,
            "invalid-value"
        )
        .contains("1024 bytes")
    );
    assert_problem(
        &call(&server, "GET", "/tenants/ac%00me", &key, None),
        404,
        "not-found",
    );
    assert_problem(
        &call(
            &server,
            "GET",
            "/tenants/acme/licenses?userName=a%00b",
            &key,
            None,
        ),
        400,
        "invalid-value",
    );
    assert_problem(
        &raw("PATCH", "/tenants/acme", "application/json", ""),
        400,
        "invalid-body",
    );
}

#[test]
fn bad_input_gets_a_precise_problem_on_sqlite() {
    bad_input_gets_a_precise_problem(Store::sqlite());
}

#[test]
fn bad_input_gets_a_precise_problem_on_postgres() {
    if let Some(store) = Store::postgres("e2e management bad input on postgres") {
        bad_input_gets_a_precise_problem(store);
    }
}

/// 1,000 tenants page through `limit` and `next_cursor`, each once, by slug; tenants
/// created meanwhile do not shift the pages.
fn tenants_page_through(store: Store) {
    // As fast as the test can: no per-key limit in the way.
    let server = Server::start_with(
        store,
        &["--api-rate-limit", "0"],
        "warn",
        std::process::Stdio::inherit(),
    );
    let key = api_key(&server, &[]);
    let mut slugs: Vec<String> = (0..1_000).map(|n| format!("t{n:04}")).collect();
    for slug in &slugs {
        let created = call(
            &server,
            "POST",
            "/tenants",
            &key,
            Some(&json!({"slug": slug})),
        );
        assert_eq!(created.status, 201, "{}", created.text);
    }
    let mut seen = Vec::new();
    let mut path = "/tenants?limit=137".to_owned();
    let mut pages = 0;
    loop {
        let page = call(&server, "GET", &path, &key, None);
        assert_eq!(page.status, 200, "{}", page.text);
        pages += 1;
        if pages == 2 {
            // A tenant that sorts before the cursor appears on no later page.
            call(
                &server,
                "POST",
                "/tenants",
                &key,
                Some(&json!({"slug": "a-latecomer"})),
            );
        }
        seen.extend(
            page.json["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|tenant| tenant["slug"].as_str().unwrap().to_owned()),
        );
        match page.json["next_cursor"].as_str() {
            Some(cursor) => path = format!("/tenants?limit=137&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 8);
    slugs.sort();
    assert_eq!(seen, slugs);
    let default = call(&server, "GET", "/tenants", &key, None);
    assert_eq!(default.json["data"].as_array().unwrap().len(), 50);
}

#[test]
fn a_thousand_tenants_page_through_on_sqlite() {
    tenants_page_through(Store::sqlite());
}

#[test]
fn a_thousand_tenants_page_through_on_postgres() {
    if let Some(store) = Store::postgres("e2e management paging on postgres") {
        tenants_page_through(store);
    }
}

/// Each API key has its own rate limit: 429 with Retry-After past it, the other keys
/// unaffected.
#[test]
fn each_api_key_is_rate_limited_on_its_own() {
    let server = Server::start_with(
        Store::sqlite(),
        &["--api-rate-limit", "1", "--api-rate-burst", "3"],
        "warn",
        std::process::Stdio::inherit(),
    );
    let busy = api_key(&server, &[]);
    let calm = api_key(&server, &[]);
    let statuses: Vec<u16> = (0..6)
        .map(|_| call(&server, "GET", "/tenants", &busy, None).status)
        .collect();
    assert_eq!(&statuses[..3], [200, 200, 200], "{statuses:?}");
    assert!(statuses[3..].contains(&429), "{statuses:?}");
    let limited = call(&server, "GET", "/tenants", &busy, None);
    assert_problem(&limited, 429, "rate-limited");
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    assert_eq!(call(&server, "GET", "/tenants", &calm, None).status, 200);
}

/// Keys that do not work are held to the per-address limit on credential lookups, as
/// SCIM credentials are: once an address's refusals exhaust `--auth-rate-burst`, its
/// next unknown key is a 429 problem before any lookup, while a key that works (remembered
/// from its last use) still passes.
#[test]
fn unknown_api_keys_are_limited_per_address() {
    let server = Server::start_flags(
        Store::sqlite(),
        &["--auth-rate-limit", "1", "--auth-rate-burst", "3"],
    );
    let good = api_key(&server, &[]);
    assert_eq!(call(&server, "GET", "/tenants", &good, None).status, 200);
    let guess = |n: usize| format!("scimkey_{:_<43}", format!("guess{n}"));
    let statuses: Vec<u16> = (0..6)
        .map(|n| call(&server, "GET", "/tenants", &guess(n), None).status)
        .collect();
    assert_eq!(&statuses[..3], [401, 401, 401], "{statuses:?}");
    assert!(statuses[3..].contains(&429), "{statuses:?}");
    let held = call(&server, "GET", "/tenants", &guess(9), None);
    let detail = assert_problem(&held, 429, "rate-limited");
    assert!(detail.contains("from this address"), "{detail}");
    assert!(held.header("retry-after").is_some());
    assert_eq!(call(&server, "GET", "/tenants", &good, None).status, 200);
}

/// A POST retried with its `Idempotency-Key` answers the first response again and does
/// nothing twice (one tenant, one token, the same secret); the key with another body is
/// refused; another API key's same key is another key.
fn retries_are_idempotent(store: Store) {
    let server = Server::start(store);
    let key = api_key(&server, &[]);
    let other = api_key(&server, &[]);
    let post = |api_key: &str, path: &str, idempotency: &str, body: &Value| {
        call_with(
            &server,
            "POST",
            path,
            api_key,
            &[("Idempotency-Key", idempotency)],
            Some(body),
        )
    };
    let body = json!({"slug": "acme", "name": "Acme"});
    let first = post(&key, "/tenants", "signup-acme-1", &body);
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.header("idempotent-replayed"), None);
    let retry = post(&key, "/tenants", "signup-acme-1", &body);
    assert_eq!(retry.status, 201, "{}", retry.text);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.json, first.json);
    assert_eq!(retry.header("location"), first.header("location"));
    assert_eq!(retry.header("etag"), first.header("etag"));
    let tenants = call(&server, "GET", "/tenants", &key, None);
    assert_eq!(tenants.json["data"].as_array().unwrap().len(), 1);

    let changed = post(&key, "/tenants", "signup-acme-1", &json!({"slug": "acme2"}));
    assert!(assert_problem(&changed, 422, "idempotency-key-reused").contains("another request"));
    // Another caller's key of the same name is its own: the request runs (and conflicts).
    assert_problem(
        &post(&other, "/tenants", "signup-acme-1", &body),
        409,
        "conflict",
    );
    assert_problem(
        &post(&key, "/tenants", "has space", &body),
        400,
        "invalid-value",
    );

    // A token issued once, whatever the retries: the same secret, and it works.
    let issued = post(&key, "/tenants/acme/tokens", "token-1", &json!({}));
    assert_eq!(issued.status, 201, "{}", issued.text);
    let again = post(&key, "/tenants/acme/tokens", "token-1", &json!({}));
    assert_eq!(again.json["token"], issued.json["token"]);
    let tokens = call(&server, "GET", "/tenants/acme/tokens", &key, None);
    assert_eq!(
        tokens.json["data"].as_array().unwrap().len(),
        1,
        "{}",
        tokens.text
    );
    let secret = issued.json["token"].as_str().unwrap();
    assert_eq!(server.get("/scim/v2/Users", secret).status, 200);
    // A refused request is kept as it was answered, too.
    let refused = post(
        &key,
        "/tenants/acme/tokens",
        "token-2",
        &json!({"expiresInDays": 0}),
    );
    assert_problem(&refused, 400, "invalid-value");
    let refused_again = post(
        &key,
        "/tenants/acme/tokens",
        "token-2",
        &json!({"expiresInDays": 0}),
    );
    assert_eq!(refused_again.status, 400);
    assert_eq!(refused_again.header("idempotent-replayed"), Some("true"));
}

#[test]
fn retries_are_idempotent_on_sqlite() {
    retries_are_idempotent(Store::sqlite());
}

#[test]
fn retries_are_idempotent_on_postgres() {
    if let Some(store) = Store::postgres("e2e management idempotency on postgres") {
        retries_are_idempotent(store);
    }
}

/// Webhooks and the tenant's own attributes, managed over HTTP: a receiver on a private
/// address is refused unless the server allows it; an attribute added shows in the
/// tenant's `/Schemas` and goes again.
#[test]
fn webhooks_and_attributes_are_managed() {
    let server = Server::start_with(
        Store::sqlite(),
        &["--allow-private-webhooks", "false"],
        "warn",
        std::process::Stdio::inherit(),
    );
    let key = api_key(&server, &[]);
    assert_eq!(
        call(
            &server,
            "POST",
            "/tenants",
            &key,
            Some(&json!({"slug": "acme"}))
        )
        .status,
        201
    );
    let private = call(
        &server,
        "POST",
        "/tenants/acme/webhooks",
        &key,
        Some(&json!({"url": "http://127.0.0.1:9/hook"})),
    );
    assert!(assert_problem(&private, 400, "invalid-value").contains("127.0.0.1"));
    let short = call(
        &server,
        "POST",
        "/tenants/acme/webhooks",
        &key,
        Some(&json!({"url": "https://hooks.example.com/scim", "secret": "short"})),
    );
    assert!(assert_problem(&short, 400, "invalid-value").contains("secret"));
    let server = {
        let store = server.stop();
        Server::start_with(
            store,
            &["--allow-private-webhooks", "true"],
            "warn",
            std::process::Stdio::inherit(),
        )
    };
    let added = call(
        &server,
        "POST",
        "/tenants/acme/webhooks",
        &key,
        Some(&json!({"url": "http://127.0.0.1:9/hook"})),
    );
    assert_eq!(added.status, 201, "{}", added.text);
    let id = added.json["id"].as_str().unwrap().to_owned();
    assert!(added.json["secret"].as_str().is_some_and(|s| s.len() >= 32));
    let listed = call(&server, "GET", "/tenants/acme/webhooks", &key, None);
    assert_eq!(listed.json["data"][0]["id"], id.as_str(), "{}", listed.text);
    assert_eq!(listed.json["data"][0]["url"], "http://127.0.0.1:9/hook");
    assert!(
        listed.json["data"][0].get("secret").is_none(),
        "a listing keeps the secret"
    );
    let dead = call(
        &server,
        "GET",
        &format!("/tenants/acme/webhooks/{id}/dead-letters"),
        &key,
        None,
    );
    assert_eq!(dead.json["data"], json!([]), "{}", dead.text);
    let redriven = call(
        &server,
        "POST",
        &format!("/tenants/acme/webhooks/{id}/redrive"),
        &key,
        None,
    );
    assert_eq!(redriven.json["queued"], 0, "{}", redriven.text);
    assert_problem(
        &call(
            &server,
            "POST",
            "/tenants/acme/webhooks/nope/redrive",
            &key,
            None,
        ),
        404,
        "not-found",
    );
    assert_eq!(
        call(
            &server,
            "DELETE",
            &format!("/tenants/acme/webhooks/{id}"),
            &key,
            None
        )
        .status,
        204
    );
    assert_eq!(
        call(&server, "GET", "/tenants/acme/webhooks", &key, None).json["data"],
        json!([])
    );

    let added = call(
        &server,
        "POST",
        "/tenants/acme/attributes",
        &key,
        Some(&json!({"name": "badgeColor", "type": "string", "description": "Badge colour"})),
    );
    assert_eq!(added.status, 201, "{}", added.text);
    let id = added.json["id"].as_str().unwrap().to_owned();
    assert_eq!(
        id,
        "urn:scim-license:schemas:extension:custom:2.0:User:badgeColor"
    );
    let scim = crate::helpers::issue_token(&server.store, "acme");
    let schemas = server.get("/scim/v2/Schemas", &scim);
    assert!(schemas.text.contains("badgeColor"), "{}", schemas.text);
    let bad = call(
        &server,
        "POST",
        "/tenants/acme/attributes",
        &key,
        Some(&json!({"name": "9lives", "type": "string"})),
    );
    assert_problem(&bad, 400, "invalid-value");
    let listed = call(&server, "GET", "/tenants/acme/attributes", &key, None);
    assert_eq!(listed.json["data"][0]["id"], id.as_str());
    let removed = call(
        &server,
        "DELETE",
        &format!("/tenants/acme/attributes/{id}"),
        &key,
        None,
    );
    assert_eq!(removed.status, 204, "{}", removed.text);
    assert!(
        !server
            .get("/scim/v2/Schemas", &scim)
            .text
            .contains("badgeColor")
    );
    assert_problem(
        &call(
            &server,
            "DELETE",
            &format!("/tenants/acme/attributes/{id}"),
            &key,
            None,
        ),
        404,
        "not-found",
    );
}

/// A client-credentials token for `client_id` and `secret` (HTTP Basic, as Entra sends it),
/// with its `expires_in`; the status and body when refused.
fn access_token(
    server: &Server,
    client_id: &str,
    secret: &str,
) -> Result<(String, u64), Box<Reply>> {
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
    let reply = server.send(
        "POST",
        "/oauth/token",
        None,
        &[
            ("Authorization", &format!("Basic {basic}")),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        Some(b"grant_type=client_credentials"),
    );
    if reply.status != 200 {
        return Err(Box::new(reply));
    }
    let token = reply.json["access_token"].as_str().unwrap().to_owned();
    Ok((token, reply.json["expires_in"].as_u64().unwrap()))
}

/// An OAuth client's secret is rotated without the IdP ever failing: a second client is
/// created, the IdP switches to it, the first is revoked. Secrets expire after a year by
/// default (or as asked); access tokens live as long as the operator set (here 2 hours).
fn secrets_rotate_without_a_failure(store: Store) {
    let server = std::sync::Arc::new(Server::start_with(
        store,
        &["--access-token-minutes", "120"],
        "warn",
        std::process::Stdio::inherit(),
    ));
    let key = api_key(&server, &["tenants:write", "credentials:write"]);
    assert_eq!(
        call(
            &server,
            "POST",
            "/tenants",
            &key,
            Some(&json!({"slug": "acme"}))
        )
        .status,
        201
    );
    let first = call(&server, "POST", "/tenants/acme/clients", &key, None);
    assert_eq!(first.status, 201, "{}", first.text);
    let expires =
        chrono::DateTime::parse_from_rfc3339(first.json["expiresAt"].as_str().unwrap()).unwrap();
    let in_a_year = chrono::Utc::now() + chrono::TimeDelta::days(365);
    assert!(
        (in_a_year - expires.to_utc()).num_minutes().abs() < 10,
        "{expires}"
    );
    let short = call(
        &server,
        "POST",
        "/tenants/acme/clients",
        &key,
        Some(&json!({"expiresInDays": 30})),
    );
    let expires =
        chrono::DateTime::parse_from_rfc3339(short.json["expiresAt"].as_str().unwrap()).unwrap();
    assert_eq!((expires.to_utc() - chrono::Utc::now()).num_days(), 29);
    let id = |reply: &Reply| reply.json["client_id"].as_str().unwrap().to_owned();
    let secret = |reply: &Reply| reply.json["client_secret"].as_str().unwrap().to_owned();

    let (_, lifetime) = access_token(&server, &id(&first), &secret(&first)).expect("a token");
    assert_eq!(lifetime, 7200, "the operator's access-token lifetime");

    // The IdP provisions all along with whatever credential it is configured with.
    let configured = std::sync::Arc::new(std::sync::Mutex::new((id(&first), secret(&first))));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let idp = {
        let (server, configured, stop) = (
            std::sync::Arc::clone(&server),
            std::sync::Arc::clone(&configured),
            std::sync::Arc::clone(&stop),
        );
        std::thread::spawn(move || {
            // As an IdP does: one access token per configured client, kept until then.
            let mut failures = Vec::new();
            let mut rounds = 0;
            let mut holding: Option<(String, String)> = None;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || rounds < 5 {
                let (client_id, client_secret) = configured.lock().unwrap().clone();
                if holding.as_ref().is_none_or(|(held, _)| *held != client_id) {
                    match access_token(&server, &client_id, &client_secret) {
                        Ok((token, _)) => holding = Some((client_id, token)),
                        Err(refused) => {
                            failures.push(refused.text);
                            continue;
                        }
                    }
                }
                let token = &holding.as_ref().unwrap().1;
                let listed = server.get("/scim/v2/Users", token);
                if listed.status != 200 {
                    failures.push(listed.text);
                }
                rounds += 1;
                // An IdP's pace, well under the tenant's rate limit.
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            (rounds, failures)
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    let second = call(&server, "POST", "/tenants/acme/clients", &key, None);
    assert_eq!(second.status, 201, "{}", second.text);
    std::thread::sleep(std::time::Duration::from_millis(200));
    *configured.lock().unwrap() = (id(&second), secret(&second));
    std::thread::sleep(std::time::Duration::from_millis(200));
    let revoked = call(
        &server,
        "DELETE",
        &format!("/tenants/acme/clients/{}", id(&first)),
        &key,
        None,
    );
    assert_eq!(revoked.status, 204, "{}", revoked.text);
    std::thread::sleep(std::time::Duration::from_millis(200));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (rounds, failures) = idp.join().unwrap();
    assert!(rounds > 10, "{rounds}");
    assert!(
        failures.is_empty(),
        "the IdP failed {} times during the rotation, first: {:?}",
        failures.len(),
        failures.first()
    );

    let old = access_token(&server, &id(&first), &secret(&first)).expect_err("revoked");
    assert_eq!(old.status, 401, "{}", old.text);
    assert_eq!(old.json["error"], "invalid_client");
    let listed = call(&server, "GET", "/tenants/acme/clients", &key, None);
    let ids: Vec<&str> = listed.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|client| client["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{}", listed.text);
    assert!(!ids.contains(&id(&first).as_str()));
}

#[test]
fn secrets_rotate_without_a_failure_on_sqlite() {
    secrets_rotate_without_a_failure(Store::sqlite());
}

#[test]
fn secrets_rotate_without_a_failure_on_postgres() {
    if let Some(store) = Store::postgres("e2e management rotation on postgres") {
        secrets_rotate_without_a_failure(store);
    }
}

/// A tenant of 50,000 users is deleted in bounded steps while another tenant keeps
/// provisioning, unhurt (its latencies are printed); a deletion killed midway (SIGKILL)
/// leaves the tenant without credentials, and running it again finishes it.
#[test]
fn a_large_tenant_is_deleted_while_another_provisions() {
    let store = Store::sqlite();
    cli(&store, &["tenant", "create", "big"]);
    let big_token = crate::helpers::issue_token(&store, "big");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("users.csv");
    let mut rows = String::from("userName,name.familyName,active\n");
    for n in 0..50_000 {
        rows.push_str(&format!("u{n}@big.example,U{n},true\n"));
    }
    std::fs::write(&csv, rows).unwrap();
    let imported = cli(
        &store,
        &["import", "--tenant", "big", csv.to_str().unwrap()],
    );
    assert!(imported.contains("created 50000 users"), "{imported}");
    let server = std::sync::Arc::new(Server::start(store));
    let key = api_key(&server, &[]);
    assert_eq!(
        server.get("/scim/v2/Users?count=1", &big_token).json["totalResults"],
        50_000
    );

    // Killed midway: the credentials went with the first step, the rest is still there.
    let mut deleting =
        crate::helpers::cli_child(&server.store, &["tenant", "delete", "big", "--yes"]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    deleting.kill().unwrap();
    deleting.wait().unwrap();
    // Being deleted, the tenant is found by nothing but its deletion (its DELETE answers
    // 204 below: it was not finished, or it would be 404).
    assert_problem(
        &call(&server, "GET", "/tenants/big", &key, None),
        404,
        "not-found",
    );
    assert!(!cli(&server.store, &["tenant", "list", "--json"]).contains("\"big\""));
    // (The server's credential cache forgets a token it accepted within 5 s.)
    let refused = server.refused_within(
        "/scim/v2/Users?count=1",
        &big_token,
        std::time::Duration::from_secs(10),
    );
    assert_eq!(
        refused.status, 401,
        "the tenant's token stopped working with the first step"
    );

    // The other tenant provisions while the API finishes the deletion.
    let small = call(
        &server,
        "POST",
        "/tenants",
        &key,
        Some(&json!({"slug": "small"})),
    );
    assert_eq!(small.status, 201);
    let token = call(&server, "POST", "/tenants/small/tokens", &key, None).json["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let provisioning = {
        let (server, stop, token) = (
            std::sync::Arc::clone(&server),
            std::sync::Arc::clone(&stop),
            token.clone(),
        );
        std::thread::spawn(move || {
            let mut latencies = Vec::new();
            let mut failures = Vec::new();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || n < 20 {
                let started = std::time::Instant::now();
                let created = server.post(
                    "/scim/v2/Users",
                    &token,
                    &crate::helpers::user(&format!("s{n}@small.example")),
                );
                latencies.push(started.elapsed());
                if created.status != 201 {
                    failures.push(created.text);
                }
                n += 1;
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            (latencies, failures)
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    let started = std::time::Instant::now();
    let deleted = call(&server, "DELETE", "/tenants/big", &key, None);
    let took = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut latencies, failures) = provisioning.join().unwrap();
    assert_eq!(
        deleted.status, 204,
        "the deletion killed midway is finished by another: {}",
        deleted.text
    );
    assert!(
        failures.is_empty(),
        "{} failures, first: {:?}",
        failures.len(),
        failures.first()
    );
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    println!(
        "deleting the rest of a 50,000-user tenant took {took:?}; meanwhile {} creates of \
         another tenant: p50 {:?}, p99 {:?}, max {:?}",
        latencies.len(),
        at(0.5),
        at(0.99),
        latencies.last().unwrap()
    );
    assert_problem(
        &call(&server, "GET", "/tenants/big", &key, None),
        404,
        "not-found",
    );
    let listed = call(&server, "GET", "/tenants", &key, None);
    assert_eq!(
        listed.json["data"].as_array().unwrap().len(),
        1,
        "{}",
        listed.text
    );
    let users = server.get("/scim/v2/Users?count=1", &token);
    assert_eq!(
        users.json["totalResults"],
        latencies.len(),
        "{}",
        users.text
    );
}
