//! The workloads, as identity providers send them. Each checks what it gets back (a lookup
//! must find exactly its user, pages must add up), so a fast wrong answer counts as an
//! error, not as speed.

use std::sync::Mutex;

use serde_json::{Value, json};

use crate::client::Client;
use crate::drive::{Measured, parallel, sequential};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

/// Members added per group PATCH, as Entra ID batches them.
pub const MEMBERS_PER_PATCH: usize = 100;
/// Operations per /Bulk request.
pub const BULK_PER_REQUEST: usize = 1_000;
/// Users per page when paging.
pub const PAGE: usize = 100;

/// The users a run created, by index (`None` where the create failed).
pub struct Created {
    pub run: String,
    pub ids: Vec<Option<String>>,
}

impl Created {
    fn user_name(&self, i: usize) -> String {
        user_name(&self.run, i)
    }

    fn id(&self, i: usize) -> Result<&str, String> {
        self.ids
            .get(i % self.ids.len().max(1))
            .and_then(Option::as_deref)
            .ok_or_else(|| format!("user {i} was not created"))
    }
}

fn user_name(run: &str, i: usize) -> String {
    format!("bench-{run}-{i}")
}

/// A user as Entra ID or Okta creates one: names, a work email, active, an externalId,
/// and the entitlement `sku` when given.
fn user_body(run: &str, i: usize, sku: Option<&str>) -> Value {
    let name = user_name(run, i);
    let mut body = json!({
        "schemas": [USER],
        "userName": name,
        "externalId": format!("ext-{name}"),
        "active": true,
        "displayName": format!("Bench User {i}"),
        "name": {"givenName": "Bench", "familyName": format!("User{i}")},
        "emails": [{"value": format!("{name}@example.com"), "type": "work", "primary": true}],
    });
    if let Some(sku) = sku {
        body["entitlements"] = json!([{"value": sku}]);
    }
    body
}

fn id_of(answer: &Value) -> Result<String, String> {
    answer["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "no id in the answer".to_owned())
}

/// POST /Users, `users` of them, from `concurrency` clients.
pub fn create(
    client: &Client,
    concurrency: usize,
    run: &str,
    users: usize,
    sku: Option<&str>,
) -> (Measured, Created) {
    let ids = Mutex::new(vec![None; users]);
    let measured = parallel(client, concurrency, users, 1, |client, i| {
        let body = user_body(run, i, sku);
        let answer = client.expect("POST", "/scim/v2/Users", Some(&body), &[201])?;
        let id = id_of(&answer.json())?;
        ids.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)[i] = Some(id);
        Ok(())
    });
    let ids = ids
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    (
        measured,
        Created {
            run: run.to_owned(),
            ids,
        },
    )
}

/// GET /Users/{id}, `requests` of them over the created users.
pub fn get(client: &Client, concurrency: usize, created: &Created, requests: usize) -> Measured {
    parallel(client, concurrency, requests, 1, |client, i| {
        let id = created.id(i)?;
        let answer = client.expect("GET", &format!("/scim/v2/Users/{id}"), None, &[200])?;
        if answer.json()["id"] != id {
            return Err(format!("GET /Users/{id} answered another resource"));
        }
        Ok(())
    })
}

/// `filter=userName eq "…"`, as every IdP does before creating a user.
pub fn lookup(client: &Client, concurrency: usize, created: &Created, requests: usize) -> Measured {
    let users = created.ids.len().max(1);
    parallel(client, concurrency, requests, 1, |client, i| {
        let name = created.user_name(i % users);
        let path = format!("/scim/v2/Users?filter=userName+eq+%22{name}%22");
        let answer = client.expect("GET", &path, None, &[200])?.json();
        if answer["totalResults"] != 1 || answer["Resources"][0]["userName"] != name.as_str() {
            return Err(format!("the lookup of {name} did not find exactly it"));
        }
        Ok(())
    })
}

/// The product's license check on login: `GET /api/v1/tenants/{slug}/licenses?userName=`
/// over the created users; each answer must name its user and, with a sku, hold it.
pub fn license_lookup(
    api: &Client,
    concurrency: usize,
    slug: &str,
    created: &Created,
    requests: usize,
    sku: Option<&str>,
) -> Measured {
    let users = created.ids.len().max(1);
    parallel(api, concurrency, requests, 1, |client, i| {
        let name = created.user_name(i % users);
        let path = format!("/api/v1/tenants/{slug}/licenses?userName={name}");
        let answer = client.expect("GET", &path, None, &[200])?.json();
        if answer["user"]["userName"] != name.as_str() {
            return Err(format!("the license lookup of {name} found another user"));
        }
        let holds = |sku: &str| {
            answer["licenses"]
                .as_array()
                .is_some_and(|held| held.iter().any(|l| l["sku"] == sku))
        };
        if sku.is_some_and(|sku| !holds(sku)) {
            return Err(format!("the license lookup of {name} shows no {sku:?}"));
        }
        Ok(())
    })
}

