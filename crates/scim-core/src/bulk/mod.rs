//! The bulk model (RFC 7644 §3.7), pure: parsing a BulkRequest, the limits, and the order in
//! which its operations can run given their `bulkId` cross-references.
//!
//! Decisions:
//! - Request-level problems (not an object, wrong `schemas`, `Operations` missing, more than
//!   `maxOperations`) fail the whole request; a malformed operation fails only itself (its
//!   entry keeps the method, bulkId and path it was sent with, for the response).
//! - A `bulkId:<id>` reference may stand anywhere a string may: the path's id, a member's
//!   `value`, a manager's `value`… Only POST operations define bulkIds; a bulkId defined
//!   twice, or referenced but never defined, fails the operations involved (400
//!   `invalidValue`).
//! - Operations run in request order, except that an operation waits for the operations
//!   defining the bulkIds it references ([`execution_order`]). Operations caught in a cycle
//!   of references are reported apart, for the executor to resolve (RFC 7644 §3.7.1).
//! - Asynchronous jobs ([`BulkJob`]) keep the outcomes of processed operations; a job's POSTs
//!   create resources with ids [`derived_id`] from the job, so a resumed job knows them.

mod job;
mod order;
mod redact;
mod request;

#[cfg(test)]
mod tests;

pub use job::{
    BULK_JOB_SCHEMA, BulkJob, BulkOutcome, ClaimedJob, ERROR_SCHEMA, JobStatus, Lease,
    MAX_ATTEMPTS, NewBulkJob, OperationError, derived_id,
};
pub(crate) use order::quoted;
pub use order::{ExecutionPlan, execution_order, references, resolve_references};
pub use redact::{REDACTED, without_passwords};
pub use request::{
    BULK_ID_PREFIX, BULK_REQUEST_SCHEMA, BULK_RESPONSE_SCHEMA, BulkEntry, BulkLimits, BulkMethod,
    BulkOperation, BulkRequest, parse_bulk,
};
