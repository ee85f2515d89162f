//! RFC 8936 poll requests: what a recipient asks for and acknowledges, parsed purely.
//!
//! The poll feed of a tenant holds every event of the tenant; each SET's `jti` names its
//! outbox entry ([`poll_jti`]), so a SET sent again (never acknowledged) keeps its `jti`.

use serde_json::Value;

use crate::error::{ScimError, ScimResult};

/// SETs answered when the request does not say (`maxEvents` absent).
pub const DEFAULT_MAX_EVENTS: usize = 100;
/// The most SETs one answer holds, whatever `maxEvents` asks.
pub const MAX_EVENTS: usize = 1000;

/// A poll request (RFC 8936 §2.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollRequest {
    /// SETs wanted at most; 0 only acknowledges.
    pub max_events: usize,
    /// Answer at once even when no SET is waiting (else: long poll).
    pub return_immediately: bool,
    /// `jti`s received and processed.
    pub ack: Vec<String>,
    /// `jti`s the recipient could not process, with its `err` and `description`.
    pub set_errs: Vec<SetError>,
}

/// One member of a poll request's `setErrs`: a SET the recipient could not process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetError {
    /// The SET's `jti`.
    pub jti: String,
    /// The error code, one of RFC 8935's SET delivery errors (`invalid_key`, …).
    pub err: String,
    /// The recipient's explanation; empty when it gave none.
    pub description: String,
}

/// The `jti` of the poll feed's SET for outbox entry `seq`.
pub fn poll_jti(seq: i64) -> String {
    format!("evt-{seq}")
}

/// The outbox entry a poll feed `jti` names, if it is one.
pub fn poll_seq(jti: &str) -> Option<i64> {
    jti.strip_prefix("evt-")?
        .parse()
        .ok()
        .filter(|seq: &i64| *seq > 0)
}

/// Parses a poll request body; an empty object polls with the defaults.
pub fn parse_poll(body: &Value) -> ScimResult<PollRequest> {
    let Value::Object(fields) = body else {
        return Err(invalid("a poll request is a JSON object"));
    };
    let max_events = match fields.get("maxEvents") {
        None | Some(Value::Null) => DEFAULT_MAX_EVENTS,
        Some(value) => value
            .as_u64()
            .map(|n| usize::try_from(n).unwrap_or(MAX_EVENTS).min(MAX_EVENTS))
            .ok_or_else(|| invalid("'maxEvents' must be a non-negative integer"))?,
    };
    let return_immediately = match fields.get("returnImmediately") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(flag)) => *flag,
        Some(_) => return Err(invalid("'returnImmediately' must be a boolean")),
    };
    let ack = match fields.get("ack") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid("'ack' must be an array of jti strings"))?,
        Some(_) => return Err(invalid("'ack' must be an array of jti strings")),
    };
    let set_errs = match fields.get("setErrs") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(errors)) => errors
            .iter()
            .map(|(jti, error)| {
                let text = |name: &str| error.get(name).and_then(Value::as_str).map(str::to_owned);
                Some(SetError {
                    jti: jti.clone(),
                    err: text("err")?,
                    description: text("description").unwrap_or_default(),
                })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid("each 'setErrs' member must be an object with 'err'"))?,
        Some(_) => return Err(invalid("'setErrs' must be an object of jti to error")),
    };
    Ok(PollRequest {
        max_events,
        return_immediately,
        ack,
        set_errs,
    })
}

fn invalid(detail: &str) -> ScimError {
    ScimError::InvalidSyntax(format!("invalid poll request: {detail} (RFC 8936 §2.4)"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_empty_request_long_polls_for_the_default_count() {
        let request = parse_poll(&json!({})).unwrap();
        assert_eq!(
            request,
            PollRequest {
                max_events: DEFAULT_MAX_EVENTS,
                return_immediately: false,
                ack: vec![],
                set_errs: vec![],
            }
        );
    }

    #[test]
    fn acks_errors_and_limits_are_read() {
        let request = parse_poll(&json!({
            "maxEvents": 0, "returnImmediately": true, "ack": ["evt-1", "evt-2"],
            "setErrs": {"evt-3": {"err": "invalid_request", "description": "bad"}}
        }))
        .unwrap();
        assert_eq!(request.max_events, 0);
        assert!(request.return_immediately);
        assert_eq!(request.ack, ["evt-1", "evt-2"]);
        assert_eq!(request.set_errs[0].err, "invalid_request");
        assert_eq!(
            parse_poll(&json!({"maxEvents": 1_000_000}))
                .unwrap()
                .max_events,
            MAX_EVENTS
        );
    }

    #[test]
    fn malformed_requests_are_400s() {
        for body in [
            json!([]),
            json!({"maxEvents": -1}),
            json!({"maxEvents": "10"}),
            json!({"returnImmediately": "yes"}),
            json!({"ack": "evt-1"}),
            json!({"ack": [1]}),
            json!({"setErrs": {"evt-1": {"description": "no err"}}}),
        ] {
            let error = parse_poll(&body).unwrap_err();
            assert_eq!(error.status(), 400, "{body}");
            assert_eq!(error.scim_type(), Some("invalidSyntax"), "{body}");
        }
    }

    #[test]
    fn jtis_name_outbox_entries() {
        assert_eq!(poll_jti(42), "evt-42");
        assert_eq!(poll_seq("evt-42"), Some(42));
        for jti in ["42", "evt-", "evt-x", "evt--1", "evt-0"] {
            assert_eq!(poll_seq(jti), None, "{jti}");
        }
    }
}
