//! The tenant service against mocked ports.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use super::*;
use crate::error::{ScimError, ScimResult};
use crate::federation::Federation;
use crate::outbound::NetworkPolicy;
use crate::ports::{AssertionError, MockAssertionVerifier};
use crate::ports::{
    MockClock, MockCredentialStore, MockIdGenerator, MockSecretGenerator, MockStoreHealth,
    MockTenantDirectory,
};
use crate::tenant::{ClientAuth, StoredClient, StoredToken, TokenHash};

fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000, 0).unwrap()
}

/// The service on credentials `repo` (and no tenant directory expectations).
fn service(repo: MockCredentialStore) -> TenantService {
    service_with(MockTenantDirectory::new(), repo)
}

fn service_with(directory: MockTenantDirectory, repo: MockCredentialStore) -> TenantService {
    let mut clock = MockClock::new();
    clock.expect_now().returning(now);
    let mut ids = MockIdGenerator::new();
    ids.expect_new_id().returning(|| "id".to_owned());
    let mut secrets = MockSecretGenerator::new();
    secrets
        .expect_new_secret()
        .returning(|| "scim_new-secret".to_owned());
    let ports = (
        Arc::new(directory) as Arc<dyn TenantDirectory>,
        Arc::new(repo) as Arc<dyn CredentialStore>,
        Arc::new(MockStoreHealth::new()) as Arc<dyn StoreHealth>,
    );
    TenantService::new(ports, Arc::new(clock), Arc::new(ids), Arc::new(secrets))
}

/// A secret of the shape we issue, telling itself apart by `name`.
fn secret(name: &str) -> String {
    format!("scim_{name:_<43}")
}

fn client(secret: &str) -> StoredClient {
    StoredClient {
        id: "c1".into(),
        tenant: TenantId("t1".into()),
        auth: ClientAuth::Secret(TokenHash::of(secret)),
        created: now(),
        expires: None,
    }
}

const NO_LIMIT: &Unlimited = &Unlimited;

fn basic<'a>(id: &'a str, secret: &'a str) -> Credential<'a> {
    Credential::Client { id, secret }
}

#[tokio::test]
async fn clients_get_short_lived_tokens_and_basic_access() {
    let mut repo = MockCredentialStore::new();
    let good = secret("client");
    let stored = good.clone();
    repo.expect_find_client()
        .returning(move |id| Ok((id == "c1").then(|| (client(&stored), acme()))));
    repo.expect_insert_client_token()
        .withf(|token, at| {
            token.client.as_deref() == Some("c1")
                && token.hash == TokenHash::of("scim_new-secret")
                && token.expires == Some(now() + ACCESS_TOKEN_LIFETIME)
                && *at == now()
        })
        .times(1)
        .returning(|_, _| Ok(()));
    let svc = service(repo);
    let issued = svc.issue_access_token("c1", &good, NO_LIMIT).await.unwrap();
    assert_eq!(issued.secret, "scim_new-secret");
    assert_eq!(issued.expires_in, TimeDelta::minutes(60));
    assert!(
        svc.credentials
            .known_good(&TokenHash::of(&issued.secret), now()),
        "the token issued is known good before its first use"
    );
    assert!(
        !format!("{issued:?}").contains("scim_new-secret"),
        "no secret in Debug"
    );
    let principal = svc
        .authenticate(basic("c1", &good), NO_LIMIT)
        .await
        .unwrap();
    assert_eq!(principal.credential_id, "client:c1");
    // Unknown client, wrong secret, and a malformed pair are the same 401.
    let wrong = secret("wrong");
    for (id, secret) in [
        ("c1", wrong.as_str()),
        ("c9", &good),
        ("c 1", &good),
        ("c1", "x"),
    ] {
        let token = svc
            .issue_access_token(id, secret, NO_LIMIT)
            .await
            .unwrap_err();
        let via_basic = svc
            .authenticate(basic(id, secret), NO_LIMIT)
            .await
            .unwrap_err();
        assert_eq!(token.to_string(), "the client credentials are not valid");
        assert_eq!(via_basic, token);
    }
}

