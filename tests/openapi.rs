//! `/openapi.json` against the routes the server answers.

use serde_json::Value;

use crate::helpers::{Server, Store, tenant_with_token};

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Whether the router itself refused: an unknown endpoint (404 "no such endpoint") or a
/// method the endpoint does not have (405).
fn unrouted(status: u16, body: &Value) -> bool {
    status == 405
        || (status == 404
            && body["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with("no such endpoint")))
}

#[test]
fn every_documented_operation_is_routed_and_no_other_method_is() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    // A poll without events answers after its wait: keep it short.
    let server = Server::start_with(
        store,
        &[
            "--poll-wait-seconds",
            "1",
            "--metrics-token",
            crate::helpers::METRICS_TOKEN,
        ],
        "warn",
        std::process::Stdio::inherit(),
    );
    let doc = server.send("GET", "/openapi.json", None, &[], None);
    assert_eq!(doc.status, 200);
    assert_eq!(doc.json["openapi"], "3.1.0");
    let paths = doc.json["paths"].as_object().expect("paths");
    assert!(paths.len() >= 20, "{}", paths.len());
    for (path, operations) in paths {
        let concrete: String = path
            .split('/')
            .map(|part| if part.starts_with('{') { "x" } else { part })
            .collect::<Vec<_>>()
            .join("/");
        let documented: Vec<String> = operations
            .as_object()
            .expect("operations")
            .keys()
            .map(|m| m.to_uppercase())
            .collect();
        for method in METHODS {
            let body = (method != "GET" && method != "DELETE").then_some(b"{}".as_slice());
            let reply = server.send(method, &concrete, Some(&token), &[], body);
            let is_documented = documented.iter().any(|m| m == method);
            assert_eq!(
                !unrouted(reply.status, &reply.json),
                is_documented,
                "{method} {path} is {}documented but answered {}: {}",
                if is_documented { "" } else { "not " },
                reply.status,
                reply.text
            );
        }
    }
    // And the reverse, for the routes the server has that no resource type generates.
    for path in ["/healthz", "/metrics", "/scim/v2/Licenses", "/scim/v2/Bulk"] {
        assert!(paths.contains_key(path), "{path} is undocumented");
    }
}
