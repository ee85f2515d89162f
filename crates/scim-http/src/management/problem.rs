//! Every failure of the Management API leaves as an RFC 9457 problem
//! (`application/problem+json`): `type` (a URN naming the kind), `title` (the kind in
//! words, the same for every problem of the type), `status`, `detail` (this occurrence,
//! never a secret) and `requestId` (the `X-Request-Id` of the request).

use http::StatusCode;
use http::header::{ALLOW, RETRY_AFTER, WWW_AUTHENTICATE};
use scim_core::ScimError;
use scim_core::StoreError;
use scim_core::service::{ApiKeyError, IdempotencyError, LicenseError, ReceiverError, TenantError};
use serde_json::json;

use crate::request::{Request, RequestId};
use crate::response::{Reply, Response};

/// The media type of a problem (RFC 9457 §3).
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Where problem types live: `urn:scim-license:problem:<kind>`.
pub const PROBLEM_TYPE_PREFIX: &str = "urn:scim-license:problem:";

/// The kinds of problem, each with its status and title.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The body is not JSON, or not the shape the operation takes.
    InvalidBody,
    /// A value of the body or the query is refused.
    InvalidValue,
    /// A cursor this API did not hand out.
    InvalidCursor,
    /// What the cursor points after was removed by retention.
    Gone,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PreconditionFailed,
    PayloadTooLarge,
    UnsupportedMediaType,
    /// An `Idempotency-Key` reused with another request.
    IdempotencyKeyReused,
    RateLimited,
    Internal,
    Unavailable,
}

impl Kind {
    fn status(self) -> StatusCode {
        match self {
            Self::InvalidBody | Self::InvalidValue | Self::InvalidCursor => StatusCode::BAD_REQUEST,
            Self::Gone => StatusCode::GONE,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict => StatusCode::CONFLICT,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The last part of the type URN.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::InvalidBody => "invalid-body",
            Self::InvalidValue => "invalid-value",
            Self::InvalidCursor => "invalid-cursor",
            Self::Gone => "gone",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::Conflict => "conflict",
            Self::PreconditionFailed => "precondition-failed",
            Self::PayloadTooLarge => "payload-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::IdempotencyKeyReused => "idempotency-key-reused",
            Self::RateLimited => "rate-limited",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::InvalidBody => "The request body is not what the operation takes",
            Self::InvalidValue => "A value of the request is refused",
            Self::InvalidCursor => "The cursor is not one this API handed out",
            Self::Gone => "What the cursor reads on from was removed by retention",
            Self::Unauthorized => "A valid API key is required",
            Self::Forbidden => "The API key lacks the scope this operation needs",
            Self::NotFound => "No such resource",
            Self::MethodNotAllowed => "The method is not allowed on this resource",
            Self::Conflict => "The resource already exists",
            Self::PreconditionFailed => "The resource changed since it was read",
            Self::PayloadTooLarge => "The request body is too large",
            Self::UnsupportedMediaType => "The request body's media type is not JSON",
            Self::IdempotencyKeyReused => "The Idempotency-Key was used for another request",
            Self::RateLimited => "Too many requests",
            Self::Internal => "Internal server error",
            Self::Unavailable => "The service is unavailable; retry later",
        }
    }
}

/// A failure on its way to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) kind: Kind,
    pub(crate) detail: String,
    retry_after: Option<u64>,
    allow: Option<&'static str>,
}

impl Problem {
    pub(crate) fn new(kind: Kind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            retry_after: None,
            allow: None,
        }
    }

    /// A 405 naming the methods the resource allows.
    pub(crate) fn method_not_allowed(method: &http::Method, allow: &'static str) -> Self {
        Self {
            allow: Some(allow),
            ..Self::new(
                Kind::MethodNotAllowed,
                format!("{method} is not allowed here; this resource allows {allow}"),
            )
        }
    }

    /// A 429 to retry after `seconds`.
    pub(crate) fn rate_limited(seconds: u64) -> Self {
        Self {
            retry_after: Some(seconds),
            ..Self::new(
                Kind::RateLimited,
                format!("this API key sent too many requests; retry after {seconds} s"),
            )
        }
    }

    /// The response: the problem body, `WWW-Authenticate` on a 401, `Allow` on a 405,
    /// `Retry-After` on a 429 or a 503.
    pub(crate) fn response(&self, req: &Request) -> Response {
        let status = self.kind.status();
        let mut reply = Reply::new(status);
        if status == StatusCode::UNAUTHORIZED {
            reply = reply.append(WWW_AUTHENTICATE, "Bearer realm=\"api\"");
        }
        if let Some(allow) = self.allow {
            reply = reply.header(ALLOW, allow);
        }
        match (self.retry_after, status) {
            (Some(seconds), _) => reply = reply.header(RETRY_AFTER, &seconds.to_string()),
            (None, StatusCode::SERVICE_UNAVAILABLE) => reply = reply.header(RETRY_AFTER, "1"),
            _ => {}
        }
        let mut body = json!({
            "type": format!("{PROBLEM_TYPE_PREFIX}{}", self.kind.name()),
            "title": self.kind.title(),
            "status": status.as_u16(),
            "detail": self.detail,
        });
        if let Some(RequestId(id)) = req.extension::<RequestId>() {
            body["requestId"] = json!(id);
        }
        reply.json_as(PROBLEM_CONTENT_TYPE, &body)
    }
}

