//! Attribute paths: `attr`, `attr.sub`, `urn:…:attr` and `urn:…:attr.sub` (RFC 7644 §3.10).

use std::fmt;

use crate::error::ScimError;

/// A path to an attribute or sub-attribute, optionally qualified by its schema URN.
///
/// Names keep the client's spelling; they are compared case-insensitively when resolved
/// against the [`SchemaRegistry`](crate::schema::SchemaRegistry).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URN the path is qualified by (`urn:…:enterprise:2.0:User`), if any.
    pub urn: Option<String>,
    /// The attribute's name.
    pub attr: String,
    /// The sub-attribute's name, for `attr.sub`.
    pub sub: Option<String>,
}

impl AttrPath {
    /// `attr`, unqualified.
    pub fn new(attr: impl Into<String>) -> Self {
        Self {
            urn: None,
            attr: attr.into(),
            sub: None,
        }
    }

    /// `attr.sub`, unqualified.
    pub fn with_sub(attr: impl Into<String>, sub: impl Into<String>) -> Self {
        Self {
            urn: None,
            attr: attr.into(),
            sub: Some(sub.into()),
        }
    }

    /// Parses a complete attribute path such as `name.givenName` or
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`.
    ///
    /// A URN contains dots (`2.0`), so the URN ends at the last colon and only the rest is
    /// split on its dot.
    pub fn parse(text: &str) -> Result<Self, PathError> {
        let text = text.trim();
        let (urn, rest) = if text
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
        {
            match text.rfind(':') {
                Some(i) if i + 1 < text.len() => (Some(text[..i].to_owned()), &text[i + 1..]),
                _ => {
                    return Err(PathError(format!(
                        "'{text}' names a schema but no attribute"
                    )));
                }
            }
        } else {
            (None, text)
        };
        let mut parts = rest.split('.');
        let attr = parts.next().unwrap_or_default();
        let sub = parts.next();
        if parts.next().is_some() {
            return Err(PathError(format!(
                "'{text}' nests deeper than attribute.subAttribute"
            )));
        }
        check_name(attr, text)?;
        if let Some(sub) = sub {
            check_name(sub, text)?;
        }
        Ok(Self {
            urn,
            attr: attr.to_owned(),
            sub: sub.map(str::to_owned),
        })
    }
}

/// `ATTRNAME = ALPHA *(nameChar)` with `nameChar = "-" / "_" / DIGIT / ALPHA`, plus `$ref`.
pub(crate) fn is_valid_name(name: &str) -> bool {
    if name == "$ref" {
        return true;
    }
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn check_name(name: &str, whole: &str) -> Result<(), PathError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(PathError(format!(
            "'{whole}' is not a valid attribute path"
        )))
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.attr)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// A path that does not follow the grammar; callers turn it into the scimType their context
/// asks for (`invalidFilter`, `invalidPath`, `invalidValue`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError(pub String);

impl PathError {
    /// The error as a filter's (400 `invalidFilter`).
    pub fn into_filter_error(self) -> ScimError {
        ScimError::InvalidFilter(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_path_forms() {
        let cases = [
            ("userName", None, "userName", None),
            ("name.givenName", None, "name", Some("givenName")),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:userName",
                Some("urn:ietf:params:scim:schemas:core:2.0:User"),
                "userName",
                None,
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
                Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
                "manager",
                Some("value"),
            ),
            ("members.$ref", None, "members", Some("$ref")),
        ];
        for (text, urn, attr, sub) in cases {
            let path = AttrPath::parse(text).unwrap();
            assert_eq!(path.urn.as_deref(), urn, "{text}");
            assert_eq!(path.attr, attr, "{text}");
            assert_eq!(path.sub.as_deref(), sub, "{text}");
            assert_eq!(path.to_string(), text);
        }
    }

    #[test]
    fn rejects_malformed_paths() {
        for text in [
            "", "1abc", "a.b.c", "name.", "urn:x:", "na me", "a..b", "abcé", "é",
        ] {
            assert!(
                AttrPath::parse(text).is_err(),
                "{text:?} should be rejected"
            );
        }
    }
}
