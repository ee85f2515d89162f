//! The request as the API reads it: what every HTTP server hands over (method, URI,
//! headers, the body read whole) and, as extensions, what only the server knows (the
//! peer's address, its TLS client certificate, the request id, whether the body was cut
//! off).

use std::net::SocketAddr;
use std::sync::OnceLock;

use bytes::Bytes;
use http::header::AsHeaderName;
use http::request::Parts;
use http::{HeaderMap, Method};

use crate::activity::{Caller, Noted};
use crate::response::AuthenticatedTenant;

/// The connection's peer (set by the adapter). Without it the client counts as `0.0.0.0`
/// for the per-address limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// The connection is TLS (set by the adapter): URLs the API builds from the request are
/// `https://` unless a proxy says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Secure;

/// Set by the adapter when it stopped reading a body longer than
/// [`crate::ScimApi::body_limit`]: the API answers 413 where it reads the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyTooLarge;

/// The id the server gave the request (echoed as `X-Request-Id`, named in the audit log's
/// cause); set by the server's middleware.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// A request on its way through the API.
pub(crate) struct Request {
    parts: Parts,
    body: Bytes,
    /// The tenant its credential was accepted for, once it is.
    tenant: OnceLock<AuthenticatedTenant>,
    /// The same, with the credential's id, for the activity log.
    caller: OnceLock<Caller>,
    /// The resource its handler read or wrote.
    noted: OnceLock<Noted>,
}

impl Request {
    pub(crate) fn new(request: http::Request<Bytes>) -> Self {
        let (parts, body) = request.into_parts();
        Self {
            parts,
            body,
            tenant: OnceLock::new(),
            caller: OnceLock::new(),
            noted: OnceLock::new(),
        }
    }

    /// Notes who the request authenticated as (its activity entry names them).
    pub(crate) fn called_by(&self, caller: Caller) {
        self.caller.set(caller).ok();
    }

    pub(crate) fn caller(&self) -> Option<&Caller> {
        self.caller.get()
    }

    /// Notes the resource the request read or wrote: its id and `userName` or
    /// `displayName` (the first note stands).
    pub(crate) fn note_resource(&self, id: &str, name: Option<&str>) {
        let noted = Noted {
            id: Some(id.to_owned()),
            name: name.map(str::to_owned),
        };
        self.noted.set(noted).ok();
    }

    pub(crate) fn noted(&self) -> Option<&Noted> {
        self.noted.get()
    }

    /// Notes the tenant the request authenticated as (the response will carry it).
    pub(crate) fn authenticated_as(&self, tenant: AuthenticatedTenant) {
        self.tenant.set(tenant).ok();
    }

    /// The tenant the request authenticated as, if it did.
    pub(crate) fn into_tenant(self) -> Option<AuthenticatedTenant> {
        self.tenant.into_inner()
    }

    pub(crate) fn method(&self) -> &Method {
        &self.parts.method
    }

    pub(crate) fn path(&self) -> &str {
        self.parts.uri.path()
    }

    pub(crate) fn query_string(&self) -> &str {
        self.parts.uri.query().unwrap_or_default()
    }

    pub(crate) fn headers(&self) -> &HeaderMap {
        &self.parts.headers
    }

    /// A header's value, when it is text.
    pub(crate) fn header(&self, name: impl AsHeaderName) -> Option<&str> {
        self.parts.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn extension<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.parts.extensions.get::<T>()
    }

    pub(crate) fn parts(&self) -> &Parts {
        &self.parts
    }

    /// The body as read, or `None` when the adapter cut it off ([`BodyTooLarge`]).
    pub(crate) fn body(&self) -> Option<&Bytes> {
        (self.extension::<BodyTooLarge>().is_none()).then_some(&self.body)
    }

    /// `METHOD /path (request <id>)`: what the writes of a request are audited with.
    pub(crate) fn cause(&self) -> String {
        match self.extension::<RequestId>() {
            Some(RequestId(id)) => format!("{} {} (request {id})", self.method(), self.path()),
            None => format!("{} {}", self.method(), self.path()),
        }
    }

    /// How the client reached the server, `scheme://host`, as a proxy or the connection
    /// says: `Forwarded` (`proto=`, `host=`), else `X-Forwarded-Proto` and
    /// `X-Forwarded-Host`, else the URI's and `Host`, else `http` (`https` on a TLS
    /// connection) and `localhost`.
    pub(crate) fn origin(&self) -> String {
        let forwarded = |key: &str| -> Option<String> {
            let value = self.header(http::header::FORWARDED)?;
            value
                .split([';', ','])
                .filter_map(|pair| pair.split_once('='))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case(key))
                .map(|(_, value)| value.trim().trim_matches('"').to_owned())
        };
        let first = |name: &str| {
            self.header(name)
                .and_then(|value| value.split(',').next())
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let scheme = forwarded("proto")
            .or_else(|| first("x-forwarded-proto"))
            .or_else(|| self.parts.uri.scheme_str().map(str::to_owned))
            .unwrap_or_else(|| {
                if self.extension::<Secure>().is_some() {
                    "https".to_owned()
                } else {
                    "http".to_owned()
                }
            });
        let host = forwarded("host")
            .or_else(|| first("x-forwarded-host"))
            .or_else(|| self.header(http::header::HOST).map(str::to_owned))
            .or_else(|| self.parts.uri.authority().map(|a| a.as_str().to_owned()))
            .unwrap_or_else(|| "localhost".to_owned());
        format!("{scheme}://{host}")
    }
}
