//! scim-http
