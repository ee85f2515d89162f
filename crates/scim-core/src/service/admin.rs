//! The operator's dashboard: logging in with a one-time link, and what it shows of a
//! tenant (seats and their history, recent license changes, orphan risks, deliveries).

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use crate::admin::{AdminSecretKind, UsageDay};
use crate::error::{ScimError, StoreError};
use crate::events::ReceiverStatus;
use crate::filter::parse as parse_filter;
use crate::license::{AuditEntry, AuditQuery, Pool, UnmappedValue};
use crate::ports::{AdminRepository, Clock, SecretGenerator, Webhooks};
use crate::query::ListQuery;
use crate::resource::{Expand, ResourceKind};
use crate::schema::LICENSE_USER_EXTENSION;
use crate::service::{LicenseError, LicenseService, ResourceService, TenantError, TenantService};
use crate::tenant::{Tenant, TokenHash};

/// How long a browser session lasts.
pub const SESSION_LIFETIME: TimeDelta = TimeDelta::hours(12);

/// How far back the usage history and the recent license changes go.
pub const HISTORY_DAYS: i64 = 30;

/// How many recent license changes and orphan risks a tenant's page lists.
pub const LISTED: u64 = 25;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Tenant(#[from] TenantError),
    #[error(transparent)]
    License(#[from] LicenseError),
    #[error(transparent)]
    Scim(#[from] ScimError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A user that holds licenses while `active` is false: a seat paid for nobody.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InactiveHolder {
    pub id: String,
    pub user_name: String,
    pub skus: Vec<String>,
}

/// Everything a tenant's dashboard page shows, read at `at`.
#[derive(Debug, Clone)]
pub struct TenantDashboard {
    pub tenant: Tenant,
    pub at: DateTime<Utc>,
    pub pools: Vec<Pool>,
    /// Daily snapshots of the last [`HISTORY_DAYS`] days, by sku then day; today's is the
    /// pools' use now.
    pub history: Vec<UsageDay>,
    /// The latest license assignments and revocations, newest first.
    pub recent: Vec<AuditEntry>,
    pub unmapped: Vec<UnmappedValue>,
    /// Inactive users holding licenses (at most [`LISTED`]), and how many there are.
    pub inactive_holders: Vec<InactiveHolder>,
    pub inactive_holders_total: u64,
    pub receivers: Vec<ReceiverStatus>,
}

#[derive(Clone)]
pub struct AdminService {
    repo: Arc<dyn AdminRepository>,
    tenants: TenantService,
    licenses: LicenseService,
    resources: ResourceService,
    webhooks: Arc<dyn Webhooks>,
    clock: Arc<dyn Clock>,
    secrets: Arc<dyn SecretGenerator>,
}

impl AdminService {
    pub fn new(
        repo: Arc<dyn AdminRepository>,
        tenants: TenantService,
        licenses: LicenseService,
        resources: ResourceService,
        webhooks: Arc<dyn Webhooks>,
        clock: Arc<dyn Clock>,
        secrets: Arc<dyn SecretGenerator>,
    ) -> Self {
        Self {
            repo,
            tenants,
            licenses,
            resources,
            webhooks,
            clock,
            secrets,
        }
    }

    /// A new one-time login link's secret, valid for `valid_for`.
    pub async fn login_link(&self, valid_for: TimeDelta) -> Result<String, StoreError> {
        let secret = self.secrets.new_secret();
        let expires = self.clock.now() + valid_for;
        self.repo
            .add_admin_secret(&TokenHash::of(&secret), AdminSecretKind::Link, expires)
            .await?;
        Ok(secret)
    }

    /// Exchanges a login link's secret for a new session's secret; `None` when the link
    /// is unknown, used or expired.
    pub async fn open_session(&self, link: &str) -> Result<Option<String>, StoreError> {
        let now = self.clock.now();
        let session = self.secrets.new_secret();
        let redeemed = self
            .repo
            .redeem_login_link(
                &TokenHash::of(link),
                &TokenHash::of(&session),
                now + SESSION_LIFETIME,
                now,
            )
            .await?;
        Ok(redeemed.then_some(session))
    }

    /// Whether `secret` is a live session.
    pub async fn session_valid(&self, secret: &str) -> Result<bool, StoreError> {
        self.repo
            .admin_session_valid(&TokenHash::of(secret), self.clock.now())
            .await
    }

    /// Records today's snapshot of every pool (UTC days).
    pub async fn record_usage(&self) -> Result<(), StoreError> {
        let now = self.clock.now();
        self.repo.record_usage(now.date_naive(), now).await
    }

    /// Every tenant with its pools.
    pub async fn overview(&self) -> Result<Vec<(Tenant, Vec<Pool>)>, AdminError> {
        let mut out = Vec::new();
        for tenant in self.tenants.list_tenants().await? {
            let pools = self.licenses.pools(&tenant.id).await?;
            out.push((tenant, pools));
        }
        Ok(out)
    }

    /// What the tenant's page shows.
    pub async fn tenant_dashboard(&self, slug: &str) -> Result<TenantDashboard, AdminError> {
        let tenant = self.tenants.tenant(slug).await?;
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
        Ok(TenantDashboard {
            tenant,
            at,
            pools: usage.pools,
            history,
            recent,
            unmapped: usage.unmapped,
            inactive_holders,
            inactive_holders_total,
            receivers,
        })
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
