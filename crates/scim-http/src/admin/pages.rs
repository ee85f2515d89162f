//! The dashboard's views. Every figure a test reads carries `data-sku` / `data-field`
//! attributes, so the end-to-end test compares what a person sees with the API.

use std::fmt::Write;

use chrono::{DateTime, TimeDelta, Utc};
use scim_core::activity::ActivitySummary;
use scim_core::admin::UsageDay;
use scim_core::license::Pool;
use scim_core::resource::format_time;
use scim_core::service::TenantDashboard;
use scim_core::service::admin::HISTORY_DAYS;
use scim_core::tenant::Tenant;

use super::charts::{history_line, seat_bars};
use super::html::esc;

/// A receiver whose oldest waiting SET is older than this is flagged.
const LAG_WARNING_SECONDS: i64 = 600;

/// Every tenant and its pools.
pub(crate) fn overview(tenants: &[(Tenant, Vec<Pool>)]) -> String {
    let mut body = String::from(
        "<h1>Tenants</h1><section><table><tr><th>Tenant</th><th>Pool</th><th class=\"n\">Seats</th><th class=\"n\">Used</th><th class=\"n\">Available</th><th class=\"n\">Waiting</th><th>Term</th></tr>",
    );
    if tenants.is_empty() {
        body.push_str("<tr><td colspan=\"6\" class=\"muted\">No tenant yet: <code>scim-server tenant create &lt;slug&gt;</code></td></tr>");
    }
    for (tenant, pools) in tenants {
        let link = format!(
            "<a href=\"/admin/tenants/{slug}\">{name}</a> <span class=\"muted\">{slug}</span>",
            slug = esc(&tenant.slug),
            name = esc(&tenant.name)
        );
        if pools.is_empty() {
            let _ = write!(
                body,
                "<tr><td>{link}</td><td colspan=\"5\" class=\"muted\">no license pool</td></tr>"
            );
        }
        for (i, pool) in pools.iter().enumerate() {
            let first = if i == 0 { link.as_str() } else { "" };
            let _ = write!(
                body,
                "<tr data-tenant=\"{slug}\"><td>{first}</td>{cells}</tr>",
                slug = esc(&tenant.slug),
                cells = pool_cells(pool)
            );
        }
    }
    body.push_str("</table></section>");
    body
}

/// The tenants' provisioning over the last day (`health`, in the order of `tenants`;
/// `None` where it could not be read), with a button into each tenant's portal.
pub(crate) fn provisioning(
    tenants: &[(Tenant, Vec<Pool>)],
    health: &[Option<ActivitySummary>],
    now: DateTime<Utc>,
) -> String {
    let mut body = String::from(
        "<section><h2>Provisioning, last 24 hours</h2><table><tr><th>Tenant</th>\
         <th>Last request</th><th class=\"n\">Requests</th><th class=\"n\">Refused</th><th></th></tr>",
    );
    for ((tenant, _), day) in tenants.iter().zip(health) {
        let cells = match day {
            None => "<td colspan=\"3\" class=\"muted\">unavailable</td>".to_owned(),
            Some(day) => {
                let last = day.last.map_or("none".to_owned(), |at| {
                    format!("{} s ago", (now - at).num_seconds().max(0))
                });
                let class = if day.quarantines_entra() {
                    " bad"
                } else if day.failure_rate() > 0.2 {
                    " warn"
                } else {
                    ""
                };
                format!(
                    "<td>{last}</td><td class=\"n\" data-field=\"requests-24h\">{requests}</td>\
                     <td class=\"n{class}\" data-field=\"failures-24h\">{failures} ({rate:.1}%)</td>",
                    requests = day.requests,
                    failures = day.failures,
                    rate = day.failure_rate() * 100.0,
                )
            }
        };
        let _ = write!(
            body,
            "<tr data-provisioning=\"{slug}\"><td>{name}</td>{cells}<td>\
             <form method=\"post\" action=\"/admin/tenants/{slug}/portal\" class=\"inline\">\
             <button type=\"submit\" data-action=\"open-portal\">Open its portal</button></form></td></tr>",
            slug = esc(&tenant.slug),
            name = esc(&tenant.name),
        );
    }
    body.push_str("</table></section>");
    body
}

