//! Errors with SCIM meaning (RFC 7644 §3.12) and the storage ports' error.

#![warn(missing_docs)]

use thiserror::Error;

/// An error a client may see: each variant fixes the HTTP status and `scimType`; the message
/// is the `detail`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ScimError {
    /// 400 `invalidFilter`: a filter that does not parse or cannot be evaluated.
    #[error("{0}")]
    InvalidFilter(String),
    /// 400 `invalidSyntax`: a body or parameter that does not parse.
    #[error("{0}")]
    InvalidSyntax(String),
    /// 400 `invalidValue`: a value the schema refuses.
    #[error("{0}")]
    InvalidValue(String),
    /// 400 `invalidPath`: a PATCH path that does not parse or names nothing.
    #[error("{0}")]
    InvalidPath(String),
    /// 400 `noTarget`: a PATCH path whose filter matches nothing.
    #[error("{0}")]
    NoTarget(String),
    /// 400 `mutability`: a write of a readOnly or immutable attribute.
    #[error("{0}")]
    Mutability(String),
    /// 409 `uniqueness`: a unique attribute (`userName`, …) is taken.
    #[error("{0}")]
    Uniqueness(String),
    /// 400 `tooMany`: a query or request beyond what the server evaluates.
    #[error("{0}")]
    TooMany(String),
    /// 400 `invalidVers`: a malformed `If-Match`.
    #[error("{0}")]
    InvalidVersion(String),
    /// RFC 9865 §2.1: a cursor this server did not issue for this query.
    #[error("{0}")]
    InvalidCursor(String),
    /// RFC 9865 §2.1: a cursor older than `cursorTimeout`.
    #[error("{0}")]
    ExpiredCursor(String),
    /// RFC 9865 §2.1: a `count` other than the cursor's query's.
    #[error("{0}")]
    InvalidCount(String),
    /// 404: no such resource in this tenant.
    #[error("{0}")]
    NotFound(String),
    /// 412: `If-Match` names another version.
    #[error("{0}")]
    PreconditionFailed(String),
    /// 409 without a scimType (circular bulkId references, RFC 7644 §3.7.1).
    #[error("{0}")]
    Conflict(String),
    /// 413: a body or bulk request over the limits.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 401: no working credential (the same answer for every reason).
    #[error("{0}")]
    Unauthorized(String),
    /// 403: a credential that may not do this (no SCIM answer uses it today).
    #[error("{0}")]
    Forbidden(String),
    /// 405.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 415: a body that is not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 501: a feature the server does not offer.
    #[error("{0}")]
    NotImplemented(String),
    /// 400 `invalidValue`: the write needs a seat the pool does not have.
    #[error("license pool '{pool}' has no free seat: {used} of {seats} seats are assigned")]
    SeatsExhausted {
        /// The pool, as it spells its sku.
        pool: String,
        /// Seats bought.
        seats: i64,
        /// Seats in use.
        used: i64,
    },
    /// 429 with `Retry-After`.
    #[error("too many requests; retry after {retry_after} s")]
    RateLimited {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// 503: the store failed for now; the client may retry.
    #[error("the store is unavailable; retry later")]
    Unavailable,
    /// 500: the server's fault; retrying will not help.
    #[error("internal server error")]
    Internal,
}

impl ScimError {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidFilter(_)
            | Self::InvalidSyntax(_)
            | Self::InvalidValue(_)
            | Self::InvalidPath(_)
            | Self::NoTarget(_)
            | Self::Mutability(_)
            | Self::TooMany(_)
            | Self::InvalidVersion(_)
            | Self::InvalidCursor(_)
            | Self::ExpiredCursor(_)
            | Self::InvalidCount(_)
            | Self::SeatsExhausted { .. } => 400,
            Self::Unauthorized(_) => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound(_) => 404,
            Self::MethodNotAllowed(_) => 405,
            Self::Uniqueness(_) | Self::Conflict(_) => 409,
            Self::PreconditionFailed(_) => 412,
            Self::PayloadTooLarge(_) => 413,
            Self::RateLimited { .. } => 429,
            Self::UnsupportedMediaType(_) => 415,
            Self::Internal => 500,
            Self::NotImplemented(_) => 501,
            Self::Unavailable => 503,
        }
    }

    /// The `scimType` keyword of RFC 7644 Table 9, where one applies.
    pub fn scim_type(&self) -> Option<&'static str> {
        Some(match self {
            Self::InvalidFilter(_) => "invalidFilter",
            Self::InvalidSyntax(_) => "invalidSyntax",
            Self::InvalidValue(_) | Self::SeatsExhausted { .. } => "invalidValue",
            Self::InvalidPath(_) => "invalidPath",
            Self::NoTarget(_) => "noTarget",
            Self::Mutability(_) => "mutability",
            Self::Uniqueness(_) => "uniqueness",
            Self::TooMany(_) => "tooMany",
            Self::InvalidVersion(_) => "invalidVers",
            Self::InvalidCursor(_) => "invalidCursor",
            Self::ExpiredCursor(_) => "expiredCursor",
            Self::InvalidCount(_) => "invalidCount",
            _ => return None,
        })
    }

    /// The `detail` text.
    pub fn detail(&self) -> String {
        self.to_string()
    }
}

