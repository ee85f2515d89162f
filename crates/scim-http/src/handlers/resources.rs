//! `/Users` and `/Groups`: create, read, replace, delete, list and `.search`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use scim_core::ResourceKind;
use scim_core::list_request::ListRequest;
use scim_core::paging::CursorPaging;
use scim_core::project::Projection;
use scim_core::service::Precondition;

use crate::body::{Body, json_body};
use crate::context::ResourceContext;
use crate::error::ApiResult;
use crate::handlers::bulk::bulk_response;
use crate::params::SearchBody;
use crate::render::{cursor_list_response, list_response, resource_json};

fn if_match(req: &HttpRequest) -> Precondition {
    req.headers()
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map_or(Precondition::None, Precondition::parse_if_match)
}

pub(crate) async fn create(
    req: HttpRequest,
    ctx: ResourceContext,
    body: Body,
) -> ApiResult<HttpResponse> {
    if ctx.kind == ResourceKind::User
        && ctx
            .params
            .get("bulk")
            .is_some_and(|flag| flag.eq_ignore_ascii_case("true"))
    {
        // Our extension: create or replace users by userName, through the bulk engine.
        let body = ctx.bulk_body(&req, body, ctx.state.config.bulk_max_payload_bytes)?;
        let outcomes = ctx.state.bulk.upsert_users(&ctx.writer(), &body).await?;
        return Ok(bulk_response(&outcomes, &ctx.base));
    }
    let body = ctx.body(&req, body, ctx.state.config.max_body_bytes)?;
    let created = ctx
        .state
        .resources
        .create(&ctx.writer(), ctx.kind, &body)
        .await?;
    tracing::info!(kind = %created.kind, id = %created.id, "created");
    ctx.respond(StatusCode::CREATED, &created)
}

pub(crate) async fn get(
    req: HttpRequest,
    ctx: ResourceContext,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let expand = ctx.projection()?.expand(&ctx.registry, ctx.kind);
    let resource = ctx
        .state
        .resources
        .get(ctx.tenant(), ctx.kind, &id, expand)
        .await?;
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    if if_none_match
        .is_some_and(|tags| Precondition::parse_if_match(tags).names_version(resource.meta.version))
    {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, resource.meta.etag()))
            .finish());
    }
    ctx.respond(StatusCode::OK, &resource)
}

pub(crate) async fn replace(
    req: HttpRequest,
    ctx: ResourceContext,
    id: web::Path<String>,
    body: Body,
) -> ApiResult<HttpResponse> {
    let body = ctx.body(&req, body, ctx.state.config.max_body_bytes)?;
    let replaced = ctx
        .state
        .resources
        .replace(&ctx.writer(), ctx.kind, &id, &body, &if_match(&req))
        .await?;
    tracing::info!(kind = %replaced.kind, id = %replaced.id, version = replaced.meta.version, "replaced");
    ctx.respond(StatusCode::OK, &replaced)
}

pub(crate) async fn delete(
    req: HttpRequest,
    ctx: ResourceContext,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    ctx.state
        .resources
        .delete(&ctx.writer(), ctx.kind, &id, &if_match(&req))
        .await?;
    tracing::info!(kind = %ctx.kind, id = %id, "deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// PATCH (RFC 7644 §3.5.2): 200 with the resource, projected as the query string asks, or
/// 204 when the tenant's profile prefers it.
pub(crate) async fn patch(
    req: HttpRequest,
    ctx: ResourceContext,
    id: web::Path<String>,
    body: Body,
) -> ApiResult<HttpResponse> {
    let body = ctx.body(&req, body, ctx.state.config.max_body_bytes)?;
    let expand = ctx.projection()?.expand(&ctx.registry, ctx.kind);
    let patched = ctx
        .state
        .resources
        .patch(&ctx.writer(), ctx.kind, &id, &body, &if_match(&req), expand)
        .await?;
    tracing::info!(kind = %patched.kind, id = %patched.id, version = patched.meta.version, "patched");
    if ctx
        .caller
        .0
        .compatibility
        .patch_answers_no_content(ctx.kind)
    {
        return Ok(HttpResponse::NoContent().finish());
    }
    ctx.respond(StatusCode::OK, &patched)
}

pub(crate) async fn list(ctx: ResourceContext) -> ApiResult<HttpResponse> {
    let list = ctx.params.list_request()?;
    let projection = ctx.projection()?;
    respond_list(&ctx, &list, &projection).await
}

pub(crate) async fn search(
    req: HttpRequest,
    ctx: ResourceContext,
    body: Body,
) -> ApiResult<HttpResponse> {
    let body = json_body(&req, body, ctx.state.config.max_body_bytes)?;
    let search = SearchBody::parse(&body)?;
    let projection = ctx.projection_of(search.attributes.as_deref(), search.excluded.as_deref())?;
    respond_list(&ctx, &search.list, &projection).await
}

async fn respond_list(
    ctx: &ResourceContext,
    list: &ListRequest,
    projection: &Projection,
) -> ApiResult<HttpResponse> {
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