/// `<td>` cells of a pool: sku (and name), seats, used, available.
fn pool_cells(pool: &Pool) -> String {
    let available = (pool.seats - pool.used).max(0);
    let class = if available == 0 { " bad" } else { "" };
    let name = if pool.display_name == pool.sku {
        String::new()
    } else {
        format!(" <span class=\"muted\">{}</span>", esc(&pool.display_name))
    };
    format!(
        "<td>{sku}{name}</td><td class=\"n\" data-sku=\"{sku}\" data-field=\"seats\">{seats}</td>\
         <td class=\"n\" data-sku=\"{sku}\" data-field=\"used\">{used}</td>\
         <td class=\"n{class}\" data-sku=\"{sku}\" data-field=\"available\">{available}</td>\
         <td class=\"n\" data-sku=\"{sku}\" data-field=\"waiting\">{waiting}</td>\
         <td data-sku=\"{sku}\" data-field=\"term\">{term}</td>",
        term = esc(&pool.term.to_string()),
        sku = esc(&pool.sku),
        seats = pool.seats,
        used = pool.used,
        waiting = pool.pending,
    )
}

/// One tenant: seats, their history, recent license changes, orphan risks, deliveries.
pub(crate) fn tenant(dashboard: &TenantDashboard) -> String {
    let t = &dashboard.tenant;
    let mut body = format!(
        "<h1>{name} <span class=\"muted\">{slug}</span></h1><p class=\"muted\">As of {at}</p>",
        name = esc(&t.name),
        slug = esc(&t.slug),
        at = format_time(&dashboard.at)
    );
    body.push_str(&seats(&dashboard.pools));
    body.push_str(&history(dashboard));
    body.push_str(&recent(dashboard));
    body.push_str(&orphan_risks(dashboard));
    body.push_str(&deliveries(dashboard));
    body
}

fn seats(pools: &[Pool]) -> String {
    let mut out = String::from("<section id=\"seats\"><h2>Seats</h2>");
    if pools.is_empty() {
        out.push_str("<p class=\"muted\">No license pool: <code>scim-server license set --tenant &lt;slug&gt; --sku &lt;sku&gt; --seats &lt;n&gt;</code></p></section>");
        return out;
    }
    out.push_str("<table><tr><th>Pool</th><th class=\"n\">Seats</th><th class=\"n\">Used</th><th class=\"n\">Available</th><th class=\"n\">Waiting</th><th>Term</th></tr>");
    for pool in pools {
        let _ = write!(out, "<tr>{}</tr>", pool_cells(pool));
    }
    let _ = write!(out, "</table>{}</section>", seat_bars(pools));
    out
}

fn history(dashboard: &TenantDashboard) -> String {
    let last = dashboard.at.date_naive();
    let first = last - TimeDelta::days(HISTORY_DAYS - 1);
    let mut out = format!(
        "<section id=\"history\"><h2>Seats used, last {HISTORY_DAYS} days</h2><div class=\"charts\">"
    );
    for pool in &dashboard.pools {
        let of_pool: Vec<&UsageDay> = dashboard
            .history
            .iter()
            .filter(|d| d.sku == pool.sku)
            .collect();
        let _ = write!(
            out,
            "<figure data-sku=\"{sku}\" data-days=\"{n}\"><figcaption>{sku}</figcaption>{chart}</figure>",
            sku = esc(&pool.sku),
            n = of_pool.len(),
            chart = history_line(&pool.sku, &of_pool, first, last)
        );
    }
    out.push_str("</div><p class=\"muted\">One point per day (UTC); the dashed line is the seats bought.</p></section>");
    out
}

fn recent(dashboard: &TenantDashboard) -> String {
    let mut out = String::from("<section id=\"recent\"><h2>Recent license changes</h2>");
    if dashboard.recent.is_empty() {
        out.push_str(&format!(
            "<p class=\"muted\">None in the last {HISTORY_DAYS} days.</p></section>"
        ));
        return out;
    }
    out.push_str("<table><tr><th>When</th><th>User</th><th>Pool</th><th>Change</th><th>Source</th><th>Cause</th></tr>");
    for entry in &dashboard.recent {
        let _ = write!(
            out,
            "<tr data-field=\"change\"><td>{at}</td><td data-user=\"{id}\">{user}</td><td>{sku}</td><td>{action}</td><td>{source}</td><td class=\"muted\">{cause}</td></tr>",
            at = format_time(&entry.at),
            id = esc(&entry.user),
            // The userName; a user deleted since shows its id.
            user = dashboard.user_names.get(&entry.user).map_or_else(
                || format!(
                    "<code>{}</code> <span class=\"muted\">(deleted)</span>",
                    esc(&entry.user)
                ),
                |name| esc(name)
            ),
            sku = esc(&entry.sku),
            action = entry.action.as_str(),
            source = entry.source.map_or("", |s| s.as_str()),
            cause = esc(&entry.cause),
        );
    }
    out.push_str("</table></section>");
    out
}