/// What a storage port can fail with. Adapters map their driver's errors into it, so the
/// core never names a database library.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No such row (a resource, a tenant, a pool, a rule).
    #[error("not found")]
    NotFound,
    /// A uniqueness constraint on `attribute` rejected the write.
    #[error("'{attribute}' is already taken")]
    Conflict {
        /// The attribute as a client knows it (`userName`, `slug`, `id`, …).
        attribute: String,
    },
    /// The stored version is not the one the write was planned against.
    #[error("the resource changed since it was read")]
    VersionMismatch,
    /// A membership change names a member that is no User or Group of the tenant, or adds a
    /// group to itself.
    #[error("'{value}' is not a User or Group of this tenant")]
    InvalidReference {
        /// The id named.
        value: String,
    },
    /// A license assignment needs a seat the pool `sku` does not have.
    #[error("license pool '{sku}' has no free seat ({used} of {seats} assigned)")]
    SeatsExhausted {
        /// As the pool spells it.
        sku: String,
        /// Seats bought.
        seats: i64,
        /// Seats in use.
        used: i64,
    },
    /// A query the store would have to evaluate in memory selects more than its
    /// [`scan_limit`](crate::query::ListQuery::scan_limit) candidates.
    #[error("the query selects more than {limit} resources to evaluate one by one")]
    TooManyCandidates {
        /// The query's scan limit.
        limit: u64,
    },
    /// The store could not be reached or failed for now (a lost connection, a full disk, a
    /// timeout): the client may retry. The source is logged, never shown.
    #[error("store unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A stored row the store cannot read, or a store's own bug: retrying cannot help, so
    /// the client gets a 500, never a 503. The source is logged, never shown.
    #[error("stored data is corrupt or a store bug: {0}")]
    Corrupt(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// [`Self::Unavailable`] from any error.
    pub fn unavailable(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Unavailable(source.into())
    }

    /// [`Self::Corrupt`] from any error.
    pub fn corrupt(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Corrupt(source.into())
    }

    /// What a SCIM client is told of this failure while working on a `subject` (`User`,
    /// `Group`, …): the one mapping of store errors to SCIM errors.
    pub fn into_scim(self, subject: &str) -> ScimError {
        match self {
            Self::NotFound => ScimError::NotFound(format!("{subject} not found")),
            Self::Conflict { attribute } => ScimError::Uniqueness(format!(
                "a {subject} with this {attribute} already exists in this tenant"
            )),
            Self::VersionMismatch => ScimError::PreconditionFailed(format!(
                "the {subject} changed since it was read; read it again and retry"
            )),
            Self::InvalidReference { value } => ScimError::InvalidValue(format!(
                "member '{value}' is not a User or Group of this tenant"
            )),
            Self::SeatsExhausted { sku, seats, used } => ScimError::SeatsExhausted {
                pool: sku,
                seats,
                used,
            },
            Self::TooManyCandidates { limit } => ScimError::TooMany(format!(
                "the filter or sort reads attributes no index holds, and selects more than \
                 {limit} {subject}s to evaluate one by one: narrow the filter with an indexed \
                 attribute (id, userName, externalId, displayName, meta.created, \
                 meta.lastModified) or sort on one"
            )),
            Self::Unavailable(_) => ScimError::Unavailable,
            Self::Corrupt(_) => ScimError::Internal,
        }
    }

    /// What a client is told where no domain error applies (the caller handled those it
    /// expects): an outage may be retried (503), anything else is the server's (500).
    pub fn as_outage(&self) -> ScimError {
        match self {
            Self::Unavailable(_) => ScimError::Unavailable,
            _ => ScimError::Internal,
        }
    }
}

/// A result whose error a client may see.
pub type ScimResult<T> = Result<T, ScimError>;

#[cfg(test)]
mod store_error_tests {
    use super::*;

    #[test]
    fn only_an_outage_asks_the_client_to_retry() {
        let corrupt = StoreError::corrupt("data is not JSON");
        let outage = StoreError::unavailable("connection refused");
        assert_eq!(corrupt.as_outage().status(), 500);
        assert_eq!(outage.as_outage().status(), 503);
        assert_eq!(StoreError::corrupt("x").into_scim("User").status(), 500);
        assert_eq!(StoreError::unavailable("x").into_scim("User").status(), 503);
        let gone = StoreError::NotFound.into_scim("Group");
        assert_eq!(
            (gone.status(), gone.detail()),
            (404, "Group not found".to_owned())
        );
        // The cause never reaches the client.
        assert!(!corrupt.into_scim("User").detail().contains("JSON"));
    }
}
