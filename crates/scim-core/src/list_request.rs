//! A list request as clients send it (query string or `.search` body), turned into a
//! validated [`ListQuery`] per resource type.

use crate::error::{ScimError, ScimResult};
use crate::filter::{self, Filter};
use crate::query::{self, ListQuery, MAX_COUNT, Sort, SortOrder};
use crate::resource::ResourceKind;
use crate::schema::SchemaRegistry;

/// The raw list parameters, parsed but not yet checked against a resource type.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListRequest {
    /// `filter` (RFC 7644 §3.4.2.2), parsed; `None` when absent or blank.
    pub filter: Option<Filter>,
    /// `sortBy` as sent, not yet resolved (RFC 7644 §3.4.2.3).
    pub sort_by: Option<String>,
    /// `sortOrder`; ascending when absent.
    pub sort_order: SortOrder,
    /// `startIndex` as sent, not yet clamped (RFC 7644 §3.4.2.4).
    pub start_index: Option<i64>,
    /// `count` as sent, not yet clamped (RFC 7644 §3.4.2.4).
    pub count: Option<i64>,
    /// RFC 9865's `cursor`: present (empty for the first page) selects cursor paging.
    pub cursor: Option<String>,
}

impl ListRequest {
    /// Parses the textual parts; `filter` text longer than [`MAX_FILTER_LEN`] is refused.
    pub fn parse(
        filter: Option<&str>,
        sort_by: Option<&str>,
        sort_order: Option<&str>,
        start_index: Option<i64>,
        count: Option<i64>,
    ) -> ScimResult<Self> {
        let filter = match filter.map(str::trim).filter(|f| !f.is_empty()) {
            Some(text) if text.len() > MAX_FILTER_LEN => {
                return Err(ScimError::InvalidFilter(format!(
                    "the filter is longer than {MAX_FILTER_LEN} bytes"
                )));
            }
            Some(text) => Some(filter::parse(text)?),
            None => None,
        };
        let sort_order = match sort_order.map(str::trim) {
            None | Some("") => SortOrder::Ascending,
            Some(o) if o.eq_ignore_ascii_case("ascending") => SortOrder::Ascending,
            Some(o) if o.eq_ignore_ascii_case("descending") => SortOrder::Descending,
            Some(other) => {
                return Err(ScimError::InvalidValue(format!(
                    "sortOrder must be 'ascending' or 'descending', not '{other}'"
                )));
            }
        };
        let sort_by = sort_by
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        Ok(Self {
            filter,
            sort_by,
            sort_order,
            start_index,
            count,
            cursor: None,
        })
    }

    /// The request with RFC 9865's `cursor` (as sent; checked when the query is planned).
    /// `startIndex` and `cursor` select different paging methods: both is `invalidValue`.
    pub fn with_cursor(mut self, cursor: Option<&str>) -> ScimResult<Self> {
        if cursor.is_some() && self.start_index.is_some() {
            return Err(ScimError::InvalidValue(
                "startIndex and cursor select different paging methods: send one of them".into(),
            ));
        }
        self.cursor = cursor.map(str::to_owned);
        Ok(self)
    }

    /// The query for one resource type: the filter checked, the sort path resolved, paging
    /// clamped (RFC 7644 §3.4.2.4: `startIndex` below 1 is 1, a negative `count` is 0; we
    /// also cap `count` at [`MAX_COUNT`]).
    pub fn to_query(&self, registry: &SchemaRegistry, kind: ResourceKind) -> ScimResult<ListQuery> {
        if let Some(filter) = &self.filter {
            filter::check(filter, kind, registry)?;
        }
        let sort = match &self.sort_by {
            Some(text) => Some(Sort {
                path: query::sort_path(kind, registry, text)?,
                order: self.sort_order,
            }),
            None => None,
        };
        let start_index = self.start_index.unwrap_or(1).max(1);
        let count = self.count.map_or(query::DEFAULT_COUNT, |c| {
            c.clamp(0, MAX_COUNT as i64) as u64
        });
        Ok(ListQuery {
            filter: self.filter.clone(),
            sort,
            start_index: start_index as u64,
            count,
            keyset: None,
            schema: None,
            scan_limit: None,
        })
    }
}

/// Longest filter we parse.
pub const MAX_FILTER_LEN: usize = 16 * 1024;

/// Parses a paging number from a query string: an optional sign and digits. Values beyond
/// the range of `i64` saturate (they are clamped afterwards anyway); anything else is a
/// 400 `invalidValue` naming the parameter.
pub fn parse_paging_number(name: &str, text: &str) -> ScimResult<i64> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ScimError::InvalidValue(format!(
            "{name} must be an integer, not '{text}'"
        )));
    }
    let magnitude = digits.parse::<i64>().unwrap_or(i64::MAX);
    Ok(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_numbers_saturate_and_clamp() {
        let registry = SchemaRegistry::standard();
        let cases = [
            (None, None, 1, query::DEFAULT_COUNT),
            (Some(0), Some(-5), 1, 0),
            (Some(-3), Some(10), 1, 10),
            (Some(i64::MAX), Some(i64::MAX), i64::MAX as u64, MAX_COUNT),
        ];
        for (start, count, want_start, want_count) in cases {
            let query = ListRequest::parse(None, None, None, start, count)
                .unwrap()
                .to_query(&registry, ResourceKind::User)
                .unwrap();
            assert_eq!((query.start_index, query.count), (want_start, want_count));
        }
        assert_eq!(
            parse_paging_number("count", "99999999999999999999999").unwrap(),
            i64::MAX
        );
        assert_eq!(parse_paging_number("count", "-7").unwrap(), -7);
        for bad in ["", "1.5", "ten", "0x10", "--1"] {
            let err = parse_paging_number("count", bad).unwrap_err();
            assert_eq!(err.scim_type(), Some("invalidValue"), "{bad}");
        }
    }

    #[test]
    fn sort_order_is_checked() {
        let err = ListRequest::parse(None, None, Some("sideways"), None, None).unwrap_err();
        assert_eq!(err.scim_type(), Some("invalidValue"));
        let ok = ListRequest::parse(None, None, Some("DESCENDING"), None, None).unwrap();
        assert_eq!(ok.sort_order, SortOrder::Descending);
    }
}
