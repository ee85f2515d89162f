//! Pools, mapping rules, the license lookup, usage, the audit log and the event feed of a
//! tenant. Changes of seats and rules re-evaluate the tenant's users through the core's
//! one re-evaluation loop, exactly as `scim-server license …` does; the answer says what
//! it did.

use chrono::{DateTime, Utc};
use http::StatusCode;
use http::header::{ETAG, LOCATION};
use scim_core::activity::{ActivityEntry, ActivityQuery, Outcome};
use scim_core::license::{AuditQuery, MappingRule, MappingSource, PoolPolicy, RuleChange};
use scim_core::service::{PoolChange, UserKey};
use serde::Deserialize;
use serde_json::{Value, json};

use super::paging::{PageRequest, encode, fetched_page, invalid_cursor, page};
use super::problem::{Kind, Problem};
use super::routes::BASE;
use super::views::{self, pool_etag};
use super::{ApiResult, Call};
use crate::response::{Reply, Response};

/// `GET /api/v1/tenants/{slug}/pools`, by sku.
pub(super) async fn list_pools(call: &Call<'_>, slug: &str) -> ApiResult<Response> {
    let request = PageRequest::of(&call.params()?)?;
    let tenant = call.tenant(slug).await?;
    let pools = call.state.licenses.pools(&tenant.id).await?;
    let body = page(
        pools,
        |pool| scim_core::fold::fold_key(&pool.sku),
        &request,
        views::pool,
    );
    Ok(super::json(StatusCode::OK, &body))
}

