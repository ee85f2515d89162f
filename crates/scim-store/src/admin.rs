//! The dashboard's credentials and the pools' daily usage snapshots.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use scim_core::StoreError;
use scim_core::admin::{AdminSecretKind, AdminSession, Revocation, SessionScope, UsageDay};
use scim_core::ports::AdminRepository;
use scim_core::tenant::{TenantId, TokenHash};

use crate::connection::execute_per_backend;
use crate::errors::from_diesel;
use crate::rows::{CorruptRow, from_micros, to_micros};
use crate::schema::{admin_sessions, license_pools, license_usage_daily, seat_stripes};
use crate::store::DieselStore;

const DAY_FORMAT: &str = "%Y-%m-%d";

#[derive(Insertable)]
#[diesel(table_name = license_usage_daily)]
struct UsageRow {
    tenant_id: String,
    sku_key: String,
    day: String,
    seats: i64,
    used: i64,
}

/// A row of `admin_sessions`: a login link or a session.
#[derive(Insertable, Queryable, Selectable)]
#[diesel(table_name = admin_sessions)]
struct SecretRow {
    hash: String,
    kind: String,
    expires: i64,
    id: String,
    /// The one tenant it sees; `None`: every tenant.
    tenant_id: Option<String>,
    created: i64,
}

impl SecretRow {
    fn new(hash: &TokenHash, kind: AdminSecretKind, session: &AdminSession) -> Self {
        Self {
            hash: hash.0.clone(),
            kind: kind.as_str().to_owned(),
            expires: to_micros(&session.expires),
            id: session.id.clone(),
            tenant_id: match &session.scope {
                SessionScope::AllTenants => None,
                SessionScope::Tenant(tenant) => Some(tenant.0.clone()),
            },
            created: to_micros(&session.created),
        }
    }

    fn session(&self) -> Result<AdminSession, StoreError> {
        Ok(AdminSession {
            id: self.id.clone(),
            scope: self
                .tenant_id
                .clone()
                .map_or(SessionScope::AllTenants, |id| {
                    SessionScope::Tenant(TenantId(id))
                }),
            created: from_micros(self.created)?,
            expires: from_micros(self.expires)?,
        })
    }
}

#[async_trait]
impl AdminRepository for DieselStore {
    async fn add_login_link(
        &self,
        hash: &TokenHash,
        link: &AdminSession,
    ) -> Result<(), StoreError> {
        let row = SecretRow::new(hash, AdminSecretKind::Link, link);
        self.run(move |connection| {
            diesel::insert_into(admin_sessions::table)
                .values(&row)
                .execute(connection)
                .map_err(from_diesel)?;
            Ok(())
        })
        .await
    }

    async fn redeem_login_link(
        &self,
        link: &TokenHash,
        session_secret: &TokenHash,
        session: &AdminSession,
        now: DateTime<Utc>,
    ) -> Result<Option<AdminSession>, StoreError> {
        let link = link.0.clone();
        let mut row = SecretRow::new(session_secret, AdminSecretKind::Session, session);
        let now = to_micros(&now);
        self.write(move |connection| {
            // Removed whether it is still valid or not: a link is good for one try.
            let removed: Vec<(i64, Option<String>)> = diesel::delete(
                admin_sessions::table
                    .filter(admin_sessions::hash.eq(link))
                    .filter(admin_sessions::kind.eq(AdminSecretKind::Link.as_str())),
            )
            .returning((admin_sessions::expires, admin_sessions::tenant_id))
            .get_results(connection)
            .map_err(from_diesel)?;
            let Some((_, scope)) = removed.into_iter().find(|(until, _)| *until > now) else {
                return Ok(None);
            };
            row.tenant_id = scope;
            diesel::insert_into(admin_sessions::table)
                .values(&row)
                .execute(connection)
                .map_err(from_diesel)?;
            Ok(Some(row.session()?))
        })
        .await
    }