fn acme() -> Tenant {
    Tenant {
        id: TenantId("t1".into()),
        slug: "acme".into(),
        name: "Acme".into(),
        created: now(),
        client_certs: Vec::new(),
        custom_attributes: Vec::new(),
        compatibility: crate::compat::Compatibility::default(),
    }
}

fn token(secret: &str, expires: Option<DateTime<Utc>>) -> StoredToken {
    StoredToken {
        id: "tok1".into(),
        tenant: TenantId("t1".into()),
        hash: TokenHash::of(secret),
        hint: "scim_abcd".into(),
        created: now(),
        expires,
        client: None,
    }
}

#[tokio::test]
async fn bearer_tokens_choose_their_tenant_until_they_expire() {
    let mut repo = MockCredentialStore::new();
    let (good, old) = (secret("good"), secret("old"));
    let (g, o) = (good.clone(), old.clone());
    repo.expect_find_token().returning(move |hash| {
        Ok(if *hash == TokenHash::of(&g) {
            Some((token(&g, None), acme()))
        } else if *hash == TokenHash::of(&o) {
            Some((token(&o, Some(now() - TimeDelta::seconds(1))), acme()))
        } else {
            None
        })
    });
    let svc = service(repo);
    let principal = svc
        .authenticate(Credential::Bearer(&good), NO_LIMIT)
        .await
        .unwrap();
    assert_eq!(principal.tenant_slug, "acme");
    assert_eq!(principal.credential_id, "token:tok1");
    for bad in [old.as_str(), &secret("unknown")] {
        let err = svc
            .authenticate(Credential::Bearer(bad), NO_LIMIT)
            .await
            .unwrap_err();
        assert_eq!(err.status(), 401, "{bad}");
    }
}

/// Credentials that are not shaped like ours, and credentials refused a moment ago,
/// never reach the store nor the caller's limit; the limit runs only before a lookup,
/// and its refusal is what the caller gets.
#[tokio::test]
async fn malformed_and_recently_refused_credentials_cost_the_store_nothing() {
    let mut repo = MockCredentialStore::new();
    // One lookup each: the unknown token, and the unknown client.
    repo.expect_find_token().times(1).returning(|_| Ok(None));
    repo.expect_find_client().times(1).returning(|_| Ok(None));
    let svc = service(repo);
    /// Counts what it is asked and told.
    #[derive(Default)]
    struct Counting {
        asked: std::sync::atomic::AtomicUsize,
        refused: std::sync::atomic::AtomicUsize,
    }
    impl LookupLimit for Counting {
        fn begin_lookup(&self) -> ScimResult<LookupPermit<'_>> {
            self.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(LookupPermit::new(|refused| {
                if refused {
                    self.refused
                        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }))
        }
    }
    let counting = Counting::default();
    let count = &counting;
    let long = "a".repeat(10_000);
    for malformed in [
        "scim_short",
        "Bearer",
        long.as_str(),
        "scim_with space_______________________________",
    ] {
        let err = svc.authenticate(Credential::Bearer(malformed), count).await;
        assert_eq!(err.unwrap_err().status(), 401);
    }
    let unknown = secret("unknown");
    for _ in 0..5 {
        let err = svc.authenticate(Credential::Bearer(&unknown), count).await;
        assert_eq!(err.unwrap_err().status(), 401);
        let err = svc.authenticate(basic("c9", &unknown), count).await;
        assert_eq!(err.unwrap_err().status(), 401);
        let err = svc.issue_access_token("c9", &unknown, count).await;
        assert_eq!(err.unwrap_err().status(), 401);
    }
    let seen = |n: &std::sync::atomic::AtomicUsize| n.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(seen(&counting.asked), 2, "asked once per lookup");
    assert_eq!(seen(&counting.refused), 2, "told of each refusal");
    // The limit's own refusal comes back as it is, and nothing is looked up.
    struct Closed;
    impl LookupLimit for Closed {
        fn begin_lookup(&self) -> ScimResult<LookupPermit<'_>> {
            Err(ScimError::RateLimited { retry_after: 7 })
        }
    }
    let other = secret("other");
    let refused = svc
        .authenticate(Credential::Bearer(&other), &Closed)
        .await
        .unwrap_err();
    assert_eq!(refused, ScimError::RateLimited { retry_after: 7 });
}

