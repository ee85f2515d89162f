//! One tenant's SCIM client against the API in this process.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::test::{TestRequest, call_service, init_service};
use actix_web::{App, body};
use axum::extract::ConnectInfo;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::HeaderMap;
use scim_core::Caller;
use scim_core::SchemaRegistry;
use scim_core::license::MappingSource;
use scim_core::paging::CursorCodec;
use scim_core::ports::{Clock, IdGenerator, SecretGenerator};
use scim_core::secrets::SecretKeys;
use scim_core::service::{Runtime, Services, TokenLifetime};
use scim_core::tenant::Tenant;
use scim_http::{AppState, HttpConfig, ScimApi, SetSigner};
use scim_memory::MemoryStore;
use serde_json::Value;
use tower::ServiceExt;

pub(crate) const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub(crate) const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub(crate) const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub(crate) const LICENSES: &str = "urn:scim-license:schemas:extension:license:2.0:User";

/// The time the tests run at: now, read from the system.
struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Ids `1`, `2`, … (resource ids are shown in assertions).
#[derive(Default)]
struct Counter(AtomicU64);

impl IdGenerator for Counter {
    fn new_id(&self) -> String {
        format!("{}", self.0.fetch_add(1, Ordering::Relaxed) + 1)
    }
}

impl SecretGenerator for Counter {
    fn new_secret(&self) -> String {
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        format!("scim_secret{n:032}")
    }
}

/// The HTTP server the API is mounted on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Adapter {
    Actix,
    Axum,
}

type Send = Box<dyn Fn(http::Request<Bytes>) -> Pin<Box<dyn Future<Output = Reply>>>>;

/// The API on a fresh reference store, behind one adapter, and the tenant `acme` with a
/// token.
pub(crate) struct Api {
    send: Rc<Send>,
    pub(crate) services: Services,
    pub(crate) tenant: Tenant,
    pub(crate) token: String,
}

/// The peer every request comes from.
const PEER: &str = "127.0.0.1:40000";

/// What the API answered.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) text: String,
    /// The body as JSON (`Null` when it is empty or not JSON).
    pub(crate) json: Value,
}

impl Reply {
    fn of(status: u16, headers: HeaderMap, bytes: &[u8]) -> Self {
        Self {
            status,
            headers,
            text: String::from_utf8_lossy(bytes).into_owned(),
            json: serde_json::from_slice(bytes).unwrap_or(Value::Null),
        }
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub(crate) fn expect(self, status: u16) -> Self {
        assert_eq!(self.status, status, "{}", self.text);
        self
    }

    /// Asserts a SCIM error: its status in the body as a string, and its `scimType`.
    #[track_caller]
    pub(crate) fn expect_error(self, status: u16, scim_type: Option<&str>) -> Self {
        let this = self.expect(status);
        assert_eq!(
            this.header("content-type"),
            Some("application/scim+json"),
            "{}",
            this.text
        );
        assert_eq!(this.json["status"], status.to_string(), "{}", this.text);
        assert_eq!(
            this.json["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
            "{}",
            this.text
        );
        assert_eq!(this.json["scimType"].as_str(), scim_type, "{}", this.text);
        this
    }

    pub(crate) fn detail(&self) -> &str {
        self.json["detail"].as_str().unwrap_or_default()
    }
}

impl Api {
    pub(crate) async fn start(adapter: Adapter) -> Self {
        Self::with_config(adapter, HttpConfig::default()).await
    }

    pub(crate) async fn with_config(adapter: Adapter, config: HttpConfig) -> Self {
        let registry = Arc::new(SchemaRegistry::standard());
        let store = Arc::new(MemoryStore::new(Arc::clone(&registry)));
        let counter = Arc::new(Counter::default());
        let runtime = Runtime {
            clock: Arc::new(SystemClock),
            ids: Arc::clone(&counter) as _,
            secrets: counter,
        };
        let services = Services::on(&store, registry, runtime);
        let key = SetSigner::generate_key(Utc::now(), DateTime::UNIX_EPOCH).unwrap();
        let signer = Arc::new(SetSigner::new(&[key]).unwrap());
        let cursors = Arc::new(CursorCodec::new(&SecretKeys::generate()));
        let api = ScimApi::new(AppState::new(&services, signer, cursors, config));
        let send = match adapter {
            Adapter::Actix => actix(api).await,
            Adapter::Axum => axum(api),
        };
        let (tenant, token) = tenant_with_token(&services, "acme").await;
        Self {
            send: Rc::new(send),
            services,
            tenant,
            token,
        }
    }

    /// Another tenant of the same server, and a token of it.
    pub(crate) async fn tenant_with_token(&self, slug: &str) -> (Tenant, String) {
        tenant_with_token(&self.services, slug).await
    }

    /// A pool of the tenant, and a rule granting it.
    pub(crate) async fn license(&self, sku: &str, seats: i64, source: MappingSource, value: &str) {
        let operator = Caller::new(self.tenant.id.clone(), "cli", "test");
        let licenses = &self.services.licenses;
        licenses
            .set_pool(
                &operator,
                sku,
                &scim_core::service::PoolChange::seats(seats),
            )
            .await
            .unwrap();
        licenses.map(&operator, source, value, sku).await.unwrap();
    }

    /// A request as the tenant's IdP sends it: its token.
    pub(crate) fn request(&self, method: &str, path: &str) -> Call {
        self.anonymous(method, path)
            .header("authorization", &format!("Bearer {}", self.token))
    }

    /// A request without credentials.
    pub(crate) fn anonymous(&self, method: &str, path: &str) -> Call {
        let request = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost:8080");
        Call(request, Bytes::new())
    }

    pub(crate) async fn send(&self, call: Call) -> Reply {
        let Call(request, body) = call;
        (self.send)(request.body(body).unwrap()).await
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        self.send(self.request("GET", path)).await
    }

    pub(crate) async fn delete(&self, path: &str) -> Reply {
        self.send(self.request("DELETE", path)).await
    }

    /// A JSON body sent with `method` as `application/scim+json`.
    pub(crate) async fn send_json(&self, method: &str, path: &str, body: &Value) -> Reply {
        let request = self
            .request(method, path)
            .header("content-type", "application/scim+json")
            .body(body.to_string());
        self.send(request).await
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send_json("POST", path, body).await
    }

    pub(crate) async fn put(&self, path: &str, body: &Value) -> Reply {
        self.send_json("PUT", path, body).await
    }

    pub(crate) async fn patch(&self, path: &str, body: &Value) -> Reply {
        self.send_json("PATCH", path, body).await
    }

    /// Creates a user with these extra attributes; its id.
    pub(crate) async fn user(&self, user_name: &str, extra: Value) -> String {
        let mut body = serde_json::json!({"schemas": [USER], "userName": user_name});
        if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
            body.extend(extra);
        }
        let created = self.post("/scim/v2/Users", &body).await.expect(201);
        created.json["id"].as_str().unwrap().to_owned()
    }
}

/// A request being written.
pub(crate) struct Call(http::request::Builder, Bytes);

impl Call {
    pub(crate) fn header(self, name: &str, value: &str) -> Self {
        Self(self.0.header(name, value), self.1)
    }

