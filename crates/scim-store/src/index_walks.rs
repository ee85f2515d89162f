//! Index paging without `OFFSET` for clients that walk pages in order.
//!
//! Identity providers page with `startIndex`, one page after the other. `OFFSET n` makes
//! the database read and skip `n` rows, so page 1,000 costs a thousand pages. When a page
//! of an unsorted list (insertion order, `seq`) is served, the store remembers the `seq`
//! of its last resource under the index the next page starts at; a request for exactly
//! that page then reads `seq > last` instead: an index range scan, as cheap as page 1.
//!
//! A walk also keeps the `totalResults` its first page counted: counting a tenant's
//! million users again for each of its 10,000 pages would cost more than the pages. So
//! during a walk `totalResults` is the count when the walk began (RFC 7644 §3.4.2.4 leaves
//! index paging under concurrent change to the provider); a resource created meanwhile
//! comes after the others and is found by the next sync, and a client jumping to a page
//! out of order gets a fresh count.
//!
//! The memory is per process, bounded, and short-lived; a miss (another replica served
//! the previous page, a client jumping around) falls back to `OFFSET` and a count. Under
//! concurrent deletes a remembered walk does not skip a resource that `OFFSET` would have
//! shifted past.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Walks remembered at most; beyond, the memory starts afresh.
const REMEMBERED: usize = 4_096;

/// How long a walk is remembered between two pages.
const KEPT: Duration = Duration::from_secs(600);

/// A page's place: tenant, resource kind, the query's predicate (its SQL shape), and
/// the 0-based offset the page starts at.
pub(crate) type PageKey = (String, &'static str, String, u64);

/// Where a walk stands: the page at a key starts after `seq`, and the walk counted `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WalkState {
    pub(crate) after: i64,
    pub(crate) total: u64,
}

#[derive(Debug, Default)]
pub(crate) struct IndexWalks {
    after: Mutex<HashMap<PageKey, (WalkState, Instant)>>,
}

impl IndexWalks {
    /// Where the page at `key` starts, when a walk left it there.
    pub(crate) fn after(&self, key: &PageKey) -> Option<WalkState> {
        let after = self.after.lock().unwrap_or_else(PoisonError::into_inner);
        after
            .get(key)
            .filter(|(_, at)| at.elapsed() < KEPT)
            .map(|(state, _)| *state)
    }

    /// Remembers where the page at `key` starts.
    pub(crate) fn remember(&self, key: PageKey, state: WalkState) {
        let mut after = self.after.lock().unwrap_or_else(PoisonError::into_inner);
        if after.len() >= REMEMBERED {
            after.retain(|_, (_, at)| at.elapsed() < KEPT);
            if after.len() >= REMEMBERED {
                after.clear();
            }
        }
        after.insert(key, (state, Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(offset: u64) -> PageKey {
        ("t1".into(), "User", "Always".into(), offset)
    }

    #[test]
    fn a_walk_is_remembered_per_page_and_bounded() {
        let walks = IndexWalks::default();
        let state = WalkState {
            after: 4_711,
            total: 25,
        };
        assert_eq!(walks.after(&key(100)), None);
        walks.remember(key(100), state);
        assert_eq!(walks.after(&key(100)), Some(state));
        assert_eq!(walks.after(&key(200)), None);
        for offset in 0..REMEMBERED as u64 {
            walks.remember(key(1_000 + offset), state);
        }
        let held = walks.after.lock().unwrap().len();
        assert!(held <= REMEMBERED, "{held}");
    }
}
