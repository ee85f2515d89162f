//! Asynchronous bulk jobs (`Prefer: respond-async`): what a job is, and what a processed
//! operation's outcome is, in the form a store keeps.
//!
//! A job is stored with its request, claimed by one server process at a time under a lease
//! it renews at every checkpoint, and checkpointed after every step (a batch of POSTs, or one
//! other operation): the outcomes so far are stored, so a job resumes where its last
//! checkpoint left it, on this process or another, after a crash.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::error::ScimError;
use crate::resource::ResourceKind;
use crate::tenant::TenantId;

/// The schema of a job resource (our extension; see `docs/bulk.md`).
pub const BULK_JOB_SCHEMA: &str = "urn:scim-license:schemas:core:2.0:BulkJob";

/// A job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobStatus {
    /// Accepted, not started.
    Pending,
    /// Being processed (or waiting to be resumed after a crash).
    Running,
    /// Every operation was processed; the outcomes are final.
    Completed,
    /// Given up: the job could not be run (it failed [`MAX_ATTEMPTS`] times).
    Failed,
}

/// How many times a job is started before it is given up as failed: a job that kills the
/// process running it must not kill every process after it.
pub const MAX_ATTEMPTS: u32 = 5;

impl JobStatus {
    /// Its name in the store and in the job resource: `pending`, `running`, `completed` or
    /// `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    /// The status [`Self::as_str`] names, if `text` names one.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Running, Self::Completed, Self::Failed]
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

/// A job as its owner reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkJob {
    /// The job's id, as `/BulkJobs/<id>` names it.
    pub id: String,
    /// The tenant that submitted it, the only one that can read it.
    pub tenant: TenantId,
    /// Where it stands.
    pub status: JobStatus,
    /// Operations processed so far, and in all.
    pub done: usize,
    /// Operations in the request.
    pub total: usize,
    /// When it was accepted.
    pub created: DateTime<Utc>,
    /// When it was last accepted, claimed, checkpointed, handed back or ended.
    pub updated: DateTime<Utc>,
}

/// A job to store: its request as accepted, and who asked for it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBulkJob {
    /// The job, pending, nothing done.
    pub job: BulkJob,
    /// The BulkRequest body, without its passwords.
    pub request: Value,
    /// Who submitted it ([`crate::Caller::actor`]); the job's writes are theirs.
    pub actor: String,
    /// The request that submitted it ([`crate::Caller::cause`]).
    pub cause: String,
}

/// A job a process has claimed to run: its request, and the outcomes of earlier attempts.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedJob {
    /// The job, now running.
    pub job: BulkJob,
    /// The BulkRequest body as stored, without its passwords.
    pub request: Value,
    /// Who submitted it ([`crate::Caller::actor`]); the job's writes are theirs.
    pub actor: String,
    /// The request that submitted it ([`crate::Caller::cause`]).
    pub cause: String,
    /// The outcomes checkpointed so far, in processing order.
    pub outcomes: Vec<BulkOutcome>,
    /// How many times the job has been claimed, this claim included.
    pub attempts: u32,
}

/// Who holds a job, and until when: a claim or checkpoint sets `until`, and another process
/// may take the job over once it has passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The process that holds the job, by a name unique to it.
    pub owner: String,
    /// The time of the claim or checkpoint.
    pub now: DateTime<Utc>,
    /// When the lease runs out unless a checkpoint renews it.
    pub until: DateTime<Utc>,
}

/// What happened to one operation, in the order operations were processed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkOutcome {
    /// The operation's position in the request.
    pub index: usize,
    /// The method and bulkId as the client sent them.
    pub method: String,
    /// Its `bulkId`, when it had one.
    pub bulk_id: Option<String>,
    /// The resource the operation wrote (for `location`), when it did.
    pub resource: Option<(ResourceKind, String)>,
    /// Its `meta.version` after the write (ETag form), when it still exists.
    pub version: Option<String>,
    /// The operation's HTTP status (201, 200, 204, or the error's).
    pub status: u16,
    /// The SCIM error of a failed operation.
    pub error: Option<OperationError>,
}

