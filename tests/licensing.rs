//! Licenses end to end: the operator sets pools and rules with the CLI, identity providers
//! provision over SCIM, and seats move: Entra ID through app roles and `"active": "False"`,
//! Okta through entitlements and `PUT active:false`, group push through a mapped group.
//! `license usage --json` and `/Licenses` agree.

use serde_json::{Value, json};

use crate::helpers::{
    GROUP_SCHEMA, METRICS_TOKEN, Server, Store, USER_SCHEMA, cli, cli_output, tenant_with_token,
};

const LICENSES: &str = "urn:scim-license:schemas:extension:license:2.0:User";
const REVOKED: &str = "urn:scim-license:event:license:revoked";

/// The skus a user resource shows, with their sources.
pub(crate) fn skus(user: &Value) -> Vec<(String, String)> {
    user[LICENSES]["licenses"]
        .as_array()
        .map(|licenses| {
            licenses
                .iter()
                .map(|l| {
                    (
                        l["sku"].as_str().unwrap_or_default().to_owned(),
                        l["source"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A true-up report's sku, seats, startUsed, endUsed, peakUsed and peakOver, in that order.
pub(crate) fn true_up_figures(report: &Value) -> Vec<Value> {
    [
        "sku",
        "seats",
        "startUsed",
        "endUsed",
        "peakUsed",
        "peakOver",
    ]
    .iter()
    .map(|name| report[*name].clone())
    .collect()
}

pub(crate) fn held(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(sku, source)| ((*sku).to_owned(), (*source).to_owned()))
        .collect()
}

/// `used` per sku, from `/Licenses` and from `license usage --json`, which must agree.
fn usage(server: &Server, token: &str, slug: &str) -> Vec<(String, i64)> {
    let listed = server.get("/scim/v2/Licenses", token);
    assert_eq!(listed.status, 200, "{}", listed.text);
    let from_api: Vec<Value> = listed.json["Resources"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let report: Value = serde_json::from_str(
        cli(
            &server.store,
            &["license", "usage", "--tenant", slug, "--json"],
        )
        .trim(),
    )
    .expect("usage --json prints one JSON object");
    assert_eq!(report["tenant"], slug);
    let from_cli = report["pools"].as_array().cloned().unwrap_or_default();
    assert_eq!(from_api.len(), from_cli.len());
    for (api, cli) in from_api.iter().zip(&from_cli) {
        for key in [
            "sku",
            "displayName",
            "seats",
            "used",
            "available",
            "policy",
            "overage",
            "overageUsed",
        ] {
            assert_eq!(api[key], cli[key], "{key}: {api} vs {cli}");
        }
        assert_eq!(api["id"], api["sku"]);
        assert_eq!(
            api["schemas"],
            json!(["urn:scim-license:schemas:core:2.0:License"])
        );
    }
    from_api
        .iter()
        .map(|pool| {
            (
                pool["sku"].as_str().unwrap_or_default().to_owned(),
                pool["used"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

fn used(list: &[(&str, i64)]) -> Vec<(String, i64)> {
    list.iter()
        .map(|(sku, n)| ((*sku).to_owned(), *n))
        .collect()
}

fn entra_user(n: usize, role: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": format!("user{n}@contoso.onmicrosoft.com"),
        "active": true,
        "roles": [{"primary": false, "type": "WindowsAzureActiveDirectoryRole", "value": role}],
    })
}

fn entra_flow(store: Store) {
    let token = tenant_with_token(&store, "contoso");
    cli(
        &store,
        &[
            "license", "set", "--tenant", "contoso", "--sku", "pro", "--seats", "2", "--name",
            "Pro plan",
        ],
    );
    cli(
        &store,
        &[
            "license",
            "map",
            "--tenant",
            "contoso",
            "--role",
            "Developer",
            "--sku",
            "pro",
        ],
    );
    let server = Server::start(store);

    let first = server.post("/scim/v2/Users", &token, &entra_user(1, "Developer"));
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(skus(&first.json), held(&[("pro", "direct")]));
    let id = first.json["id"].as_str().expect("id").to_owned();
    let second = server.post("/scim/v2/Users", &token, &entra_user(2, "developer"));
    assert_eq!(second.status, 201, "{}", second.text);
    assert_eq!(usage(&server, &token, "contoso"), used(&[("pro", 2)]));
    // What removing the mapping would do, changing nothing.
    let dry = cli(
        &server.store,
        &[
            "license",
            "unmap",
            "--tenant",
            "contoso",
            "--role",
            "Developer",
            "--sku",
            "pro",
            "--dry-run",
        ],
    );
    assert!(
        dry.contains("dry run over 2 users, nothing changed:")
            && dry.contains("pro: 0 would gain a seat, 2 would lose one, 0 would get none; 0 of 2 seats used after"),
        "{dry}"
    );
    assert_eq!(usage(&server, &token, "contoso"), used(&[("pro", 2)]));

    // No third seat: the user is not created, with a precise 400.
    let third = server.post("/scim/v2/Users", &token, &entra_user(3, "Developer"));
    let detail = third.assert_error(400, Some("invalidValue"));
    assert!(
        detail.contains("'pro'") && detail.contains("2 of 2"),
        "{detail}"
    );
    let lookup = server.get(
        "/scim/v2/Users?filter=userName%20eq%20%22user3%40contoso.onmicrosoft.com%22",
        &token,
    );
    assert_eq!(lookup.json["totalResults"], 0);

    // Entra disables with a string boolean: the seat is freed and the third user fits.
    let disabled = server.patch(
        &format!("/scim/v2/Users/{id}"),
        &token,
        &json!([{"op": "Replace", "path": "active", "value": "False"}]),
    );
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    assert!(skus(&disabled.json).is_empty(), "{}", disabled.text);
    assert_eq!(usage(&server, &token, "contoso"), used(&[("pro", 1)]));
    let third = server.post("/scim/v2/Users", &token, &entra_user(3, "Developer"));
    assert_eq!(third.status, 201, "{}", third.text);
    // The license extension filters like any attribute: who holds pro now?
    let holders = server.get(
        &format!(
            "/scim/v2/Users?filter={}&attributes=userName",
            "urn:scim-license:schemas:extension:license:2.0:User:licenses.sku%20eq%20%22PRO%22"
        ),
        &token,
    );
    assert_eq!(holders.status, 200, "{}", holders.text);
    let mut names: Vec<&str> = holders.json["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .filter_map(|u| u["userName"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "user2@contoso.onmicrosoft.com",
            "user3@contoso.onmicrosoft.com"
        ]
    );
    assert!(
        holders.json["Resources"][0].get(LICENSES).is_none(),
        "projected away"
    );
    // Re-enabling finds no seat: nothing changes.
    let enabled = server.patch(
        &format!("/scim/v2/Users/{id}"),
        &token,
        &json!([{"op": "Replace", "path": "active", "value": "True"}]),
    );
    enabled.assert_error(400, Some("invalidValue"));
    assert_eq!(
        server.get(&format!("/scim/v2/Users/{id}"), &token).json["active"],
        false
    );

    // Unmapped roles are reported; the audit log names the request and the credential.
    server.post("/scim/v2/Users", &token, &entra_user(4, "Reader"));
    let report: Value = serde_json::from_str(
        cli(
            &server.store,
            &["license", "usage", "--tenant", "contoso", "--json"],
        )
        .trim(),
    )
    .expect("json");
    assert_eq!(report["unmapped"], json!([{"value": "Reader", "users": 1}]));
    let audit: Value = serde_json::from_str(
        cli(
            &server.store,
            &[
                "license", "audit", "--tenant", "contoso", "--user", &id, "--json",
            ],
        )
        .trim(),
    )
    .expect("json");
    let actions: Vec<&str> = audit
        .as_array()
        .expect("array")
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(actions, ["assigned", "revoked"]);
    assert!(
        audit[1]["cause"]
            .as_str()
            .unwrap_or_default()
            .starts_with(&format!("PATCH /scim/v2/Users/{id} (request "))
    );
    assert!(
        audit[1]["actor"]
            .as_str()
            .unwrap_or_default()
            .starts_with("token:")
    );

    // The license extension is read-only: a client cannot grant itself a license.
    let mut forged = entra_user(5, "Reader");
    forged[LICENSES] = json!({"licenses": [{"sku": "pro", "source": "direct"}]});
    let forged = server.post("/scim/v2/Users", &token, &forged);
    assert_eq!(forged.status, 201, "{}", forged.text);
    assert!(skus(&forged.json).is_empty());
}

fn okta_user(active: bool, entitlements: &[&str]) -> Value {
    let entitlements: Vec<Value> = entitlements.iter().map(|e| json!({"value": e})).collect();
    json!({
        "schemas": [USER_SCHEMA],
        "userName": "dana@okta.local",
        "name": {"givenName": "Dana", "familyName": "Scully"},
        "active": active,
        "entitlements": entitlements,
    })
}

fn okta_flow(store: Store) {
    let token = tenant_with_token(&store, "okta-org");
    cli(
        &store,
        &[
            "license", "set", "--tenant", "okta-org", "--sku", "pro", "--seats", "1",
        ],
    );
    cli(
        &store,
        &[
            "license", "set", "--tenant", "okta-org", "--sku", "basic", "--seats", "10",
        ],
    );
    cli(
        &store,
        &[
            "license",
            "map",
            "--tenant",
            "okta-org",
            "--group",
            "Engineering",
            "--sku",
            "basic",
        ],
    );
    // A rule needs a pool.
    let output = cli_output(
        &store,
        &[
            "license", "map", "--tenant", "okta-org", "--role", "x", "--sku", "nope",
        ],
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no license pool 'nope'"));
    let server = Server::start(store);

    let created = server.post("/scim/v2/Users", &token, &okta_user(true, &["PRO"]));
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(skus(&created.json), held(&[("pro", "direct")]));
    let path = format!(
        "/scim/v2/Users/{}",
        created.json["id"].as_str().expect("id")
    );
    let user_id = created.json["id"].as_str().expect("id").to_owned();

    // PUT changes entitlements: the difference is assigned and revoked.
    let put = server.put(&path, &token, &okta_user(true, &["basic"]));
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(skus(&put.json), held(&[("basic", "direct")]));
    assert_eq!(
        usage(&server, &token, "okta-org"),
        used(&[("basic", 1), ("pro", 0)])
    );

    // Group push: membership of the mapped group grants; the direct grant wins the source.
    let group = server.post(
        "/scim/v2/Groups",
        &token,
        &json!({"schemas": [GROUP_SCHEMA], "displayName": "Engineering", "members": [{"value": user_id}]}),
    );
    assert_eq!(group.status, 201, "{}", group.text);
    let put = server.put(&path, &token, &okta_user(true, &[]));
    assert_eq!(skus(&put.json), held(&[("basic", "group")]));

    // Okta deactivates with PUT active:false and never sends DELETE: the seat is freed.
    let deactivated = server.put(&path, &token, &okta_user(false, &["pro"]));
    assert_eq!(deactivated.status, 200, "{}", deactivated.text);
    assert!(skus(&deactivated.json).is_empty());
    assert_eq!(
        usage(&server, &token, "okta-org"),
        used(&[("basic", 0), ("pro", 0)])
    );
    let reactivated = server.put(&path, &token, &okta_user(true, &["pro"]));
    assert_eq!(
        skus(&reactivated.json),
        held(&[("basic", "group"), ("pro", "direct")])
    );

    // Leaving the group (Okta's PATCH) revokes what only the group granted.
    let group_path = format!("/scim/v2/Groups/{}", group.json["id"].as_str().expect("id"));
    let left = server.patch(
        &group_path,
        &token,
        &json!([{"op": "remove", "path": format!("members[value eq \"{user_id}\"]")}]),
    );
    assert_eq!(left.status, 200, "{}", left.text);
    assert_eq!(
        skus(&server.get(&path, &token).json),
        held(&[("pro", "direct")])
    );

    // One pool by its sku; an unknown one is a SCIM 404; /Licenses is read-only.
    let pro = server.get("/scim/v2/Licenses/PRO", &token);
    assert_eq!(pro.status, 200, "{}", pro.text);
    assert_eq!(
        (pro.json["seats"].as_i64(), pro.json["available"].as_i64()),
        (Some(1), Some(0))
    );
    server
        .get("/scim/v2/Licenses/nope", &token)
        .assert_error(404, None);
    let refused = server.post("/scim/v2/Licenses", &token, &json!({"sku": "x"}));
    refused.assert_error(405, None);
}

#[test]
fn entra_flow_moves_seats_on_sqlite() {
    entra_flow(Store::sqlite());
}

#[test]
fn entra_flow_moves_seats_on_postgres() {
    if let Some(store) = Store::postgres("e2e licensing entra on postgres") {
        entra_flow(store);
    }
}

#[test]
fn okta_flow_moves_seats_on_sqlite() {
    okta_flow(Store::sqlite());
}

#[test]
fn okta_flow_moves_seats_on_postgres() {
    if let Some(store) = Store::postgres("e2e licensing okta on postgres") {
        okta_flow(store);
    }
}

/// An overage pool over SCIM: the IdP's users are granted past the seats bought while the
/// allowance lasts, then refused with the seats bought in the message; `/Licenses` and
/// `license usage` show the overage to true up.
#[test]
fn an_overage_pool_grants_past_its_seats_until_the_allowance() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    cli(
        &store,
        &[
            "license",
            "set",
            "--tenant",
            "acme",
            "--sku",
            "pro",
            "--seats",
            "1",
            "--policy",
            "overage",
            "--overage",
            "1",
        ],
    );
    let server = Server::start(store);
    let okta = |name: &str| {
        json!({"schemas": [USER_SCHEMA], "userName": name, "active": true,
               "entitlements": [{"value": "pro", "type": "License"}]})
    };
    for name in ["ann@acme.example", "bob@acme.example"] {
        let made = server.post("/scim/v2/Users", &token, &okta(name));
        assert_eq!(made.status, 201, "{}", made.text);
        assert_eq!(skus(&made.json), held(&[("pro", "direct")]));
    }
    let third = server.post("/scim/v2/Users", &token, &okta("cy@acme.example"));
    let detail = third.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("2 of 1"), "{detail}");
    assert_eq!(usage(&server, &token, "acme"), used(&[("pro", 2)]));
    let pool = server.get("/scim/v2/Licenses/pro", &token);
    assert_eq!(
        (
            pool.json["policy"].clone(),
            pool.json["overage"].clone(),
            pool.json["overageUsed"].clone()
        ),
        (json!("overage"), json!(1), json!(1)),
        "{}",
        pool.text
    );

    // The true-up over a period around it: from 0 to 2 in use, 1 beyond the seat bought
    // since bob's create, seconds ago (a tiny fraction of a seat-day).
    let now = chrono::Utc::now();
    let from = (now - chrono::Duration::hours(1)).to_rfc3339();
    let to = (now + chrono::Duration::hours(1)).to_rfc3339();
    let args = ["license", "true-up", "--tenant", "acme", "--sku", "PRO"];
    let period = ["--from", from.as_str(), "--to", to.as_str()];
    let report = cli(
        &server.store,
        &[&args[..], &period[..], &["--json"]].concat(),
    );
    let report: Value = serde_json::from_str(report.trim()).expect("one JSON object");
    let figures = true_up_figures(&report);
    assert_eq!(
        figures,
        [
            json!("pro"),
            json!(1),
            json!(0),
            json!(2),
            json!(2),
            json!(1)
        ]
    );
    let over = report["seatDaysOver"].as_f64().expect("seat-days");
    assert!((0.0..0.01).contains(&over), "{report}");
    let text = cli(&server.store, &[&args[..], &period[..]].concat());
    assert!(
        text.contains("2 at the peak") && text.contains("1 at the peak"),
        "{text}"
    );
    // A period that ends before it starts, and a pool that does not exist, are refused.
    let backwards = ["--from", to.as_str(), "--to", from.as_str()];
    let refused = cli_output(&server.store, &[&args[..], &backwards[..]].concat());
    let says = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && says.contains("must end after it starts"),
        "{says}"
    );
    let ghost = ["license", "true-up", "--tenant", "acme", "--sku", "ghost"];
    let refused = cli_output(&server.store, &[&ghost[..], &period[..]].concat());
    let says = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && says.contains("no license pool 'ghost'"),
        "{says}"
    );
}

/// Under `pending`, Okta-shaped creates streamed by four clients into a pool of 3 are all
/// provisioned; the server is SIGKILLed mid-stream and restarted. Every acknowledged user
/// is there with its license, 3 holding a seat and the rest waiting; `/Licenses`,
/// `license usage` and `/metrics` count them; deleting the holders gives the seats to the
/// three that waited longest.
fn a_pending_pool_loses_no_waiting_license_through_a_sigkill(store: Store) {
    let token = tenant_with_token(&store, "acme");
    let pending = ["--seats", "3", "--policy", "pending"];
    let set = ["license", "set", "--tenant", "acme", "--sku", "pro"];
    cli(&store, &[&set[..], &pending[..]].concat());
    let flags = ["--metrics-token", METRICS_TOKEN];
    let mut server = Server::start_flags(store, &flags);
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let (base, token) = (server.base.clone(), token.clone());
            std::thread::spawn(move || okta_creates_until_gone(&base, &token, writer))
        })
        .collect();
    // Kill once a good part of the stream has been answered.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let listed = server.get("/scim/v2/Users?count=0", &token);
        if listed.json["totalResults"].as_u64().unwrap_or(0) >= 40 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the stream stalled");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    server.kill_and_restart(&flags);
    let acknowledged: Vec<String> = writers
        .into_iter()
        .flat_map(|writer| writer.join().unwrap())
        .collect();
    assert!(acknowledged.len() >= 30, "{}", acknowledged.len());
    let users = server.get("/scim/v2/Users?count=10000", &token);
    let users = users.json["Resources"].as_array().cloned().unwrap();
    // Each stored user (the acknowledged ones, and one in flight if it committed) holds
    // `pro`, active or waiting.
    assert!(users.len() >= acknowledged.len() && users.len() <= acknowledged.len() + 4);
    let license = |user: &Value| user[LICENSES]["licenses"][0].clone();
    for id in &acknowledged {
        let user = users.iter().find(|user| user["id"] == id.as_str());
        let user = user.unwrap_or_else(|| panic!("acknowledged {id} was lost"));
        assert_eq!(license(user)["sku"], "pro", "{user}");
    }
    let status = |status: &str| {
        let with = users
            .iter()
            .filter(|user| license(user)["status"] == status);
        with.cloned().collect::<Vec<Value>>()
    };
    let (active, mut waiting) = (status("active"), status("pending"));
    assert_eq!((active.len(), waiting.len()), (3, users.len() - 3));
    let pool = server.get("/scim/v2/Licenses/pro", &token).json;
    let counts = (
        pool["policy"].clone(),
        pool["used"].clone(),
        pool["pending"].clone(),
    );
    assert_eq!(counts, (json!("pending"), json!(3), json!(users.len() - 3)));
    let metrics = server.get("/metrics", METRICS_TOKEN).text;
    let gauge = format!(
        "scim_license_seats_waiting{{tenant=\"acme\",sku=\"pro\"}} {}",
        users.len() - 3
    );
    assert!(metrics.contains(&gauge), "{gauge} not in /metrics");
    let report = cli(
        &server.store,
        &["license", "usage", "--tenant", "acme", "--json"],
    );
    let report: Value = serde_json::from_str(report.trim()).unwrap();
    assert_eq!(report["pools"][0]["pending"], users.len() - 3);

    // The product's license check says the longest waiting user may not use `pro` yet.
    waiting.sort_by_key(|user| license(user)["assigned"].as_str().unwrap().to_owned());
    let key = crate::management::api_key(&server, &["licenses:read"]);
    let first = waiting[0]["id"].as_str().unwrap().to_owned();
    let lookup = |server: &Server| {
        let path = format!("/tenants/acme/users/{first}/licenses");
        let found = crate::management::call(server, "GET", &path, &key, None);
        assert_eq!(found.status, 200, "{}", found.text);
        found.json["licenses"][0]["status"].clone()
    };
    assert_eq!(lookup(&server), "pending");

    // The holders leave; the seats go to the three that waited longest.
    for holder in &active {
        let id = holder["id"].as_str().unwrap();
        let gone = server.delete(&format!("/scim/v2/Users/{id}"), &token);
        assert_eq!(gone.status, 204, "{}", gone.text);
    }
    for (n, user) in waiting.iter().enumerate() {
        let id = user["id"].as_str().unwrap();
        let now = server.get(&format!("/scim/v2/Users/{id}"), &token).json;
        let expected = if n < 3 { "active" } else { "pending" };
        assert_eq!(license(&now)["status"], expected, "{n}: {now}");
    }
    assert_eq!(lookup(&server), "active");
}

/// Okta-shaped creates (entitled to `pro`) by `writer` until the server is gone: the ids
/// acknowledged with 201.
fn okta_creates_until_gone(base: &str, token: &str, writer: usize) -> Vec<String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(10)))
        .build()
        .into();
    let mut acknowledged = Vec::new();
    for n in 0.. {
        let body = json!({"schemas": [USER_SCHEMA], "userName": format!("w{writer}-{n}@acme.example"),
                          "active": true, "entitlements": [{"value": "pro", "type": "License"}]});
        let Ok(mut reply) = agent
            .post(format!("{base}/scim/v2/Users"))
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", "application/scim+json")
            .send(body.to_string())
        else {
            return acknowledged;
        };
        let text = reply.body_mut().read_to_string().unwrap_or_default();
        assert_eq!(
            reply.status().as_u16(),
            201,
            "a pending pool refuses nobody: {text}"
        );
        let created: Value = serde_json::from_str(&text).unwrap();
        acknowledged.push(created["id"].as_str().unwrap().to_owned());
    }
    unreachable!()
}

#[test]
fn a_pending_pool_loses_no_waiting_license_through_a_sigkill_on_sqlite() {
    a_pending_pool_loses_no_waiting_license_through_a_sigkill(Store::sqlite());
}

#[test]
fn a_pending_pool_loses_no_waiting_license_through_a_sigkill_on_postgres() {
    if let Some(store) = Store::postgres("pending_sigkill") {
        a_pending_pool_loses_no_waiting_license_through_a_sigkill(store);
    }
}

/// A pool whose term ends while two processes serve the tenant: each seat is revoked once,
/// with one audit entry and one event, by whichever process claimed the end; the licenses
/// are gone from both; a write after the end gets none; a renewal gives every seat back.
#[test]
fn a_term_that_ends_while_two_replicas_run_revokes_each_seat_once() {
    let Some(store) = Store::postgres("term_replicas") else {
        return;
    };
    let token = tenant_with_token(&store, "acme");
    let ends = chrono::Utc::now() + chrono::Duration::seconds(6);
    let ends = ends.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let set = [
        "license", "set", "--tenant", "acme", "--sku", "pro", "--seats", "20",
    ];
    for (bad, says) in [
        (&["--ends", "tomorrow"][..], "is not a time: use RFC 3339"),
        (
            &[
                "--starts",
                "2027-01-01T00:00:00Z",
                "--ends",
                "2026-01-01T00:00:00Z",
            ][..],
            "must end after it starts",
        ),
    ] {
        let refused = cli_output(&store, &[&set[..], bad].concat());
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            !refused.status.success() && stderr.contains(says),
            "{stderr}"
        );
    }
    let out = cli(&store, &[&set[..], &["--ends", &ends]].concat());
    assert!(out.contains("it grants seats now"), "{out}");
    let server = Server::start_flags(store, &[]);
    let replica = server.replica(&[]);
    let mut ids = Vec::new();
    for n in 0..12 {
        let base = if n % 2 == 0 {
            &server.base
        } else {
            &replica.base
        };
        let user = json!({"schemas": [USER_SCHEMA], "userName": format!("u{n}@acme.test"),
                          "entitlements": [{"value": "pro"}]});
        let created = server.post_at(base, "/scim/v2/Users", &token, &user);
        assert_eq!(created.status, 201, "{}", created.text);
        assert_eq!(skus(&created.json), [("pro".into(), "direct".into())]);
        ids.push(created.json["id"].as_str().unwrap().to_owned());
    }
    // Past the end, within the one-second sweep of either process.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let held = |base: &str| {
        let listed = server.get_at(base, "/scim/v2/Users?count=100", &token);
        assert_eq!(listed.status, 200, "{}", listed.text);
        let listed = listed.json;
        let users = listed["Resources"].as_array().cloned().unwrap_or_default();
        users.iter().filter(|user| !skus(user).is_empty()).count()
    };
    while held(&server.base) > 0 {
        assert!(std::time::Instant::now() < deadline, "the term never ended");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(held(&replica.base), 0, "gone on the replica too");
    // A user written after the end is written, without the license.
    let late = json!({"schemas": [USER_SCHEMA], "userName": "late@acme.test",
                      "entitlements": [{"value": "pro"}]});
    let late = server.post_at(&replica.base, "/scim/v2/Users", &token, &late);
    assert_eq!(late.status, 201, "{}", late.text);
    assert!(skus(&late.json).is_empty(), "{}", late.text);
    // Give both processes several more sweeps: nothing is revoked twice.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let audit = cli(
        &server.store,
        &["license", "audit", "--tenant", "acme", "--json"],
    );
    let audit: Value = serde_json::from_str(audit.trim()).unwrap();
    let entries = audit.as_array().unwrap();
    let revoked: Vec<&Value> = (entries.iter())
        .filter(|entry| entry["action"] == "revoked")
        .collect();
    assert_eq!(revoked.len(), 12, "each seat revoked once: {audit}");
    assert!(
        revoked.iter().all(|entry| entry["cause"] == "term"),
        "{audit}"
    );
    let revoked_users: std::collections::BTreeSet<&str> = revoked
        .iter()
        .filter_map(|entry| entry["userId"].as_str())
        .collect();
    assert_eq!(revoked_users.len(), 12);
    let events = cli(
        &server.store,
        &["events", "--tenant", "acme", "--limit", "10000"],
    );
    let events: Value = serde_json::from_str(events.trim()).unwrap();
    let revocations = (events.as_array().unwrap().iter())
        .filter(|event| event["events"].get(REVOKED).is_some())
        .count();
    assert_eq!(revocations, 12, "one event per seat");
    // Renewed: every user the rules grant gets its seat back, the late one included.
    let out = cli(&server.store, &[&set[..], &["--ends", "none"]].concat());
    assert!(out.contains("13 licenses assigned"), "{out}");
    assert_eq!(held(&replica.base), 13);
    drop(replica);
}
