//! Index paging without `OFFSET` for clients that walk pages in order.
//!
//! Identity providers page with `startIndex`, one page after the other. `OFFSET n` makes
//! the database read and skip `n` rows, so page 1,000 costs a thousand pages. When a page
//! of an unsorted list (insertion order, `seq`) is served, the store remembers the `seq`
//! of its last resource under the index the next page starts at; a request for exactly
//! that page then reads `seq > last` instead: an index range scan, as cheap as page 1.
//!
//! The memory is per process, bounded, and short-lived; a miss (another replica served
//! the previous page, a client jumping around) falls back to `OFFSET`. Under concurrent
//! deletes a remembered walk does not skip a resource that `OFFSET` would have shifted
//! past (RFC 7644 §3.4.2.4 leaves index paging under concurrent change to the provider).

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

#[derive(Debug, Default)]
pub(crate) struct PageCursors {
    after: Mutex<HashMap<PageKey, (i64, Instant)>>,
}

impl PageCursors {
    /// The `seq` the page at `key` starts after, when a walk left it.
    pub(crate) fn after(&self, key: &PageKey) -> Option<i64> {
        let after = self.after.lock().unwrap_or_else(PoisonError::into_inner);
        after
            .get(key)
            .filter(|(_, at)| at.elapsed() < KEPT)
            .map(|(seq, _)| *seq)
    }

    /// Remembers that the page at `key` starts after `seq`.
    pub(crate) fn remember(&self, key: PageKey, seq: i64) {
        let mut after = self.after.lock().unwrap_or_else(PoisonError::into_inner);
        if after.len() >= REMEMBERED {
            after.retain(|_, (_, at)| at.elapsed() < KEPT);
            if after.len() >= REMEMBERED {
                after.clear();
            }
        }
        after.insert(key, (seq, Instant::now()));
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
        let cursors = PageCursors::default();
        assert_eq!(cursors.after(&key(100)), None);
        cursors.remember(key(100), 4_711);
        assert_eq!(cursors.after(&key(100)), Some(4_711));
        assert_eq!(cursors.after(&key(200)), None);
        for offset in 0..REMEMBERED as u64 {
            cursors.remember(key(1_000 + offset), 1);
        }
        let held = cursors.after.lock().unwrap().len();
        assert!(held <= REMEMBERED, "{held}");
    }
}