/// A failed operation's SCIM error, as its `response` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationError {
    /// The HTTP status.
    pub status: u16,
    /// The `scimType` (RFC 7644 §3.12 Table 9), when the error has one.
    pub scim_type: Option<String>,
    /// The human-readable `detail`.
    pub detail: String,
}

impl From<&ScimError> for OperationError {
    fn from(error: &ScimError) -> Self {
        Self {
            status: error.status(),
            scim_type: error.scim_type().map(str::to_owned),
            detail: error.detail(),
        }
    }
}

impl From<ScimError> for OperationError {
    fn from(error: ScimError) -> Self {
        Self::from(&error)
    }
}

/// The schema of a SCIM error body.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

impl OperationError {
    /// The SCIM error body (RFC 7644 §3.12): `status` is a string, as the RFC shows it.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("schemas".into(), json!([ERROR_SCHEMA]));
        body.insert("status".into(), json!(self.status.to_string()));
        if let Some(scim_type) = &self.scim_type {
            body.insert("scimType".into(), json!(scim_type));
        }
        body.insert("detail".into(), json!(self.detail));
        Value::Object(body)
    }
}

impl BulkOutcome {
    /// The operation as a BulkResponse's `Operations` shows it (RFC 7644 §3.7.3):
    /// `method`, `bulkId`, `location` (when a `base` URL is given and a resource was
    /// written), `version`, `status` as a string, and the SCIM error as `response`.
    pub fn response_operation(&self, base: Option<&str>) -> Value {
        let mut out = Map::new();
        out.insert("method".into(), json!(self.method));
        if let Some(bulk_id) = &self.bulk_id {
            out.insert("bulkId".into(), json!(bulk_id));
        }
        if let (Some(base), Some((kind, id))) = (base, &self.resource) {
            out.insert(
                "location".into(),
                json!(format!("{base}/{}/{id}", kind.endpoint())),
            );
        }
        if let Some(version) = &self.version {
            out.insert("version".into(), json!(version));
        }
        out.insert("status".into(), json!(self.status.to_string()));
        if let Some(error) = &self.error {
            out.insert("response".into(), error.body());
        }
        Value::Object(out)
    }
}

/// The id a job's POST at `index` gives the resource it creates: derived from the job, so
/// that an attempt resuming after a crash recognises what an earlier attempt created.
pub fn derived_id(job_id: &str, index: usize) -> String {
    let digest = Sha256::digest(format!("scim-license bulk job {job_id} operation {index}"));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    // An RFC 9562 version 8 (custom) UUID.
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_distinct_v8_uuids() {
        let a = derived_id("job-1", 0);
        assert_eq!(a, derived_id("job-1", 0));
        assert_ne!(a, derived_id("job-1", 1));
        assert_ne!(a, derived_id("job-2", 0));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "8");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn statuses_round_trip() {
        for status in [
            JobStatus::Pending,
            JobStatus::Running,
            JobStatus::Completed,
            JobStatus::Failed,
        ] {
            assert_eq!(JobStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(JobStatus::parse("done"), None);
    }

    #[test]
    fn outcomes_keep_what_the_response_needs_through_json() {
        let outcome = BulkOutcome {
            index: 3,
            method: "POST".into(),
            bulk_id: Some("u1".into()),
            resource: Some((ResourceKind::User, "id-1".into())),
            version: Some("W/\"1\"".into()),
            status: 409,
            error: Some(OperationError::from(&ScimError::Uniqueness("taken".into()))),
        };
        let text = serde_json::to_string(&outcome).unwrap();
        assert_eq!(serde_json::from_str::<BulkOutcome>(&text).unwrap(), outcome);
        assert_eq!(
            outcome.error.unwrap().scim_type.as_deref(),
            Some("uniqueness")
        );
    }
}