/// A credential accepted once is never held back by the limit afterwards, even when
/// its acceptance is no longer cached: a working IdP is not locked out by another
/// tenant's bad credentials from the same address.
#[tokio::test]
async fn known_good_credentials_pass_a_closed_limit() {
    struct Closed;
    impl LookupLimit for Closed {
        fn begin_lookup(&self) -> ScimResult<LookupPermit<'_>> {
            Err(ScimError::RateLimited { retry_after: 7 })
        }
    }
    let good = secret("good");
    let stored = good.clone();
    let mut repo = MockCredentialStore::new();
    repo.expect_find_token().times(2).returning(move |hash| {
        Ok((*hash == TokenHash::of(&stored)).then(|| (token(&stored, None), acme())))
    });
    // No acceptance cache: every request looks its token up.
    let svc = service(repo);
    let bearer = Credential::Bearer(&good);
    assert!(svc.authenticate(bearer, NO_LIMIT).await.is_ok());
    assert!(
        svc.authenticate(bearer, &Closed).await.is_ok(),
        "known good"
    );
    let other = secret("other");
    assert_eq!(
        svc.authenticate(Credential::Bearer(&other), &Closed)
            .await
            .unwrap_err()
            .status(),
        429
    );
}

/// With a credential cache, a token accepted once is not looked up again until the
/// cache's time to live is over (then it is, and a revocation shows); store failures
/// are never remembered.
#[tokio::test]
async fn accepted_tokens_are_looked_up_once_per_time_to_live() {
    use std::sync::atomic::{AtomicI64, Ordering};

    let good = secret("good");
    let mut repo = MockCredentialStore::new();
    let revoked = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let gone = Arc::clone(&revoked);
    let stored = good.clone();
    let outage = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let down = Arc::clone(&outage);
    repo.expect_find_token().times(3).returning(move |hash| {
        if down.load(Ordering::SeqCst) {
            return Err(StoreError::unavailable("down"));
        }
        let found = *hash == TokenHash::of(&stored) && !gone.load(Ordering::SeqCst);
        Ok(found.then(|| (token(&stored, None), acme())))
    });
    let seconds = Arc::new(AtomicI64::new(0));
    let elapsed = Arc::clone(&seconds);
    let mut clock = MockClock::new();
    clock
        .expect_now()
        .returning(move || now() + TimeDelta::seconds(elapsed.load(Ordering::SeqCst)));
    let ports = (
        Arc::new(MockTenantDirectory::new()) as Arc<dyn TenantDirectory>,
        Arc::new(repo) as Arc<dyn CredentialStore>,
        Arc::new(MockStoreHealth::new()) as Arc<dyn StoreHealth>,
    );
    let svc = TenantService::new(
        ports,
        Arc::new(clock),
        Arc::new(MockIdGenerator::new()),
        Arc::new(MockSecretGenerator::new()),
    )
    .with_credential_cache(TimeDelta::seconds(5));
    let bearer = Credential::Bearer(&good);
    // Looked up once, then served from the cache.
    for _ in 0..3 {
        let principal = svc.authenticate(bearer, NO_LIMIT).await.unwrap();
        assert_eq!(principal.credential_id, "token:tok1");
    }
    // Revoked meanwhile: still accepted within the time to live, refused after it.
    revoked.store(true, Ordering::SeqCst);
    seconds.store(4, Ordering::SeqCst);
    assert!(svc.authenticate(bearer, NO_LIMIT).await.is_ok());
    // An outage is not a refusal: not remembered, so the next lookup happens.
    outage.store(true, Ordering::SeqCst);
    seconds.store(5, Ordering::SeqCst);
    let err = svc.authenticate(bearer, NO_LIMIT).await.unwrap_err();
    assert_eq!(err.status(), 503);
    outage.store(false, Ordering::SeqCst);
    assert_eq!(
        svc.authenticate(bearer, NO_LIMIT)
            .await
            .unwrap_err()
            .status(),
        401
    );
    // Now refused, and remembered so: no fourth lookup.
    assert_eq!(
        svc.authenticate(bearer, NO_LIMIT)
            .await
            .unwrap_err()
            .status(),
        401
    );
}

