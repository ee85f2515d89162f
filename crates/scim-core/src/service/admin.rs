//! The operator's dashboard: logging in with a one-time link, and what it shows of a
//! tenant (seats and their history, recent license changes, orphan risks, deliveries).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use crate::admin::{AdminSession, Revocation, SessionScope, UsageDay};
use crate::error::{ScimError, StoreError};
use crate::events::ReceiverStatus;
use crate::filter::parse as parse_filter;
use crate::license::{AuditEntry, AuditQuery, Pool, UnmappedValue};
use crate::ports::{AdminRepository, Clock, IdGenerator, SecretGenerator, Webhooks};
use crate::query::ListQuery;
use crate::resource::{Expand, ResourceKind};
use crate::schema::LICENSE_USER_EXTENSION;
use crate::service::{LicenseError, LicenseService, ResourceService, TenantError, TenantService};
use crate::tenant::{Tenant, TokenHash, is_secret_shaped};

/// How long a browser session lasts.
pub const SESSION_LIFETIME: TimeDelta = TimeDelta::hours(12);

/// How far back the usage history and the recent license changes go.
pub const HISTORY_DAYS: i64 = 30;

/// How many recent license changes and orphan risks a tenant's page lists.
pub const LISTED: u64 = 25;

/// Why a dashboard operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    #[error(transparent)]
    /// A tenant or credential operation failed.
    Tenant(#[from] TenantError),
    #[error(transparent)]
    /// A license operation failed.
    License(#[from] LicenseError),
    #[error(transparent)]
    /// A resource operation failed.
    Scim(#[from] ScimError),
    #[error(transparent)]
    /// The store failed.
    Store(#[from] StoreError),
}

/// A user that holds licenses while `active` is false: a seat paid for nobody.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InactiveHolder {
    /// The user's id.
    pub id: String,
    /// Its userName.
    pub user_name: String,
    /// The skus it holds.
    pub skus: Vec<String>,
}

/// Everything a tenant's dashboard page shows, read at `at`.
#[derive(Debug, Clone)]
pub struct TenantDashboard {
    /// The tenant.
    pub tenant: Tenant,
    /// When the page was read.
    pub at: DateTime<Utc>,
    /// Its pools, their seats and use.
    pub pools: Vec<Pool>,
    /// Daily snapshots of the last [`HISTORY_DAYS`] days, by sku then day; today's is the
    /// pools' use now.
    pub history: Vec<UsageDay>,
    /// The latest license assignments and revocations, newest first.
    pub recent: Vec<AuditEntry>,
    /// The userNames of the users `recent` names, by id (a user deleted since has none).
    pub user_names: BTreeMap<String, String>,
    /// Entitlement and role values that grant nothing, with how many users send each.
    pub unmapped: Vec<UnmappedValue>,
    /// Inactive users holding licenses (at most [`LISTED`]), and how many there are.
    pub inactive_holders: Vec<InactiveHolder>,
    /// How many inactive users hold licenses in all.
    pub inactive_holders_total: u64,
    /// Its push receivers and their delivery state.
    pub receivers: Vec<ReceiverStatus>,
}

/// The dashboard's use cases: one-time login links, sessions, and what each page shows.
#[derive(Clone)]
pub struct AdminService {
    repo: Arc<dyn AdminRepository>,
    tenants: TenantService,
    licenses: LicenseService,
    resources: ResourceService,
    webhooks: Arc<dyn Webhooks>,
    clock: Arc<dyn Clock>,
    secrets: Arc<dyn SecretGenerator>,
    ids: Arc<dyn IdGenerator>,
}

/// The ports and services the dashboard reads.
pub struct AdminPorts {
    /// Login links, sessions, usage snapshots.
    pub repo: Arc<dyn AdminRepository>,
    /// The tenants.
    pub tenants: TenantService,
    /// Pools, rules, audit.
    pub licenses: LicenseService,
    /// Users (for inactive holders).
    pub resources: ResourceService,
    /// Receivers' delivery state.
    pub webhooks: Arc<dyn Webhooks>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Login link codes and session secrets.
    pub secrets: Arc<dyn SecretGenerator>,
    /// Session ids.
    pub ids: Arc<dyn IdGenerator>,
}

impl AdminService {
    /// On the ports and services it reads.
    pub fn new(ports: AdminPorts) -> Self {
        let AdminPorts {
            repo,
            tenants,
            licenses,
            resources,
            webhooks,
            clock,
            secrets,
            ids,
        } = ports;
        Self {
            repo,
            tenants,
            licenses,
            resources,
            webhooks,
            clock,
            secrets,
            ids,
        }
    }

    /// A new one-time login link's secret, valid for `valid_for`, opening a session that
    /// sees `scope`.
    pub async fn login_link(
        &self,
        valid_for: TimeDelta,
        scope: SessionScope,
    ) -> Result<String, StoreError> {
        let secret = self.secrets.new_secret();
        let now = self.clock.now();
        let link = AdminSession {
            id: self.ids.new_id(),
            scope,
            created: now,
            expires: now + valid_for,
        };
        self.repo
            .add_login_link(&TokenHash::of(&secret), &link)
            .await?;
        Ok(secret)
    }

    /// Exchanges a login link's secret for a new session: its secret (for the cookie) and
    /// what it sees; `None` when the link is unknown, used or expired.
    pub async fn open_session(
        &self,
        link: &str,
    ) -> Result<Option<(String, AdminSession)>, StoreError> {
        if !is_secret_shaped(link) {
            return Ok(None);
        }
        let now = self.clock.now();
        let secret = self.secrets.new_secret();
        let session = AdminSession {
            id: self.ids.new_id(),
            // The link's scope replaces this.
            scope: SessionScope::AllTenants,
            created: now,
            expires: now + SESSION_LIFETIME,
        };
        let opened = self
            .repo
            .redeem_login_link(&TokenHash::of(link), &TokenHash::of(&secret), &session, now)
            .await?;
        Ok(opened.map(|session| (secret, session)))
    }

    /// The live session `secret` belongs to.
    pub async fn session(&self, secret: &str) -> Result<Option<AdminSession>, StoreError> {
        if !is_secret_shaped(secret) {
            return Ok(None);
        }
        self.repo
            .admin_session(&TokenHash::of(secret), self.clock.now())
            .await
    }

    /// The live sessions, oldest first.
    pub async fn sessions(&self) -> Result<Vec<AdminSession>, StoreError> {
        self.repo.admin_sessions(self.clock.now()).await
    }

    /// Ends sessions: one (by id, or by its secret: a logout), or all of them and every
    /// login link; how many went.
    pub async fn revoke(&self, which: &Revocation) -> Result<u64, StoreError> {
        self.repo.revoke_admin_sessions(which).await
    }

    /// Records today's snapshot of every pool (UTC days).
    pub async fn record_usage(&self) -> Result<(), StoreError> {
        let now = self.clock.now();
        self.repo.record_usage(now.date_naive(), now).await
    }

    /// Every tenant the session sees, with its pools.
    pub async fn overview(
        &self,
        scope: &SessionScope,
    ) -> Result<Vec<(Tenant, Vec<Pool>)>, AdminError> {
        let mut out = Vec::new();
        let tenants = self.tenants.list_tenants().await?;
        for tenant in tenants.into_iter().filter(|t| scope.covers(&t.id)) {
            let pools = self.licenses.pools(&tenant.id).await?;
            out.push((tenant, pools));
        }
        Ok(out)
    }

    /// What the tenant's page shows. A tenant the session does not see is unknown to it,
    /// exactly as a tenant that does not exist.
    pub async fn tenant_dashboard(
        &self,
        slug: &str,
        scope: &SessionScope,
    ) -> Result<TenantDashboard, AdminError> {
        let tenant = self.tenants.tenant(slug).await?;
        if !scope.covers(&tenant.id) {
            return Err(TenantError::UnknownTenant(slug.to_owned()).into());
        }
        let at = self.clock.now();
        let today = at.date_naive();
        let usage = self.licenses.usage(&tenant.id).await?;
        let since = today - TimeDelta::days(HISTORY_DAYS - 1);
        let stored = self.repo.usage_history(&tenant.id, since).await?;
        let history = with_today(stored, &usage.pools, today);
        let recent = self
            .licenses
            .audit(
                &tenant.id,
                &AuditQuery {
                    since: Some(at - TimeDelta::days(HISTORY_DAYS)),
                    limit: Some(LISTED),
                    newest_first: true,
                    ..AuditQuery::default()
                },
            )
            .await?;
        let (inactive_holders, inactive_holders_total) = self.inactive_holders(&tenant).await?;
        let receivers = self.webhooks.receivers(&tenant.id).await?;
        let user_names = self.user_names(&tenant, &recent).await?;
        Ok(TenantDashboard {
            tenant,
            at,
            pools: usage.pools,
            history,
            recent,
            user_names,
            unmapped: usage.unmapped,
            inactive_holders,
            inactive_holders_total,
            receivers,
        })
    }

    /// The userNames of the users `entries` name (a user deleted since has none).
    async fn user_names(
        &self,
        tenant: &Tenant,
        entries: &[AuditEntry],
    ) -> Result<BTreeMap<String, String>, AdminError> {
        let mut names = BTreeMap::new();
        for entry in entries {
            if names.contains_key(&entry.user) {
                continue;
            }
            match self
                .resources
                .get(
                    &tenant.id,
                    ResourceKind::User,
                    &entry.user,
                    Expand::default(),
                )
                .await
            {
                Ok(user) => {
                    if let Some(name) = user.attributes.get("userName").and_then(|v| v.as_str()) {
                        names.insert(entry.user.clone(), name.to_owned());
                    }
                }
                Err(ScimError::NotFound(_)) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(names)
    }

    /// Users with `active` false that hold a license, found with the same filter any SCIM
    /// client could send.
    async fn inactive_holders(
        &self,
        tenant: &Tenant,
    ) -> Result<(Vec<InactiveHolder>, u64), AdminError> {
        let filter = parse_filter(&format!(
            "active eq false and {LICENSE_USER_EXTENSION}:licenses pr"
        ))?;
        let query = ListQuery {
            filter: Some(filter),
            count: LISTED,
            ..ListQuery::default()
        };
        let expand = Expand {
            licenses: true,
            ..Expand::default()
        };
        let page = self
            .resources
            .list(&tenant.id, ResourceKind::User, &query, expand)
            .await?;
        let holders = page
            .resources
            .iter()
            .map(|user| InactiveHolder {
                id: user.id.clone(),
                user_name: user
                    .str_attribute("userName")
                    .unwrap_or_default()
                    .to_owned(),
                skus: user
                    .attributes
                    .get(LICENSE_USER_EXTENSION)
                    .and_then(|ext| ext.get("licenses"))
                    .and_then(|licenses| licenses.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|l| l.get("sku").and_then(|s| s.as_str()).map(str::to_owned))
                    .collect(),
            })
            .collect();
        Ok((holders, page.total))
    }
}

/// The stored snapshots without today's, plus today's from the pools as they are now.
fn with_today(stored: Vec<UsageDay>, pools: &[Pool], today: NaiveDate) -> Vec<UsageDay> {
    let mut history: Vec<UsageDay> = stored.into_iter().filter(|d| d.day < today).collect();
    history.extend(pools.iter().map(|pool| UsageDay {
        sku: pool.sku.clone(),
        day: today,
        seats: pool.seats,
        used: pool.used,
    }));
    history.sort_by(|a, b| a.sku.cmp(&b.sku).then(a.day.cmp(&b.day)));
    history
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn usage(sku: &str, d: u32, used: i64) -> UsageDay {
        UsageDay {
            sku: sku.into(),
            day: day(d),
            seats: 10,
            used,
        }
    }

    #[test]
    fn today_is_read_from_the_pools_not_from_its_snapshot() {
        let stored = vec![
            usage("pro", 27, 3),
            usage("pro", 28, 4),
            usage("pro", 29, 1),
        ];
        let mut pro = Pool::new("pro", 10);
        pro.used = 6;
        let history = with_today(stored, &[pro, Pool::new("basic", 10)], day(29));
        assert_eq!(
            history,
            vec![
                usage("basic", 29, 0),
                usage("pro", 27, 3),
                usage("pro", 28, 4),
                usage("pro", 29, 6)
            ]
        );
    }
}
