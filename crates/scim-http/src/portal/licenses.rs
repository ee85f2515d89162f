//! The tenant's licenses in the portal (`/portal/licenses`): the pools it bought with
//! their seats, what grants them (mapping rules from the groups its IdP pushed, roles and
//! entitlement values), and a change of those rules shown before it is saved — how many
//! users would gain or lose a seat and whether each pool can take them, computed by the
//! core's license engine on a copy of the pools ([`scim_core::license::PreviewRun`]) —
//! then saved through the same re-evaluation as `license map` and `license unmap`.

use http::StatusCode;
use scim_core::filter::{CompValue, CompareOp, Filter};
use scim_core::fold::fold_key;
use scim_core::license::{MappingRule, MappingSource, Pool, Reevaluation, RuleChange, RulePreview};
use scim_core::portal::PortalGrant;
use scim_core::query::ListQuery;
use scim_core::service::LicenseError;
use scim_core::tenant::Tenant;
use scim_core::{AttrPath, Caller, Expand, ResourceKind};
use serde::Deserialize;
use serde_json::Value;

use super::{check_session, form_session, page, tenant_page};
use crate::admin::html::esc;
use crate::admin::unavailable;
use crate::request::Request;
use crate::response::Response;
use crate::state::AppState;

/// Groups offered in the list to pick from; a tenant with more types the name.
const GROUP_CHOICES: u64 = 500;

/// A rule change a form names.
#[derive(Deserialize)]
struct Posted {
    change: String,
    source: String,
    value: String,
    sku: String,
}

/// `GET /portal/licenses`.
pub(crate) async fn list(req: &Request, state: &AppState) -> Response {
    let (_, tenant) = match check_session(req, state).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    licenses_page(state, &tenant, "").await
}

/// `POST /portal/licenses/preview`: what the change would do, and the form that saves it.
pub(crate) async fn preview(req: &Request, state: &AppState) -> Response {
    let (_, tenant, change) = match posted(req, state).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let preview = match state.licenses.preview(&tenant.id, &change).await {
        Ok(preview) => preview,
        Err(error) => return refused(&error),
    };
    let rule = change.rule();
    let (verb, button) = match change {
        RuleChange::Add(_) => ("would get", "Save this mapping"),
        RuleChange::Remove(_) => ("would no longer get", "Remove this mapping"),
    };
    let pool = preview
        .pools
        .iter()
        .find(|pool| pool.sku == rule.sku)
        .map_or(rule.sku.as_str(), |pool| pool.display_name.as_str());
    let body = format!(
        "<h1>Before you save</h1><section>\
         <p data-field=\"change\">{subject} {verb} <strong>{pool}</strong>.</p>{effects}\
         <form method=\"post\" action=\"/portal/licenses/apply\">{fields}\
         <button type=\"submit\" data-action=\"apply\">{button}</button> \
         <a href=\"/portal/licenses\">Cancel</a></form></section>\
         <section><h2>Seats after the change</h2>{table}\
         {computed}</section>",
        subject = subject(rule),
        pool = esc(pool),
        effects = effects(&preview),
        fields = hidden(&change),
        table = effect_table(&preview),
        computed = if preview.users > 0 {
            format!(
                "<p class=\"muted\">Computed now over your {} users; users your identity \
                 provider changes meanwhile are counted when you save.</p>",
                preview.users
            )
        } else {
            String::new()
        },
    );
    tenant_page(&tenant, "Before you save", &body)
}

