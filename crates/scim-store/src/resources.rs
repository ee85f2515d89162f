//! `ResourceRepository`: Users and Groups.

use std::sync::Arc;

use async_trait::async_trait;
use diesel::prelude::*;
use scim_core::ports::ResourceRepository;
use scim_core::query::{ListPage, ListQuery};
use scim_core::tenant::TenantId;
use scim_core::{Resource, ResourceKind, StoreError};

use crate::connection::DbConnection;
use crate::errors::from_diesel;
use crate::list::ListPlan;
use crate::rows::{NewResourceRow, ResourceRow, ResourceState};
use crate::schema::resources;
use crate::store::DieselStore;

#[async_trait]
impl ResourceRepository for DieselStore {
    /// `Conflict` on a taken id or userName (by fold key); `NotFound` when the tenant does
    /// not exist.
    async fn insert(&self, tenant: &TenantId, resource: &Resource) -> Result<(), StoreError> {
        let row = NewResourceRow::new(tenant, resource)?;
        self.write(move |connection| {
            diesel::insert_into(resources::table)
                .values(&row)
                .execute(connection)
                .map_err(from_diesel)?;
            Ok(())
        })
        .await
    }

    async fn get(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<Resource>, StoreError> {
        let (tenant, id) = (tenant.0.clone(), id.to_owned());
        self.run(move |connection| {
            let row = resources::table
                .filter(resources::tenant_id.eq(tenant))
                .filter(resources::kind.eq(kind.as_str()))
                .filter(resources::id.eq(id))
                .select(ResourceRow::as_select())
                .first(connection)
                .optional()
                .map_err(from_diesel)?;
            row.map(Resource::try_from)
                .transpose()
                .map_err(StoreError::from)
        })
        .await
    }

    async fn update(
        &self,
        tenant: &TenantId,
        resource: &Resource,
        expected_version: i64,
    ) -> Result<(), StoreError> {
        let state = ResourceState::new(resource)?;
        let (tenant, kind, id) = (tenant.0.clone(), resource.kind, resource.id.clone());
        self.write(move |connection| {
            let updated = diesel::update(resources::table)
                .filter(resources::tenant_id.eq(&tenant))
                .filter(resources::kind.eq(kind.as_str()))
                .filter(resources::id.eq(&id))
                .filter(resources::version.eq(expected_version))
                .set(&state)
                .execute(connection)
                .map_err(from_diesel)?;
            if updated == 0 {
                return Err(why_not_written(connection, &tenant, kind, &id));
            }
            Ok(())
        })
        .await
    }

    async fn delete(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
        expected_version: Option<i64>,
    ) -> Result<(), StoreError> {
        let (tenant, id) = (tenant.0.clone(), id.to_owned());
        self.write(move |connection| {
            let mut delete = diesel::delete(resources::table)
                .filter(resources::tenant_id.eq(&tenant))
                .filter(resources::kind.eq(kind.as_str()))
                .filter(resources::id.eq(&id))
                .into_boxed();
            if let Some(version) = expected_version {
                delete = delete.filter(resources::version.eq(version));
            }
            if delete.execute(connection).map_err(from_diesel)? == 0 {
                return Err(why_not_written(connection, &tenant, kind, &id));
            }
            Ok(())
        })
        .await
    }

    async fn list(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        query: &ListQuery,
    ) -> Result<ListPage, StoreError> {
        let plan = ListPlan::new(query, kind, &self.registry);
        let (tenant, query, registry) =
            (tenant.0.clone(), query.clone(), Arc::clone(&self.registry));
        self.run(move |connection| plan.run(connection, &tenant, kind, &registry, &query))
            .await
    }
}

/// Why a versioned write touched no row: the resource is gone (`NotFound`) or has another
/// version (`VersionMismatch`). Asked inside the write's transaction.
fn why_not_written(
    connection: &mut DbConnection,
    tenant: &str,
    kind: ResourceKind,
    id: &str,
) -> StoreError {
    let exists = resources::table
        .filter(resources::tenant_id.eq(tenant))
        .filter(resources::kind.eq(kind.as_str()))
        .filter(resources::id.eq(id))
        .select(resources::version)
        .first::<i64>(connection)
        .optional();
    match exists {
        Ok(Some(_)) => StoreError::VersionMismatch,
        Ok(None) => StoreError::NotFound,
        Err(error) => from_diesel(error),
    }
}
