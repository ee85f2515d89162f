//! The Management API (`/api/v1`, DESIGN.md "Management API"): how the vendor's product
//! drives the server over HTTP — tenants, their SCIM credentials, pools and rules, the
//! license lookup, usage, audit and events. Callers present an API key
//! (`Authorization: Bearer scimkey_…`) whose scopes allow the operation; every answer is
//! JSON, every failure an RFC 9457 problem ([`problem`]). The handlers call the same core
//! services the CLI does: nothing here decides what the core decides.

mod credentials;
mod licenses;
pub(crate) mod openapi;
mod paging;
pub(crate) mod problem;
mod routes;
mod settings;
mod tenants;
mod views;

use http::header::{ETAG, IF_MATCH};
use http::{Method, StatusCode};
use scim_core::Caller;
use scim_core::api_key::ApiKey;
use scim_core::idempotency::{self, StoredResponse};
use scim_core::service::{ApiKeyError, Begun, Precondition};
use scim_core::tenant::Tenant;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub(crate) use routes::BASE;

use crate::auth::{Credentials, credentials};
use crate::body::json_body;
use crate::params::QueryParams;
use crate::request::Request;
use crate::response::{Reply, Response};
use crate::state::AppState;
use problem::{Kind, Problem};
use routes::ApiRoute;

type ApiResult<T> = Result<T, Problem>;

/// Answers a request under [`BASE`], naming the route it matched (for metrics).
pub(crate) async fn dispatch(req: &Request, state: &AppState) -> (Option<&'static str>, Response) {
    let Some(route) = ApiRoute::of(req.path()) else {
        let problem = Problem::new(Kind::NotFound, format!("no such resource: {}", req.path()));
        return (None, problem.response(req));
    };
    let pattern = route.pattern();
    let response = match answer(&route, req, state).await {
        Ok(response) => response,
        Err(problem) => problem.response(req),
    };
    (Some(pattern), response)
}

async fn answer(route: &ApiRoute, req: &Request, state: &AppState) -> ApiResult<Response> {
    let Some(scope) = route.scope(req.method()) else {
        return Err(Problem::method_not_allowed(req.method(), route.allow()));
    };
    let key = authenticate(req, state, scope).await?;
    let call = Call { req, state, key };
    if *req.method() != Method::POST || !req.headers().contains_key(IDEMPOTENCY_KEY) {
        return run(&call, route).await;
    }
    // A key that is no visible ASCII text is refused like any malformed key.
    let key = req.header(IDEMPOTENCY_KEY).unwrap_or_default();
    idempotent(&call, route, key).await
}

/// The header a POST names its retries with.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Runs a POST that carries an `Idempotency-Key`: the first time it runs and its response
/// is kept (unless the server failed: then a retry runs again); a retry with the same key
/// and request gets that response again, marked `Idempotent-Replayed: true`; the same key
/// with another request is refused (422), and while the first runs a retry waits (409).
async fn idempotent(call: &Call<'_>, route: &ApiRoute, key: &str) -> ApiResult<Response> {
    if !idempotency::is_valid_key(key) {
        return Err(Problem::new(
            Kind::InvalidValue,
            format!(
                "Idempotency-Key must be 1 to {} visible ASCII characters (a UUID, say)",
                idempotency::MAX_KEY_LENGTH
            ),
        ));
    }
    let req = call.req;
    let target = req
        .parts()
        .uri
        .path_and_query()
        .map_or(req.path(), |target| target.as_str());
    // A body cut off for its size is answered 413 as it is, never kept: the requests it
    // could stand for are not told apart.
    let Some(body) = req.body() else {
        return run(call, route).await;
    };
    let fingerprint = idempotency::fingerprint(req.method().as_str(), target, body);
    let owner = call.key.id.as_str();
    let keys = &call.state.idempotency;
    match keys.begin(owner, key, &fingerprint).await {
        Ok(Begun::Replay(stored)) => Ok(replayed(&stored)),
        Ok(Begun::Run(claim)) => {
            let response = run(call, route)
                .await
                .unwrap_or_else(|problem| problem.response(req));
            let kept = if response.status().is_server_error() {
                keys.abandon(owner, key, claim).await
            } else {
                keys.finish(owner, key, claim, &stored_of(&response)).await
            };
            if let Err(error) = kept {
                tracing::warn!(%error, "could not keep the response of an Idempotency-Key");
            }
            Ok(response)
        }
        Err(error) => Err(error.into()),
    }
}

/// The headers of a response kept for its Idempotency-Key.
const KEPT_HEADERS: [http::HeaderName; 3] =
    [http::header::CONTENT_TYPE, http::header::LOCATION, ETAG];

fn stored_of(response: &Response) -> StoredResponse {
    StoredResponse {
        status: response.status().as_u16(),
        headers: KEPT_HEADERS
            .iter()
            .filter_map(|name| {
                let value = response.headers().get(name)?.to_str().ok()?;
                Some((name.as_str().to_owned(), value.to_owned()))
            })
            .collect(),
        body: String::from_utf8_lossy(response.body()).into_owned(),
    }
}

