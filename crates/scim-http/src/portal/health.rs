//! Health at a glance on the portal's home page: the last request, requests and the
//! refused share over 24 hours against what would get an Entra ID job quarantined, the
//! users and groups held, and the state of the tenant's event receivers.

use scim_core::ResourceKind;
use scim_core::activity::ActivitySummary;
use scim_core::query::ListQuery;
use scim_core::resource::{Expand, format_time};
use scim_core::tenant::Tenant;

use crate::admin::html::esc;
use crate::state::AppState;

/// The health section (figures that cannot be read say so instead).
pub(super) async fn section(state: &AppState, tenant: &Tenant) -> String {
    let now = state.clock.now();
    let day = state.activity.last_day(&tenant.id).await.ok();
    let count = |kind| async move {
        let query = ListQuery {
            count: 0,
            ..ListQuery::default()
        };
        state
            .resources
            .list(&tenant.id, kind, &query, Expand::default())
            .await
            .ok()
            .map(|page| page.total)
    };
    let users = count(ResourceKind::User).await;
    let groups = count(ResourceKind::Group).await;
    let receivers = state.receivers.list(&tenant.slug).await.ok();
    let figure = |value: Option<u64>| value.map_or("—".to_owned(), |value| value.to_string());
    let last = match day.as_ref().and_then(|day| day.last) {
        Some(at) => format!(
            "{} ({} s ago)",
            format_time(&at),
            (now - at).num_seconds().max(0)
        ),
        None => "none in the last 24 hours".to_owned(),
    };
    let day = day.unwrap_or_default();
    let mut html = format!(
        "<section><h2>Health</h2><table><tbody>\
         <tr><th scope=\"row\">Last request</th><td data-field=\"last-request\">{last}</td></tr>\
         <tr><th scope=\"row\">Requests, last 24 hours</th><td class=\"n\" data-field=\"requests-24h\">{requests}</td></tr>\
         <tr><th scope=\"row\">Refused, last 24 hours</th><td class=\"n\" data-field=\"failures-24h\">{failures} ({rate:.1}%)</td></tr>\
         <tr><th scope=\"row\">Users</th><td class=\"n\" data-field=\"users\">{users}</td></tr>\
         <tr><th scope=\"row\">Groups</th><td class=\"n\" data-field=\"groups\">{groups}</td></tr>",
        last = esc(&last),
        requests = day.requests,
        failures = day.failures,
        rate = day.failure_rate() * 100.0,
        users = figure(users),
        groups = figure(groups),
    );
    match receivers {
        Some(receivers) if !receivers.is_empty() => {
            for receiver in receivers {
                let lag = receiver
                    .oldest_pending
                    .map_or(0, |oldest| (now - oldest).num_seconds().max(0));
                html.push_str(&format!(
                    "<tr><th scope=\"row\">Events to {url}</th><td>{delivered} delivered, {pending} waiting \
                     (oldest {lag} s), {dead} given up</td></tr>",
                    url = esc(&receiver.receiver.url),
                    delivered = receiver.delivered,
                    pending = receiver.pending,
                    dead = receiver.dead_lettered,
                ));
            }
        }
        _ => html.push_str("<tr><th scope=\"row\">Event receivers</th><td>none</td></tr>"),
    }
    html.push_str("</tbody></table>");
    html.push_str(&quarantine(&day));
    html.push_str("</section>");
    html
}

/// What the refused share means for an Entra ID provisioning job.
fn quarantine(day: &ActivitySummary) -> String {
    if day.quarantines_entra() {
        "<p class=\"bad\" data-field=\"quarantine\">Microsoft Entra ID quarantines a \
         provisioning job failing like this (over 40% of requests refused with 5,000 \
         refusals or more, or 40,000 refusals): see why under Activity and fix the cause.</p>"
            .into()
    } else if day.failures > 0 && day.failure_rate() > 0.2 {
        "<p class=\"warn\" data-field=\"quarantine\">Many requests are refused; Microsoft \
         Entra ID quarantines a job once over 40% of them are (with 5,000 refusals or \
         more).</p>"
            .into()
    } else {
        String::new()
    }
}
