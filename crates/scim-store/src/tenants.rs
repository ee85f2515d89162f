//! `TenantDirectory`, `CredentialStore` and `StoreHealth`: tenants, their credentials, and
//! whether the store answers.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use scim_core::StoreError;
use scim_core::compat::Compatibility;
use scim_core::ports::{CredentialStore, StoreHealth, TenantDirectory};
use scim_core::schema::TenantAttribute;
use scim_core::tenant::{PurgeStep, StoredClient, StoredToken, Tenant, TenantId, TokenHash};

use crate::connection::DbConnection;
use crate::errors::from_diesel;
use crate::migrations;
use crate::rows::{
    ClientRow, CorruptRow, TenantRow, TokenRow, compatibility_json, custom_attributes_json,
    joined_fingerprints, to_micros,
};
use crate::schema::{clients, tenants, tokens};
use crate::store::DieselStore;

#[async_trait]
impl TenantDirectory for DieselStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let row = TenantRow::from(tenant);
        self.write(move |connection| {
            diesel::insert_into(tenants::table)
                .values(&row)
                .execute(connection)
                .map_err(from_diesel)?;
            Ok(())
        })
        .await
    }

    async fn find_tenant(&self, slug: &str) -> Result<Option<Tenant>, StoreError> {
        let slug = slug.to_owned();
        self.run(move |connection| {
            let row = tenants::table
                .filter(tenants::slug.eq(slug))
                .filter(tenants::deleting.is_null())
                .select(TenantRow::as_select())
                .first(connection)
                .optional()
                .map_err(from_diesel)?;
            tenant_of(row)
        })
        .await
    }

    async fn tenant_by_id(&self, tenant: &TenantId) -> Result<Option<Tenant>, StoreError> {
        let id = tenant.0.clone();
        self.run(move |connection| {
            let row = tenants::table
                .find(id)
                .select(TenantRow::as_select())
                .first(connection)
                .optional()
                .map_err(from_diesel)?;
            tenant_of(row)
        })
        .await
    }

    /// All tenants, by slug.
    async fn list_tenants<'a>(
        &self,
        after: Option<&'a str>,
        limit: usize,
    ) -> Result<Vec<Tenant>, StoreError> {
        let after = after.map(str::to_owned);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(move |connection| {
            let mut query = tenants::table
                .filter(tenants::deleting.is_null())
                .order(tenants::slug.asc())
                .limit(limit)
                .select(TenantRow::as_select())
                .into_boxed();
            if let Some(after) = after {
                query = query.filter(tenants::slug.gt(after));
            }
            let rows = query.load(connection).map_err(from_diesel)?;
            rows.into_iter()
                .map(|row| Tenant::try_from(row).map_err(StoreError::from))
                .collect()
        })
        .await
    }

    async fn set_client_certs(
        &self,
        tenant: &TenantId,
        fingerprints: &[String],
    ) -> Result<(), StoreError> {
        let (tenant, joined) = (tenant.0.clone(), joined_fingerprints(fingerprints));
        self.update_tenant_row(move |connection| {
            diesel::update(tenants::table.filter(tenants::id.eq(tenant)))
                .set(tenants::client_cert_sha256.eq(joined))
                .execute(connection)
        })
        .await
    }

    async fn set_custom_attributes(
        &self,
        tenant: &TenantId,
        expected: &[TenantAttribute],
        attributes: &[TenantAttribute],
    ) -> Result<(), StoreError> {
        let (tenant, expected, json) = (
            tenant.0.clone(),
            custom_attributes_json(expected),
            custom_attributes_json(attributes),
        );
        self.write(move |connection| {
            let changed = diesel::update(
                tenants::table
                    .filter(tenants::id.eq(&tenant))
                    .filter(tenants::custom_attributes.eq(expected)),
            )
            .set(tenants::custom_attributes.eq(json))
            .execute(connection)
            .map_err(from_diesel)?;
            if changed == 1 {
                return Ok(());
            }
            let exists: Option<String> = tenants::table
                .find(&tenant)
                .select(tenants::id)
                .first(connection)
                .optional()
                .map_err(from_diesel)?;
            Err(match exists {
                Some(_) => StoreError::VersionMismatch,
                None => StoreError::NotFound,
            })
        })
        .await
    }

    async fn update_tenant(
        &self,
        tenant: &TenantId,
        name: &str,
        compatibility: &Compatibility,
    ) -> Result<(), StoreError> {
        let (tenant, name) = (tenant.0.clone(), name.to_owned());
        let json = compatibility_json(compatibility);
        self.update_tenant_row(move |connection| {
            diesel::update(tenants::table.filter(tenants::id.eq(tenant)))
                .set((tenants::name.eq(name), tenants::compatibility.eq(json)))
                .execute(connection)
        })
        .await
    }

    async fn purge_tenant(&self, tenant: &TenantId, batch: usize) -> Result<PurgeStep, StoreError> {
        self.purge_step(tenant, batch).await
    }

    async fn tenant_being_deleted(&self, slug: &str) -> Result<Option<TenantId>, StoreError> {
        let slug = slug.to_owned();
        self.run(move |connection| {
            let id: Option<String> = tenants::table
                .filter(tenants::slug.eq(slug))
                .filter(tenants::deleting.is_not_null())
                .select(tenants::id)
                .first(connection)
                .optional()
                .map_err(from_diesel)?;
            Ok(id.map(TenantId))
        })
        .await
    }
}

