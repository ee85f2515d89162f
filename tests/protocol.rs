//! Protocol parts IdPs rarely use and validators do: HEAD, conditional GET, `/Me`, and
//! cursor pagination (RFC 9865).

use serde_json::json;

use crate::helpers::{Server, Store, tenant_with_token, user};

/// HEAD answers what GET answers, headers and all, without a body; `If-None-Match` with
/// the current version answers 304 to both, and a stale one the resource.
#[test]
fn head_and_conditional_get_answer_like_get() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    let server = Server::start(store);
    let created = server.post("/scim/v2/Users", &token, &user("head.case"));
    assert_eq!(created.status, 201, "{}", created.text);
    let path = format!(
        "/scim/v2/Users/{}",
        created.json["id"].as_str().expect("id")
    );

    let got = server.get(&path, &token);
    let head = server.send("HEAD", &path, Some(&token), &[], None);
    assert_eq!(head.status, 200);
    assert_eq!(head.text, "", "HEAD has no body");
    for name in ["etag", "content-type", "content-length"] {
        assert_eq!(head.header(name), got.header(name), "{name}");
    }
    assert_eq!(got.header("etag"), Some("W/\"1\""));
    // Lists, discovery and the pools answer HEAD too; an unknown id is a 404 either way.
    for read in [
        "/scim/v2/Users",
        "/scim/v2/ServiceProviderConfig",
        "/scim/v2/Licenses",
    ] {
        let head = server.send("HEAD", read, Some(&token), &[], None);
        assert_eq!(head.status, 200, "{read}");
        assert_eq!(head.text, "", "{read}");
    }
    let missing = server.send("HEAD", "/scim/v2/Users/nobody", Some(&token), &[], None);
    assert_eq!(missing.status, 404);
    assert_eq!(missing.text, "");

    for method in ["GET", "HEAD"] {
        let fresh = server.send(
            method,
            &path,
            Some(&token),
            &[("If-None-Match", "W/\"1\"")],
            None,
        );
        assert_eq!(fresh.status, 304, "{method}");
        assert_eq!(fresh.header("etag"), Some("W/\"1\""), "{method}");
        assert_eq!(fresh.text, "", "{method}");
    }
    let rename = json!([{"op": "replace", "path": "displayName", "value": "Renamed"}]);
    assert_eq!(server.patch(&path, &token, &rename).status, 200);
    let stale = server.send(
        "GET",
        &path,
        Some(&token),
        &[("If-None-Match", "W/\"1\"")],
        None,
    );
    assert_eq!(stale.status, 200);
    assert_eq!(stale.header("etag"), Some("W/\"2\""));
    assert_eq!(stale.json["displayName"], "Renamed");
    let any = server.send("GET", &path, Some(&token), &[("If-None-Match", "*")], None);
    assert_eq!(any.status, 304, "* names any current version");
    // HEAD never spends a one-time admin login link (mail scanners send HEAD).
    let login = server.send("HEAD", "/admin/login?token=x", None, &[], None);
    assert_eq!(login.status, 405);
}

/// `/Me` answers 501 with a SCIM error for every method once authenticated (credentials
/// belong to IdPs, not users), and 401 before.
#[test]
fn me_is_not_implemented() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    let server = Server::start(store);
    for method in ["GET", "PUT", "PATCH", "DELETE", "POST"] {
        for path in ["/scim/v2/Me", "/scim/v2/Me/anything"] {
            let reply = server.send(method, path, Some(&token), &[], None);
            let detail = reply.assert_error(501, None);
            assert!(detail.contains("/Me is not supported"), "{detail}");
        }
    }
    let anonymous = server.send("GET", "/scim/v2/Me", None, &[], None);
    anonymous.assert_error(401, None);
}

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

/// Creates `base-0` … `base-{n-1}` through /Bulk, 1,000 per request.
fn create_base_users(server: &Server, token: &str, n: usize) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let operations: Vec<serde_json::Value> = chunk
            .iter()
            .map(|i| {
                json!({"method": "POST", "path": "/Users", "bulkId": format!("b{i}"),
                       "data": user(&format!("base-{i}"))})
            })
            .collect();
        let reply = server.post(
            "/scim/v2/Bulk",
            token,
            &json!({"schemas": [BULK], "Operations": operations}),
        );
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
}

/// One cursor page: its userNames, and its cursors.
struct CursorPage {
    names: Vec<String>,
    next: Option<String>,
    previous: Option<String>,
    total: u64,
}