#[tokio::test]
async fn issue_token_stores_only_the_hash() {
    let mut directory = MockTenantDirectory::new();
    directory
        .expect_find_tenant()
        .returning(|_| Ok(Some(acme())));
    let mut repo = MockCredentialStore::new();
    repo.expect_insert_token()
        .withf(|t| t.hash == TokenHash::of("scim_secret123") && t.hint == "scim_secr")
        .times(1)
        .returning(|_| Ok(()));
    let stored = service_with(directory, repo)
        .issue_token("acme", "scim_secret123", TokenLifetime::Default)
        .await
        .unwrap();
    assert_eq!(stored.tenant.0, "t1");
    assert_eq!(
        stored.expires,
        Some(now() + TimeDelta::days(365)),
        "a year by default"
    );
    assert_eq!(
        TokenLifetime::Days(7).expires(now()),
        Some(now() + TimeDelta::days(7))
    );
    assert_eq!(TokenLifetime::Never.expires(now()), None);
}

#[tokio::test]
async fn tenant_slugs_are_validated_and_unique() {
    let svc = service(MockCredentialStore::new());
    assert!(matches!(
        svc.create_tenant("Bad Slug", None).await,
        Err(TenantError::InvalidSlug(_))
    ));
    let mut directory = MockTenantDirectory::new();
    directory.expect_create_tenant().returning(|_| {
        Err(StoreError::Conflict {
            attribute: "slug".into(),
        })
    });
    assert!(matches!(
        service_with(directory, MockCredentialStore::new())
            .create_tenant("acme", None)
            .await,
        Err(TenantError::Exists(_))
    ));
}

#[tokio::test]
async fn an_expired_client_secret_opens_nothing_and_lifetimes_are_the_operators() {
    let mut repo = MockCredentialStore::new();
    let good = secret("client");
    let stored = good.clone();
    repo.expect_find_client().returning(move |_| {
        let mut expired = client(&stored);
        expired.expires = Some(now());
        Ok(Some((expired, acme())))
    });
    let svc = service(repo);
    assert!(matches!(
        svc.authenticate(basic("c1", &good), NO_LIMIT).await,
        Err(ScimError::Unauthorized(_))
    ));
    assert!(matches!(
        svc.issue_access_token("c1", &good, NO_LIMIT).await,
        Err(ScimError::Unauthorized(_))
    ));

    // The operator's lifetime, held to 1 to 6 hours.
    let mut repo = MockCredentialStore::new();
    let stored = good.clone();
    repo.expect_find_client()
        .returning(move |_| Ok(Some((client(&stored), acme()))));
    repo.expect_insert_client_token()
        .withf(|token, _| token.expires == Some(now() + TimeDelta::hours(6)))
        .returning(|_, _| Ok(()));
    let svc = service(repo).with_access_token_lifetime(TimeDelta::hours(24));
    let issued = svc.issue_access_token("c1", &good, NO_LIMIT).await.unwrap();
    assert_eq!(issued.expires_in, TimeDelta::hours(6));
    assert_eq!(TokenLifetime::of(Some(30), false), TokenLifetime::Days(30));
    assert_eq!(TokenLifetime::of(Some(30), true), TokenLifetime::Never);
}

fn federated(id: &str) -> StoredClient {
    let trust = Federation::new(
        "https://issuer.example.com/t/v2.0",
        "https://issuer.example.com/t/keys",
        "workload",
        "api://app",
        NetworkPolicy::default(),
    )
    .unwrap();
    StoredClient {
        id: id.into(),
        tenant: TenantId("t1".into()),
        auth: ClientAuth::Federated(trust),
        created: now(),
        expires: None,
    }
}

const ASSERTION: &str = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ3b3JrbG9hZCJ9.c2lnbmF0dXJl";