#[async_trait]
impl CredentialStore for DieselStore {
    /// `NotFound` when the tenant does not exist.
    async fn insert_token(&self, token: &StoredToken) -> Result<(), StoreError> {
        let row = TokenRow::from(token);
        self.write(move |connection| {
            diesel::insert_into(tokens::table)
                .values(&row)
                .execute(connection)
                .map_err(from_diesel)?;
            Ok(())
        })
        .await
    }

    /// The tenant's tokens, oldest first.
    async fn list_tokens(&self, tenant: &TenantId) -> Result<Vec<StoredToken>, StoreError> {
        let tenant = tenant.0.clone();
        self.run(move |connection| {
            let rows = tokens::table
                .filter(tokens::tenant_id.eq(tenant))
                .order((tokens::created.asc(), tokens::id.asc()))
                .select(TokenRow::as_select())
                .load(connection)
                .map_err(from_diesel)?;
            rows.into_iter()
                .map(|row| StoredToken::try_from(row).map_err(StoreError::from))
                .collect()
        })
        .await
    }

    async fn revoke_token(&self, tenant: &TenantId, token_id: &str) -> Result<(), StoreError> {
        let (tenant, token_id) = (tenant.0.clone(), token_id.to_owned());
        self.write(move |connection| {
            let deleted = diesel::delete(tokens::table)
                .filter(tokens::tenant_id.eq(tenant))
                .filter(tokens::id.eq(token_id))
                .execute(connection)
                .map_err(from_diesel)?;
            if deleted == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }

    async fn insert_client(&self, client: &StoredClient) -> Result<(), StoreError> {
        let row = ClientRow::from(client);
        self.write(move |connection| {
            diesel::insert_into(clients::table)
                .values(&row)
                .execute(connection)
                .map_err(from_diesel)?;
            Ok(())
        })
        .await
    }

    async fn find_client(
        &self,
        client_id: &str,
    ) -> Result<Option<(StoredClient, Tenant)>, StoreError> {
        let client_id = client_id.to_owned();
        self.run(move |connection| {
            let found = clients::table
                .inner_join(tenants::table)
                .filter(clients::id.eq(client_id))
                .filter(tenants::deleting.is_null())
                .select((ClientRow::as_select(), TenantRow::as_select()))
                .first::<(ClientRow, TenantRow)>(connection)
                .optional()
                .map_err(from_diesel)?;
            found
                .map(|(client, tenant)| Ok((client.try_into()?, tenant.try_into()?)))
                .transpose()
                .map_err(|error: CorruptRow| StoreError::from(error))
        })
        .await
    }

    async fn list_clients(&self, tenant: &TenantId) -> Result<Vec<StoredClient>, StoreError> {
        let tenant = tenant.0.clone();
        self.run(move |connection| {
            let rows = clients::table
                .filter(clients::tenant_id.eq(tenant))
                .order((clients::created.asc(), clients::id.asc()))
                .select(ClientRow::as_select())
                .load(connection)
                .map_err(from_diesel)?;
            rows.into_iter()
                .map(|row| StoredClient::try_from(row).map_err(StoreError::from))
                .collect()
        })
        .await
    }

    /// The client's access tokens are deleted explicitly, not left to the foreign key's
    /// cascade, so that revocation never depends on how a connection was set up.
    async fn revoke_client(&self, tenant: &TenantId, client_id: &str) -> Result<(), StoreError> {
        let (tenant, client_id) = (tenant.0.clone(), client_id.to_owned());
        self.write(move |connection| {
            let owned = clients::table
                .filter(clients::tenant_id.eq(&tenant))
                .filter(clients::id.eq(&client_id))
                .count()
                .get_result::<i64>(connection)
                .map_err(from_diesel)?;
            if owned == 0 {
                return Err(StoreError::NotFound);
            }
            diesel::delete(tokens::table.filter(tokens::client_id.eq(&client_id)))
                .execute(connection)
                .map_err(from_diesel)?;
            diesel::delete(clients::table.filter(clients::id.eq(&client_id)))
                .execute(connection)
                .map_err(from_diesel)?;
            Ok(())
        })
        .await
    }

    async fn insert_client_token(
        &self,
        token: &StoredToken,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let row = TokenRow::from(token);
        let (client, now) = (token.client.clone(), to_micros(&now));
        self.write(move |connection| {
            if let Some(client) = client {
                diesel::delete(
                    tokens::table
                        .filter(tokens::client_id.eq(client))
                        .filter(tokens::expires.lt(now)),
                )
                .execute(connection)
                .map_err(from_diesel)?;
            }
            diesel::insert_into(tokens::table)
                .values(&row)
                .execute(connection)
                .map_err(from_diesel)?;
            Ok(())
        })
        .await
    }

    async fn find_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<(StoredToken, Tenant)>, StoreError> {
        let hash = hash.0.clone();
        self.run(move |connection| {
            let found = tokens::table
                .inner_join(tenants::table)
                .filter(tokens::hash.eq(hash))
                .filter(tenants::deleting.is_null())
                .select((TokenRow::as_select(), TenantRow::as_select()))
                .first::<(TokenRow, TenantRow)>(connection)
                .optional()
                .map_err(from_diesel)?;
            found
                .map(|(token, tenant)| Ok((token.try_into()?, tenant.try_into()?)))
                .transpose()
                .map_err(|error: CorruptRow| StoreError::from(error))
        })
        .await
    }
}

#[async_trait]
impl StoreHealth for DieselStore {
    /// Runs `SELECT 1` and checks that no migration is pending.
    async fn ping(&self) -> Result<(), StoreError> {
        self.run(|connection| {
            diesel::sql_query("SELECT 1")
                .execute(connection)
                .map_err(from_diesel)?;
            if migrations::has_pending(connection).map_err(StoreError::Unavailable)? {
                return Err(StoreError::unavailable("database migrations are pending"));
            }
            Ok(())
        })
        .await
    }
}

impl DieselStore {
    /// Runs `update`, an UPDATE of one tenant's row, in a write: `NotFound` when it changed
    /// no row.
    async fn update_tenant_row<F>(&self, update: F) -> Result<(), StoreError>
    where
        F: FnOnce(&mut DbConnection) -> QueryResult<usize> + Send + 'static,
    {
        self.write(
            move |connection| match update(connection).map_err(from_diesel)? {
                0 => Err(StoreError::NotFound),
                _ => Ok(()),
            },
        )
        .await
    }
}

/// The tenant a row holds, if any.
fn tenant_of(row: Option<TenantRow>) -> Result<Option<Tenant>, StoreError> {
    row.map(Tenant::try_from)
        .transpose()
        .map_err(StoreError::from)
}
