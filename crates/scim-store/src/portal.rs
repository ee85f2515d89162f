//! `PortalAccess`: setup links and portal sessions, in `portal_grants`, by the hash of
//! their secret. A session never outlives its link (its expiry is capped by the link's)
//! and a revoked link's sessions are deleted with it, so a session's own row says whether
//! it works.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use scim_core::StoreError;
use scim_core::portal::{PortalGrant, PortalKind};
use scim_core::ports::PortalAccess;
use scim_core::tenant::{TenantId, TokenHash};

use crate::errors::from_diesel;
use crate::rows::{CorruptRow, from_micros, to_micros};
use crate::schema::portal_grants;
use crate::store::DieselStore;

#[derive(Insertable, Queryable, Selectable)]
#[diesel(table_name = portal_grants)]
struct GrantRow {
    hash: String,
    kind: String,
    id: String,
    tenant_id: String,
    link_id: Option<String>,
    created: i64,
    expires: i64,
}

impl TryFrom<GrantRow> for PortalGrant {
    type Error = CorruptRow;

    fn try_from(row: GrantRow) -> Result<Self, CorruptRow> {
        Ok(Self {
            id: row.id,
            kind: PortalKind::parse(&row.kind).ok_or(CorruptRow::PortalKind(row.kind))?,
            tenant: TenantId(row.tenant_id),
            link: row.link_id,
            created: from_micros(row.created)?,
            expires: from_micros(row.expires)?,
        })
    }
}

fn grants(rows: Vec<GrantRow>) -> Result<Vec<PortalGrant>, StoreError> {
    rows.into_iter()
        .map(|row| PortalGrant::try_from(row).map_err(StoreError::from))
        .collect()
}

#[async_trait]
impl PortalAccess for DieselStore {
    async fn add_portal_grant(
        &self,
        hash: &TokenHash,
        grant: &PortalGrant,
    ) -> Result<(), StoreError> {
        let row = GrantRow {
            hash: hash.0.clone(),
            kind: grant.kind.as_str().to_owned(),
            id: grant.id.clone(),
            tenant_id: grant.tenant.0.clone(),
            link_id: grant.link.clone(),
            created: to_micros(&grant.created),
            expires: to_micros(&grant.expires),
        };
        self.write(move |connection| {
            diesel::insert_into(portal_grants::table)
                .values(&row)
                .execute(connection)
                .map_err(from_diesel)?;
            Ok(())
        })
        .await
    }

    async fn portal_grant(
        &self,
        hash: &TokenHash,
        kind: PortalKind,
        now: DateTime<Utc>,
    ) -> Result<Option<PortalGrant>, StoreError> {
        let (hash, now) = (hash.0.clone(), to_micros(&now));
        self.run(move |connection| {
            let row: Option<GrantRow> = portal_grants::table
                .find(&hash)
                .filter(portal_grants::kind.eq(kind.as_str()))
                .filter(portal_grants::expires.gt(now))
                .select(GrantRow::as_select())
                .first(connection)
                .optional()
                .map_err(from_diesel)?;
            Ok(row.map(PortalGrant::try_from).transpose()?)
        })
        .await
    }

    async fn portal_links(
        &self,
        tenant: &TenantId,
        now: DateTime<Utc>,
    ) -> Result<Vec<PortalGrant>, StoreError> {
        let (tenant, now) = (tenant.0.clone(), to_micros(&now));
        self.run(move |connection| {
            let rows = portal_grants::table
                .filter(portal_grants::tenant_id.eq(tenant))
                .filter(portal_grants::kind.eq(PortalKind::Link.as_str()))
                .filter(portal_grants::expires.gt(now))
                .order((portal_grants::created.asc(), portal_grants::id.asc()))
                .select(GrantRow::as_select())
                .load(connection)
                .map_err(from_diesel)?;
            grants(rows)
        })
        .await
    }

    async fn revoke_portal_link(&self, tenant: &TenantId, id: &str) -> Result<(), StoreError> {
        let (tenant, id) = (tenant.0.clone(), id.to_owned());
        self.write(move |connection| {
            let removed = diesel::delete(
                portal_grants::table
                    .filter(portal_grants::tenant_id.eq(&tenant))
                    .filter(portal_grants::kind.eq(PortalKind::Link.as_str()))
                    .filter(portal_grants::id.eq(&id)),
            )
            .execute(connection)
            .map_err(from_diesel)?;
            if removed == 0 {
                return Err(StoreError::NotFound);
            }
            diesel::delete(
                portal_grants::table
                    .filter(portal_grants::tenant_id.eq(&tenant))
                    .filter(portal_grants::link_id.eq(&id)),
            )
            .execute(connection)
            .map_err(from_diesel)?;
            Ok(())
        })
        .await
    }

    async fn end_portal_session(&self, hash: &TokenHash) -> Result<(), StoreError> {
        let hash = hash.0.clone();
        self.write(move |connection| {
            diesel::delete(
                portal_grants::table
                    .find(hash)
                    .filter(portal_grants::kind.eq(PortalKind::Session.as_str())),
            )
            .execute(connection)
            .map_err(from_diesel)?;
            Ok(())
        })
        .await
    }

    async fn prune_portal(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let now = to_micros(&now);
        self.write(move |connection| {
            let removed =
                diesel::delete(portal_grants::table.filter(portal_grants::expires.le(now)))
                    .execute(connection)
                    .map_err(from_diesel)?;
            Ok(u64::try_from(removed).unwrap_or_default())
        })
        .await
    }
}