/// `POST /portal/licenses/apply`: makes the change and re-evaluates the tenant's users.
pub(crate) async fn apply(req: &Request, state: &AppState) -> Response {
    let (session, tenant, change) = match posted(req, state).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    // The audit log names the setup link the admin came in by.
    let link = session.link.as_deref().unwrap_or(&session.id);
    let caller = Caller::new(tenant.id.clone(), format!("portal:{link}"), req.cause())
        .with_deactivation(tenant.compatibility.on_deactivate);
    let rule = change.rule();
    let done = match &change {
        RuleChange::Add(rule) => state
            .licenses
            .map(&caller, rule.source, &rule.value, &rule.sku)
            .await
            .map(|(_, report)| report.unwrap_or_default()),
        RuleChange::Remove(rule) => {
            state
                .licenses
                .unmap(&caller, rule.source, &rule.value, &rule.sku)
                .await
        }
    };
    let report = match done {
        Ok(report) => report,
        Err(error) => return refused(&error),
    };
    let verb = match change {
        RuleChange::Add(_) => "now get",
        RuleChange::Remove(_) => "no longer get",
    };
    let notice = format!(
        "<p class=\"ok\" role=\"status\" data-field=\"saved\">Saved: {subject} {verb} {sku}. {report}</p>",
        subject = subject(rule),
        sku = esc(&rule.sku),
        report = esc(&reported(&report)),
    );
    licenses_page(state, &tenant, &notice).await
}

/// The licenses page, `notice` first.
async fn licenses_page(state: &AppState, tenant: &Tenant, notice: &str) -> Response {
    let usage = match state.licenses.usage(&tenant.id).await {
        Ok(usage) => usage,
        Err(error) => return unavailable(&error.to_string()),
    };
    let groups = match group_names(state, tenant).await {
        Ok(groups) => groups,
        Err(error) => return unavailable(&error),
    };
    let mut body = format!("<h1>Licenses</h1>{notice}<section><h2>What you bought</h2>");
    if usage.pools.is_empty() {
        body.push_str(
            "<p class=\"muted\">No licenses bought yet: there is nothing to map to.</p></section>",
        );
        return tenant_page(tenant, "Licenses", &body);
    }
    body.push_str(&pool_table(&usage.pools));
    body.push_str("</section><section><h2>What grants them</h2>");
    body.push_str(&rule_table(&usage.rules, &usage.pools));
    body.push_str(
        "<p class=\"muted\">A user also holds a license whose name (sku) its identity \
         provider sends as an entitlement or role value, without a mapping.</p></section>",
    );
    body.push_str(&map_forms(&usage.pools, &groups));
    if !usage.unmapped.is_empty() {
        body.push_str(
            "<section><h2>Values your identity provider sends that grant nothing</h2>\
             <table><thead><tr><th scope=\"col\">Entitlement or role value</th>\
             <th scope=\"col\" class=\"n\">Users</th></tr></thead><tbody>",
        );
        for value in &usage.unmapped {
            body.push_str(&format!(
                "<tr data-unmapped=\"{value}\"><td>{value}</td><td class=\"n\">{users}</td></tr>",
                value = esc(&value.value),
                users = value.users,
            ));
        }
        body.push_str("</tbody></table></section>");
    }
    tenant_page(tenant, "Licenses", &body)
}

/// The displayNames of the tenant's groups, sorted, when there are at most
/// [`GROUP_CHOICES`]; `None` when there are more (the admin types the name).
async fn group_names(state: &AppState, tenant: &Tenant) -> Result<Option<Vec<String>>, String> {
    let query = ListQuery {
        count: GROUP_CHOICES,
        ..ListQuery::default()
    };
    let page = state
        .resources
        .list(&tenant.id, ResourceKind::Group, &query, Expand::default())
        .await
        .map_err(|error| error.to_string())?;
    if page.total > GROUP_CHOICES {
        return Ok(None);
    }
    let mut names: Vec<String> = page
        .resources
        .iter()
        .filter_map(|group| group.attributes.get("displayName").and_then(Value::as_str))
        .map(str::to_owned)
        .collect();
    names.sort_by_key(|name| name.to_lowercase());
    names.dedup();
    Ok(Some(names))
}

