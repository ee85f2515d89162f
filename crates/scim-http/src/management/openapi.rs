//! The Management API's part of `/openapi.json`: every operation with its request and
//! response schemas, the API-key security scheme and the problem every failure is.
//! `tests/openapi.rs` checks it against the routes the server answers, and schemathesis
//! (`scripts/schemathesis.sh`, in CI) against what it answers.

use serde_json::{Map, Value, json};

use super::paging::{DEFAULT_LIMIT, MAX_LIMIT};
use super::routes::BASE;

const JSON: &str = "application/json";

/// One operation: method, path (under [`BASE`]), summary, scope, request body schema, the
/// success status and its schema (`None`: no body), the query parameters it reads.
struct Op {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    scope: &'static str,
    body: Option<Value>,
    /// Whether the body must be sent (an empty POST body reads as `{}`).
    body_required: bool,
    ok: u16,
    /// The other success status of a write that creates or changes (201 / 200).
    also_ok: Option<u16>,
    answer: Option<Value>,
    query: Vec<Value>,
    /// Whether it honours `If-Match`.
    if_match: bool,
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn page_of(item: &str) -> Value {
    json!({
        "type": "object",
        "properties": {
            "data": {"type": "array", "items": reference(item)},
            "next_cursor": {"type": ["string", "null"],
                            "description": "Pass as `cursor` for the next page; null on the last"},
        },
        "required": ["data", "next_cursor"],
    })
}

fn paging() -> Vec<Value> {
    vec![
        json!({"name": "limit", "in": "query", "required": false,
               "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}}),
        json!({"name": "cursor", "in": "query", "required": false, "schema": {"type": "string"},
               "description": "The `next_cursor` of the page before"}),
    ]
}

fn operations() -> Vec<Op> {
    let op = |method, path, summary, scope, body: Option<Value>, ok, answer: Option<Value>| Op {
        method,
        path,
        summary,
        scope,
        body,
        body_required: true,
        ok,
        also_ok: None,
        answer,
        query: Vec::new(),
        if_match: false,
    };
    let listing = |path, summary, scope, item: &str| Op {
        query: paging(),
        ..op("get", path, summary, scope, None, 200, Some(page_of(item)))
    };
    vec![
        op("post", "/tenants", "Create a tenant (one per enterprise customer)", "tenants:write",
           Some(reference("NewTenant")), 201, Some(reference("Tenant"))),
        listing("/tenants", "Every tenant, by slug", "tenants:read", "Tenant"),
        op("get", "/tenants/{slug}", "A tenant", "tenants:read", None, 200, Some(reference("Tenant"))),
        Op {
            if_match: true,
            ..op("patch", "/tenants/{slug}", "Rename a tenant or change its settings (a JSON merge patch; If-Match honoured)",
                 "tenants:write", Some(reference("TenantChanges")), 200, Some(reference("Tenant")))
        },
        Op {
            if_match: true,
            ..op("delete", "/tenants/{slug}", "Delete a tenant and everything it owns; its SCIM credentials stop working",
                 "tenants:write", None, 204, None)
        },
        Op {
            body_required: false,
            ..op("post", "/tenants/{slug}/tokens", "Issue a SCIM bearer token (shown once)", "credentials:write",
                 Some(reference("NewToken")), 201, Some(reference("IssuedToken")))
        },
        listing("/tenants/{slug}/tokens", "The tenant's SCIM tokens, oldest first (never their secrets)",
                "tenants:read", "Token"),
        op("delete", "/tenants/{slug}/tokens/{id}", "Revoke a SCIM token", "credentials:write", None, 204, None),
        Op {
            body_required: false,
            ..op("post", "/tenants/{slug}/clients",
                 "Create an OAuth client: with a secret (shown once), or federated (RFC 7523, no secret)",
                 "credentials:write", Some(reference("NewClient")), 201, Some(reference("IssuedClient")))
        },
        listing("/tenants/{slug}/clients", "The tenant's OAuth clients, oldest first", "tenants:read", "Client"),
        op("delete", "/tenants/{slug}/clients/{client_id}", "Revoke an OAuth client and its access tokens",
           "credentials:write", None, 204, None),
        listing("/tenants/{slug}/pools", "The tenant's license pools, by sku", "licenses:read", "Pool"),
        op("get", "/tenants/{slug}/pools/{sku}", "A pool (the sku compared case-insensitively)", "licenses:read",
           None, 200, Some(reference("Pool"))),
        Op {
            also_ok: Some(201),
            if_match: true,
            ..op("put", "/tenants/{slug}/pools/{sku}", "Sell seats: create a pool (201) or change it (200), then re-evaluate the tenant's users",
                 "licenses:write", Some(reference("PoolSeats")), 200, Some(reference("PoolChange")))
        },
        Op {
            query: vec![
                json!({"name": "from", "in": "query", "required": true, "schema": {"type": "string", "format": "date-time"},
                       "description": "The period's start"}),
                json!({"name": "to", "in": "query", "required": true, "schema": {"type": "string", "format": "date-time"},
                       "description": "The period's end (excluded; a period still running ends now)"}),
            ],
            ..op("get", "/tenants/{slug}/pools/{sku}/true-up",
                 "A pool's true-up over a period, from the audit log: peak use, peak overage, seat-days over the seats bought",
                 "licenses:read", None, 200, Some(reference("TrueUp")))
        },
        listing("/tenants/{slug}/rules", "The tenant's mapping rules, by id", "licenses:read", "Rule"),
        Op {
            also_ok: Some(200),
            ..op("post", "/tenants/{slug}/rules", "Map an entitlement, role or group to a pool (201; 200 when the rule exists), then re-evaluate",
                 "licenses:write", Some(reference("NewRule")), 201, Some(reference("RuleChange")))
        },
        op("get", "/tenants/{slug}/rules/{id}", "A mapping rule", "licenses:read", None, 200, Some(reference("Rule"))),
        op("post", "/tenants/{slug}/rule-previews", "What adding or removing a mapping rule would do to each pool, changing nothing",
           "licenses:read", Some(reference("RulePreviewRequest")), 200, Some(reference("RulePreview"))),
        op("delete", "/tenants/{slug}/rules/{id}", "Remove a mapping rule, then re-evaluate", "licenses:write",
           None, 200, Some(reference("RuleRemoval"))),
        Op {
            query: vec![
                json!({"name": "userName", "in": "query", "required": false, "schema": {"type": "string"},
                       "description": "The user's userName (compared case-insensitively); give this or externalId"}),
                json!({"name": "externalId", "in": "query", "required": false, "schema": {"type": "string"}}),
            ],
            ..op("get", "/tenants/{slug}/licenses", "The license lookup: which licenses a user holds, on login",
                 "licenses:read", None, 200, Some(reference("UserLicenses")))
        },
        op("get", "/tenants/{slug}/users/{id}/licenses", "The licenses of a user by its SCIM id", "licenses:read",
           None, 200, Some(reference("UserLicenses"))),
        op("get", "/tenants/{slug}/usage", "Seats used per pool, the rules, and values no rule maps", "licenses:read",
           None, 200, Some(reference("Usage"))),
        Op {
            query: [
                paging(),
                vec![
                    json!({"name": "userId", "in": "query", "required": false, "schema": {"type": "string"}}),
                    json!({"name": "since", "in": "query", "required": false, "schema": {"type": "string", "format": "date-time"}}),
                    json!({"name": "until", "in": "query", "required": false, "schema": {"type": "string", "format": "date-time"}}),
                ],
            ]
            .concat(),
            ..op("get", "/tenants/{slug}/audit", "The license audit log, oldest first", "licenses:read", None, 200,
                 Some(page_of("AuditEntry")))
        },
        Op {
            query: [
                paging(),
                vec![
                    json!({"name": "outcome", "in": "query", "required": false, "schema": {"enum": ["success", "failure"]}}),
                    json!({"name": "resourceType", "in": "query", "required": false, "schema": {"type": "string"}}),
                    json!({"name": "since", "in": "query", "required": false, "schema": {"type": "string", "format": "date-time"}}),
                    json!({"name": "until", "in": "query", "required": false, "schema": {"type": "string", "format": "date-time"}}),
                ],
            ]
            .concat(),
            ..op("get", "/tenants/{slug}/activity",
                 "The provisioning activity: every SCIM request of the tenant's IdP, newest first", "tenants:read",
                 None, 200, Some(page_of("ActivityEntry")))
        },
        Op {
            body_required: false,
            ..op("post", "/tenants/{slug}/setup-links",
                 "A setup link for the customer's admin: opens the tenant's portal until it expires (its code shown once)",
                 "portal:write", Some(reference("NewSetupLink")), 201, Some(reference("IssuedSetupLink")))
        },
        listing("/tenants/{slug}/setup-links", "The tenant's setup links that work, oldest first (never their codes)",
                "tenants:read", "SetupLink"),
        op("delete", "/tenants/{slug}/setup-links/{id}", "Revoke a setup link and end the portal sessions it opened",
           "portal:write", None, 204, None),
        listing("/tenants/{slug}/events", "The tenant's recorded events, oldest first", "events:read", "Event"),
        op("post", "/tenants/{slug}/webhooks", "Push the tenant's events to a receiver (RFC 8935; its secret shown once)",
           "tenants:write", Some(reference("NewWebhook")), 201, Some(reference("AddedWebhook"))),
        listing("/tenants/{slug}/webhooks", "The tenant's receivers and their delivery figures", "tenants:read", "Webhook"),
        op("delete", "/tenants/{slug}/webhooks/{id}", "Remove a receiver and its queue", "tenants:write", None, 204, None),
        op("get", "/tenants/{slug}/webhooks/{id}/dead-letters", "Deliveries given up on, oldest first", "tenants:read",
           None, 200, Some(page_of("DeadLetter"))),
        op("post", "/tenants/{slug}/webhooks/{id}/redrive", "Queue the dead letters again", "tenants:write",
           None, 200, Some(json!({"type": "object", "properties": {"queued": {"type": "integer"}}, "required": ["queued"]}))),
        op("get", "/tenants/{slug}/attributes", "The tenant's own attributes", "tenants:read", None, 200,
           Some(page_of("Attribute"))),
        op("post", "/tenants/{slug}/attributes", "Add an attribute of the tenant's own (published in its /Schemas)",
           "tenants:write", Some(reference("NewAttribute")), 201, Some(reference("Attribute"))),
        op("delete", "/tenants/{slug}/attributes/{id}", "Remove an attribute (`id`: `<schema URN>:<name>`)",
           "tenants:write", None, 204, None),
    ]
}

/// The failures every operation may answer, each an RFC 9457 problem.
const FAILURES: [(u16, &str); 12] = [
    (
        400,
        "Invalid request: the body, a value or a cursor is refused (`detail` says which)",
    ),
    (401, "No valid API key"),
    (403, "The API key lacks the scope"),
    (404, "No such tenant or resource"),
    (405, "The method is not allowed here (see Allow)"),
    (
        409,
        "The resource exists, or a request with this Idempotency-Key is running",
    ),
    (412, "If-Match does not match the current ETag"),
    (413, "The body is too large"),
    (415, "The body is not application/json"),
    (422, "The Idempotency-Key was used with another request"),
    (429, "Over the API key's rate limit (see Retry-After)"),
    (503, "The store is unavailable (see Retry-After)"),
];

fn operation(op: &Op) -> Value {
    let mut responses = Map::new();
    let success = match &op.answer {
        None => json!({"description": "Done; no body"}),
        Some(schema) => json!({"description": "Success", "content": {JSON: {"schema": schema}}}),
    };
    if let Some(also) = op.also_ok {
        // Created, or changed (already there): both answer the same shape.
        responses.insert(also.to_string(), success.clone());
    }
    responses.insert(op.ok.to_string(), success);
    for (status, description) in FAILURES {
        responses.insert(
            status.to_string(),
            json!({"description": description,
                   "content": {super::problem::PROBLEM_CONTENT_TYPE: {"schema": reference("Problem")}}}),
        );
    }
    let mut parameters: Vec<Value> = op
        .path
        .split('/')
        .filter_map(|p| p.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "minLength": 1}}))
        .collect();
    parameters.extend(op.query.iter().cloned());
    if op.method == "post" {
        parameters.push(json!({"name": "Idempotency-Key", "in": "header", "required": false,
                               "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
                               "description": "Retries with the same key and body within 24 h answer the first response again"}));
    }
    if op.if_match {
        parameters.push(json!({"name": "If-Match", "in": "header", "required": false,
                               "schema": {"type": "string"}, "description": "An ETag this API answered"}));
    }
    let full_path = format!("{BASE}{}", op.path);
    let mut out = json!({
        "tags": ["management"],
        "summary": op.summary,
        "description": format!("Needs an API key with the scope `{}` (or `admin`).", op.scope),
        "operationId": super::super::openapi::operation_id(op.method, &full_path),
        "parameters": parameters,
        "responses": responses,
        "security": [{"apiKey": []}],
    });
    if let Some(body) = &op.body {
        out["requestBody"] = json!({"required": op.body_required,
                                    "content": {JSON: {"schema": body}}});
    }
    out
}