fn replayed(stored: &StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut reply = Reply::new(status);
    for (name, value) in &stored.headers {
        if let Ok(name) = http::HeaderName::from_bytes(name.as_bytes()) {
            reply = reply.header(name, value);
        }
    }
    reply
        .header(http::HeaderName::from_static("idempotent-replayed"), "true")
        .body(stored.body.clone())
}

/// The handler of the route and the request's method.
async fn run(call: &Call<'_>, route: &ApiRoute) -> ApiResult<Response> {
    let method = call.req.method().clone();
    match route {
        ApiRoute::Tenants if method == Method::POST => tenants::create(call).await,
        ApiRoute::Tenants => tenants::list(call).await,
        ApiRoute::Tenant(slug) => match method {
            Method::PATCH => tenants::update(call, slug).await,
            Method::DELETE => tenants::delete(call, slug).await,
            _ => tenants::get(call, slug).await,
        },
        ApiRoute::Tokens(slug) if method == Method::POST => {
            credentials::issue_token(call, slug).await
        }
        ApiRoute::Tokens(slug) => credentials::list_tokens(call, slug).await,
        ApiRoute::Token(slug, id) => credentials::revoke_token(call, slug, id).await,
        ApiRoute::Clients(slug) if method == Method::POST => {
            credentials::create_client(call, slug).await
        }
        ApiRoute::Clients(slug) => credentials::list_clients(call, slug).await,
        ApiRoute::Client(slug, id) => credentials::revoke_client(call, slug, id).await,
        ApiRoute::Pools(slug) => licenses::list_pools(call, slug).await,
        ApiRoute::Pool(slug, sku) if method == Method::PUT => {
            licenses::put_pool(call, slug, sku).await
        }
        ApiRoute::Pool(slug, sku) => licenses::get_pool(call, slug, sku).await,
        ApiRoute::TrueUp(slug, sku) => licenses::true_up(call, slug, sku).await,
        ApiRoute::Rules(slug) if method == Method::POST => licenses::add_rule(call, slug).await,
        ApiRoute::Rules(slug) => licenses::list_rules(call, slug).await,
        ApiRoute::Rule(slug, id) if method == Method::DELETE => {
            licenses::remove_rule(call, slug, id).await
        }
        ApiRoute::Rule(slug, id) => licenses::get_rule(call, slug, id).await,
        ApiRoute::RulePreviews(slug) => licenses::preview_rule(call, slug).await,
        ApiRoute::Licenses(slug) => licenses::lookup(call, slug).await,
        ApiRoute::UserLicenses(slug, id) => licenses::user_licenses(call, slug, id).await,
        ApiRoute::Usage(slug) => licenses::usage(call, slug).await,
        ApiRoute::Audit(slug) => licenses::audit(call, slug).await,
        ApiRoute::Activity(slug) => licenses::activity(call, slug).await,
        ApiRoute::SetupLinks(slug) if method == Method::POST => {
            credentials::create_setup_link(call, slug).await
        }
        ApiRoute::SetupLinks(slug) => credentials::list_setup_links(call, slug).await,
        ApiRoute::SetupLink(slug, id) => credentials::revoke_setup_link(call, slug, id).await,
        ApiRoute::Events(slug) => licenses::events(call, slug).await,
        ApiRoute::Webhooks(slug) if method == Method::POST => {
            settings::add_webhook(call, slug).await
        }
        ApiRoute::Webhooks(slug) => settings::list_webhooks(call, slug).await,
        ApiRoute::Webhook(slug, id) => settings::remove_webhook(call, slug, id).await,
        ApiRoute::DeadLetters(slug, id) => settings::dead_letters(call, slug, id).await,
        ApiRoute::Redrive(slug, id) => settings::redrive(call, slug, id).await,
        ApiRoute::Attributes(slug) if method == Method::POST => {
            settings::add_attribute(call, slug).await
        }
        ApiRoute::Attributes(slug) => settings::list_attributes(call, slug).await,
        ApiRoute::Attribute(slug, id) => settings::remove_attribute(call, slug, id).await,
    }
}

/// The request's API key, when it works and holds `scope`; then the key's rate limit.
/// A SCIM credential (a `scim_…` token, HTTP Basic) is no API key: 401.
async fn authenticate(
    req: &Request,
    state: &AppState,
    scope: scim_core::api_key::Scope,
) -> ApiResult<ApiKey> {
    let secret = match credentials(req.headers()) {
        Ok(Some(Credentials::Bearer(secret))) => secret,
        _ => return Err(ApiKeyError::Unauthorized.into()),
    };
    // Held to the per-address limit on credential lookups, as every way in is.
    let limit = state.lookup_limit(state.config.trusted_proxies.client_of(req.parts()));
    let key = state.api_keys.authenticate(&secret, scope, &limit).await?;
    tracing::Span::current().record("credential", format!("api-key:{}", key.id).as_str());
    state
        .api_limiter
        .check(&key.id)
        .map_err(Problem::rate_limited)?;
    Ok(key)
}

