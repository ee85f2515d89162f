//! Every failure leaves as an RFC 7644 §3.12 error body.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use scim_core::ScimError;
use scim_core::bulk::OperationError;
use serde_json::Value;

use crate::SCIM_CONTENT_TYPE;

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
    OperationError::from(error).body()
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
