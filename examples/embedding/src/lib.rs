//! Another Rust service embedding `scim-core` (walked through in `docs/embedding.md`):
//!
//! - [`store::MemoryStore`]: the service's own storage (a `Mutex<HashMap>`) behind the core's
//!   ports `ResourceRepository`, `LicenseLedger` and `EventLog`;
//! - [`wiring`]: the `Clock` and `IdGenerator` ports, and the core's use-case services
//!   wired on the store;
//!
//! The store holds no license logic of its own: it hands the users a write affects to the
//! core's license engine (`scim_core::license::LicensePlan`) with its pools
//! (`PoolSeats`), and keeps what the engine decided.
//!
//! `cargo run -p scim-embedding-example` runs both halves and prints what they do.

pub mod store;
pub mod wiring;
