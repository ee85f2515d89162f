//! Reading a JSON request body: media type, size limit and syntax, each with its own error.

use actix_web::http::header;
use actix_web::{HttpRequest, web};
use scim_core::ScimError;
use serde_json::Value;

use crate::error::ApiError;

/// Parses the body as JSON. `body` is actix's extraction result, which fails when the body
/// is larger than the configured limit.
/// A request body as handlers take it (read whole, up to the route's limit).
pub(crate) type Body = Result<actix_web::web::Bytes, actix_web::Error>;

pub(crate) fn json_body(
    req: &HttpRequest,
    body: Result<web::Bytes, actix_web::Error>,
    limit: usize,
) -> Result<Value, ApiError> {
    check_media_type(req)?;
    let bytes = body.map_err(|e| {
        let status = e.as_response_error().status_code().as_u16();
        ApiError(if status == 413 {
            too_large(limit)
        } else {
            ScimError::InvalidSyntax("the request body could not be read".into())
        })
    })?;
    if bytes.len() > limit {
        return Err(ApiError(too_large(limit)));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError(ScimError::InvalidSyntax(
            "the request body is empty".into(),
        )));
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError(ScimError::InvalidSyntax(format!(
            "the request body is not valid JSON: {e}"
        )))
    })
}

fn too_large(limit: usize) -> ScimError {
    ScimError::PayloadTooLarge(format!(
        "the request body exceeds the limit of {limit} bytes"
    ))
}

/// `application/scim+json`, `application/json`, any `+json` type, or no type at all.
fn check_media_type(req: &HttpRequest) -> Result<(), ApiError> {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let media = value.to_str().unwrap_or_default();
    let essence = media
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
    {
        Ok(())
    } else {
        Err(ApiError(ScimError::UnsupportedMediaType(format!(
            "Content-Type '{media}' is not accepted; send application/scim+json"
        ))))
    }
}