    pub(crate) fn body(self, body: impl Into<Bytes>) -> Self {
        Self(self.0, body.into())
    }
}

/// The API as an actix-web app, called without a socket.
async fn actix(api: ScimApi) -> Send {
    let app = App::new().configure(|cfg| scim_http::actix::configure(cfg, api));
    let service = Rc::new(init_service(app).await);
    Box::new(move |request: http::Request<Bytes>| {
        let service = Rc::clone(&service);
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let method = actix_web::http::Method::from_bytes(parts.method.as_str().as_bytes());
            let mut test = TestRequest::default()
                .method(method.unwrap())
                .uri(&parts.uri.to_string())
                .peer_addr(PEER.parse().unwrap())
                .set_payload(body);
            for (name, value) in &parts.headers {
                test = test.append_header((name.as_str(), value.as_bytes()));
            }
            let response = call_service(&*service, test.to_request()).await;
            let status = response.status().as_u16();
            let mut headers = HeaderMap::new();
            for (name, value) in response.headers() {
                headers.append(
                    http::HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
                    http::HeaderValue::from_bytes(value.as_bytes()).unwrap(),
                );
            }
            let bytes = body::to_bytes(response.into_body())
                .await
                .unwrap_or_else(|_| panic!("the body could not be read"));
            Reply::of(status, headers, &bytes)
        })
    })
}

/// The API as an axum router, called without a socket.
fn axum(api: ScimApi) -> Send {
    let router: axum::Router = scim_http::axum::router(api);
    Box::new(move |request: http::Request<Bytes>| {
        let router = router.clone();
        Box::pin(async move {
            let mut request = request.map(axum::body::Body::from);
            let peer: SocketAddr = PEER.parse().unwrap();
            request.extensions_mut().insert(ConnectInfo(peer));
            let response = router.oneshot(request).await.unwrap();
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            Reply::of(status, headers, &bytes)
        })
    })
}

async fn tenant_with_token(services: &Services, slug: &str) -> (Tenant, String) {
    let tenants = &services.tenants;
    let tenant = tenants.create_tenant(slug, None).await.unwrap();
    // Shaped as the secrets the server issues: `scim_` and 43 base64url characters.
    let secret = format!("scim_{:-<43}", format!("{slug}-token"));
    tenants
        .issue_token(slug, &secret, TokenLifetime::default())
        .await
        .unwrap();
    (tenant, secret)
}

/// Runs a test against the API behind each adapter: `mod name { actix, axum }`.
macro_rules! on_both_adapters {
    ($(async fn $name:ident($api:ident: Adapter) $body:block)*) => {
        $(
            mod $name {
                use super::*;

                async fn run($api: $crate::api::Adapter) $body

                #[actix_web::test]
                async fn actix() {
                    run($crate::api::Adapter::Actix).await;
                }

                #[actix_web::test]
                async fn axum() {
                    run($crate::api::Adapter::Axum).await;
                }
            }
        )*
    };
}
pub(crate) use on_both_adapters;

/// A PATCH body of these operations.
pub(crate) fn patch_op(operations: Value) -> Value {
    let mut body = serde_json::json!({"schemas": [PATCH_OP]});
    body["Operations"] = operations;
    body
}
