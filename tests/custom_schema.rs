//! A tenant's own attributes end to end, on both stores: defined with `scim-server schema
//! add` while the server runs, then published in the tenant's /Schemas and /ResourceTypes,
//! validated, filtered, sorted, patched, replaced and bulk-loaded like built-in ones, and
//! unknown to every other tenant.

use serde_json::{Value, json};

use crate::helpers::{Server, Store, USER_SCHEMA, cli, tenant_with_token};

const CUSTOM: &str = "urn:scim-license:schemas:extension:custom:2.0:User";
const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

fn extended(user_name: &str, extension: &Value) -> Value {
    json!({"schemas": [USER_SCHEMA, CUSTOM], "userName": user_name, CUSTOM: extension})
}

fn user_names(list: &Value) -> Vec<&str> {
    list["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .filter_map(|user| user["userName"].as_str())
        .collect()
}

fn run(store: Store) {
    let token = tenant_with_token(&store, "acme");
    let other = tenant_with_token(&store, "globex");
    let server = Server::start_with(
        store,
        &["--credential-cache-seconds", "0"],
        "warn",
        std::process::Stdio::inherit(),
    );
    // Before: the attribute is unknown.
    let early = server.post(
        "/scim/v2/Users",
        &token,
        &extended("early", &json!({"costCenter": "X"})),
    );
    early.assert_error(400, Some("invalidValue"));

    // Defined while the server runs; the next request knows it.
    for args in [
        &[
            "schema",
            "add",
            "--tenant",
            "acme",
            "--name",
            "costCenter",
            "--description",
            "Where the seat is charged",
        ][..],
        &[
            "schema", "add", "--tenant", "acme", "--name", "level", "--type", "integer",
        ],
        &[
            "schema",
            "add",
            "--tenant",
            "acme",
            "--name",
            "badges",
            "--multi-valued",
            "--case-exact",
        ],
    ] {
        cli(&server.store, args);
    }
    let listed: Value = serde_json::from_str(
        cli(
            &server.store,
            &["schema", "list", "--tenant", "acme", "--json"],
        )
        .trim(),
    )
    .expect("json");
    assert_eq!(
        listed["attributes"].as_array().map(Vec::len),
        Some(3),
        "{listed}"
    );

    let schema = server.get(&format!("/scim/v2/Schemas/{CUSTOM}"), &token);
    assert_eq!(schema.status, 200, "{}", schema.text);
    let attributes = schema.json["attributes"].as_array().expect("attributes");
    assert_eq!(attributes[0]["name"], "costCenter");
    assert_eq!(attributes[0]["description"], "Where the seat is charged");
    assert_eq!(attributes[1]["type"], "integer");
    assert_eq!(
        (
            attributes[2]["multiValued"].as_bool(),
            attributes[2]["caseExact"].as_bool()
        ),
        (Some(true), Some(true))
    );
    let types = server.get("/scim/v2/ResourceTypes/User", &token).json;
    let extensions: Vec<&str> = types["schemaExtensions"]
        .as_array()
        .expect("extensions")
        .iter()
        .filter_map(|e| e["schema"].as_str())
        .collect();
    assert!(extensions.contains(&CUSTOM), "{types}");
    // Neither another tenant nor an anonymous client sees it.
    server
        .get(&format!("/scim/v2/Schemas/{CUSTOM}"), &other)
        .assert_error(404, None);
    let anonymous = server.send("GET", "/scim/v2/Schemas", None, &[], None);
    assert!(!anonymous.text.contains(CUSTOM), "{}", anonymous.text);

    // Written, validated, read back.
    for (name, cost, level) in [("ann", "CC-1", 3), ("bob", "cc-2", 1), ("cy", "CC-1", 2)] {
        let body = extended(
            name,
            &json!({"costCenter": cost, "level": level, "badges": ["A", "b"]}),
        );
        let created = server.post("/scim/v2/Users", &token, &body);
        assert_eq!(created.status, 201, "{}", created.text);
        assert_eq!(created.json[CUSTOM]["level"], level);
        assert!(
            created.json["schemas"]
                .as_array()
                .expect("schemas")
                .contains(&json!(CUSTOM))
        );
    }
    let wrong = server.post(
        "/scim/v2/Users",
        &token,
        &extended("dee", &json!({"level": "high"})),
    );
    let detail = wrong.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("level"), "{detail}");
    let undefined = server.post(
        "/scim/v2/Users",
        &token,
        &extended("dee", &json!({"shoeSize": 44})),
    );
    let detail = undefined.assert_error(400, Some("invalidSyntax"));
    assert!(detail.contains("shoeSize"), "{detail}");
    let foreign = server.post(
        "/scim/v2/Users",
        &other,
        &extended("ann", &json!({"costCenter": "CC-1"})),
    );
    foreign.assert_error(400, Some("invalidValue"));

    // Filtered (caseExact=false, integers ordered) and sorted like built-in attributes.
    let query = |filter: &str, extra: &str| {
        let filter = filter.replace(' ', "%20").replace('"', "%22");
        server.get(&format!("/scim/v2/Users?filter={filter}{extra}"), &token)
    };
    let found = query(
        &format!("{CUSTOM}:costCenter eq \"cc-1\""),
        "&sortBy=userName",
    );
    assert_eq!(user_names(&found.json), ["ann", "cy"], "{}", found.text);
    let ordered = query(
        &format!("{CUSTOM}:level ge 2"),
        &format!("&sortBy={CUSTOM}:level&sortOrder=descending"),
    );
    assert_eq!(user_names(&ordered.json), ["ann", "cy"], "{}", ordered.text);
    let exact = query(&format!("{CUSTOM}:badges eq \"B\""), "");
    assert_eq!(
        exact.json["totalResults"], 0,
        "badges is caseExact: {}",
        exact.text
    );
    server
        .get(
            &format!("/scim/v2/Users?filter={CUSTOM}:costCenter%20pr"),
            &other,
        )
        .assert_error(400, Some("invalidFilter"));

    // PATCH by path, path-less, and removal; PUT keeps what it sends.
    let ann = found.json["Resources"][0]["id"].as_str().expect("ann's id");
    let path = format!("/scim/v2/Users/{ann}");
    let patched = server.patch(
        &path,
        &token,
        &json!([
            {"op": "replace", "path": format!("{CUSTOM}:costCenter"), "value": "CC-9"},
            {"op": "add", "value": {format!("{CUSTOM}:level"): 7}},
            {"op": "replace", "path": format!("{CUSTOM}:badges"), "value": ["A"]},
        ]),
    );
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(
        patched.json[CUSTOM],
        json!({"costCenter": "CC-9", "level": 7, "badges": ["A"]})
    );
    let bad_patch = server.patch(
        &path,
        &token,
        &json!([{"op": "replace", "path": format!("{CUSTOM}:level"), "value": "seven"}]),
    );
    bad_patch.assert_error(400, Some("invalidValue"));
    let put = server.put(
        &path,
        &token,
        &extended("ann", &json!({"costCenter": "CC-10"})),
    );
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(put.json[CUSTOM], json!({"costCenter": "CC-10"}));

    // /Bulk, now and as an asynchronous job.
    let bulk = json!({"schemas": [BULK], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "e1", "data": extended("eve", &json!({"level": 5}))},
        {"method": "POST", "path": "/Users", "bulkId": "e2", "data": extended("fay", &json!({"level": "x"}))},
    ]});
    let reply = server.post("/scim/v2/Bulk", &token, &bulk);
    assert_eq!(reply.status, 200, "{}", reply.text);
    let statuses: Vec<&str> = reply.json["Operations"]
        .as_array()
        .expect("ops")
        .iter()
        .filter_map(|op| op["status"].as_str())
        .collect();
    assert_eq!(statuses, ["201", "400"]);
    let job = server.send(
        "POST",
        "/scim/v2/Bulk",
        Some(&token),
        &[("Prefer", "respond-async"), ("Content-Type", "application/scim+json")],
        Some(json!({"schemas": [BULK], "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "g1", "data": extended("gus", &json!({"level": 6}))},
        ]}).to_string().as_bytes()),
    );
    assert_eq!(job.status, 202, "{}", job.text);
    let location = job.header("location").expect("Location").to_owned();
    let job_path = location[location.find("/scim/v2").expect("path")..].to_owned();
    let mut outcome = Value::Null;
    for _ in 0..100 {
        outcome = server.get(&job_path, &token).json;
        if outcome["status"] == "completed" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        outcome["response"]["Operations"][0]["status"], "201",
        "{outcome}"
    );
    let gus = query(&format!("{CUSTOM}:level eq 6"), "");
    assert_eq!(user_names(&gus.json), ["gus"], "{}", gus.text);

    // Removed: no longer accepted, no longer shown; a user holding a value is still
    // patched and replaced (its value dropped), and a GET-then-PUT round trip works.
    cli(
        &server.store,
        &["schema", "remove", "--tenant", "acme", "--name", "level"],
    );
    let after = server.post(
        "/scim/v2/Users",
        &token,
        &extended("hal", &json!({"level": 1})),
    );
    after.assert_error(400, Some("invalidSyntax"));
    let gus_id = gus.json["Resources"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let gus_path = format!("/scim/v2/Users/{gus_id}");
    let shown = server.get(&gus_path, &token);
    assert!(shown.json.get(CUSTOM).is_none(), "{}", shown.text);
    assert!(
        !shown.json["schemas"]
            .as_array()
            .expect("schemas")
            .contains(&json!(CUSTOM))
    );
    let renamed = server.patch(
        &gus_path,
        &token,
        &json!([{"op": "replace", "path": "displayName", "value": "Gus"}]),
    );
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.json["displayName"], "Gus");
    let mut round_trip = shown.json.clone();
    round_trip["title"] = json!("Engineer");
    let put = server.put(&gus_path, &token, &round_trip);
    assert_eq!(put.status, 200, "{}", put.text);
    // Attributes still defined are kept and shown.
    let ann_now = server.get(&path, &token);
    assert_eq!(
        ann_now.json[CUSTOM],
        json!({"costCenter": "CC-10"}),
        "{}",
        ann_now.text
    );
}

#[test]
fn tenant_attributes_work_end_to_end_on_sqlite() {
    run(Store::sqlite());
}

#[test]
fn tenant_attributes_work_end_to_end_on_postgres() {
    if let Some(store) = Store::postgres("e2e tenant attributes") {
        run(store);
    }
}
