//! Every failure leaves as an RFC 7644 §3.12 error body.

use http::StatusCode;
use http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use scim_core::ScimError;
use scim_core::bulk::OperationError;
use serde_json::Value;

use crate::response::{Reply, Response};

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

impl ApiError {
    /// The error as the client gets it: the SCIM body, the challenges of a 401, and when to
    /// retry a 429 or a 503.
    pub fn response(&self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut reply = Reply::new(status);
        if status == StatusCode::UNAUTHORIZED {
            reply = reply
                .append(WWW_AUTHENTICATE, "Bearer realm=\"scim\"")
                .append(WWW_AUTHENTICATE, "Basic realm=\"scim\"");
        }
        if let ScimError::RateLimited { retry_after } = self.0 {
            reply = reply.header(RETRY_AFTER, &retry_after.to_string());
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            reply = reply.header(RETRY_AFTER, "1");
        }
        reply.scim(&error_body(&self.0))
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// A handler's outcome as the client gets it.
pub(crate) fn respond(result: ApiResult<Response>) -> Response {
    result.unwrap_or_else(|error| error.response())
}