/// One authenticated call: the request, the state, the key.
pub(super) struct Call<'a> {
    pub(super) req: &'a Request,
    pub(super) state: &'a AppState,
    pub(super) key: ApiKey,
}

impl Call<'_> {
    /// Who the core records as making a change to `tenant`: the API key, and the request.
    pub(super) fn caller(&self, tenant: &Tenant) -> Caller {
        Caller::new(
            tenant.id.clone(),
            format!("api-key:{}", self.key.id),
            self.req.cause(),
        )
        .with_deactivation(tenant.compatibility.on_deactivate)
    }

    pub(super) async fn tenant(&self, slug: &str) -> ApiResult<Tenant> {
        Ok(self.state.tenants.tenant(slug).await?)
    }

    /// The query's parameters; one holding U+0000 (which no store can compare with) is
    /// refused.
    pub(super) fn params(&self) -> ApiResult<QueryParams> {
        let params = QueryParams::of(self.req).map_err(|error| Problem::from(error.0))?;
        if let Some(name) = params.holding_nul() {
            return Err(Problem::new(
                Kind::InvalidValue,
                format!("the query parameter '{name}' holds U+0000"),
            ));
        }
        Ok(params)
    }

    /// The body as `T`: JSON of an accepted media type, within the body limit, of the
    /// operation's shape (unknown members refused, each error naming where it is).
    pub(super) fn body<T: DeserializeOwned>(&self) -> ApiResult<T> {
        let value = self.json()?;
        // Every body is an object: serde would read a struct from an array of its fields.
        if !value.is_object() {
            return Err(Problem::new(
                Kind::InvalidBody,
                "the request body must be a JSON object",
            ));
        }
        if let Some(at) = crate::body::path_holding(&value, '\0', "\\u0000") {
            return Err(Problem::new(
                Kind::InvalidValue,
                format!("'{at}' holds U+0000, which no store can hold"),
            ));
        }
        serde_path_to_error::deserialize(value).map_err(|error| {
            let at = error.path().to_string();
            let detail = if at == "." {
                format!("the request body is refused: {}", error.inner())
            } else {
                format!("'{at}' is refused: {}", error.inner())
            };
            Problem::new(Kind::InvalidBody, detail)
        })
    }

    /// The body as JSON; an empty POST body is `{}` (a POST that takes only optional
    /// members). A PUT or PATCH needs its body.
    fn json(&self) -> ApiResult<Value> {
        let empty = *self.req.method() == Method::POST
            && self
                .req
                .body()
                .is_some_and(|body| body.iter().all(u8::is_ascii_whitespace));
        if empty {
            return Ok(Value::Object(serde_json::Map::new()));
        }
        json_body(self.req, self.state.config.max_body_bytes).map_err(|error| match error.0 {
            scim_core::ScimError::UnsupportedMediaType(_) => Problem::new(
                Kind::UnsupportedMediaType,
                format!(
                    "send the body as application/json, not '{}'",
                    self.req
                        .header(http::header::CONTENT_TYPE)
                        .unwrap_or_default()
                ),
            ),
            other => other.into(),
        })
    }

    /// Refuses the call with 412 when it sent `If-Match` and no tag of it is `etag`.
    pub(super) fn check_if_match(&self, etag: &str) -> ApiResult<()> {
        // An empty If-Match names no tag: no condition (RFC 9110 §13.1.1 has at least one).
        let Some(condition) = self.req.header(IF_MATCH).filter(|c| !c.trim().is_empty()) else {
            return Ok(());
        };
        let opaque = etag.trim_start_matches("W/").trim_matches('"');
        if Precondition::parse_if_match(condition).names(opaque) {
            Ok(())
        } else {
            Err(Problem::new(
                Kind::PreconditionFailed,
                format!("If-Match does not match the current ETag {etag}"),
            ))
        }
    }
}

/// A JSON answer of `status`.
pub(super) fn json(status: StatusCode, body: &Value) -> Response {
    Reply::new(status).json(body)
}

/// An answer about `tenant`, with its `ETag` (the body is the caller's).
pub(super) fn tagged(status: StatusCode, tenant: &Tenant) -> Reply {
    Reply::new(status).header(ETAG, &views::tenant_etag(tenant))
}

/// 204, no body.
pub(super) fn no_content() -> Response {
    Reply::new(StatusCode::NO_CONTENT).finish()
}

/// An optional member that is an object in the schema: read only from a JSON object (or
/// null), never from an array of its fields, which serde would also read a struct from.
pub(super) fn optional_object<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    use serde::Deserialize as _;
    use serde::de::Error as _;
    match Option::<serde_json::Value>::deserialize(deserializer)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(value @ serde_json::Value::Object(_)) => serde_json::from_value(value)
            .map(Some)
            .map_err(D::Error::custom),
        Some(_) => Err(D::Error::custom("must be a JSON object")),
    }
}
