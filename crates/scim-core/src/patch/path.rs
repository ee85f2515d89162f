//! PATCH paths: `attr`, `attr.sub`, `urn:…:attr`, `urn:…:attr.sub`, `attr[filter]` and
//! `attr[filter].sub` (RFC 7644 §3.5.2, the `PATH` rule).

use std::fmt;

use crate::error::{ScimError, ScimResult};
use crate::filter::{self, Filter};
use crate::path::AttrPath;

/// A parsed PATCH path: `attr.sub` (`sub` without `filter`) or `attr[filter].sub`.
///
/// Names keep the client's spelling; the engine resolves them case-insensitively against the
/// schema registry.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute, with its schema URN when the client wrote one; `attr.sub` is always
    /// `None` (the sub-attribute is [`PatchPath::sub`]).
    pub attr: AttrPath,
    /// The value filter selecting elements of a multi-valued attribute; its paths name
    /// sub-attributes (`AttrPath { attr: <sub>, .. }`), as in the filter parser.
    pub filter: Option<Filter>,
    /// The sub-attribute, after the attribute (`name.givenName`) or after the value filter
    /// (`emails[type eq "work"].value`).
    pub sub: Option<String>,
}

impl PatchPath {
    /// Parses a path; every failure is a 400 `invalidPath`.
    pub fn parse(text: &str) -> ScimResult<Self> {
        let text = text.trim();
        let invalid = |why: &str| ScimError::InvalidPath(format!("invalid path '{text}': {why}"));
        let Some(open) = text.find('[') else {
            let attr = AttrPath::parse(text).map_err(|e| ScimError::InvalidPath(e.0))?;
            let sub = attr.sub.clone();
            return Ok(Self {
                attr: AttrPath { sub: None, ..attr },
                filter: None,
                sub,
            });
        };
        let close = text.rfind(']').ok_or_else(|| invalid("'[' without ']'"))?;
        if close < open {
            return Err(invalid("']' before '['"));
        }
        let attr = AttrPath::parse(&text[..open]).map_err(|e| ScimError::InvalidPath(e.0))?;
        if attr.sub.is_some() {
            return Err(invalid(
                "a value filter applies to an attribute, not a sub-attribute",
            ));
        }
        let filter = filter::parse(&text[open + 1..close]).map_err(|e| {
            ScimError::InvalidPath(format!("invalid value filter in '{text}': {}", e.detail()))
        })?;
        let rest = &text[close + 1..];
        let sub = match rest.strip_prefix('.') {
            None if rest.is_empty() => None,
            None => return Err(invalid("unexpected text after ']'")),
            Some(sub) if crate::path::is_valid_name(sub) => Some(sub.to_owned()),
            Some(_) => return Err(invalid("not a sub-attribute name after ']'")),
        };
        Ok(Self {
            attr,
            filter: Some(filter),
            sub,
        })
    }
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{CompValue, CompareOp};

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

    fn eq(attr: &str, value: &str) -> Filter {
        Filter::compare(
            AttrPath::new(attr),
            CompareOp::Eq,
            CompValue::Str(value.into()),
        )
    }

    fn path(urn: Option<&str>, attr: &str, filter: Option<Filter>, sub: Option<&str>) -> PatchPath {
        PatchPath {
            attr: AttrPath {
                urn: urn.map(str::to_owned),
                attr: attr.to_owned(),
                sub: None,
            },
            filter,
            sub: sub.map(str::to_owned),
        }
    }

    /// The path examples of RFC 7644 §3.5.2 and the ones identity providers send.
    #[test]
    fn parses_the_rfc_path_forms() {
        let babs = "2819c223-7f76-453a-919d-413861904646";
        let cases = [
            ("members".to_owned(), path(None, "members", None, None)),
            (
                "name.familyName".to_owned(),
                path(None, "name", None, Some("familyName")),
            ),
            (
                "addresses[type eq \"work\"]".to_owned(),
                path(None, "addresses", Some(eq("type", "work")), None),
            ),
            (
                format!("members[value eq \"{babs}\"]"),
                path(None, "members", Some(eq("value", babs)), None),
            ),
            (
                format!("members[value eq \"{babs}\"].displayName"),
                path(
                    None,
                    "members",
                    Some(eq("value", babs)),
                    Some("displayName"),
                ),
            ),
            (
                "addresses[type eq \"work\"].streetAddress".to_owned(),
                path(
                    None,
                    "addresses",
                    Some(eq("type", "work")),
                    Some("streetAddress"),
                ),
            ),
            (
                "emails[type eq \"work\" and value co \"@example.com\"]".to_owned(),
                path(
                    None,
                    "emails",
                    Some(Filter::and(
                        eq("type", "work"),
                        Filter::compare(
                            AttrPath::new("value"),
                            CompareOp::Co,
                            CompValue::Str("@example.com".into()),
                        ),
                    )),
                    None,
                ),
            ),
            (
                format!("{ENTERPRISE}:manager"),
                path(Some(ENTERPRISE), "manager", None, None),
            ),
            (
                format!("{ENTERPRISE}:manager.value"),
                path(Some(ENTERPRISE), "manager", None, Some("value")),
            ),
            (
                format!("{CORE_USER}:userName"),
                path(Some(CORE_USER), "userName", None, None),
            ),
            (
                format!("{CORE_USER}:emails[type eq \"work\"].value"),
                path(
                    Some(CORE_USER),
                    "emails",
                    Some(eq("type", "work")),
                    Some("value"),
                ),
            ),
            (
                "  x509Certificates[value eq \"a]b\"] ".to_owned(),
                path(None, "x509Certificates", Some(eq("value", "a]b")), None),
            ),
        ];
        for (text, expected) in cases {
            let parsed = PatchPath::parse(&text).unwrap();
            assert_eq!(parsed, expected, "{text}");
            assert_eq!(
                PatchPath::parse(&parsed.to_string()).unwrap(),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_malformed_paths_as_invalid_path() {
        let cases = [
            "",
            "emails[type eq \"work\"",
            "emails]",
            "emails[type eq]",
            "emails[]",
            "emails[type eq \"w\"]x",
            "name.givenName[type eq \"x\"]",
            "a.b.c",
            "emails[type eq \"w\"].",
            "emails[type eq \"w\"].1x",
            "emails[type eq \"w\"].value.x",
            "urn:ietf:params:scim:schemas:core:2.0:User:",
        ];
        for text in cases {
            let err = PatchPath::parse(text).unwrap_err();
            assert_eq!(err.scim_type(), Some("invalidPath"), "{text}: {err}");
        }
    }
}