/// Claims the verifier returns: the trusted ones, `change` applied.
fn verified(change: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    let mut claims = serde_json::json!({
        "iss": "https://issuer.example.com/t/v2.0",
        "sub": "workload",
        "aud": "api://app",
        "exp": now().timestamp() + 3_600,
    });
    if let serde_json::Value::Object(change) = change {
        for (name, value) in change {
            claims[name] = value;
        }
    }
    claims.as_object().unwrap().clone()
}

/// The service with clients `c1` (secret `good`) and `f1` (federated), whose verifier
/// answers `answer` for `f1`'s JWKS URL.
fn federating(
    answer: Result<serde_json::Map<String, serde_json::Value>, AssertionError>,
    good: &str,
) -> TenantService {
    federating_with(Some(answer), good)
}

/// As [`federating`]; with `None`, a verifier that must never be asked.
fn federating_with(
    answer: Option<Result<serde_json::Map<String, serde_json::Value>, AssertionError>>,
    good: &str,
) -> TenantService {
    let mut repo = MockCredentialStore::new();
    let stored = good.to_owned();
    repo.expect_find_client().returning(move |id| {
        Ok(match id {
            "c1" => Some((client(&stored), acme())),
            "f1" => Some((federated("f1"), acme())),
            _ => None,
        })
    });
    repo.expect_insert_client_token()
        .withf(|token, _| token.client.as_deref() == Some("f1"))
        .returning(|_, _| Ok(()));
    let mut verifier = MockAssertionVerifier::new();
    match answer {
        Some(answer) => {
            verifier
                .expect_verify()
                .withf(|url, assertion| {
                    url == "https://issuer.example.com/t/keys" && assertion == ASSERTION
                })
                .returning(move |_, _| answer.clone());
        }
        None => {
            verifier.expect_verify().never();
        }
    }
    service(repo).with_assertion_verifier(Arc::new(verifier))
}

#[tokio::test]
async fn a_federated_client_exchanges_a_verified_assertion_for_a_token() {
    let svc = federating(Ok(verified(serde_json::json!({}))), &secret("client"));
    let issued = svc
        .issue_access_token_for_assertion("f1", ASSERTION, NO_LIMIT)
        .await
        .unwrap();
    assert_eq!(issued.secret, "scim_new-secret");
    assert!(
        svc.credentials
            .known_good(&TokenHash::of(&issued.secret), now()),
        "the token issued is known good before its first use"
    );
}