impl From<ScimError> for Problem {
    fn from(error: ScimError) -> Self {
        let kind = match &error {
            ScimError::InvalidSyntax(_) => Kind::InvalidBody,
            ScimError::InvalidCursor(_) | ScimError::ExpiredCursor(_) => Kind::InvalidCursor,
            ScimError::Unauthorized(_) => Kind::Unauthorized,
            ScimError::Forbidden(_) => Kind::Forbidden,
            ScimError::NotFound(_) => Kind::NotFound,
            ScimError::MethodNotAllowed(_) => Kind::MethodNotAllowed,
            ScimError::Uniqueness(_) | ScimError::Conflict(_) => Kind::Conflict,
            ScimError::PreconditionFailed(_) => Kind::PreconditionFailed,
            ScimError::PayloadTooLarge(_) => Kind::PayloadTooLarge,
            ScimError::UnsupportedMediaType(_) => Kind::UnsupportedMediaType,
            ScimError::RateLimited { retry_after } => return Self::rate_limited(*retry_after),
            ScimError::Unavailable => Kind::Unavailable,
            ScimError::Internal | ScimError::NotImplemented(_) => Kind::Internal,
            _ => Kind::InvalidValue,
        };
        Self::new(kind, error.to_string())
    }
}

impl From<StoreError> for Problem {
    fn from(error: StoreError) -> Self {
        store_problem(&error)
    }
}

impl From<scim_core::service::FeedError> for Problem {
    fn from(error: scim_core::service::FeedError) -> Self {
        match error {
            scim_core::service::FeedError::Store(error) => store_problem(&error),
            pruned => Self::new(Kind::Gone, pruned.to_string()),
        }
    }
}

impl From<TenantError> for Problem {
    fn from(error: TenantError) -> Self {
        let kind = match &error {
            TenantError::InvalidSlug(_) | TenantError::InvalidSetting(_) => Kind::InvalidValue,
            TenantError::Exists(_) => Kind::Conflict,
            TenantError::UnknownTenant(_)
            | TenantError::UnknownToken(_)
            | TenantError::UnknownClient(_)
            | TenantError::UnknownAttribute(_)
            | TenantError::UnknownLink(_) => Kind::NotFound,
            TenantError::Store(store) => return store_problem(store),
            _ => Kind::InvalidValue,
        };
        Self::new(kind, error.to_string())
    }
}

impl From<LicenseError> for Problem {
    fn from(error: LicenseError) -> Self {
        match error {
            LicenseError::Invalid(scim) => scim.into(),
            LicenseError::UnknownPool(sku) => {
                Self::new(Kind::NotFound, format!("no license pool '{sku}'"))
            }
            LicenseError::UnknownRule(rule) => {
                Self::new(Kind::NotFound, format!("no such mapping rule: {rule}"))
            }
            LicenseError::Store(store) => store_problem(&store),
            other => Self::new(Kind::InvalidValue, other.to_string()),
        }
    }
}

impl From<ApiKeyError> for Problem {
    fn from(error: ApiKeyError) -> Self {
        let kind = match &error {
            ApiKeyError::Unauthorized => Kind::Unauthorized,
            ApiKeyError::Forbidden(_) => Kind::Forbidden,
            ApiKeyError::UnknownKey(_) => Kind::NotFound,
            &ApiKeyError::RateLimited(seconds) => {
                return Self {
                    retry_after: Some(seconds),
                    ..Self::new(Kind::RateLimited, error.to_string())
                };
            }
            ApiKeyError::Store(store) => return store_problem(store),
            _ => Kind::InvalidValue,
        };
        Self::new(kind, error.to_string())
    }
}

impl From<IdempotencyError> for Problem {
    fn from(error: IdempotencyError) -> Self {
        let kind = match &error {
            IdempotencyError::Reused => Kind::IdempotencyKeyReused,
            IdempotencyError::InFlight => Kind::Conflict,
            IdempotencyError::Store(store) => return store_problem(store),
            _ => Kind::Internal,
        };
        Self::new(kind, error.to_string())
    }
}

impl From<ReceiverError> for Problem {
    fn from(error: ReceiverError) -> Self {
        let kind = match &error {
            ReceiverError::UnknownTenant(_) | ReceiverError::UnknownReceiver(_) => Kind::NotFound,
            ReceiverError::Store(store) => return store_problem(store),
            _ => Kind::InvalidValue,
        };
        Self::new(kind, error.to_string())
    }
}

/// A store failure: its cause is logged where it happened; the client is told what it can
/// act on (not found, taken, retry) and nothing more.
fn store_problem(error: &StoreError) -> Problem {
    match error {
        StoreError::NotFound => Problem::new(Kind::NotFound, "not found"),
        StoreError::Conflict { attribute } => {
            Problem::new(Kind::Conflict, format!("'{attribute}' is already taken"))
        }
        other => other.as_outage().into(),
    }
}
