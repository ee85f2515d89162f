//! A product's own axum service with SCIM mounted next to its routes
//! (`docs/embedding.md`, "Mounting the HTTP API"):
//!
//! - its own routes and storage: `GET /` and `GET|POST /api/projects`, kept in the
//!   product's memory;
//! - the SCIM API (`scim_http::axum::router`) on the reference store, merged into the same
//!   router, every license decision the core's;
//! - its own authentication: the product issues one key per customer ([`ProductKeys`]), an
//!   [`Authenticator`] that replaces the server's tokens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use http::request::Parts;
use rand::RngCore;
use scim_core::paging::CursorCodec;
use scim_core::ports::{Clock, IdGenerator, SecretGenerator};
use scim_core::secrets::SecretKeys;
use scim_core::service::{Runtime, Services};
use scim_core::tenant::{Principal, Tenant};
use scim_core::{SchemaRegistry, ScimError};
use scim_http::{AppState, Authenticator, HttpConfig, ScimApi, SetSigner};
use scim_memory::MemoryStore;
use serde_json::{Value, json};

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Random (v4) UUIDs as ids.
pub struct UuidIds;

impl IdGenerator for UuidIds {
    fn new_id(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

/// 256 random bits, base64url, after `prefix`.
fn random_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Secrets for what the core issues itself (OAuth clients, if the product used them).
pub struct RandomSecrets;

impl SecretGenerator for RandomSecrets {
    fn new_secret(&self) -> String {
        random_secret("scim_")
    }
}

/// The product's own keys, one per customer: whoever sends `Authorization: Bearer <key>`
/// is that customer's IdP. (A real product keeps them hashed in its database.)
#[derive(Default)]
pub struct ProductKeys {
    keys: Mutex<HashMap<String, Principal>>,
}

impl ProductKeys {
    /// A new key for `tenant`'s IdP.
    pub fn issue(&self, tenant: &Tenant) -> String {
        let key = random_secret("pk_");
        let principal = Principal::of(tenant.clone(), format!("product-key:{}", &key[..7]));
        self.lock().insert(key.clone(), principal);
        key
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Principal>> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl Authenticator for ProductKeys {
    async fn authenticate(&self, request: &Parts, _: &AppState) -> Result<Principal, ScimError> {
        let key = request
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        key.and_then(|key| self.lock().get(key.trim()).cloned())
            .ok_or_else(|| ScimError::Unauthorized("send the product key as a bearer token".into()))
    }
}

/// The product's own data.
#[derive(Default)]
pub struct Projects(Mutex<Vec<Value>>);

/// The service: the product's state and the SCIM API's.
pub struct Product {
    pub services: Services,
    pub keys: Arc<ProductKeys>,
    pub projects: Arc<Projects>,
    pub api: ScimApi,
}

impl Product {
    /// Everything on new, empty stores.
    pub fn new() -> Result<Self, Box<dyn std::error::Error>> {
        let registry = Arc::new(SchemaRegistry::standard());
        let store = Arc::new(MemoryStore::new(Arc::clone(&registry)));
        let runtime = Runtime {
            clock: Arc::new(SystemClock),
            ids: Arc::new(UuidIds),
            secrets: Arc::new(RandomSecrets),
        };
        let services = Services::on(&store, registry, runtime);
        let key = SetSigner::generate_key(Utc::now(), DateTime::UNIX_EPOCH)?;
        let signer = Arc::new(SetSigner::new(&[key])?);
        let cursors = Arc::new(CursorCodec::new(&SecretKeys::generate()));
        let keys = Arc::new(ProductKeys::default());
        let state = AppState::new(&services, signer, cursors, HttpConfig::default());
        let api = ScimApi::new(state).with_authenticator(Arc::clone(&keys) as _);
        Ok(Self {
            services,
            keys,
            projects: Arc::default(),
            api,
        })
    }

    /// A customer: its tenant, and the key its IdP sends.
    pub async fn add_customer(
        &self,
        slug: &str,
    ) -> Result<(Tenant, String), Box<dyn std::error::Error>> {
        let tenant = self.services.tenants.create_tenant(slug, None).await?;
        let key = self.keys.issue(&tenant);
        Ok((tenant, key))
    }

    /// The product's routes, and SCIM next to them.
    pub fn router(&self) -> Router {
        let own = Router::new()
            .route("/", get(|| async { "the product" }))
            .route("/api/projects", get(list_projects).post(add_project))
            .with_state(Arc::clone(&self.projects));
        own.merge(scim_http::axum::router(self.api.clone()))
    }
}

async fn list_projects(State(projects): State<Arc<Projects>>) -> axum::Json<Value> {
    let projects = projects.0.lock().unwrap_or_else(PoisonError::into_inner);
    axum::Json(json!({"projects": *projects}))
}

async fn add_project(
    State(projects): State<Arc<Projects>>,
    axum::Json(project): axum::Json<Value>,
) -> (http::StatusCode, axum::Json<Value>) {
    let mut all = projects.0.lock().unwrap_or_else(PoisonError::into_inner);
    all.push(project.clone());
    (http::StatusCode::CREATED, axum::Json(project))
}
