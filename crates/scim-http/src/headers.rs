//! Headers every response carries, whatever answered it:
//!
//! - `X-Content-Type-Options: nosniff`: a browser never guesses a type we did not send (a
//!   SCIM error echoing a client's text is not HTML);
//! - `Cache-Control: no-store` unless the handler chose a policy: directory data, tokens
//!   and errors are nobody's to cache (the JWK Set chooses to be cacheable);
//! - `Strict-Transport-Security` when browsers reach the server over HTTPS (it serves
//!   TLS, or its public URL is `https://`), so they never try plain HTTP again.

use http::HeaderMap;
use http::header::{CACHE_CONTROL, HeaderValue, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS};

/// One year, as HSTS preload lists ask.
const HSTS: &str = "max-age=31536000";

/// Adds the headers every response carries to `headers`.
pub fn add_security_headers(headers: &mut HeaderMap, https: bool) {
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if https {
        headers.insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
}
