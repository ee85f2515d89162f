//! List queries (RFC 7644 §3.4.2): filter, sorting and paging, as the stores receive them.

use crate::filter::Filter;
use crate::path::AttrPath;
use crate::resource::Resource;

/// Page size when the client sends no `count`.
pub const DEFAULT_COUNT: u64 = 100;
/// The largest page we return (advertised as `filter.maxResults`).
pub const MAX_COUNT: u64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    #[default]
    Ascending,
    Descending,
}

/// Sorting by one attribute; `path` is canonical (resolved against the registry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    pub path: AttrPath,
    pub order: SortOrder,
}

/// A validated list query. Filters and sort paths have been checked against the schema
/// registry, so a store may rely on every path resolving.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    pub sort: Option<Sort>,
    /// 1-based index of the first result.
    pub start_index: u64,
    /// Results per page; 0 asks for `totalResults` only.
    pub count: u64,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            filter: None,
            sort: None,
            start_index: 1,
            count: DEFAULT_COUNT,
        }
    }
}

impl ListQuery {
    /// The number of matching resources to skip.
    pub fn offset(&self) -> u64 {
        self.start_index.saturating_sub(1)
    }
}

/// One page of a list answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage {
    /// All resources matching the filter, not just this page.
    pub total: u64,
    pub resources: Vec<Resource>,
}