/// The pools with their seats, used, available, waiting, and term.
pub(super) fn pool_table(pools: &[Pool]) -> String {
    let mut html = String::from(
        "<table><thead><tr><th scope=\"col\">License</th><th scope=\"col\" class=\"n\">Seats</th>\
         <th scope=\"col\" class=\"n\">Used</th><th scope=\"col\" class=\"n\">Available</th>\
         <th scope=\"col\" class=\"n\">Waiting</th><th scope=\"col\">Term</th></tr></thead><tbody>",
    );
    for pool in pools {
        html.push_str(&format!(
            "<tr><td>{name}</td><td class=\"n\" data-sku=\"{sku}\" data-field=\"seats\">{seats}</td>\
             <td class=\"n\" data-sku=\"{sku}\" data-field=\"used\">{used}</td>\
             <td class=\"n\" data-sku=\"{sku}\" data-field=\"available\">{available}</td>\
             <td class=\"n\" data-sku=\"{sku}\" data-field=\"waiting\">{waiting}</td>\
             <td data-sku=\"{sku}\" data-field=\"term\">{term}</td></tr>",
            name = esc(&pool.display_name),
            sku = esc(&pool.sku),
            seats = pool.seats,
            used = pool.used,
            available = (pool.seats - pool.used).max(0),
            waiting = pool.pending,
            term = esc(&pool.term.to_string()),
        ));
    }
    html.push_str("</tbody></table>");
    html
}

fn rule_table(rules: &[MappingRule], pools: &[Pool]) -> String {
    if rules.is_empty() {
        return "<p class=\"muted\" data-field=\"rules\">No mappings yet.</p>".into();
    }
    let mut html = String::from(
        "<table data-field=\"rules\"><thead><tr><th scope=\"col\">From</th>\
         <th scope=\"col\">License</th><th scope=\"col\">Action</th></tr></thead><tbody>",
    );
    for rule in rules {
        let pool = pools
            .iter()
            .find(|pool| fold_key(&pool.sku) == fold_key(&rule.sku))
            .map_or(rule.sku.as_str(), |pool| pool.display_name.as_str());
        html.push_str(&format!(
            "<tr data-rule=\"{id}\"><td>{subject}</td><td>{pool}</td><td>\
             <form method=\"post\" action=\"/portal/licenses/preview\" class=\"inline\">{fields}\
             <button type=\"submit\" data-action=\"remove\">Remove…</button></form></td></tr>",
            id = rule.id(),
            subject = subject(rule),
            pool = esc(pool),
            fields = hidden(&RuleChange::Remove(rule.clone())),
        ));
    }
    html.push_str("</tbody></table>");
    html
}

/// The two forms that start a mapping: a group picked from those the IdP pushed, and a
/// role or entitlement value.
fn map_forms(pools: &[Pool], groups: &Option<Vec<String>>) -> String {
    let mut options = String::new();
    for pool in pools {
        options.push_str(&format!(
            "<option value=\"{sku}\">{name}</option>",
            sku = esc(&pool.sku),
            name = esc(&pool.display_name),
        ));
    }
    let group_field = match groups {
        Some(groups) if groups.is_empty() => {
            return format!(
                "<section><h2>Map to a license</h2><p class=\"muted\">Your identity provider \
                 has pushed no group yet: once it does, pick one here.</p>{}</section>",
                value_form(&options)
            );
        }
        Some(groups) => {
            let mut select = String::from("<select id=\"group\" name=\"value\" required>");
            for name in groups {
                select.push_str(&format!("<option>{}</option>", esc(name)));
            }
            select.push_str("</select>");
            select
        }
        None => "<input id=\"group\" name=\"value\" size=\"40\" required> \
                 <span class=\"muted\">(its displayName, as your identity provider sends it)</span>"
            .into(),
    };
    format!(
        "<section><h2>Map to a license</h2>\
         <form method=\"post\" action=\"/portal/licenses/preview\" data-form=\"map-group\">\
         <input type=\"hidden\" name=\"change\" value=\"add\">\
         <input type=\"hidden\" name=\"source\" value=\"group\">\
         <p><label for=\"group\">Members of the group</label> {group_field} \
         <label for=\"group-sku\">get</label> <select id=\"group-sku\" name=\"sku\">{options}</select> \
         <button type=\"submit\" data-action=\"preview-group\">Preview</button></p>\
         <p class=\"muted\">Members of groups nested in it count too.</p></form>{value}</section>",
        value = value_form(&options),
    )
}

