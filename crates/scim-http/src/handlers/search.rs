//! `POST /.search` at the root: one query over every resource type (RFC 7644 §3.4.3).

use scim_core::ScimError;
use scim_core::project::Projection;
use scim_core::query::ListQuery;

use crate::auth::authenticate;
use crate::body::json_body;
use crate::error::{ApiError, ApiResult};
use crate::params::SearchBody;
use crate::render::{base_url, list_response, resource_json};
use crate::request::Request;
use crate::response::Response;
use crate::state::AppState;

/// Resource types are searched in registry order and paged as one concatenated list.
/// Types the filter does not apply to (it names attributes they lack) are skipped; a
/// filter that applies to none is an `invalidFilter`.
pub(crate) async fn search_all(req: &Request, state: &AppState) -> ApiResult<Response> {
    let caller = authenticate(req, state).await?;
    let body = json_body(req, state.config.max_body_bytes)?;
    let search = SearchBody::parse(&body)?;
    if search.list.cursor.is_some() {
        return Err(ApiError(ScimError::InvalidValue(
            "cursor paging is offered per resource type: send the cursor to /Users/.search or \
             /Groups/.search"
                .into(),
        )));
    }
    let base = base_url(req, &state.config);
    let (registry, schema) = state.schemas.resolve(&caller.0.custom_attributes);

    let mut first_error = None;
    let mut applicable = Vec::new();
    for rt in registry.resource_types() {
        match search.list.to_query(&registry, rt.kind) {
            Ok(query) => applicable.push((
                rt.kind,
                ListQuery {
                    schema: schema.clone(),
                    scan_limit: state.config.scan_limit,
                    ..query
                },
            )),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if applicable.is_empty() {
        return Err(ApiError(first_error.unwrap_or(ScimError::InvalidFilter(
            "the filter applies to no resource type".into(),
        ))));
    }

    let start_index = applicable.first().map_or(1, |(_, q)| q.start_index);
    let mut skip = start_index - 1;
    let mut want = applicable.first().map_or(0, |(_, q)| q.count);
    let mut total = 0;
    let mut resources = Vec::new();
    for (kind, query) in applicable {
        let projection = Projection::parse(
            &registry,
            kind,
            search.attributes.as_deref(),
            search.excluded.as_deref(),
        )?;
        let page_query = ListQuery {
            start_index: skip + 1,
            count: want,
            ..query
        };
        let page = state
            .resources
            .list(
                &caller.0.tenant,
                kind,
                &page_query,
                projection.expand(&registry, kind),
            )
            .await?;
        total += page.total;
        skip = skip.saturating_sub(page.total);
        want -= (page.resources.len() as u64).min(want);
        resources.extend(
            page.resources
                .iter()
                .map(|r| resource_json(&registry, &base, r, &projection)),
        );
    }
    Ok(list_response(total, start_index, &resources))
}