    async fn admin_session(
        &self,
        hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<AdminSession>, StoreError> {
        let (hash, now) = (hash.0.clone(), to_micros(&now));
        self.run(move |connection| {
            let found: Option<SecretRow> = admin_sessions::table
                .filter(admin_sessions::hash.eq(hash))
                .filter(admin_sessions::kind.eq(AdminSecretKind::Session.as_str()))
                .filter(admin_sessions::expires.gt(now))
                .select(SecretRow::as_select())
                .first(connection)
                .optional()
                .map_err(from_diesel)?;
            found.map(|row| row.session()).transpose()
        })
        .await
    }

    async fn admin_sessions(&self, now: DateTime<Utc>) -> Result<Vec<AdminSession>, StoreError> {
        let now = to_micros(&now);
        self.run(move |connection| {
            let rows: Vec<SecretRow> = admin_sessions::table
                .filter(admin_sessions::kind.eq(AdminSecretKind::Session.as_str()))
                .filter(admin_sessions::expires.gt(now))
                .order((admin_sessions::created.asc(), admin_sessions::id.asc()))
                .select(SecretRow::as_select())
                .load(connection)
                .map_err(from_diesel)?;
            rows.iter().map(SecretRow::session).collect()
        })
        .await
    }

    async fn revoke_admin_sessions(&self, which: &Revocation) -> Result<u64, StoreError> {
        let which = which.clone();
        self.write(move |connection| {
            let sessions = admin_sessions::table
                .filter(admin_sessions::kind.eq(AdminSecretKind::Session.as_str()));
            let removed = match which {
                Revocation::Id(id) => {
                    diesel::delete(sessions.filter(admin_sessions::id.eq(id))).execute(connection)
                }
                Revocation::Secret(hash) => {
                    diesel::delete(sessions.filter(admin_sessions::hash.eq(hash.0)))
                        .execute(connection)
                }
                Revocation::All => diesel::delete(admin_sessions::table).execute(connection),
            }
            .map_err(from_diesel)?;
            Ok(u64::try_from(removed).unwrap_or(u64::MAX))
        })
        .await
    }

    async fn record_usage(&self, day: NaiveDate, now: DateTime<Utc>) -> Result<(), StoreError> {
        let (day, now) = (day.format(DAY_FORMAT).to_string(), to_micros(&now));
        self.write(move |connection| {
            let pools: Vec<(String, String, i64)> = license_pools::table
                .select((
                    license_pools::tenant_id,
                    license_pools::sku_key,
                    license_pools::seats,
                ))
                .load(connection)
                .map_err(from_diesel)?;
            let stripes: Vec<(String, String, i64)> = seat_stripes::table
                .select((
                    seat_stripes::tenant_id,
                    seat_stripes::sku_key,
                    seat_stripes::used,
                ))
                .load(connection)
                .map_err(from_diesel)?;
            let mut used: BTreeMap<(String, String), i64> = BTreeMap::new();
            for (tenant, sku, stripe_used) in stripes {
                *used.entry((tenant, sku)).or_default() += stripe_used;
            }
            let rows: Vec<UsageRow> = pools
                .into_iter()
                .map(|(tenant_id, sku_key, seats)| UsageRow {
                    used: used
                        .get(&(tenant_id.clone(), sku_key.clone()))
                        .copied()
                        .unwrap_or(0),
                    tenant_id,
                    sku_key,
                    day: day.clone(),
                    seats,
                })
                .collect();
            // One statement per pool (SQLite has no multi-row upsert in diesel); a pool is a
            // row per tenant and sku, so a few hundred at most.
            for row in &rows {
                execute_per_backend!(
                    connection,
                    diesel::insert_into(license_usage_daily::table)
                        .values(row)
                        .on_conflict((
                            license_usage_daily::tenant_id,
                            license_usage_daily::sku_key,
                            license_usage_daily::day,
                        ))
                        .do_update()
                        .set((
                            license_usage_daily::seats.eq(excluded(license_usage_daily::seats)),
                            license_usage_daily::used.eq(excluded(license_usage_daily::used)),
                        ))
                )
                .map_err(from_diesel)?;
            }
            diesel::delete(admin_sessions::table.filter(admin_sessions::expires.le(now)))
                .execute(connection)
                .map_err(from_diesel)?;
            Ok(())
        })
        .await
    }

    async fn usage_history(
        &self,
        tenant: &TenantId,
        since: NaiveDate,
    ) -> Result<Vec<UsageDay>, StoreError> {
        let (tenant, since) = (tenant.0.clone(), since.format(DAY_FORMAT).to_string());
        self.run(move |connection| {
            let rows: Vec<(String, String, i64, i64)> = license_usage_daily::table
                .inner_join(
                    license_pools::table.on(license_pools::tenant_id
                        .eq(license_usage_daily::tenant_id)
                        .and(license_pools::sku_key.eq(license_usage_daily::sku_key))),
                )
                .filter(license_usage_daily::tenant_id.eq(tenant))
                .filter(license_usage_daily::day.ge(since))
                .order((license_usage_daily::sku_key, license_usage_daily::day))
                .select((
                    license_pools::sku,
                    license_usage_daily::day,
                    license_usage_daily::seats,
                    license_usage_daily::used,
                ))
                .load(connection)
                .map_err(from_diesel)?;
            rows.into_iter()
                .map(|(sku, day, seats, used)| {
                    let day = NaiveDate::parse_from_str(&day, DAY_FORMAT)
                        .map_err(|_| CorruptRow::Day(day.clone()))?;
                    Ok(UsageDay {
                        sku,
                        day,
                        seats,
                        used,
                    })
                })
                .collect::<Result<_, CorruptRow>>()
                .map_err(StoreError::from)
        })
        .await
    }
}
