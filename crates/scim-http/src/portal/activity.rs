//! The provisioning activity in the portal: the latest requests on the home page, and
//! `/portal/activity` filtered by outcome and resource, a page at a time, newest first.

use http::StatusCode;
use scim_core::activity::{ActivityEntry, ActivityQuery, Outcome};
use scim_core::resource::format_time;

use super::{check_session, page, tenant_page};
use crate::admin::html::esc;
use crate::admin::unavailable;
use crate::request::Request;
use crate::response::Response;
use crate::state::AppState;

/// Requests a page lists.
const PAGE: usize = 50;

/// What the resource filter offers.
const RESOURCES: [&str; 5] = ["User", "Group", "Bulk", "Schema", "ServiceProviderConfig"];

/// The requests as a table (or a sentence when there are none).
pub(super) fn table(entries: &[ActivityEntry]) -> String {
    if entries.is_empty() {
        return "<p class=\"muted\" data-field=\"waiting\">No requests from your identity \
                provider yet.</p>"
            .into();
    }
    let mut html = String::from(
        "<table><thead><tr><th scope=\"col\">When</th><th scope=\"col\">From</th>\
         <th scope=\"col\">Request</th><th scope=\"col\">Resource</th>\
         <th scope=\"col\" class=\"n\">Status</th><th scope=\"col\">Why</th></tr></thead><tbody>",
    );
    for entry in entries {
        let (outcome, class) = if entry.succeeded() {
            ("success", "ok")
        } else {
            ("failure", "bad")
        };
        html.push_str(&format!(
            "<tr data-outcome=\"{outcome}\"><td>{at}</td><td>{client}</td><td>{method} {kind}</td>\
             <td>{resource}</td><td class=\"n {class}\">{status}</td><td>{detail}</td></tr>",
            at = esc(&format_time(&entry.at)),
            client = esc(&entry.client),
            method = esc(&entry.method),
            kind = esc(&entry.resource_type),
            resource = esc(entry
                .resource_name
                .as_deref()
                .or(entry.resource_id.as_deref())
                .unwrap_or("")),
            status = entry.status,
            detail = esc(entry.detail.as_deref().unwrap_or("")),
        ));
    }
    html.push_str("</tbody></table>");
    html
}

/// `GET /portal/activity?outcome=&resource=&before=`: the tenant's requests.
pub(crate) async fn activity(req: &Request, state: &AppState) -> Response {
    let (_, tenant) = match check_session(req, state).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let param = |name: &str| {
        query
            .iter()
            .find(|(key, value)| key == name && !value.is_empty())
            .map(|(_, value)| value.as_str())
    };
    let outcome = param("outcome").and_then(Outcome::parse);
    let resource = param("resource").filter(|kind| RESOURCES.contains(kind));
    let before = match param("before").map(str::parse::<i64>) {
        None => None,
        Some(Ok(seq)) => Some(seq),
        Some(Err(_)) => {
            return page(
                StatusCode::BAD_REQUEST,
                "Activity",
                "<h1>That page does not exist</h1><p><a href=\"/portal/activity\">The latest requests</a></p>",
            );
        }
    };
    let wanted = ActivityQuery {
        outcome,
        resource_type: resource.map(str::to_owned),
        before,
        ..ActivityQuery::latest(PAGE + 1)
    };
    let mut entries = match state.activity.list(&tenant.id, &wanted).await {
        Ok(entries) => entries,
        Err(error) => return unavailable(&error.to_string()),
    };
    let more = entries.len() > PAGE;
    entries.truncate(PAGE);
    let selected = |on: bool| if on { " selected" } else { "" };
    let mut body = format!(
        "<h1>Provisioning requests</h1><section><form method=\"get\" action=\"/portal/activity\">\
         <label for=\"outcome\">Outcome</label> <select id=\"outcome\" name=\"outcome\">\
         <option value=\"\">All</option>\
         <option value=\"failure\"{failure}>Refused</option>\
         <option value=\"success\"{success}>Succeeded</option></select> \
         <label for=\"resource\">Resource</label> <select id=\"resource\" name=\"resource\">\
         <option value=\"\">All</option>",
        failure = selected(outcome == Some(Outcome::Failure)),
        success = selected(outcome == Some(Outcome::Success)),
    );
    for kind in RESOURCES {
        body.push_str(&format!(
            "<option value=\"{kind}\"{on}>{kind}</option>",
            on = selected(resource == Some(kind))
        ));
    }
    body.push_str("</select> <button type=\"submit\">Show</button></form>");
    body.push_str(&table(&entries));
    if more && let Some(last) = entries.last() {
        let keep = |name: &str, value: Option<&str>| {
            value.map_or_else(String::new, |value| format!("&{name}={}", esc(value)))
        };
        body.push_str(&format!(
            "<p><a href=\"/portal/activity?before={seq}{outcome}{resource}\" data-action=\"older\">Older requests</a></p>",
            seq = last.seq,
            outcome = keep("outcome", param("outcome").filter(|_| outcome.is_some())),
            resource = keep("resource", resource),
        ));
    }
    body.push_str("</section>");
    tenant_page(&tenant, "Activity", &body)
}
