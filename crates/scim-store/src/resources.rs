//! `ResourceRepository`: Users and Groups, and their membership rows.

use std::sync::Arc;

use async_trait::async_trait;
use diesel::prelude::*;
use scim_core::ports::ResourceRepository;
use scim_core::query::{ListPage, ListQuery};
use scim_core::tenant::TenantId;
use scim_core::{Expand, MembershipChange, Resource, ResourceKind, StoreError};

use crate::connection::DbConnection;
use crate::errors::from_diesel;
use crate::expand::expand;
use crate::list::ListPlan;
use crate::members::{self, GroupRow};
use crate::rows::{NewResourceRow, ResourceRow, ResourceState, StoredResource};
use crate::schema::{group_members, resources};
use crate::store::DieselStore;

#[async_trait]
impl ResourceRepository for DieselStore {
    /// `Conflict` on a taken id or userName (by fold key); `NotFound` when the tenant does
    /// not exist; `InvalidReference` for a member that is no User or Group of the tenant.
    async fn insert(
        &self,
        tenant: &TenantId,
        resource: &Resource,
        members: &[MembershipChange],
    ) -> Result<(), StoreError> {
        let row = NewResourceRow::new(tenant, resource)?;
        let changes = membership_changes(resource, members)?;
        let tenant = tenant.0.clone();
        self.write(move |connection| {
            let seq = diesel::insert_into(resources::table)
                .values(&row)
                .returning(resources::seq)
                .get_result::<i64>(connection)
                .map_err(from_diesel)?;
            let group = GroupRow {
                tenant: &tenant,
                seq,
            };
            members::apply(connection, group, &changes)
        })
        .await
    }

    async fn get(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
        expansion: Expand,
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
            let Some(row) = row else { return Ok(None) };
            let mut stored = [StoredResource::try_from(row)?];
            expand(connection, &mut stored, kind, expansion)?;
            let [StoredResource { resource, .. }] = stored;
            Ok(Some(resource))
        })
        .await
    }

    async fn update(
        &self,
        tenant: &TenantId,
        resource: &Resource,
        expected_version: i64,
        members: &[MembershipChange],
    ) -> Result<(), StoreError> {
        let state = ResourceState::new(resource)?;
        let changes = membership_changes(resource, members)?;
        let (tenant, kind, id) = (tenant.0.clone(), resource.kind, resource.id.clone());
        self.write(move |connection| {
            // Writing the row first also takes its lock (PostgreSQL) before the members
            // change, so concurrent writers of one group queue up here.
            let seq = diesel::update(resources::table)
                .filter(resources::tenant_id.eq(&tenant))
                .filter(resources::kind.eq(kind.as_str()))
                .filter(resources::id.eq(&id))
                .filter(resources::version.eq(expected_version))
                .set(&state)
                .returning(resources::seq)
                .get_result::<i64>(connection)
                .optional()
                .map_err(from_diesel)?;
            let Some(seq) = seq else {
                return Err(why_not_written(connection, &tenant, kind, &id));
            };
            let group = GroupRow {
                tenant: &tenant,
                seq,
            };
            members::apply(connection, group, &changes)
        })
        .await
    }

    /// The membership rows go with the resource (`ON DELETE CASCADE`); the groups it was a
    /// member of get a new version, since their `members` changed.
    async fn delete(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
        expected_version: Option<i64>,
    ) -> Result<(), StoreError> {
        let (tenant, id) = (tenant.0.clone(), id.to_owned());
        self.write(move |connection| {
            let mut target = resources::table
                .filter(resources::tenant_id.eq(&tenant))
                .filter(resources::kind.eq(kind.as_str()))
                .filter(resources::id.eq(&id))
                .select(resources::seq)
                .into_boxed();
            if let Some(version) = expected_version {
                target = target.filter(resources::version.eq(version));
            }
            let Some(seq) = target
                .first::<i64>(connection)
                .optional()
                .map_err(from_diesel)?
            else {
                return Err(why_not_written(connection, &tenant, kind, &id));
            };
            let groups = group_members::table
                .filter(group_members::member_seq.eq(seq))
                .select(group_members::group_seq);
            diesel::update(resources::table.filter(resources::seq.eq_any(groups)))
                .set(resources::version.eq(resources::version + 1))
                .execute(connection)
                .map_err(from_diesel)?;
            // Checked again: a concurrent write may have changed the version meanwhile.
            let mut delete = diesel::delete(resources::table)
                .filter(resources::seq.eq(seq))
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
        expansion: Expand,
    ) -> Result<ListPage, StoreError> {
        let plan = ListPlan::new(query, kind, &self.registry);
        let (tenant, query, registry) =
            (tenant.0.clone(), query.clone(), Arc::clone(&self.registry));
        self.run(move |connection| {
            plan.run(connection, &tenant, kind, &registry, &query, expansion)
        })
        .await
    }
}

/// A membership change of something that is not a group: a bug of the caller.
#[derive(Debug, thiserror::Error)]
#[error("membership changes apply to groups only, not to {kind} {id}")]
struct NotAGroup {
    kind: ResourceKind,
    id: String,
}

/// The changes to apply with a write of `resource`, owned for the write's closure.
fn membership_changes(
    resource: &Resource,
    changes: &[MembershipChange],
) -> Result<Vec<MembershipChange>, StoreError> {
    if resource.kind != ResourceKind::Group && !changes.is_empty() {
        return Err(StoreError::unavailable(NotAGroup {
            kind: resource.kind,
            id: resource.id.clone(),
        }));
    }
    Ok(changes.to_vec())
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
