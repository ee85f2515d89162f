//! scim-postgres
