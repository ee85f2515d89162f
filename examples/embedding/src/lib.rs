//! Another Rust service embedding `scim-core` (walked through in `docs/embedding.md`):
//!
//! - its storage is the reference store, [`scim_memory::MemoryStore`]: every port of the
//!   core in memory, storage only (a service with its own database writes the same ports
//!   and holds it to the same contract suite, `scim-testkit`);
//! - [`wiring`]: the `Clock` and `IdGenerator` ports, and the core's use-case services
//!   wired on the store.
//!
//! Neither holds license logic: the store hands the users a write affects to the core's
//! license engine (`scim_core::license::LicensePlan`) and keeps what it decided.
//!
//! `cargo run -p scim-embedding-example` runs both halves and prints what they do.

pub mod wiring;