/// `GET /api/v1/tenants/{slug}/pools/{sku}` (the sku compared case-insensitively).
pub(super) async fn get_pool(call: &Call<'_>, slug: &str, sku: &str) -> ApiResult<Response> {
    let tenant = call.tenant(slug).await?;
    let pool = call
        .state
        .licenses
        .pool(&tenant.id, sku)
        .await?
        .ok_or_else(|| no_pool(sku))?;
    Ok(Reply::new(StatusCode::OK)
        .header(ETAG, &pool_etag(&pool))
        .json(&views::pool(&pool)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PoolSeats {
    seats: i64,
    name: Option<String>,
    policy: Option<String>,
    overage: Option<i64>,
    /// Absent: kept; `null`: removed.
    #[serde(default, deserialize_with = "present")]
    starts: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    ends: Option<Option<String>>,
}

/// A member that is there, `null` or not: `Some(None)` for `null`.
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// A term's bound as the body gives it: absent (kept), RFC 3339, or `null` (removed).
fn term_bound(
    name: &str,
    bound: Option<Option<String>>,
) -> ApiResult<Option<Option<DateTime<Utc>>>> {
    bound
        .map(|text| text.map(|text| time(name, &text)).transpose())
        .transpose()
}

/// `PUT /api/v1/tenants/{slug}/pools/{sku}` `{"seats", "name"?, "policy"?, "overage"?,
/// "starts"?, "ends"?}` → 201 (new) or 200 with
/// the pool and the re-evaluation it caused; `If-Match` honoured.
pub(super) async fn put_pool(call: &Call<'_>, slug: &str, sku: &str) -> ApiResult<Response> {
    let seats: PoolSeats = call.body()?;
    // Bad values are told as such, whatever the version named.
    scim_core::license::validate_sku(sku)?;
    scim_core::license::validate_seats(seats.seats)?;
    let change = PoolChange {
        seats: seats.seats,
        name: seats.name.as_deref(),
        policy: PoolPolicy::named(seats.policy.as_deref(), seats.overage)?,
        starts: term_bound("starts", seats.starts.clone())?,
        ends: term_bound("ends", seats.ends.clone())?,
    };
    let tenant = call.tenant(slug).await?;
    let licenses = &call.state.licenses;
    let existing = licenses.pool(&tenant.id, sku).await?;
    match &existing {
        Some(pool) => call.check_if_match(&pool_etag(pool))?,
        None if call.req.header(http::header::IF_MATCH).is_some() => {
            return Err(Problem::new(
                Kind::PreconditionFailed,
                format!("If-Match names a version of pool '{sku}', which does not exist"),
            ));
        }
        None => {}
    }
    let (pool, report) = licenses
        .set_pool(&call.caller(&tenant), sku, &change)
        .await?;
    let mut body = views::pool(&pool);
    body["reevaluation"] = report.to_json();
    let status = if existing.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let location = format!(
        "{}{BASE}/tenants/{}/pools/{}",
        call.req.origin(),
        tenant.slug,
        pool.sku
    );
    Ok(Reply::new(status)
        .header(ETAG, &pool_etag(&pool))
        .header(LOCATION, &location)
        .json(&body))
}

fn no_pool(sku: &str) -> Problem {
    Problem::new(Kind::NotFound, format!("no license pool '{sku}'"))
}

/// `GET /api/v1/tenants/{slug}/rules`, by id.
pub(super) async fn list_rules(call: &Call<'_>, slug: &str) -> ApiResult<Response> {
    let request = PageRequest::of(&call.params()?)?;
    let tenant = call.tenant(slug).await?;
    let rules = call.state.licenses.rules(&tenant.id).await?;
    let body = page(
        rules,
        scim_core::license::MappingRule::id,
        &request,
        views::rule,
    );
    Ok(super::json(StatusCode::OK, &body))
}

/// `GET /api/v1/tenants/{slug}/rules/{id}`.
pub(super) async fn get_rule(call: &Call<'_>, slug: &str, id: &str) -> ApiResult<Response> {
    let tenant = call.tenant(slug).await?;
    let rule = find_rule(call, &tenant.id, id).await?;
    Ok(super::json(StatusCode::OK, &views::rule(&rule)))
}

async fn find_rule(
    call: &Call<'_>,
    tenant: &scim_core::tenant::TenantId,
    id: &str,
) -> ApiResult<scim_core::license::MappingRule> {
    call.state
        .licenses
        .rules(tenant)
        .await?
        .into_iter()
        .find(|rule| rule.id() == id)
        .ok_or_else(|| Problem::new(Kind::NotFound, format!("no mapping rule '{id}'")))
}

/// A rule's `source` as a body names it.
fn rule_source(source: &str) -> ApiResult<MappingSource> {
    MappingSource::parse(source).ok_or_else(|| {
        Problem::new(
            Kind::InvalidValue,
            format!("source must be entitlement, role or group, not '{source}'"),
        )
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRule {
    source: String,
    value: String,
    sku: String,
}

/// `POST /api/v1/tenants/{slug}/rules` `{"source": "entitlement"|"role"|"group", "value",
/// "sku"}` → 201 with the rule (its `id`) and the re-evaluation; 200 when the rule was
/// there already (nothing is re-evaluated).
pub(super) async fn add_rule(call: &Call<'_>, slug: &str) -> ApiResult<Response> {
    let new: NewRule = call.body()?;
    let source = rule_source(&new.source)?;
    let tenant = call.tenant(slug).await?;
    let (rule, report) = call
        .state
        .licenses
        .map(&call.caller(&tenant), source, &new.value, &new.sku)
        .await?;
    let status = if report.is_some() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut body = views::rule(&rule);
    body["reevaluation"] = report.unwrap_or_default().to_json();
    let location = format!(
        "{}{BASE}/tenants/{}/rules/{}",
        call.req.origin(),
        tenant.slug,
        rule.id()
    );
    Ok(Reply::new(status).header(LOCATION, &location).json(&body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewedRule {
    #[serde(default)]
    change: Option<String>,
    source: String,
    value: String,
    sku: String,
}

/// `POST /api/v1/tenants/{slug}/rule-previews` `{"change": "add"|"remove" (add when
/// absent), "source", "value", "sku"}` → 200 with what the change would do to each pool
/// (the core's engine over every user on a copy of the pools; nothing is written).
pub(super) async fn preview_rule(call: &Call<'_>, slug: &str) -> ApiResult<Response> {
    let asked: PreviewedRule = call.body()?;
    let source = rule_source(&asked.source)?;
    let tenant = call.tenant(slug).await?;
    let licenses = &call.state.licenses;
    let change = match asked.change.as_deref().unwrap_or("add") {
        "add" => RuleChange::Add(
            licenses
                .rule(&tenant.id, source, &asked.value, &asked.sku)
                .await?,
        ),
        "remove" => RuleChange::Remove(MappingRule::new(
            source,
            asked.value.trim(),
            asked.sku.trim(),
        )),
        other => {
            return Err(Problem::new(
                Kind::InvalidValue,
                format!("change must be add or remove, not '{other}'"),
            ));
        }
    };
    let preview = licenses.preview(&tenant.id, &change).await?;
    let mut body = preview.to_json();
    body["rule"] = views::rule(change.rule());
    Ok(super::json(StatusCode::OK, &body))
}

/// `DELETE /api/v1/tenants/{slug}/rules/{id}` → 200 with the rule removed and the
/// re-evaluation (the users it alone granted lose the sku).
pub(super) async fn remove_rule(call: &Call<'_>, slug: &str, id: &str) -> ApiResult<Response> {
    let tenant = call.tenant(slug).await?;
    let rule = find_rule(call, &tenant.id, id).await?;
    let report = call
        .state
        .licenses
        .unmap(&call.caller(&tenant), rule.source, &rule.value, &rule.sku)
        .await?;
    let body = json!({"removed": views::rule(&rule), "reevaluation": report.to_json()});
    Ok(super::json(StatusCode::OK, &body))
}

/// `GET /api/v1/tenants/{slug}/licenses?userName=U` (or `externalId=E`): the user and the
/// licenses it holds, as the last committed write left them; 404 for an unknown user.
pub(super) async fn lookup(call: &Call<'_>, slug: &str) -> ApiResult<Response> {
    let params = call.params()?;
    let given = |name: &str| params.get(name).filter(|value| !value.is_empty());
    let key = match (given("userName"), given("externalId")) {
        (Some(name), None) => UserKey::UserName(name.to_owned()),
        (None, Some(id)) => UserKey::ExternalId(id.to_owned()),
        _ => {
            return Err(Problem::new(
                Kind::InvalidValue,
                "name the user with exactly one of userName or externalId",
            ));
        }
    };
    found(call, slug, &key).await
}

/// `GET /api/v1/tenants/{slug}/users/{id}/licenses`.
pub(super) async fn user_licenses(call: &Call<'_>, slug: &str, id: &str) -> ApiResult<Response> {
    found(call, slug, &UserKey::Id(id.to_owned())).await
}

async fn found(call: &Call<'_>, slug: &str, key: &UserKey) -> ApiResult<Response> {
    let tenant = call.tenant(slug).await?;
    let user = call
        .state
        .resources
        .user_licenses(&tenant.id, key)
        .await?
        .ok_or_else(|| {
            let named = match key {
                UserKey::Id(id) => format!("id '{id}'"),
                UserKey::UserName(name) => format!("userName '{name}'"),
                UserKey::ExternalId(id) => format!("externalId '{id}'"),
            };
            Problem::new(
                Kind::NotFound,
                format!("no user with {named} in tenant '{slug}'"),
            )
        })?;
    Ok(super::json(StatusCode::OK, &views::user_licenses(&user)))
}

/// `GET /api/v1/tenants/{slug}/usage`: the pools and their use, the rules, and the values
/// users send that no rule maps.
pub(super) async fn usage(call: &Call<'_>, slug: &str) -> ApiResult<Response> {
    let tenant = call.tenant(slug).await?;
    let usage = call.state.licenses.usage(&tenant.id).await?;
    let body = json!({
        "tenant": tenant.slug,
        "pools": usage.pools.iter().map(views::pool).collect::<Vec<_>>(),
        "rules": usage.rules.iter().map(views::rule).collect::<Vec<_>>(),
        "unmapped": usage
            .unmapped
            .iter()
            .map(|unmapped| json!({"value": unmapped.value, "users": unmapped.users}))
            .collect::<Vec<_>>(),
    });
    Ok(super::json(StatusCode::OK, &body))
}

/// `GET /api/v1/tenants/{slug}/audit?userId=&since=&until=&limit=&cursor=`: the license
/// audit log, oldest first, a page at a time.
pub(super) async fn audit(call: &Call<'_>, slug: &str) -> ApiResult<Response> {
    let params = call.params()?;
    let request = PageRequest::of(&params)?;
    let since = params.get("since").map(|t| time("since", t)).transpose()?;
    let until = params.get("until").map(|t| time("until", t)).transpose()?;
    let user = params.get("userId").map(str::to_owned);
    // The cursor: the seq of the last entry shown (the log's own order).
    let after = match &request.after {
        Some(key) => Some(key.parse::<i64>().map_err(|_| invalid_cursor())?),
        None => None,
    };
    let tenant = call.tenant(slug).await?;
    let query = AuditQuery {
        user,
        since,
        after,
        limit: Some(u64::try_from(request.limit + 1).unwrap_or(u64::MAX)),
        newest_first: false,
    };
    let mut entries: Vec<_> = call
        .state
        .licenses
        .audit(&tenant.id, &query)
        .await?
        .into_iter()
        .filter(|entry| until.is_none_or(|until| entry.at <= until))
        .collect();
    let more = entries.len() > request.limit;
    entries.truncate(request.limit);
    let next = entries
        .last()
        .filter(|_| more)
        .and_then(|last| last.seq)
        .map(|seq| encode(&seq.to_string()));
    let body = json!({
        "data": entries.iter().map(scim_core::license::AuditEntry::to_json).collect::<Vec<_>>(),
        "next_cursor": next,
    });
    Ok(super::json(StatusCode::OK, &body))
}

/// `GET /api/v1/tenants/{slug}/activity?outcome=&resourceType=&since=&until=&limit=&cursor=`:
/// the tenant's provisioning activity (every SCIM request its IdP sent), newest first, a
/// page at a time.
pub(super) async fn activity(call: &Call<'_>, slug: &str) -> ApiResult<Response> {
    let params = call.params()?;
    let request = PageRequest::of(&params)?;
    let outcome = params
        .get("outcome")
        .map(|text| {
            Outcome::parse(text)
                .ok_or_else(|| Problem::new(Kind::InvalidValue, "outcome is success or failure"))
        })
        .transpose()?;
    // The cursor: the seq of the last entry shown.
    let before = match &request.after {
        Some(key) => Some(key.parse::<i64>().map_err(|_| invalid_cursor())?),
        None => None,
    };
    let query = ActivityQuery {
        outcome,
        resource_type: params.get("resourceType").map(str::to_owned),
        since: params.get("since").map(|t| time("since", t)).transpose()?,
        until: params.get("until").map(|t| time("until", t)).transpose()?,
        before,
        limit: request.limit + 1,
    };
    let tenant = call.tenant(slug).await?;
    let entries = call.state.activity.list(&tenant.id, &query).await?;
    let body = fetched_page(
        &entries,
        |entry| entry.seq.to_string(),
        request.limit,
        ActivityEntry::to_json,
    );
    Ok(super::json(StatusCode::OK, &body))
}

/// `GET …/pools/{sku}/true-up?from=&to=`: the pool's peak use and overage over a period.
pub(super) async fn true_up(call: &Call<'_>, slug: &str, sku: &str) -> ApiResult<Response> {
    let params = call.params()?;
    let required = |name: &str| {
        let text = params.get(name).ok_or_else(|| {
            Problem::new(
                Kind::InvalidValue,
                format!("{name} is required: an RFC 3339 time such as 2026-12-01T00:00:00Z"),
            )
        })?;
        time(name, text)
    };
    let (from, to) = (required("from")?, required("to")?);
    let tenant = call.tenant(slug).await?;
    let report = call
        .state
        .licenses
        .true_up(&tenant.id, sku, from, to)
        .await?;
    Ok(super::json(StatusCode::OK, &report.to_json()))
}

fn time(name: &str, text: &str) -> ApiResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|_| {
            Problem::new(
                Kind::InvalidValue,
                format!("{name} must be an RFC 3339 time such as 2026-12-01T00:00:00Z"),
            )
        })
}

/// `GET /api/v1/tenants/{slug}/events?limit=&cursor=`: the tenant's recorded events, oldest
/// first, as `scim-server events` lists them.
pub(super) async fn events(call: &Call<'_>, slug: &str) -> ApiResult<Response> {
    let request = PageRequest::of(&call.params()?)?;
    let after = match &request.after {
        Some(key) => key.parse::<i64>().map_err(|_| invalid_cursor())?,
        None => 0,
    };
    let tenant = call.tenant(slug).await?;
    let mut events = call
        .state
        .feed
        .events_after(&tenant.id, after, request.limit + 1)
        .await?;
    let more = events.len() > request.limit;
    events.truncate(request.limit);
    let next = events
        .last()
        .filter(|_| more)
        .map(|last| encode(&last.seq.to_string()));
    let data: Vec<Value> = events.iter().map(|event| event.feed_entry()).collect();
    Ok(super::json(
        StatusCode::OK,
        &json!({"data": data, "next_cursor": next}),
    ))
}
