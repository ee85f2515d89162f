//! `IdempotencyStore`: the Management API's Idempotency-Keys, in `idempotency_keys`. A
//! finished request's response is kept sealed with the server's secret keys, bound to its
//! owner and key: it may hold a token the request created. A response that no longer
//! opens (its key was rotated out) reads as no record: the retry runs anew.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use scim_core::StoreError;
use scim_core::idempotency::{IdempotencyRecord, StoredResponse};
use scim_core::ports::IdempotencyStore;
use scim_core::secrets::SecretKeys;

use crate::errors::from_diesel;
use crate::rows::{from_micros, to_micros};
use crate::schema::idempotency_keys;
use crate::store::DieselStore;

#[derive(Insertable, Queryable, Selectable)]
#[diesel(table_name = idempotency_keys)]
struct IdempotencyRow {
    owner: String,
    key: String,
    fingerprint: String,
    created: i64,
    response: Option<String>,
}

/// What a sealed response is bound to.
fn context(owner: &str, key: &str) -> String {
    format!("idempotency_keys.response:{owner}:{key}")
}

fn seal(keys: &SecretKeys, owner: &str, key: &str, response: &StoredResponse) -> String {
    let json = serde_json::to_string(response).unwrap_or_default();
    keys.seal_text(&json, &context(owner, key))
}

/// The response a row keeps; `None` when it does not open or parse.
fn open(keys: &SecretKeys, owner: &str, key: &str, sealed: &str) -> Option<StoredResponse> {
    let json = keys.open_text(sealed, &context(owner, key)).ok()?;
    serde_json::from_str(&json).ok()
}

#[async_trait]
impl IdempotencyStore for DieselStore {
    async fn insert_idempotency(&self, record: &IdempotencyRecord) -> Result<bool, StoreError> {
        let keys = self.keys();
        let row = IdempotencyRow {
            owner: record.owner.clone(),
            key: record.key.clone(),
            fingerprint: record.fingerprint.clone(),
            created: to_micros(&record.created),
            response: record
                .response
                .as_ref()
                .map(|response| seal(&keys, &record.owner, &record.key, response)),
        };
        let inserted = self
            .write(move |connection| {
                diesel::insert_into(idempotency_keys::table)
                    .values(&row)
                    .execute(connection)
                    .map_err(from_diesel)
            })
            .await;
        match inserted {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict { .. }) => Ok(false),
            Err(error) => Err(error),
        }
    }

    async fn idempotency(
        &self,
        owner: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let keys = self.keys();
        let (owner, key) = (owner.to_owned(), key.to_owned());
        self.run(move |connection| {
            let row: Option<IdempotencyRow> = idempotency_keys::table
                .find((&owner, &key))
                .select(IdempotencyRow::as_select())
                .first(connection)
                .optional()
                .map_err(from_diesel)?;
            let Some(row) = row else {
                return Ok(None);
            };
            let created = from_micros(row.created)?;
            let response = match &row.response {
                None => None,
                Some(sealed) => match open(&keys, &owner, &key, sealed) {
                    Some(response) => Some(response),
                    // Sealed under a key since rotated out: a record of nothing, past its
                    // window, which the caller forgets (by its `created`) and runs anew.
                    None => {
                        return Ok(Some(
                            IdempotencyRecord {
                                owner: row.owner,
                                key: row.key,
                                fingerprint: String::new(),
                                created,
                                response: None,
                                stale: false,
                            }
                            .expired(),
                        ));
                    }
                },
            };
            Ok(Some(IdempotencyRecord {
                owner: row.owner,
                key: row.key,
                fingerprint: row.fingerprint,
                created,
                response,
                stale: false,
            }))
        })
        .await
    }

    async fn finish_idempotency(
        &self,
        owner: &str,
        key: &str,
        created: DateTime<Utc>,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        let sealed = seal(&self.keys(), owner, key, response);
        let (owner, key, created) = (owner.to_owned(), key.to_owned(), to_micros(&created));
        self.write(move |connection| {
            diesel::update(
                idempotency_keys::table
                    .find((owner, key))
                    .filter(idempotency_keys::created.eq(created)),
            )
            .set(idempotency_keys::response.eq(sealed))
            .execute(connection)
            .map_err(from_diesel)?;
            Ok(())
        })
        .await
    }

    async fn forget_idempotency(
        &self,
        owner: &str,
        key: &str,
        created: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (owner, key, created) = (owner.to_owned(), key.to_owned(), to_micros(&created));
        self.write(move |connection| {
            diesel::delete(
                idempotency_keys::table
                    .find((owner, key))
                    .filter(idempotency_keys::created.eq(created)),
            )
            .execute(connection)
            .map_err(from_diesel)?;
            Ok(())
        })
        .await
    }

    async fn prune_idempotency(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let before = to_micros(&before);
        self.write(move |connection| {
            let removed = diesel::delete(
                idempotency_keys::table.filter(idempotency_keys::created.lt(before)),
            )
            .execute(connection)
            .map_err(from_diesel)?;
            Ok(u64::try_from(removed).unwrap_or_default())
        })
        .await
    }
}
