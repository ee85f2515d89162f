//! The diesel code both stores share, written once against a connection enum over SQLite
//! and PostgreSQL: connections and their setup, embedded migrations, rows, the repositories
//! implementing the core's storage ports, and the translation of filters to SQL.
//!
//! [`open`] reads the database URL and opens the store it names; see
//! `docs/adr/0001-store-crates.md` for the shared code and `docs/adr/0011-storage-layout.md`
//! for the layout. Each backend is a cargo feature
//! (`sqlite`, `postgres`, both by default): what only one backend runs is marked
//! `#[cfg(feature = "…")]` where it is, so a search for the feature finds all of it, and a
//! build without a feature has none of its code nor its driver.

// With one backend the connection enum has one variant, the checks of which one a
// connection is cannot fail, and what serves only the other backend (PostgreSQL's
// stripe hints, its connect timeout) goes unused. The default build, with both, is held to
// every lint.
#![cfg_attr(
    not(all(feature = "sqlite", feature = "postgres")),
    allow(irrefutable_let_patterns, unused, dead_code)
)]

#[cfg(not(any(feature = "sqlite", feature = "postgres")))]
compile_error!("scim-store needs a backend: enable the `sqlite` or the `postgres` feature");

mod activity;
mod admin;
mod api_keys;
mod assignments;
mod columns;
pub mod connection;
mod database;
mod errors;
mod event_watch;
mod expand;
mod filter_sql;
mod idempotency;
mod index_walks;
mod jobs;
mod licenses;
mod list;
mod members;
mod migrations;
mod open;
mod outbox;
mod portal;
mod provision;
mod purge;
mod resources;
mod rows;
mod schema;
mod sealing;
mod seats;
mod store;
mod tenants;
mod webhooks;

pub use connection::ConnectError;
pub use database::{Database, UrlError};
pub use open::{open, open_database};
pub use sealing::SealError;
pub use store::{DieselStore, OpenError, PoolStats, StoreConfig};