#[tokio::test]
async fn assertions_are_refused_for_what_is_wrong_with_them() {
    let good = secret("client");
    let cases = [
        (
            Ok(verified(
                serde_json::json!({"iss": "https://elsewhere.example.com"}),
            )),
            "the assertion's issuer (iss) is not the issuer this client trusts",
        ),
        (
            Ok(verified(
                serde_json::json!({"exp": now().timestamp() - 3_600}),
            )),
            "the assertion has expired",
        ),
        (
            Err(AssertionError::Refused(
                "no key of the issuer verifies the signature".into(),
            )),
            "no key of the issuer verifies the signature",
        ),
    ];
    for (answer, told) in cases {
        let svc = federating(answer, &good);
        let refused = svc
            .issue_access_token_for_assertion("f1", ASSERTION, NO_LIMIT)
            .await
            .unwrap_err();
        assert!(
            matches!(&refused, AssertionGrantError::Assertion(why) if why == told),
            "{refused:?}"
        );
    }
    let down = AssertionError::Unreachable {
        reason: "down".into(),
        retry_after: 30,
    };
    let svc = federating(Err(down), &good);
    let refused = svc
        .issue_access_token_for_assertion("f1", ASSERTION, NO_LIMIT)
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            AssertionGrantError::Unavailable {
                retry_after: 30,
                ..
            }
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_secret_and_an_assertion_open_only_their_own_kind_of_client() {
    let good = secret("client");
    // A client with a secret takes no assertion, an unknown id is no client, and a
    // malformed assertion is refused as one: each before the verifier is asked.
    let svc = federating_with(None, &good);
    for id in ["c1", "f9"] {
        let refused = svc
            .issue_access_token_for_assertion(id, ASSERTION, NO_LIMIT)
            .await
            .unwrap_err();
        assert!(
            matches!(refused, AssertionGrantError::Client),
            "{id}: {refused:?}"
        );
    }
    let malformed = svc
        .issue_access_token_for_assertion("f1", "not.a jwt.x", NO_LIMIT)
        .await
        .unwrap_err();
    assert!(
        matches!(&malformed, AssertionGrantError::Assertion(why) if why.contains("not a signed JWT")),
        "{malformed:?}"
    );
    // A federated client has no secret: whatever is tried as one is refused.
    let refused = svc.issue_access_token("f1", &good, NO_LIMIT).await;
    assert_eq!(
        refused.unwrap_err().to_string(),
        "the client credentials are not valid"
    );
}

#[tokio::test]
async fn a_federated_client_is_made_only_of_valid_values() {
    let mut directory = MockTenantDirectory::new();
    directory
        .expect_find_tenant()
        .returning(|_| Ok(Some(acme())));
    let mut repo = MockCredentialStore::new();
    repo.expect_insert_client()
        .withf(|client| client.federation().is_some_and(|f| f.subject == "workload"))
        .times(1)
        .returning(|_| Ok(()));
    let svc = service_with(directory, repo);
    let request = |jwks_url| FederationRequest {
        issuer: "https://issuer.example.com/t/v2.0",
        jwks_url,
        subject: " workload ",
        audience: "api://app",
    };
    let refused = svc
        .create_federated_client(
            "acme",
            request("http://10.0.0.1/keys"),
            TokenLifetime::Never,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(refused, TenantError::InvalidSetting(_)),
        "{refused}"
    );
    let made = svc
        .create_federated_client(
            "acme",
            request("https://issuer.example.com/t/keys"),
            TokenLifetime::Never,
        )
        .await
        .unwrap();
    assert_eq!(made.secret_hash(), None);
    assert_eq!(made.expires, None);
}

/// A limit that is closed (429) once `open` is false, counting refusals.
struct Gate {
    open: std::sync::atomic::AtomicBool,
    refused: std::sync::atomic::AtomicUsize,
}

impl LookupLimit for Gate {
    fn begin_lookup(&self) -> ScimResult<LookupPermit<'_>> {
        if !self.open.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(ScimError::RateLimited { retry_after: 3 });
        }
        Ok(LookupPermit::new(|refused| {
            if refused {
                self.refused
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }))
    }
}

#[tokio::test]
async fn a_refused_assertion_counts_and_a_client_that_worked_is_never_held_back() {
    let gate = Gate {
        open: true.into(),
        refused: 0.into(),
    };
    let refused = |gate: &Gate| gate.refused.load(std::sync::atomic::Ordering::SeqCst);
    let expired = verified(serde_json::json!({"exp": now().timestamp() - 3_600}));
    let svc = federating(Ok(expired), &secret("client"));
    assert!(
        svc.issue_access_token_for_assertion("f1", ASSERTION, &gate)
            .await
            .is_err()
    );
    assert_eq!(
        refused(&gate),
        1,
        "a refused assertion is a refused credential"
    );
    let down = AssertionError::Unreachable {
        reason: "down".into(),
        retry_after: 30,
    };
    let svc = federating(Err(down), &secret("client"));
    assert!(
        svc.issue_access_token_for_assertion("f1", ASSERTION, &gate)
            .await
            .is_err()
    );
    assert_eq!(
        refused(&gate),
        2,
        "an unreachable issuer is no way around the limit"
    );

    let svc = federating(Ok(verified(serde_json::json!({}))), &secret("client"));
    svc.issue_access_token_for_assertion("f1", ASSERTION, &gate)
        .await
        .unwrap();
    assert_eq!(refused(&gate), 2);
    // The address is held back now; the client that worked still gets through.
    gate.open.store(false, std::sync::atomic::Ordering::SeqCst);
    svc.issue_access_token_for_assertion("f1", ASSERTION, &gate)
        .await
        .unwrap();
    let other = svc
        .issue_access_token_for_assertion("f9", ASSERTION, &gate)
        .await
        .unwrap_err();
    assert!(
        matches!(
            other,
            AssertionGrantError::Scim(ScimError::RateLimited { retry_after: 3 })
        ),
        "{other:?}"
    );
}