fn cursor_page(server: &Server, token: &str, query: &str, cursor: &str) -> CursorPage {
    let reply = server.get(
        &format!("/scim/v2/Users?{query}&attributes=userName&cursor={cursor}"),
        token,
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    let list = &reply.json;
    assert!(
        list.get("startIndex").is_none(),
        "no startIndex with cursors: {list}"
    );
    let names: Vec<String> = list["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .map(|user| user["userName"].as_str().expect("userName").to_owned())
        .collect();
    assert_eq!(list["itemsPerPage"], json!(names.len()));
    let cursor = |name: &str| {
        list.get(name).map(|c| {
            let c = c.as_str().expect("a cursor is a string");
            assert!(
                c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)),
                "cursors are URL-safe: {c}"
            );
            c.to_owned()
        })
    };
    CursorPage {
        next: cursor("nextCursor"),
        previous: cursor("previousCursor"),
        total: list["totalResults"].as_u64().expect("totalResults"),
        names,
    }
}

/// RFC 9865 on PostgreSQL: a walk of 10,000 users 100 at a time, forwards by `nextCursor`
/// and back by `previousCursor`, while another client creates users and deletes some of
/// the walked ones: no user is seen twice, and none that existed throughout is missed.
#[test]
fn cursor_walks_see_everyone_once_under_concurrent_writes() {
    let Some(store) = Store::postgres("e2e cursor walk") else {
        return;
    };
    let token = tenant_with_token(&store, "acme");
    let server = Server::start_with(
        store,
        &["--rate-limit", "0"],
        "warn",
        std::process::Stdio::inherit(),
    );
    const USERS: usize = 10_000;
    create_base_users(&server, &token, USERS);
    // Every 50th base user is deleted during the walks; the churn adds users meanwhile.
    let doomed: std::collections::BTreeSet<String> = (0..USERS)
        .step_by(50)
        .map(|i| format!("base-{i}"))
        .collect();
    let survivors: std::collections::BTreeSet<String> = (0..USERS)
        .map(|i| format!("base-{i}"))
        .filter(|name| !doomed.contains(name))
        .collect();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (forward, backward, churned) = std::thread::scope(|scope| {
        let churn = scope.spawn(|| {
            let mut created = 0;
            let mut doomed = doomed.iter();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let reply =
                    server.post("/scim/v2/Users", &token, &user(&format!("churn-{created}")));
                assert_eq!(reply.status, 201, "{}", reply.text);
                created += 1;
                if let Some(name) = doomed.next() {
                    let found = server.get(
                        &format!("/scim/v2/Users?filter=userName%20eq%20%22{name}%22"),
                        &token,
                    );
                    let id = found.json["Resources"][0]["id"]
                        .as_str()
                        .expect("id")
                        .to_owned();
                    assert_eq!(
                        server
                            .delete(&format!("/scim/v2/Users/{id}"), &token)
                            .status,
                        204
                    );
                }
            }
            created
        });
        let mut forward: Vec<String> = Vec::new();
        let mut page = cursor_page(&server, &token, "count=100", "");
        assert!(
            page.previous.is_none(),
            "no previousCursor on the first page"
        );
        assert!(
            page.total >= (USERS - doomed.len()) as u64,
            "{}",
            page.total
        );
        let mut pages = 1;
        loop {
            forward.extend(page.names.iter().cloned());
            let Some(next) = page.next.clone() else { break };
            assert_eq!(page.names.len(), 100, "pages before the last are full");
            page = cursor_page(&server, &token, "count=100", &next);
            assert!(page.previous.is_some(), "page {pages} has a previousCursor");
            pages += 1;
        }
        // And back from the last page to the first.
        let mut backward: Vec<String> = page.names.clone();
        while let Some(previous) = page.previous.clone() {
            page = cursor_page(&server, &token, "count=100", &previous);
            assert!(
                page.next.is_some(),
                "a page before another has a nextCursor"
            );
            backward.extend(page.names.iter().cloned());
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        (forward, backward, churn.join().expect("churn"))
    });
    for (direction, seen) in [("forward", &forward), ("backward", &backward)] {
        let distinct: std::collections::BTreeSet<&String> = seen.iter().collect();
        assert_eq!(
            distinct.len(),
            seen.len(),
            "{direction}: a user was seen twice"
        );
        let missed: Vec<&String> = survivors
            .iter()
            .filter(|name| !distinct.contains(name))
            .collect();
        assert!(
            missed.is_empty(),
            "{direction}: missed {} users, e.g. {:?}",
            missed.len(),
            &missed[..missed.len().min(5)]
        );
    }
    assert!(churned > 0, "the churn ran");
    eprintln!(
        "cursor walk: {} forward, {} backward, {churned} created meanwhile",
        forward.len(),
        backward.len()
    );
}

