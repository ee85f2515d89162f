//! Helpers for the acceptance tests live in main.rs.
