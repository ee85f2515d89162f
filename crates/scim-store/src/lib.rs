//! The diesel code both stores share, written once against a connection enum over SQLite
//! and PostgreSQL: connections and their setup, embedded migrations, rows, the repositories
//! implementing the core's storage ports, and the translation of filters to SQL.
//!
//! The backend crates `scim-sqlite` and `scim-postgres` are the entry points that open a
//! store; see `docs/adr/0001-store-crates.md` for the split.

mod admin;
mod assignments;
mod columns;
pub mod connection;
mod database;
mod errors;
mod event_watch;
mod expand;
mod filter_sql;
mod index_walks;
mod jobs;
mod licenses;
mod list;
mod members;
mod migrations;
mod outbox;
mod provision;
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
pub use sealing::SealError;
pub use store::{DieselStore, OpenError, PoolStats, StoreConfig};