/// RFC 9865's errors and edges: tampered, foreign and reused-with-another-count cursors,
/// `cursor` with `startIndex`, sorted walks, `.search` bodies, and the configuration.
#[test]
fn cursors_are_checked_and_advertised() {
    let store = Store::sqlite();
    let token = tenant_with_token(&store, "acme");
    let other = tenant_with_token(&store, "globex");
    let server = Server::start(store);
    create_base_users(&server, &token, 25);
    create_base_users(&server, &other, 3);

    let first = cursor_page(&server, &token, "count=10", "");
    assert_eq!(first.names.len(), 10);
    assert_eq!(first.total, 25);
    let next = first.next.expect("nextCursor");
    // Bare `cursor` (no `=`) asks for the first page too, as RFC 9865's example does.
    let bare = server.get("/scim/v2/Users?count=10&cursor", &token);
    assert_eq!(
        bare.json["Resources"][0]["userName"], "base-0",
        "{}",
        bare.text
    );

    let mut tampered = next.clone().into_bytes();
    tampered[5] = if tampered[5] == b'0' { b'1' } else { b'0' };
    let tampered = String::from_utf8(tampered).expect("hex");
    for (query, who, scim_type) in [
        (
            format!("count=10&cursor={tampered}"),
            &token,
            "invalidCursor",
        ),
        (
            "count=10&cursor=not-a-cursor".to_owned(),
            &token,
            "invalidCursor",
        ),
        (format!("count=10&cursor={next}"), &other, "invalidCursor"),
        (
            format!("count=10&filter=userName%20sw%20%22b%22&cursor={next}"),
            &token,
            "invalidCursor",
        ),
        (format!("count=20&cursor={next}"), &token, "invalidCount"),
    ] {
        let reply = server.get(&format!("/scim/v2/Users?{query}"), who);
        reply.assert_error(400, Some(scim_type));
    }
    let both = server.get(
        &format!("/scim/v2/Users?startIndex=11&cursor={next}"),
        &token,
    );
    let detail = both.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("startIndex and cursor"), "{detail}");
    let second = cursor_page(&server, &token, "count=10", &next);
    assert_eq!(second.names.first().map(String::as_str), Some("base-10"));

    // A sorted walk: userName descending, in three pages, the first without previousCursor.
    let sorted = "count=10&sortBy=userName&sortOrder=descending";
    let mut page = cursor_page(&server, &token, sorted, "");
    assert!(page.previous.is_none());
    let mut names = page.names.clone();
    while let Some(next) = page.next.clone() {
        page = cursor_page(&server, &token, sorted, &next);
        assert!(page.previous.is_some());
        names.extend(page.names.iter().cloned());
    }
    let mut expected: Vec<String> = (0..25).map(|i| format!("base-{i}")).collect();
    expected.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(names, expected);

    // POST /.search takes `cursor` in its body.
    let search = |cursor: &str| {
        server.post(
            "/scim/v2/Users/.search",
            &token,
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "filter": "userName sw \"base-1\"", "attributes": ["userName"],
                    "count": 5, "cursor": cursor}),
        )
    };
    let found = search("");
    assert_eq!(found.status, 200, "{}", found.text);
    assert_eq!(
        found.json["totalResults"], 11,
        "base-1 and base-10 … base-19"
    );
    assert_eq!(found.json["itemsPerPage"], 5);
    let next = found.json["nextCursor"].as_str().expect("nextCursor");
    assert_eq!(search(next).json["Resources"][0]["userName"], "base-14");
    // The root /.search spans resource types: cursors are per type.
    let root = server.post(
        "/scim/v2/.search",
        &token,
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "cursor": ""}),
    );
    root.assert_error(400, Some("invalidValue"));

    let config = server.get("/scim/v2/ServiceProviderConfig", &token).json;
    assert_eq!(
        config["pagination"],
        json!({"cursor": true, "index": true, "defaultPaginationMethod": "index",
               "defaultPageSize": 100, "maxPageSize": 1000, "cursorTimeout": 86400})
    );
    // Index paging is the default, unchanged.
    let index = server
        .get("/scim/v2/Users?count=10&startIndex=21", &token)
        .json;
    assert_eq!(index["startIndex"], 21);
    assert!(index.get("nextCursor").is_none());
}
