//! `If-Match` (RFC 7232 §3.1 as SCIM uses it, RFC 7644 §3.14).

use crate::error::{ScimError, ScimResult};
use crate::resource::Resource;

/// An `If-Match` condition (RFC 7232 §3.1 as SCIM uses it, RFC 7644 §3.14).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Precondition {
    /// No condition.
    #[default]
    None,
    /// `If-Match: *`
    Any,
    /// `If-Match: W/"3", "4"`: the opaque tags, weakness ignored (SCIM's ETags are weak and
    /// clients send them back as they got them).
    OneOf(Vec<String>),
}

impl Precondition {
    /// Parses an `If-Match` header value.
    pub fn parse_if_match(header: &str) -> Self {
        if header.trim() == "*" {
            return Self::Any;
        }
        Self::OneOf(
            header
                .split(',')
                .map(|tag| {
                    tag.trim()
                        .trim_start_matches("W/")
                        .trim_matches('"')
                        .to_owned()
                })
                .filter(|tag| !tag.is_empty())
                .collect(),
        )
    }

    /// Whether a tag of the condition names `version` (`*` names every version; no
    /// condition names none).
    pub fn names_version(&self, version: i64) -> bool {
        self.names(&version.to_string())
    }

    /// Whether a tag of the condition is `opaque` (the tag without `W/` and its quotes;
    /// `*` names every tag; no condition names none).
    pub fn names(&self, opaque: &str) -> bool {
        match self {
            Self::None => false,
            Self::Any => true,
            Self::OneOf(tags) => tags.iter().any(|tag| tag == opaque),
        }
    }

    pub(super) fn check(&self, resource: &Resource) -> ScimResult<()> {
        if *self == Self::None || self.names_version(resource.meta.version) {
            Ok(())
        } else {
            Err(ScimError::PreconditionFailed(format!(
                "If-Match does not match the current version {}",
                resource.meta.etag()
            )))
        }
    }
}
