//! scim-sqlite
