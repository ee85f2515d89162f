//! `/Users` and `/Groups`: create, read, replace, delete, list and `.search`.

use http::{StatusCode, header};
use scim_core::ResourceKind;
use scim_core::list_request::ListRequest;
use scim_core::paging::CursorPaging;
use scim_core::project::Projection;
use scim_core::service::Precondition;

use crate::activity::note;
use crate::body::json_body;
use crate::context::ResourceContext;
use crate::error::ApiResult;
use crate::handlers::bulk::bulk_response;
use crate::params::SearchBody;
use crate::render::{cursor_list_response, list_response, resource_json};
use crate::request::Request;
use crate::response::{Reply, Response};

fn if_match(req: &Request) -> Precondition {
    req.header(header::IF_MATCH)
        .map_or(Precondition::None, Precondition::parse_if_match)
}

pub(crate) async fn create(req: &Request, ctx: ResourceContext<'_>) -> ApiResult<Response> {
    if ctx.kind == ResourceKind::User
        && ctx
            .params
            .get("bulk")
            .is_some_and(|flag| flag.eq_ignore_ascii_case("true"))
    {
        // Our extension: create or replace users by userName, through the bulk engine.
        let body = ctx.bulk_body(req, ctx.state.config.bulk_max_payload_bytes)?;
        let outcomes = ctx.state.bulk.upsert_users(&ctx.writer(), &body).await?;
        return Ok(bulk_response(&outcomes, &ctx.base));
    }
    let body = ctx.body(req, ctx.state.config.max_body_bytes)?;
    let created = ctx
        .state
        .resources
        .create(&ctx.writer(), ctx.kind, &body)
        .await?;
    tracing::info!(kind = %created.kind, id = %created.id, "created");
    note(req, &created);
    ctx.respond(StatusCode::CREATED, &created)
}

pub(crate) async fn get(req: &Request, ctx: ResourceContext<'_>, id: &str) -> ApiResult<Response> {
    let expand = ctx.projection()?.expand(&ctx.registry, ctx.kind);
    let resource = ctx
        .state
        .resources
        .get(ctx.tenant(), ctx.kind, id, expand)
        .await?;
    note(req, &resource);
    if req
        .header(header::IF_NONE_MATCH)
        .is_some_and(|tags| Precondition::parse_if_match(tags).names_version(resource.meta.version))
    {
        return Ok(Reply::new(StatusCode::NOT_MODIFIED)
            .header(header::ETAG, &resource.meta.etag())
            .finish());
    }
    ctx.respond(StatusCode::OK, &resource)
}

pub(crate) async fn replace(
    req: &Request,
    ctx: ResourceContext<'_>,
    id: &str,
) -> ApiResult<Response> {
    let body = ctx.body(req, ctx.state.config.max_body_bytes)?;
    let replaced = ctx
        .state
        .resources
        .replace(&ctx.writer(), ctx.kind, id, &body, &if_match(req))
        .await?;
    tracing::info!(kind = %replaced.kind, id = %replaced.id, version = replaced.meta.version, "replaced");
    note(req, &replaced);
    ctx.respond(StatusCode::OK, &replaced)
}

pub(crate) async fn delete(
    req: &Request,
    ctx: ResourceContext<'_>,
    id: &str,
) -> ApiResult<Response> {
    ctx.state
        .resources
        .delete(&ctx.writer(), ctx.kind, id, &if_match(req))
        .await?;
    tracing::info!(kind = %ctx.kind, id = %id, "deleted");
    req.note_resource(id, None);
    Ok(Reply::new(StatusCode::NO_CONTENT).finish())
}

/// PATCH (RFC 7644 §3.5.2): 200 with the resource, projected as the query string asks, or
/// 204 when the tenant's profile prefers it.
pub(crate) async fn patch(
    req: &Request,
    ctx: ResourceContext<'_>,
    id: &str,
) -> ApiResult<Response> {
    let body = ctx.body(req, ctx.state.config.max_body_bytes)?;
    let expand = ctx.projection()?.expand(&ctx.registry, ctx.kind);
    let patched = ctx
        .state
        .resources
        .patch(&ctx.writer(), ctx.kind, id, &body, &if_match(req), expand)
        .await?;
    tracing::info!(kind = %patched.kind, id = %patched.id, version = patched.meta.version, "patched");
    note(req, &patched);
    if ctx
        .caller
        .0
        .compatibility
        .patch_answers_no_content(ctx.kind)
    {
        return Ok(Reply::new(StatusCode::NO_CONTENT).finish());
    }
    ctx.respond(StatusCode::OK, &patched)
}

pub(crate) async fn list(ctx: ResourceContext<'_>) -> ApiResult<Response> {
    let list = ctx.params.list_request()?;
    let projection = ctx.projection()?;
    respond_list(&ctx, &list, &projection).await
}

pub(crate) async fn search(req: &Request, ctx: ResourceContext<'_>) -> ApiResult<Response> {
    let body = json_body(req, ctx.state.config.max_body_bytes)?;
    let search = SearchBody::parse(&body)?;
    let projection = ctx.projection_of(search.attributes.as_deref(), search.excluded.as_deref())?;
    respond_list(&ctx, &search.list, &projection).await
}

async fn respond_list(
    ctx: &ResourceContext<'_>,
    list: &ListRequest,
    projection: &Projection,
) -> ApiResult<Response> {
    let mut query = list.to_query(&ctx.registry, ctx.kind)?;
    query.schema = ctx.schema.clone();
    query.scan_limit = ctx.state.config.scan_limit;
    let codec = &ctx.state.cursors;
    let now = ctx.state.clock.now();
    // RFC 9865: a `cursor` parameter (empty for the first page) selects cursor paging;
    // index paging stays the default.
    let paging = list
        .cursor
        .as_deref()
        .map(|cursor| {
            let sent = (cursor, list.count.is_some());
            CursorPaging::plan(codec, sent, ctx.tenant(), ctx.kind, query.clone(), now)
        })
        .transpose()?;
    let query = paging.as_ref().map_or(&query, |paging| &paging.query);
    let page = ctx
        .state
        .resources
        .list(
            ctx.tenant(),
            ctx.kind,
            query,
            projection.expand(&ctx.registry, ctx.kind),
        )
        .await?;
    let resources: Vec<_> = page
        .resources
        .iter()
        .map(|r| resource_json(&ctx.registry, &ctx.base, r, projection))
        .collect();
    Ok(match paging {
        None => list_response(page.total, query.start_index, &resources),
        Some(paging) => {
            let (next, previous) = paging.cursors(codec, ctx.tenant(), ctx.kind, &page, now);
            cursor_list_response(page.total, &resources, next, previous)
        }
    })
}