fn value_form(options: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/portal/licenses/preview\" data-form=\"map-value\">\
         <input type=\"hidden\" name=\"change\" value=\"add\">\
         <p><label for=\"source\">Users with the</label> <select id=\"source\" name=\"source\">\
         <option value=\"role\">role</option><option value=\"entitlement\">entitlement</option></select> \
         <label for=\"value\">value</label> <input id=\"value\" name=\"value\" size=\"30\" required> \
         <label for=\"value-sku\">get</label> <select id=\"value-sku\" name=\"sku\">{options}</select> \
         <button type=\"submit\" data-action=\"preview-value\">Preview</button></p></form>"
    )
}

/// What each pool the change moves would see, in words; a pool that cannot take everyone
/// says so first.
fn effects(preview: &RulePreview) -> String {
    if preview.changes_nothing() {
        return "<p data-field=\"effect\">No seat changes now: it applies to the users your \
                identity provider sends from now on.</p>"
            .into();
    }
    let mut html = String::new();
    for pool in preview.pools.iter().filter(|pool| pool.changes()) {
        let name = esc(&pool.display_name);
        let mut said = Vec::new();
        if pool.gaining > 0 {
            said.push(format!("{} would get a seat", users(pool.gaining)));
        }
        if pool.losing > 0 {
            said.push(format!("{} would lose theirs", users(pool.losing)));
        }
        let after = format!("{} of {} seats used after", pool.used_after, pool.seats);
        if pool.takes_everyone() {
            html.push_str(&format!(
                "<p class=\"ok\" data-sku=\"{sku}\" data-field=\"effect\">{name}: {said} \
                 ({after}).</p>",
                sku = esc(&pool.sku),
                said = said.join(", "),
            ));
        } else {
            let and = if said.is_empty() {
                String::new()
            } else {
                format!("{}; ", said.join(", "))
            };
            html.push_str(&format!(
                "<p class=\"bad\" data-sku=\"{sku}\" data-field=\"effect\">{name} cannot take \
                 everyone: {and}{waiting} would get no seat ({after}). Buy more seats, or map \
                 a smaller group.</p>",
                sku = esc(&pool.sku),
                waiting = users(pool.waiting),
            ));
        }
    }
    html
}

fn effect_table(preview: &RulePreview) -> String {
    let mut html = String::from(
        "<table><thead><tr><th scope=\"col\">License</th><th scope=\"col\" class=\"n\">Seats</th>\
         <th scope=\"col\" class=\"n\">Used now</th><th scope=\"col\" class=\"n\">Used after</th>\
         <th scope=\"col\" class=\"n\">Get a seat</th><th scope=\"col\" class=\"n\">Lose it</th>\
         <th scope=\"col\" class=\"n\">Get none</th></tr></thead><tbody>",
    );
    for pool in &preview.pools {
        html.push_str(&format!(
            "<tr data-sku=\"{sku}\"><td>{name}</td><td class=\"n\">{seats}</td>\
             <td class=\"n\" data-field=\"used\">{used}</td><td class=\"n\" data-field=\"used-after\">{after}</td>\
             <td class=\"n\" data-field=\"gaining\">{gaining}</td><td class=\"n\" data-field=\"losing\">{losing}</td>\
             <td class=\"n\" data-field=\"waiting\">{waiting}</td></tr>",
            sku = esc(&pool.sku),
            name = esc(&pool.display_name),
            seats = pool.seats,
            used = pool.used,
            after = pool.used_after,
            gaining = pool.gaining,
            losing = pool.losing,
            waiting = pool.waiting,
        ));
    }
    html.push_str("</tbody></table>");
    html
}

/// What saving did, in words.
fn reported(report: &Reevaluation) -> String {
    let mut said = vec![
        format!("{} got a seat", users(report.assigned)),
        format!("{} lost one", users(report.revoked)),
    ];
    if !report.waiting.is_empty() {
        said.push(format!(
            "{} got none: no seat was left",
            users(report.waiting.len() as u64)
        ));
    }
    format!("{}.", said.join(", "))
}

fn users(count: u64) -> String {
    match count {
        1 => "1 user".into(),
        count => format!("{count} users"),
    }
}

/// "Members of the group <b>Sales</b>", "Users with the role <b>admin</b>".
fn subject(rule: &MappingRule) -> String {
    let value = esc(&rule.value);
    match rule.source {
        MappingSource::Group => format!("Members of the group <strong>{value}</strong>"),
        source => format!("Users with the {source} <strong>{value}</strong>"),
    }
}

