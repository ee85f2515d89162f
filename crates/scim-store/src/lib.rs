//! scim-store
