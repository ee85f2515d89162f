//! Another Rust service embedding `scim-core` (walked through in `docs/embedding.md`):
//!
//! - [`store::MemoryStore`]: the service's own storage (a `Mutex<HashMap>`) behind the core's
//!   ports `ResourceRepository`, `LicenseLedger` and `EventLog`;
//! - [`wiring`]: the `Clock` and `IdGenerator` ports, and the core's use-case services
//!   wired on the store;
//! - [`seats`]: the one rule the core leaves to the store, taking a plan's seats from the
//!   pools, as a pure function that the store and direct users of the license rules share.
//!
//! `cargo run -p scim-embedding-example` runs both halves and prints what they do.

pub mod seats;
pub mod store;
pub mod wiring;