/// The hidden fields that carry `change` from one form to the next.
fn hidden(change: &RuleChange) -> String {
    let rule = change.rule();
    let kind = match change {
        RuleChange::Add(_) => "add",
        RuleChange::Remove(_) => "remove",
    };
    format!(
        "<input type=\"hidden\" name=\"change\" value=\"{kind}\">\
         <input type=\"hidden\" name=\"source\" value=\"{source}\">\
         <input type=\"hidden\" name=\"value\" value=\"{value}\">\
         <input type=\"hidden\" name=\"sku\" value=\"{sku}\">",
        source = rule.source.as_str(),
        value = esc(&rule.value),
        sku = esc(&rule.sku),
    )
}

/// The session's tenant and the rule change a same-origin form names, checked: the pool
/// is the tenant's, and a group added is one its IdP pushed; else the page.
async fn posted(
    req: &Request,
    state: &AppState,
) -> Result<(PortalGrant, Tenant, RuleChange), Response> {
    let (session, tenant) = form_session(
        req,
        state,
        "Change license mappings from a page of the portal",
    )
    .await?;
    let not_ours = || {
        page(
            StatusCode::BAD_REQUEST,
            "Licenses",
            "<h1>That form is not one of the portal's</h1><p><a href=\"/portal/licenses\">Licenses</a></p>",
        )
    };
    let form = req
        .body()
        .and_then(|body| serde_urlencoded::from_bytes::<Posted>(body).ok())
        .ok_or_else(not_ours)?;
    let source = MappingSource::parse(&form.source).ok_or_else(not_ours)?;
    let change = match form.change.as_str() {
        "add" => {
            let rule = state
                .licenses
                .rule(&tenant.id, source, &form.value, &form.sku)
                .await
                .map_err(|error| refused(&error))?;
            if source == MappingSource::Group && !group_exists(state, &tenant, &rule.value).await? {
                return Err(page(
                    StatusCode::BAD_REQUEST,
                    "Licenses",
                    &format!(
                        "<h1>No such group</h1><p>Your identity provider has pushed no group \
                         named <strong>{}</strong>. Pick one of the groups it pushed.</p>\
                         <p><a href=\"/portal/licenses\">Licenses</a></p>",
                        esc(&rule.value)
                    ),
                ));
            }
            RuleChange::Add(rule)
        }
        // Checked as an added rule is: what no store can hold never reaches one.
        "remove" => RuleChange::Remove(
            state
                .licenses
                .rule(&tenant.id, source, &form.value, &form.sku)
                .await
                .map_err(|error| refused(&error))?,
        ),
        _ => return Err(not_ours()),
    };
    Ok((session, tenant, change))
}

async fn group_exists(state: &AppState, tenant: &Tenant, name: &str) -> Result<bool, Response> {
    let path = AttrPath::parse("displayName").map_err(|_| unavailable("displayName"))?;
    let query = ListQuery {
        filter: Some(Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::Str(name.to_owned()),
        }),
        count: 0,
        ..ListQuery::default()
    };
    state
        .resources
        .list(&tenant.id, ResourceKind::Group, &query, Expand::default())
        .await
        .map(|page| page.total > 0)
        .map_err(|error| unavailable(&error.to_string()))
}

/// A license change refused, as a page the admin can act on.
fn refused(error: &LicenseError) -> Response {
    let (status, said) = match error {
        LicenseError::Invalid(error) => (StatusCode::BAD_REQUEST, error.to_string()),
        LicenseError::UnknownPool(sku) => (
            StatusCode::BAD_REQUEST,
            format!("You have no license '{sku}'."),
        ),
        LicenseError::UnknownRule(_) => (
            StatusCode::NOT_FOUND,
            "That mapping is gone already.".to_owned(),
        ),
        other => return unavailable(&other.to_string()),
    };
    page(
        status,
        "Licenses",
        &format!(
            "<h1>Not saved</h1><p>{}</p><p><a href=\"/portal/licenses\">Licenses</a></p>",
            esc(&said)
        ),
    )
}