/// Walks every user of the tenant `PAGE` at a time with `startIndex`, in order, as IdPs
/// page; checks that the pages add up to `totalResults`.
pub fn page(client: &Client) -> Measured {
    let first = client
        .expect("GET", "/scim/v2/Users?startIndex=1&count=1", None, &[200])
        .map(|a| a.json()["totalResults"].as_u64().unwrap_or(0))
        .unwrap_or(0);
    let total = usize::try_from(first).unwrap_or(0);
    let pages = total.div_ceil(PAGE);
    let mut seen = 0;
    let mut measured = sequential(pages, 1, |p| {
        let path = format!("/scim/v2/Users?startIndex={}&count={PAGE}", p * PAGE + 1);
        let answer = client.expect("GET", &path, None, &[200])?.json();
        let got = answer["Resources"].as_array().map_or(0, Vec::len);
        seen += got;
        if got > PAGE || (p + 1 < pages && got != PAGE) {
            return Err(format!("page {} held {got} users", p + 1));
        }
        Ok(())
    });
    if seen != total && measured.error_samples.is_empty() {
        measured.stats.errors += 1;
        measured
            .error_samples
            .push(format!("the pages held {seen} users of {total}"));
    }
    measured
}

/// PATCH each created user as Entra ID does on a change (`Replace` of names, with its
/// capitalised op names).
pub fn patch(client: &Client, concurrency: usize, created: &Created) -> Measured {
    parallel(client, concurrency, created.ids.len(), 1, |client, i| {
        let id = created.id(i)?;
        let body = json!({"schemas": [PATCH_OP], "Operations": [
            {"op": "Replace", "path": "displayName", "value": format!("Bench User {i} (renamed)")},
            {"op": "Replace", "path": "name.familyName", "value": format!("Renamed{i}")},
        ]});
        client.expect(
            "PATCH",
            &format!("/scim/v2/Users/{id}"),
            Some(&body),
            &[200, 204],
        )?;
        Ok(())
    })
}

/// Creates a group and adds the created users to it `MEMBERS_PER_PATCH` per PATCH as the
/// group grows (an operation is a PATCH); the latencies stay in order, so the first and
/// the last PATCHes compare.
pub fn group_adds(client: &Client, created: &Created) -> (Measured, Option<String>) {
    let body = json!({"schemas": [GROUP], "displayName": format!("bench-{}", created.run)});
    let group = match client.expect("POST", "/scim/v2/Groups", Some(&body), &[201]) {
        Ok(answer) => id_of(&answer.json()).ok(),
        Err(_) => None,
    };
    let Some(group_id) = group.clone() else {
        return (sequential(0, 1, |_| Ok(())), None);
    };
    let members: Vec<&str> = created.ids.iter().flatten().map(String::as_str).collect();
    let chunks: Vec<&[&str]> = members.chunks(MEMBERS_PER_PATCH).collect();
    let path = format!("/scim/v2/Groups/{group_id}?excludedAttributes=members");
    let measured = sequential(chunks.len(), 1, |c| {
        let value: Vec<Value> = chunks[c].iter().map(|id| json!({"value": id})).collect();
        let body = json!({"schemas": [PATCH_OP],
                          "Operations": [{"op": "Add", "path": "members", "value": value}]});
        client.expect("PATCH", &path, Some(&body), &[200, 204])?;
        Ok(())
    });
    (measured, group)
}

/// `users` users through /Bulk, `BULK_PER_REQUEST` POSTs per request, one request at a
/// time as an IdP's first sync sends them; an operation is a user.
pub fn bulk(
    client: &Client,
    run: &str,
    users: usize,
    sku: Option<&str>,
) -> (Measured, Vec<String>) {
    let run = format!("{run}b");
    let requests = users.div_ceil(BULK_PER_REQUEST);
    let mut ids = Vec::with_capacity(users);
    let mut measured = sequential(requests, BULK_PER_REQUEST, |r| {
        let range = r * BULK_PER_REQUEST..((r + 1) * BULK_PER_REQUEST).min(users);
        let operations: Vec<Value> = range
            .map(|i| {
                json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"),
                       "data": user_body(&run, i, sku)})
            })
            .collect();
        let body = json!({"schemas": [BULK_REQUEST], "Operations": operations});
        let answer = client
            .expect("POST", "/scim/v2/Bulk", Some(&body), &[200])?
            .json();
        let mut failed = 0;
        for operation in answer["Operations"].as_array().into_iter().flatten() {
            match operation["location"].as_str() {
                Some(location) if operation["status"] == "201" => {
                    ids.push(location.rsplit('/').next().unwrap_or_default().to_owned());
                }
                _ => failed += 1,
            }
        }
        if failed > 0 {
            return Err(format!("{failed} bulk operations failed"));
        }
        Ok(())
    });
    // Figures per user, not per request.
    measured.stats.ops = users;
    measured.stats.ops_per_second = if measured.stats.seconds > 0.0 {
        users as f64 / measured.stats.seconds
    } else {
        0.0
    };
    (measured, ids)
}

/// DELETE every id, from `concurrency` clients.
pub fn delete(client: &Client, concurrency: usize, endpoint: &str, ids: &[String]) -> Measured {
    parallel(client, concurrency, ids.len(), 1, |client, i| {
        client.expect(
            "DELETE",
            &format!("/scim/v2/{endpoint}/{}", ids[i]),
            None,
            &[204],
        )?;
        Ok(())
    })
}

/// The bare handler's GET and POST, `requests` each, from `concurrency` clients.
pub fn ceiling(base: &str, concurrency: usize, requests: usize) -> (Measured, Measured) {
    let client = Client::new(base, None);
    let get = parallel(&client, concurrency, requests, 1, |client, _| {
        client.expect("GET", "/get", None, &[200]).map(drop)
    });
    let body = user_body("ceiling", 0, Some("pro"));
    let post = parallel(&client, concurrency, requests, 1, |client, _| {
        client
            .expect("POST", "/post", Some(&body), &[201])
            .map(drop)
    });
    (get, post)
}
