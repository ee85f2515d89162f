//! Cursor paging, the same on every list: `?limit=&cursor=` in, `{"data": [...],
//! "next_cursor": "…"|null}` out. A cursor names the last item of the page before (its
//! key, opaque to clients); the next page starts after it, so items added or removed
//! meanwhile never shift a page.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::problem::{Kind, Problem};
use crate::params::QueryParams;

/// Items per page unless `limit` says otherwise.
pub(super) const DEFAULT_LIMIT: usize = 50;

/// The most items a page holds.
pub(super) const MAX_LIMIT: usize = 200;

/// What a cursor's text starts with, once decoded.
const CURSOR_VERSION: &str = "v1:";

/// A page asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PageRequest {
    pub(super) limit: usize,
    /// The key of the item the page starts after.
    pub(super) after: Option<String>,
}

impl PageRequest {
    /// `limit` (1 to [`MAX_LIMIT`]) and `cursor` of the query.
    pub(super) fn of(params: &QueryParams) -> Result<Self, Problem> {
        let limit = match params.get("limit") {
            None => DEFAULT_LIMIT,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|limit| (1..=MAX_LIMIT).contains(limit))
                .ok_or_else(|| {
                    Problem::new(
                        Kind::InvalidValue,
                        format!("limit must be a whole number from 1 to {MAX_LIMIT}"),
                    )
                })?,
        };
        // An empty cursor is none: the first page.
        let after = params
            .get("cursor")
            .filter(|cursor| !cursor.is_empty())
            .map(decode)
            .transpose()?;
        Ok(Self { limit, after })
    }
}

/// The cursor naming `key`.
pub(super) fn encode(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_VERSION}{key}"))
}

fn decode(cursor: &str) -> Result<String, Problem> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix(CURSOR_VERSION).map(str::to_owned))
        .ok_or_else(invalid_cursor)
}

/// The problem of a cursor this API did not hand out (or that names nothing it knows).
pub(super) fn invalid_cursor() -> Problem {
    Problem::new(
        Kind::InvalidCursor,
        "the cursor is not one this API handed out: pass next_cursor as it came",
    )
}

/// The page `request` asks for of `items`, ordered by `key` (unique per item), each shown
/// by `view`.
pub(super) fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    request: &PageRequest,
    view: impl Fn(&T) -> Value,
) -> Value {
    let mut keyed: Vec<(String, T)> = items.into_iter().map(|item| (key(&item), item)).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    let start = match &request.after {
        Some(after) => keyed.partition_point(|(key, _)| key <= after),
        None => 0,
    };
    let rest = &keyed[start..];
    fetched_page(
        rest,
        |(key, _)| key.clone(),
        request.limit,
        |(_, item)| view(item),
    )
}

/// The page of `items` the store read for it: in key order, after the cursor's key, and
/// up to one more than `limit` (which tells whether a next page exists).
pub(super) fn fetched_page<T>(
    items: &[T],
    key: impl Fn(&T) -> String,
    limit: usize,
    view: impl Fn(&T) -> Value,
) -> Value {
    let shown = &items[..items.len().min(limit)];
    let next = (items.len() > shown.len())
        .then(|| shown.last().map(|item| encode(&key(item))))
        .flatten();
    json!({
        "data": shown.iter().map(view).collect::<Vec<_>>(),
        "next_cursor": next,
    })
}

/// A key that orders by time, then by id: `created` in microseconds, zero-padded.
pub(super) fn time_key(created: &chrono::DateTime<chrono::Utc>, id: &str) -> String {
    let micros = u64::try_from(created.timestamp_micros()).unwrap_or_default();
    format!("{micros:020}.{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(items: &[&str], limit: usize) -> Vec<Vec<String>> {
        let mut pages = Vec::new();
        let mut request = PageRequest { limit, after: None };
        loop {
            let page = page(
                items.iter().map(|s| (*s).to_owned()).collect(),
                Clone::clone,
                &request,
                |item| json!(item),
            );
            pages.push(
                page["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_owned())
                    .collect(),
            );
            match page["next_cursor"].as_str() {
                Some(cursor) => request.after = Some(decode(cursor).unwrap()),
                None => return pages,
            }
        }
    }

    #[test]
    fn pages_walk_every_item_once_in_key_order() {
        assert_eq!(
            walk(&["c", "a", "e", "b", "d"], 2),
            [vec!["a", "b"], vec!["c", "d"], vec!["e"]]
        );
        assert_eq!(walk(&["a", "b"], 2), [vec!["a", "b"]]);
        assert_eq!(walk(&[], 2), [Vec::<String>::new()]);
    }

    #[test]
    fn foreign_cursors_are_refused() {
        assert_eq!(decode(&encode("acme")).unwrap(), "acme");
        for bad in ["", "!!!", &URL_SAFE_NO_PAD.encode("v2:acme")] {
            assert_eq!(decode(bad).unwrap_err().kind, Kind::InvalidCursor, "{bad}");
        }
    }
}
