//! The response as the API hands it back: status, headers, the body whole. The adapter
//! sends it as it is (its server leaves the body out for HEAD).

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::SCIM_CONTENT_TYPE;

/// What the API answers.
pub type Response = http::Response<Bytes>;

/// The slug of the tenant a request authenticated as, put in the response's extensions
/// once its credential is accepted (for the server's metrics and logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedTenant(pub String);

/// The route a request matched (`/scim/v2/Users/{id}`), in the response's extensions: a
/// metric label that does not grow with the ids. Unmatched requests have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchedRoute(pub &'static str);

/// A response being built.
pub(crate) struct Reply {
    status: StatusCode,
    headers: HeaderMap,
}

impl Reply {
    pub(crate) fn new(status: StatusCode) -> Self {
        Self {
            status,
            headers: HeaderMap::new(),
        }
    }

    /// Sets a header (replacing one of the name). A value that is no valid header value
    /// (it cannot be, from our own text) is left out.
    pub(crate) fn header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.insert(name, value);
        }
        self
    }

    /// Adds a header, keeping those of the name.
    pub(crate) fn append(mut self, name: HeaderName, value: &'static str) -> Self {
        self.headers.append(name, HeaderValue::from_static(value));
        self
    }

    pub(crate) fn body(self, body: impl Into<Bytes>) -> Response {
        let mut response = http::Response::new(body.into());
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        response
    }

    /// No body.
    pub(crate) fn finish(self) -> Response {
        self.body(Bytes::new())
    }

    /// A JSON body of `content_type`.
    pub(crate) fn json_as(self, content_type: &str, body: &Value) -> Response {
        self.header(CONTENT_TYPE, content_type)
            .body(body.to_string())
    }

    /// An `application/json` body.
    pub(crate) fn json(self, body: &Value) -> Response {
        self.json_as("application/json", body)
    }

    /// An `application/scim+json` body.
    pub(crate) fn scim(self, body: &Value) -> Response {
        self.json_as(SCIM_CONTENT_TYPE, body)
    }
}
