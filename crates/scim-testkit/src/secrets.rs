//! Secrets at rest, part of the storage contract: what the server must use (SET signing
//! keys, receivers' HS256 and OAuth client secrets) is stored sealed with the server's
//! secret keys, never in the clear; a store opened with keys that cannot open what the
//! database holds refuses to open, naming the missing keys; values stored in the clear
//! before are sealed when the store opens; and re-sealing moves every value to the
//! sealing key, so the old key can go.

use diesel::prelude::*;
use diesel::sql_types::Text;
use scim_core::events::{OAuthClient, Receiver, SigningKey};
use scim_core::ports::{SigningKeys, Webhooks};
use scim_core::secrets::{SEALED_PREFIX, SecretKeys};
use scim_store::{DieselStore, OpenError, SealError};
use serde_json::json;

use crate::contract::with_tenant;
use crate::fixtures::time;
use crate::{SqlStoreFactory, StoreFactory, TestStore, test_keys};

#[derive(QueryableByName)]
struct Stored {
    #[diesel(sql_type = Text)]
    value: String,
}

/// Every stored secret as the database holds it.
async fn stored_secrets(store: &TestStore<DieselStore>) -> Vec<String> {
    store
        .raw(|connection| {
            diesel::sql_query(
                "SELECT private_key AS value FROM signing_keys \
                 UNION ALL SELECT secret FROM receivers \
                 UNION ALL SELECT client_secret FROM receivers WHERE client_secret IS NOT NULL",
            )
            .load::<Stored>(connection)
            .unwrap()
            .into_iter()
            .map(|row| row.value)
            .collect()
        })
        .await
}

pub async fn secrets_are_sealed_at_rest<F: SqlStoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let receiver = Receiver {
        id: "r1".into(),
        tenant: acme.id.clone(),
        url: "https://hooks.example.com/r1".into(),
        secret: "hs256-secret-of-at-least-thirty-two-bytes".into(),
        oauth: Some(OAuthClient {
            token_url: "https://login.example.com/token".into(),
            client_id: "pusher".into(),
            client_secret: "oauth-client-secret-value".into(),
            scope: None,
        }),
        created: time(0),
    };
    store.add_receiver(&receiver).await.unwrap();
    let key = SigningKey {
        kid: "k1".into(),
        algorithm: "ES256".into(),
        private_key: "cGtjczgtcHJpdmF0ZS1rZXktYnl0ZXM".into(),
        public_jwk: json!({"kid": "k1"}),
        created: time(0),
        activates: time(0),
    };
    store.add_signing_key(&key).await.unwrap();
    let plain = [
        receiver.secret.as_str(),
        "oauth-client-secret-value",
        key.private_key.as_str(),
    ];

    // In the database: sealed under the key, no secret readable.
    let sealed_with = |id: &str| format!("{SEALED_PREFIX}{id}:");
    let test_id = test_keys().primary_id().to_owned();
    let stored = stored_secrets(&store).await;
    assert_eq!(stored.len(), 3);
    for value in &stored {
        assert!(value.starts_with(&sealed_with(&test_id)), "{value}");
        for secret in plain {
            assert!(!value.contains(secret), "{value} holds {secret}");
        }
    }
    // Through the store: the secrets as they were given.
    let shown = store.receivers(&acme.id).await.unwrap();
    assert_eq!(shown[0].receiver, receiver);
    assert_eq!(
        store.signing_keys().await.unwrap(),
        std::slice::from_ref(&key)
    );

    // A value stored in the clear (before sealing existed) is sealed when a store opens.
    store
        .raw(|connection| {
            diesel::sql_query("UPDATE receivers SET secret = 'legacy-secret-stored-in-the-clear'")
                .execute(connection)
                .unwrap();
        })
        .await;
    let reopened = store.reopen().await;
    assert!(
        stored_secrets(&store)
            .await
            .iter()
            .all(|value| value.starts_with(&sealed_with(&test_id)))
    );
    let shown = reopened.receivers(&acme.id).await.unwrap();
    assert_eq!(
        shown[0].receiver.secret,
        "legacy-secret-stored-in-the-clear"
    );
    drop(reopened);

    // Other keys do not open the database: refused, naming the key it needs.
    let other = SecretKeys::generate();
    match store.reopen_with_keys(other.clone()).await {
        Err(OpenError::Secrets(SealError::MissingKeys { missing, .. })) => {
            assert_eq!(missing, std::slice::from_ref(&test_id));
        }
        Err(error) => panic!("refused for another reason: {error}"),
        Ok(_) => panic!("opened with keys that cannot open its secrets"),
    }

    // A rotation: the new key first, the old one second; re-sealing moves every secret to
    // the new key, after which the new key alone opens the database.
    let rotated = SecretKeys::parse(&format!(
        "{}\n{}",
        other.primary_text(),
        test_keys().primary_text()
    ))
    .unwrap();
    let during = store.reopen_with_keys(rotated).await.unwrap();
    assert_eq!(during.reseal_secrets().await.unwrap(), 3);
    assert_eq!(
        during.reseal_secrets().await.unwrap(),
        0,
        "nothing left to move"
    );
    drop(during);
    assert!(
        stored_secrets(&store)
            .await
            .iter()
            .all(|value| value.starts_with(&sealed_with(other.primary_id())))
    );
    let after = store.reopen_with_keys(other).await.unwrap();
    let shown = after.receivers(&acme.id).await.unwrap();
    assert_eq!(
        shown[0].receiver.secret,
        "legacy-secret-stored-in-the-clear"
    );
    assert_eq!(
        shown[0].receiver.oauth.as_ref().unwrap().client_secret,
        "oauth-client-secret-value"
    );
    assert_eq!(after.signing_keys().await.unwrap(), [key]);
}
