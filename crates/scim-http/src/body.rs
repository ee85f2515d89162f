//! Reading a JSON request body: media type, size limit and syntax, each with its own error.

use http::header;
use scim_core::ScimError;
use serde_json::Value;

use crate::error::ApiError;
use crate::request::Request;

/// Parses the request's body as JSON, held to `limit` bytes (the route's).
pub(crate) fn json_body(req: &Request, limit: usize) -> Result<Value, ApiError> {
    check_media_type(req)?;
    let bytes = req.body().ok_or_else(|| ApiError(too_large(limit)))?;
    if bytes.len() > limit {
        return Err(ApiError(too_large(limit)));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError(ScimError::InvalidSyntax(
            "the request body is empty".into(),
        )));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError(unpaired_surrogate(bytes).unwrap_or_else(|| {
            ScimError::InvalidSyntax(format!("the request body is not valid JSON: {e}"))
        }))
    })
}

/// Stands in for an unpaired surrogate escape while the body is read again to find where
/// it is: a noncharacter, which no client sends.
const MARKER: char = '\u{FDD0}';

/// The error for a body that is JSON but for an unpaired UTF-16 surrogate escape
/// (`"\uD800"`): such a string is not Unicode text, so no store can hold it. The error
/// names the value that holds it (`name.givenName`, `Operations[2].data.userName`).
fn unpaired_surrogate(body: &[u8]) -> Option<ScimError> {
    let (marked, escape) = mark_unpaired_surrogates(body)?;
    let value: Value = serde_json::from_slice(&marked).ok()?;
    let at = path_holding(&value, MARKER, "\\u…")
        .map_or_else(|| "a value".to_owned(), |path| format!("'{path}'"));
    Some(ScimError::InvalidValue(format!(
        "{at} holds the unpaired UTF-16 surrogate '{escape}', which is not Unicode text"
    )))
}

/// The body with every unpaired surrogate escape replaced by [`MARKER`]'s, and the first
/// such escape as sent; `None` when there is none. Escapes are read in order, so `\\u…`
/// (an escaped backslash) is no escape.
fn mark_unpaired_surrogates(body: &[u8]) -> Option<(Vec<u8>, String)> {
    let unit_at = |at: usize| -> Option<u32> {
        let hex = body.get(at..at + 6)?;
        if hex[0] != b'\\' || hex[1] != b'u' {
            return None;
        }
        u32::from_str_radix(std::str::from_utf8(&hex[2..]).ok()?, 16).ok()
    };
    let mut out = Vec::with_capacity(body.len());
    let mut first = None;
    let mut i = 0;
    while i < body.len() {
        if body[i] != b'\\' {
            out.push(body[i]);
            i += 1;
            continue;
        }
        let Some(unit) = unit_at(i) else {
            // Another escape: copied with the character it escapes.
            out.extend_from_slice(&body[i..(i + 2).min(body.len())]);
            i += 2;
            continue;
        };
        let paired = (0xD800..=0xDBFF).contains(&unit)
            && unit_at(i + 6).is_some_and(|low| (0xDC00..=0xDFFF).contains(&low));
        if paired {
            out.extend_from_slice(&body[i..i + 12]);
            i += 12;
        } else if (0xD800..=0xDFFF).contains(&unit) {
            first.get_or_insert_with(|| String::from_utf8_lossy(&body[i..i + 6]).into_owned());
            out.extend_from_slice(format!("\\u{:04X}", u32::from(MARKER)).as_bytes());
            i += 6;
        } else {
            out.extend_from_slice(&body[i..i + 6]);
            i += 6;
        }
    }
    first.map(|escape| (out, escape))
}

/// Where in `value` a string, or a member's name, holds `c`: its path (`a.b[2]`, the
/// name spelled with `shown` for `c`); `None` when nowhere.
pub(crate) fn path_holding(value: &Value, c: char, shown: &str) -> Option<String> {
    path_holding_at(value, c, shown, String::new())
}

fn path_holding_at(value: &Value, c: char, shown: &str, at: String) -> Option<String> {
    let join = |name: &str| {
        if at.is_empty() {
            name.to_owned()
        } else {
            format!("{at}.{name}")
        }
    };
    match value {
        Value::String(text) if text.contains(c) => Some(at),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| path_holding_at(item, c, shown, format!("{at}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(name, field)| {
            let named = join(&name.replace(c, shown));
            if name.contains(c) {
                Some(named)
            } else {
                path_holding_at(field, c, shown, named)
            }
        }),
        _ => None,
    }
}

fn too_large(limit: usize) -> ScimError {
    ScimError::PayloadTooLarge(format!(
        "the request body exceeds the limit of {limit} bytes"
    ))
}

/// `application/scim+json`, `application/json`, any `+json` type, or no type at all.
fn check_media_type(req: &Request) -> Result<(), ApiError> {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let media = value.to_str().unwrap_or_default();
    let essence = media
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
    {
        Ok(())
    } else {
        Err(ApiError(ScimError::UnsupportedMediaType(format!(
            "Content-Type '{media}' is not accepted; send application/scim+json"
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpaired_surrogates_are_named_where_they_are() {
        let cases = [
            (
                r#"{"userName":"a\uD800"}"#,
                "'userName' holds the unpaired UTF-16 surrogate '\\uD800'",
            ),
            (
                r#"{"name":{"givenName":"\udc00x"}}"#,
                "'name.givenName' holds the unpaired UTF-16 surrogate '\\udc00'",
            ),
            (
                r#"{"Operations":[{"data":{"ok":"\ud83d\ude00"}},{"data":{"emails":[{"value":"\uDBFF\u0041"}]}}]}"#,
                "'Operations[1].data.emails[0].value' holds the unpaired UTF-16 surrogate '\\uDBFF'",
            ),
        ];
        for (body, expected) in cases {
            let error = serde_json::from_slice::<Value>(body.as_bytes())
                .err()
                .and_then(|_| unpaired_surrogate(body.as_bytes()))
                .unwrap_or_else(|| panic!("{body} is refused for its surrogate"));
            assert_eq!(error.scim_type(), Some("invalidValue"), "{body}");
            assert!(error.detail().starts_with(expected), "{body}: {error}");
        }
        // Pairs, escaped backslashes and other syntax errors are not surrogate errors.
        for body in [
            r#"{"a":"\ud83d\ude00"}"#,
            r#"{"a":"\\uD800"}"#,
            r#"{"a":"x""#,
        ] {
            assert!(unpaired_surrogate(body.as_bytes()).is_none(), "{body}");
        }
    }
}