fn orphan_risks(dashboard: &TenantDashboard) -> String {
    let mut out = format!(
        "<section id=\"orphans\"><h2>Orphan risks</h2><h3>Inactive users holding a license: <span data-field=\"inactive-holders\" class=\"{class}\">{total}</span></h3>",
        class = if dashboard.inactive_holders_total == 0 {
            "ok"
        } else {
            "bad"
        },
        total = dashboard.inactive_holders_total,
    );
    if !dashboard.inactive_holders.is_empty() {
        out.push_str("<table><tr><th>User</th><th>id</th><th>Pools</th></tr>");
        for holder in &dashboard.inactive_holders {
            let _ = write!(
                out,
                "<tr><td>{name}</td><td><code>{id}</code></td><td>{skus}</td></tr>",
                name = esc(&holder.user_name),
                id = esc(&holder.id),
                skus = esc(&holder.skus.join(", "))
            );
        }
        out.push_str("</table>");
    }
    let _ = write!(
        out,
        "<h3>Values that grant nothing: <span data-field=\"unmapped\">{}</span></h3>",
        dashboard.unmapped.len()
    );
    if dashboard.unmapped.is_empty() {
        out.push_str("<p class=\"muted\">Every entitlement and role value maps to a pool.</p>");
    } else {
        out.push_str("<p class=\"muted\">Entitlement and role values the IdP sends that no rule maps: <code>scim-server license map</code> them, or ignore them.</p><table><tr><th>Value</th><th class=\"n\">Users</th></tr>");
        for value in &dashboard.unmapped {
            let _ = write!(
                out,
                "<tr><td data-field=\"unmapped-value\">{value}</td><td class=\"n\">{users}</td></tr>",
                value = esc(&value.value),
                users = value.users
            );
        }
        out.push_str("</table>");
    }
    out.push_str("</section>");
    out
}

fn deliveries(dashboard: &TenantDashboard) -> String {
    let mut out = String::from("<section id=\"deliveries\"><h2>Event delivery</h2>");
    if dashboard.receivers.is_empty() {
        out.push_str("<p class=\"muted\">No webhook receiver (events can still be polled at <code>/events/poll</code>).</p></section>");
        return out;
    }
    out.push_str("<table><tr><th>Receiver</th><th class=\"n\">Delivered</th><th class=\"n\">Retried</th><th class=\"n\">Dead letters</th><th class=\"n\">Pending</th><th class=\"n\">Lag</th></tr>");
    for status in &dashboard.receivers {
        let lag = lag_seconds(status.oldest_pending, dashboard.at);
        let lag_class = if lag > LAG_WARNING_SECONDS { "bad" } else { "" };
        let dead_class = if status.dead_lettered > 0 { "bad" } else { "" };
        let _ = write!(
            out,
            "<tr data-receiver=\"{id}\"><td>{url}</td><td class=\"n\">{delivered}</td><td class=\"n\">{retried}</td>\
             <td class=\"n {dead_class}\" data-field=\"dead-letters\">{dead}</td><td class=\"n\" data-field=\"pending\">{pending}</td>\
             <td class=\"n {lag_class}\" data-field=\"lag\">{lag} s</td></tr>",
            id = esc(&status.receiver.id),
            url = esc(&status.receiver.url),
            delivered = status.delivered,
            retried = status.retried,
            dead = status.dead_lettered,
            pending = status.pending,
        );
    }
    out.push_str("</table></section>");
    out
}

fn lag_seconds(oldest: Option<DateTime<Utc>>, now: DateTime<Utc>) -> i64 {
    oldest.map_or(0, |oldest| (now - oldest).num_seconds().max(0))
}
