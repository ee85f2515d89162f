//! The Idempotency-Key records' contract: one record per owner and key, the response kept
//! once finished, forgotten on demand and after the window; responses sealed at rest in a
//! database.

use diesel::prelude::*;
use diesel::sql_types::Text;
use scim_core::idempotency::{IdempotencyRecord, StoredResponse};
use scim_core::ports::IdempotencyStore;

use crate::fixtures::time;
use crate::{SqlStoreFactory, StoreFactory};

fn record(owner: &str, key: &str, created: i64) -> IdempotencyRecord {
    IdempotencyRecord {
        owner: owner.into(),
        key: key.into(),
        fingerprint: format!("fp-{owner}-{key}"),
        created: time(created),
        response: None,
        stale: false,
    }
}

fn response(body: &str) -> StoredResponse {
    StoredResponse {
        status: 201,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.into(),
    }
}

/// A key is recorded once per owner; its response is kept once finished and read back;
/// forgetting and pruning remove records, other owners' records stay.
pub async fn idempotency_keys_are_recorded_once_and_kept<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    assert!(
        store
            .insert_idempotency(&record("k1", "abc", 0))
            .await
            .unwrap()
    );
    assert!(
        !store
            .insert_idempotency(&record("k1", "abc", 5))
            .await
            .unwrap()
    );
    assert!(
        store
            .insert_idempotency(&record("k2", "abc", 10))
            .await
            .unwrap()
    );
    let running = store.idempotency("k1", "abc").await.unwrap().unwrap();
    assert_eq!(
        running,
        record("k1", "abc", 0),
        "the first request's record"
    );

    let answer = response(r#"{"token": "scim_the-secret"}"#);
    // A finish or forget naming another claim of the key touches nothing.
    store
        .finish_idempotency("k1", "abc", time(1), &answer)
        .await
        .unwrap();
    store
        .forget_idempotency("k1", "abc", time(1))
        .await
        .unwrap();
    assert_eq!(
        store
            .idempotency("k1", "abc")
            .await
            .unwrap()
            .unwrap()
            .response,
        None
    );
    store
        .finish_idempotency("k1", "abc", time(0), &answer)
        .await
        .unwrap();
    let done = store.idempotency("k1", "abc").await.unwrap().unwrap();
    assert_eq!(done.response, Some(answer));
    assert_eq!(
        store
            .idempotency("k2", "abc")
            .await
            .unwrap()
            .unwrap()
            .response,
        None,
        "another owner's key is another record"
    );
    assert_eq!(store.idempotency("k1", "other").await.unwrap(), None);

    store
        .forget_idempotency("k1", "abc", time(0))
        .await
        .unwrap();
    assert_eq!(store.idempotency("k1", "abc").await.unwrap(), None);
    assert!(
        store
            .insert_idempotency(&record("k1", "abc", 20))
            .await
            .unwrap()
    );

    assert_eq!(store.prune_idempotency(time(15)).await.unwrap(), 1);
    assert_eq!(store.idempotency("k2", "abc").await.unwrap(), None);
    assert!(store.idempotency("k1", "abc").await.unwrap().is_some());
}

/// A kept response (which may hold a token the request created) is sealed in the
/// database; a response sealed for another row does not open there.
pub async fn idempotent_responses_are_sealed_at_rest<F: SqlStoreFactory>(factory: &F) {
    let store = factory.open().await;
    store
        .insert_idempotency(&record("k1", "abc", 0))
        .await
        .unwrap();
    store
        .insert_idempotency(&record("k1", "xyz", 0))
        .await
        .unwrap();
    store
        .finish_idempotency("k1", "abc", time(0), &response("scim_the-secret-token"))
        .await
        .unwrap();
    #[derive(QueryableByName)]
    struct Stored {
        #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
        response: Option<String>,
    }
    let stored: Vec<Stored> = store
        .raw(|connection| {
            diesel::sql_query("SELECT response FROM idempotency_keys WHERE key = 'abc'")
                .load(connection)
                .unwrap()
        })
        .await;
    let sealed = stored[0].response.clone().expect("a response");
    assert!(!sealed.contains("the-secret-token"), "{sealed}");
    // Moved to another row, it does not open: the record reads as none.
    store
        .raw(move |connection| {
            diesel::sql_query("UPDATE idempotency_keys SET response = $1 WHERE key = 'xyz'")
                .bind::<Text, _>(&sealed)
                .execute(connection)
                .unwrap();
        })
        .await;
    let moved = store.idempotency("k1", "xyz").await.unwrap().unwrap();
    assert!(
        moved.response.is_none() && moved.stale,
        "a response sealed for another row never opens: the record counts for nothing"
    );
    store
        .forget_idempotency("k1", "xyz", moved.created)
        .await
        .unwrap();
    assert_eq!(store.idempotency("k1", "xyz").await.unwrap(), None);
    assert!(store.idempotency("k1", "abc").await.unwrap().is_some());
}