/// The operations, as `(path, method, operation)`.
pub(crate) fn paths() -> Vec<(String, &'static str, Value)> {
    operations()
        .iter()
        .map(|op| (format!("{BASE}{}", op.path), op.method, operation(op)))
        .collect()
}

/// The security scheme of the Management API.
pub(crate) fn security_scheme() -> Value {
    json!({"type": "http", "scheme": "bearer",
           "description": "An API key (`scim-server api-key create`); never a SCIM credential"})
}

fn time() -> Value {
    json!({"type": "string", "format": "date-time"})
}

fn nullable_time() -> Value {
    json!({"type": ["string", "null"], "format": "date-time"})
}

/// The schemas the operations name.
pub(crate) fn schemas() -> Vec<(&'static str, Value)> {
    let reevaluation = json!({
        "type": "object",
        "description": "What re-evaluating the tenant's users did",
        "properties": {
            "users": {"type": "integer"}, "assigned": {"type": "integer"}, "revoked": {"type": "integer"},
            "waiting": {"type": "array", "items": {"type": "object",
                "properties": {"userId": {"type": "string"}, "sku": {"type": "string"}}}},
        },
        "required": ["users", "assigned", "revoked", "waiting"],
    });
    let pool = json!({
        "type": "object",
        "properties": {
            "sku": {"type": "string"}, "name": {"type": "string"},
            "seats": {"type": "integer"}, "used": {"type": "integer"}, "available": {"type": "integer"},
            "policy": {"enum": ["strict", "pending", "overage"]},
            "overage": {"type": "integer", "minimum": 0, "description": "seats that may be granted beyond `seats`"},
            "overageUsed": {"type": "integer", "minimum": 0, "description": "seats granted beyond `seats` now"},
            "pending": {"type": "integer", "minimum": 0, "description": "licenses waiting for a seat (policy `pending`), not in `used`"},
            "starts": {"type": ["string", "null"], "format": "date-time", "description": "when the pool starts granting seats; null: no start"},
            "ends": {"type": ["string", "null"], "format": "date-time", "description": "when it stops (its seats are revoked, or wait under `pending`); null: never"},
        },
        "required": ["sku", "name", "seats", "used", "available", "policy", "overage", "overageUsed", "pending", "starts", "ends"],
    });
    let rule = json!({
        "type": "object",
        "properties": {
            "id": {"type": "string"}, "source": {"enum": ["entitlement", "role", "group"]},
            "value": {"type": "string"}, "sku": {"type": "string"},
        },
        "required": ["id", "source", "value", "sku"],
    });
    let token = json!({
        "type": "object",
        "properties": {"id": {"type": "string"}, "hint": {"type": "string"}, "created": time(),
                       "expiresAt": nullable_time()},
        "required": ["id", "hint", "created", "expiresAt"],
    });
    let client = json!({
        "type": "object",
        "properties": {"client_id": {"type": "string"}, "authentication": {"enum": ["secret", "federation"]},
                       "federation": {"oneOf": [reference("Federation"), {"type": "null"}]},
                       "created": time(), "expiresAt": nullable_time(), "tokenEndpoint": {"type": "string"}},
        "required": ["client_id", "authentication", "federation", "created", "expiresAt", "tokenEndpoint"],
    });
    let federation = json!({
        "type": "object",
        "description": "What a federated client trusts: assertions (RFC 7523) whose iss and sub are these, whose \
                        aud holds the audience (an audience ending in /.default also matches without it), \
                        signed by a key published at jwksUrl. Entra's workload identity federation shows all four.",
        "properties": {"issuer": {"type": "string", "minLength": 1, "maxLength": 2000},
                       "jwksUrl": {"type": "string", "format": "uri", "description": "https:// on the public internet"},
                       "subject": {"type": "string", "minLength": 1, "maxLength": 2000},
                       "audience": {"type": "string", "minLength": 1, "maxLength": 2000}},
        "required": ["issuer", "jwksUrl", "subject", "audience"],
        "additionalProperties": false,
    });
    let webhook = json!({
        "type": "object",
        "properties": {
            "id": {"type": "string"}, "url": {"type": "string"}, "oauth": {"type": "boolean"},
            "created": time(), "delivered": {"type": "integer"}, "retried": {"type": "integer"},
            "deadLettered": {"type": "integer"}, "pending": {"type": "integer"}, "lagSeconds": {"type": "integer"},
        },
        "required": ["id", "url"],
    });
    let attribute = json!({
        "type": "object",
        "properties": {
            "id": {"type": "string"}, "resourceType": {"enum": ["User", "Group"]}, "schema": {"type": "string"},
            "name": {"type": "string"}, "type": {"type": "string"}, "multiValued": {"type": "boolean"},
            "caseExact": {"type": "boolean"}, "required": {"type": "boolean"}, "description": {"type": "string"},
        },
        "required": ["id", "resourceType", "schema", "name", "type"],
    });
    vec![
        (
            "Problem",
            json!({
                "type": "object",
                "description": "An RFC 9457 problem",
                "properties": {
                    "type": {"type": "string", "description": "urn:scim-license:problem:<kind>"},
                    "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"},
                    "requestId": {"type": "string", "description": "The X-Request-Id of the request"},
                },
                "required": ["type", "title", "status", "detail"],
            }),
        ),
        (
            "Tenant",
            json!({
                "type": "object",
                "properties": {
                    "slug": {"type": "string"}, "name": {"type": "string"}, "created": time(),
                    "profile": {"type": "string"},
                    "settings": {"type": "object", "properties": {
                        "patchResponse": {"enum": ["resource", "no-content", "no-content-for-groups"]},
                        "onDeactivate": {"enum": ["keep", "delete"]}}},
                    "clientCertificates": {"type": "array", "items": {"type": "string"}},
                    "scimBaseUrl": {"type": "string", "description": "What the tenant's IdP is configured with"},
                },
                "required": ["slug", "name", "created", "profile", "settings", "scimBaseUrl"],
            }),
        ),
        (
            "NewTenant",
            json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "slug": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"},
                    "name": {"type": ["string", "null"], "minLength": 1, "maxLength": 200},
                    "profile": {"enum": ["standard", "entra", "okta", "strict", null]},
                },
                "required": ["slug"],
            }),
        ),
        (
            "TenantChanges",
            json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "name": {"type": ["string", "null"], "minLength": 1, "maxLength": 200},
                    "profile": {"enum": ["standard", "entra", "okta", "strict", null]},
                    "settings": {"type": ["object", "null"], "additionalProperties": false, "properties": {
                        "patchResponse": {"enum": ["resource", "no-content", "no-content-for-groups", null]},
                        "onDeactivate": {"enum": ["keep", "delete", null]}}},
                },
            }),
        ),
        ("Token", token.clone()),
        (
            "NewToken",
            json!({
                "type": "object", "additionalProperties": false,
                "properties": {"expiresInDays": {"type": ["integer", "null"], "minimum": 1, "maximum": 3650}},
            }),
        ),
        (
            "IssuedToken",
            json!({"allOf": [reference("Token"), {"type": "object",
            "properties": {"token": {"type": "string", "description": "The bearer token: shown this once"}},
            "required": ["token"]}]}),
        ),
        ("Client", client),
        (
            "SetupLink",
            json!({"type": "object", "properties": {"id": {"type": "string"}, "created": time(), "expiresAt": time()},
                   "required": ["id", "created", "expiresAt"]}),
        ),
        (
            "NewSetupLink",
            json!({"type": "object", "additionalProperties": false,
                   "properties": {"expiresInHours": {"type": ["integer", "null"], "minimum": 1, "maximum": 720,
                                                     "description": "Default: 168 (a week)"}}}),
        ),
        (
            "IssuedSetupLink",
            json!({"allOf": [reference("SetupLink"), {"type": "object",
                   "properties": {"url": {"type": "string", "description": "The link: its code shown this once"}},
                   "required": ["url"]}]}),
        ),
        (
            "ActivityEntry",
            json!({
                "type": "object",
                "description": "One SCIM request: never its body, a secret, or an attribute value beyond the \
                                resource's userName or displayName",
                "properties": {
                    "seq": {"type": "integer"}, "at": time(),
                    "client": {"type": "string", "description": "The IdP, as its User-Agent tells"},
                    "credential": {"type": "string", "description": "token:<id> or client:<id>"},
                    "method": {"type": "string"}, "resourceType": {"type": "string"},
                    "resourceId": {"type": ["string", "null"]}, "resourceName": {"type": ["string", "null"]},
                    "status": {"type": "integer"}, "outcome": {"enum": ["success", "failure"]},
                    "scimType": {"type": ["string", "null"]}, "detail": {"type": ["string", "null"]},
                },
                "required": ["seq", "at", "client", "credential", "method", "resourceType", "resourceId",
                             "resourceName", "status", "outcome", "scimType", "detail"],
            }),
        ),
        ("Federation", federation),
        (
            "NewClient",
            json!({"type": "object", "additionalProperties": false,
            "properties": {"expiresInDays": {"type": ["integer", "null"], "minimum": 1, "maximum": 3650,
                                             "description": "Default: 365 for a secret, never for a federated client"},
                           "federation": {"oneOf": [reference("Federation"), {"type": "null"}]}}}),
        ),
        (
            "IssuedClient",
            json!({"allOf": [reference("Client"), {"type": "object",
            "properties": {"client_secret": {"type": "string",
                                             "description": "Shown this once; a federated client has none"}}}]}),
        ),
        ("Pool", pool),
        (
            "TrueUp",
            json!({
                "type": "object",
                "properties": {
                    "sku": {"type": "string"}, "seats": {"type": "integer"},
                    "from": {"type": "string", "format": "date-time"}, "to": {"type": "string", "format": "date-time"},
                    "startUsed": {"type": "integer"}, "endUsed": {"type": "integer"},
                    "peakUsed": {"type": "integer"}, "peakAt": {"type": "string", "format": "date-time"},
                    "peakOver": {"type": "integer", "minimum": 0},
                    "seatDaysOver": {"type": "number", "minimum": 0, "description": "seats beyond those bought, summed over time, in days"},
                },
                "required": ["sku", "seats", "from", "to", "startUsed", "endUsed", "peakUsed", "peakAt", "peakOver", "seatDaysOver"],
            }),
        ),
        (
            "PoolSeats",
            json!({
                "type": "object", "additionalProperties": false,
                "properties": {"seats": {"type": "integer", "minimum": 0}, "name": {"type": ["string", "null"]},
                               "policy": {"enum": ["strict", "pending", "overage"], "description": "kept when absent; a new pool is strict"},
                               "overage": {"type": "integer", "minimum": 0, "maximum": 1_000_000_000,
                                           "description": "with policy overage: seats that may be granted beyond `seats` (1 or more)"},
                               "starts": {"type": ["string", "null"], "format": "date-time",
                                          "description": "when the pool starts granting seats; null removes the start; kept when absent"},
                               "ends": {"type": ["string", "null"], "format": "date-time",
                                        "description": "when it stops granting seats, after `starts`; null removes the end; kept when absent"}},
                "required": ["seats"],
            }),
        ),
        (
            "PoolChange",
            json!({"allOf": [reference("Pool"), {"type": "object",
            "properties": {"reevaluation": reference("Reevaluation")}, "required": ["reevaluation"]}]}),
        ),
        ("Reevaluation", reevaluation),
        ("Rule", rule),
        (
            "NewRule",
            json!({
                "type": "object", "additionalProperties": false,
                "properties": {"source": {"enum": ["entitlement", "role", "group"]},
                               "value": {"type": "string", "minLength": 1}, "sku": {"type": "string"}},
                "required": ["source", "value", "sku"],
            }),
        ),
        (
            "RulePreviewRequest",
            json!({
                "type": "object", "additionalProperties": false,
                "properties": {"change": {"enum": ["add", "remove"]},
                               "source": {"enum": ["entitlement", "role", "group"]},
                               "value": {"type": "string", "minLength": 1}, "sku": {"type": "string"}},
                "required": ["source", "value", "sku"],
            }),
        ),
        (
            "RulePreview",
            json!({
                "type": "object",
                "properties": {
                    "rule": reference("Rule"),
                    "users": {"type": "integer", "minimum": 0},
                    "pools": {"type": "array", "items": {"type": "object", "properties": {
                        "sku": {"type": "string"}, "displayName": {"type": "string"},
                        "seats": {"type": "integer"}, "used": {"type": "integer"},
                        "usedAfter": {"type": "integer"}, "gaining": {"type": "integer", "minimum": 0},
                        "losing": {"type": "integer", "minimum": 0}, "waiting": {"type": "integer", "minimum": 0}},
                        "required": ["sku", "displayName", "seats", "used", "usedAfter", "gaining", "losing", "waiting"]}},
                },
                "required": ["rule", "users", "pools"],
            }),
        ),
        (
            "RuleChange",
            json!({"allOf": [reference("Rule"), {"type": "object",
            "properties": {"reevaluation": reference("Reevaluation")}, "required": ["reevaluation"]}]}),
        ),
        (
            "RuleRemoval",
            json!({"type": "object",
            "properties": {"removed": reference("Rule"), "reevaluation": reference("Reevaluation")},
            "required": ["removed", "reevaluation"]}),
        ),
        (
            "UserLicenses",
            json!({
                "type": "object",
                "properties": {
                    "user": {"type": "object", "properties": {"id": {"type": "string"},
                             "userName": {"type": "string"}, "active": {"type": "boolean"}},
                             "required": ["id", "userName", "active"]},
                    "licenses": {"type": "array", "items": {"type": "object", "properties": {
                        "sku": {"type": "string"}, "source": {"enum": ["direct", "group"]},
                        "assigned": time(), "status": {"enum": ["active", "pending"],
                        "description": "`pending`: the license waits for a seat; the user may not use it yet"}},
                        "required": ["sku", "source", "assigned", "status"]}},
                },
                "required": ["user", "licenses"],
            }),
        ),
        (
            "Usage",
            json!({
                "type": "object",
                "properties": {
                    "tenant": {"type": "string"},
                    "pools": {"type": "array", "items": reference("Pool")},
                    "rules": {"type": "array", "items": reference("Rule")},
                    "unmapped": {"type": "array", "items": {"type": "object", "properties": {
                        "value": {"type": "string"}, "users": {"type": "integer"}}}},
                },
                "required": ["tenant", "pools", "rules", "unmapped"],
            }),
        ),
        (
            "AuditEntry",
            json!({
                "type": "object",
                "properties": {
                    "at": time(), "userId": {"type": "string"}, "sku": {"type": "string"},
                    "action": {"type": "string"}, "source": {"type": ["string", "null"]},
                    "cause": {"type": "string"}, "actor": {"type": "string"},
                },
                "required": ["at", "userId", "sku", "action"],
            }),
        ),
        (
            "Event",
            json!({
                "type": "object",
                "properties": {"seq": {"type": "integer"}, "at": time(), "sub_id": {"type": "object"},
                               "events": {"type": "object"}, "txn": {"type": "string"}},
                "required": ["seq", "at", "sub_id", "events"],
            }),
        ),
        ("Webhook", webhook),
        (
            "NewWebhook",
            json!({
                "type": "object", "additionalProperties": false,
                "properties": {
                    "url": {"type": "string", "format": "uri"},
                    "secret": {"type": ["string", "null"], "minLength": 32},
                    "oauth": {"type": ["object", "null"], "additionalProperties": false, "properties": {
                        "tokenUrl": {"type": "string"}, "clientId": {"type": "string"},
                        "clientSecret": {"type": "string"}, "scope": {"type": ["string", "null"]}},
                        "required": ["tokenUrl", "clientId", "clientSecret"]},
                },
                "required": ["url"],
            }),
        ),
        (
            "AddedWebhook",
            json!({"allOf": [reference("Webhook"), {"type": "object",
            "properties": {"secret": {"type": "string", "description": "The HS256 secret: shown this once"}},
            "required": ["secret"]}]}),
        ),
        (
            "DeadLetter",
            json!({
                "type": "object",
                "properties": {"receiver": {"type": "string"}, "seq": {"type": "integer"},
                               "subject": {"type": "string"}, "attempts": {"type": "integer"},
                               "error": {"type": "string"}, "at": time()},
                "required": ["receiver", "seq", "subject", "attempts", "error", "at"],
            }),
        ),
        ("Attribute", attribute),
        (
            "NewAttribute",
            json!({
                "type": "object", "additionalProperties": false,
                "properties": {
                    "name": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_-]*$"},
                    "type": {"enum": ["string", "boolean", "integer", "decimal", "dateTime"]},
                    "resourceType": {"enum": ["User", "Group", null]}, "schema": {"type": ["string", "null"]},
                    "multiValued": {"type": "boolean"}, "caseExact": {"type": "boolean"},
                    "required": {"type": "boolean"}, "description": {"type": "string"},
                },
                "required": ["name", "type"],
            }),
        ),
    ]
}
