//! `ApiKeys`: the vendor's API keys, in `api_keys` (their hashes, never the keys).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use scim_core::StoreError;
use scim_core::api_key::{ApiKey, Scope};
use scim_core::ports::ApiKeys;
use scim_core::tenant::TokenHash;

use crate::errors::from_diesel;
use crate::rows::{CorruptRow, from_micros, to_micros};
use crate::schema::api_keys;
use crate::store::DieselStore;

#[derive(Insertable, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
struct ApiKeyRow {
    id: String,
    name: String,
    /// Scope names, space-separated.
    scopes: String,
    hash: String,
    hint: String,
    created: i64,
    expires: Option<i64>,
    last_used: Option<i64>,
}

impl From<&ApiKey> for ApiKeyRow {
    fn from(key: &ApiKey) -> Self {
        Self {
            id: key.id.clone(),
            name: key.name.clone(),
            scopes: key
                .scopes
                .iter()
                .map(|scope| scope.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            hash: key.hash.0.clone(),
            hint: key.hint.clone(),
            created: to_micros(&key.created),
            expires: key.expires.as_ref().map(to_micros),
            last_used: key.last_used.as_ref().map(to_micros),
        }
    }
}

impl TryFrom<ApiKeyRow> for ApiKey {
    type Error = CorruptRow;

    fn try_from(row: ApiKeyRow) -> Result<Self, CorruptRow> {
        Ok(Self {
            scopes: row
                .scopes
                .split_whitespace()
                .map(|name| Scope::parse(name).ok_or_else(|| CorruptRow::Scope(name.to_owned())))
                .collect::<Result<_, _>>()?,
            id: row.id,
            name: row.name,
            hash: TokenHash(row.hash),
            hint: row.hint,
            created: from_micros(row.created)?,
            expires: row.expires.map(from_micros).transpose()?,
            last_used: row.last_used.map(from_micros).transpose()?,
        })
    }
}

#[async_trait]
impl ApiKeys for DieselStore {
    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let row = ApiKeyRow::from(key);
        self.write(move |connection| {
            diesel::insert_into(api_keys::table)
                .values(&row)
                .execute(connection)
                .map_err(from_diesel)?;
            Ok(())
        })
        .await
    }

    async fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        self.run(|connection| {
            let rows = api_keys::table
                .order((api_keys::created.asc(), api_keys::id.asc()))
                .select(ApiKeyRow::as_select())
                .load(connection)
                .map_err(from_diesel)?;
            rows.into_iter()
                .map(|row| ApiKey::try_from(row).map_err(StoreError::from))
                .collect()
        })
        .await
    }

    async fn revoke_api_key(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(move |connection| {
            let deleted = diesel::delete(api_keys::table.filter(api_keys::id.eq(id)))
                .execute(connection)
                .map_err(from_diesel)?;
            if deleted == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }

    async fn find_api_key(&self, hash: &TokenHash) -> Result<Option<ApiKey>, StoreError> {
        let hash = hash.0.clone();
        self.run(move |connection| {
            let row = api_keys::table
                .filter(api_keys::hash.eq(hash))
                .select(ApiKeyRow::as_select())
                .first(connection)
                .optional()
                .map_err(from_diesel)?;
            row.map(|row| ApiKey::try_from(row).map_err(StoreError::from))
                .transpose()
        })
        .await
    }

    async fn touch_api_key(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let (id, at) = (id.to_owned(), to_micros(&at));
        self.write(move |connection| {
            diesel::update(api_keys::table.filter(api_keys::id.eq(id)))
                .set(api_keys::last_used.eq(at))
                .execute(connection)
                .map_err(from_diesel)?;
            Ok(())
        })
        .await
    }
}
