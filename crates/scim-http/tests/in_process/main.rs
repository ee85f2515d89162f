//! The in-process tier: the SCIM API on the reference store (`scim-memory`), called without
//! a socket, a process or a database, in milliseconds per test. It holds the HTTP layer to
//! the behaviour IdPs see (status codes, headers, bodies, errors); the end-to-end suite
//! (`tests/` at the workspace root) starts the real binary for what only it can show.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: failing loudly on a broken fixture is the point"
)]

mod api;
mod discovery;
mod errors;
mod groups;
mod licenses;
mod users;
