//! scim-server
