//! Every failure leaves as an RFC 7644 §3.12 error body.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use scim_core::ScimError;
use scim_core::bulk::OperationError;
use serde_json::{Map, Value, json};

use crate::SCIM_CONTENT_TYPE;

pub(crate) const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A [`ScimError`] on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub ScimError);

impl From<ScimError> for ApiError {
    fn from(error: ScimError) -> Self {
        Self(error)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The SCIM error body: `status` is a string, as RFC 7644 §3.12 shows it.
pub(crate) fn error_body(error: &ScimError) -> Value {
    operation_error_body(&OperationError::from(error))
}

/// The error body of a failed bulk operation (the same body a single request gets).
pub(crate) fn operation_error_body(error: &OperationError) -> Value {
    let mut body = Map::new();
    body.insert("schemas".into(), json!([ERROR_SCHEMA]));
    body.insert("status".into(), json!(error.status.to_string()));
    if let Some(scim_type) = &error.scim_type {
        body.insert("scimType".into(), json!(scim_type));
    }
    body.insert("detail".into(), json!(error.detail));
    Value::Object(body)
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, SCIM_CONTENT_TYPE));
        if self.0.status() == 401 {
            response
                .append_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"scim\""),
                ))
                .append_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"scim\""),
                ));
        }
        if let ScimError::RateLimited { retry_after } = self.0 {
            response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
        }
        if self.0.status() == 503 {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
        }
        response.body(error_body(&self.0).to_string())
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;
