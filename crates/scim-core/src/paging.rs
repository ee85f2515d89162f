//! Cursor pagination (RFC 9865): the cursors a list answers with, and what a client's
//! cursor means.
//!
//! An unsorted list is walked by keyset: a cursor names the store key (insertion order) of
//! the last resource served (`nextCursor`) or the first (`previousCursor`), so a walk sees
//! every resource that exists throughout it exactly once, whatever is inserted or deleted
//! meanwhile. A sorted list is walked by position, as index paging walks it (a resource
//! whose sort key changes mid-walk may be seen twice or missed).
//!
//! A cursor is opaque, tamper-evident and bound to the query it came from: its payload (the
//! position, the page size, when it was issued) is sealed with ChaCha20-Poly1305 under the
//! cursor key the server's secret keys derive ([`Purpose::Cursors`], the same on every
//! replica), its associated data the tenant, the resource type, the filter and the sort.
//! It reads `<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`. A cursor from another query,
//! another tenant, another server, or sealed under a key that no longer seals (the keys
//! rotated) answers `invalidCursor`; one older than [`CURSOR_TIMEOUT_SECONDS`] answers
//! `expiredCursor`; one sent with another `count` answers `invalidCount`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use crate::error::{ScimError, ScimResult};
use crate::query::{Keyset, ListPage, ListQuery};
use crate::resource::ResourceKind;
use crate::secrets::{Purpose, Sealer, SecretKeys};
use crate::tenant::TenantId;

/// How long a cursor stays valid (advertised as `pagination.cursorTimeout`).
pub const CURSOR_TIMEOUT_SECONDS: i64 = 24 * 60 * 60;

/// Version, position kind, position, issued, count.
const PAYLOAD_LEN: usize = 1 + 1 + 8 + 8 + 4;
const VERSION: u8 = 1;

/// Where a cursor page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// Of an unsorted list, by store key.
    Keyset(Keyset),
    /// Of a sorted list: resources to skip.
    Offset(u64),
}

/// Makes and reads cursors under the sealing key's cursor key.
#[derive(Debug)]
pub struct CursorCodec {
    sealer: Sealer,
}

/// What a cursor is bound to: the tenant, the resource type and the query's filter and
/// sort (the client must resend them unchanged, RFC 9865 §2), rendered in the RFC's
/// grammar so that the binding survives upgrades of the server.
fn scope(tenant: &TenantId, kind: ResourceKind, query: &ListQuery) -> Vec<u8> {
    let filter = query
        .filter
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let sort = query
        .sort
        .as_ref()
        .map(|sort| format!("{} {:?}", sort.path, sort.order))
        .unwrap_or_default();
    format!("{}\u{0}{}\u{0}{filter}\u{0}{sort}", tenant.0, kind.as_str()).into_bytes()
}

impl CursorCodec {
    /// A codec under the cursor key of `keys`' sealing key (every replica must have the
    /// same first key).
    pub fn new(keys: &SecretKeys) -> Self {
        Self {
            sealer: keys.sealer(Purpose::Cursors),
        }
    }

    /// The cursor of `position` for `query` of `tenant`'s `kind`, issued at `now`.
    pub fn encode(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        query: &ListQuery,
        position: Position,
        now: DateTime<Utc>,
    ) -> String {
        let (tag, value) = match position {
            Position::Keyset(Keyset::First) => (0, 0),
            Position::Keyset(Keyset::After(key)) => (1, key),
            Position::Keyset(Keyset::Before(key)) => (2, key),
            Position::Offset(offset) => (3, i64::try_from(offset).unwrap_or(i64::MAX)),
        };
        let mut payload = [0u8; PAYLOAD_LEN];
        payload[0] = VERSION;
        payload[1] = tag;
        payload[2..10].copy_from_slice(&value.to_be_bytes());
        payload[10..18].copy_from_slice(&now.timestamp().to_be_bytes());
        let count = u32::try_from(query.count).unwrap_or(u32::MAX);
        payload[18..22].copy_from_slice(&count.to_be_bytes());
        let sealed = self.sealer.seal(&payload, &scope(tenant, kind, query));
        format!("{}.{}", self.sealer.id(), URL_SAFE_NO_PAD.encode(sealed))
    }

    /// The position `token` names for `query` and the page size it was issued for, or the
    /// RFC 9865 error it deserves (`invalidCursor`, `expiredCursor`; whether the page size
    /// may differ is [`CursorPaging::plan`]'s to say).
    pub fn decode(
        &self,
        token: &str,
        tenant: &TenantId,
        kind: ResourceKind,
        query: &ListQuery,
        now: DateTime<Utc>,
    ) -> ScimResult<(Position, u64)> {
        let invalid = || {
            ScimError::InvalidCursor(
                "the cursor is not one this server issued for this query: send an empty \
                 cursor for the first page, then each page's nextCursor or previousCursor \
                 with the same filter, sortBy and sortOrder"
                    .into(),
            )
        };
        let (id, sealed) = token.split_once('.').ok_or_else(invalid)?;
        if id != self.sealer.id() {
            // Another server's, or sealed before the keys rotated.
            return Err(invalid());
        }
        let sealed = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| invalid())?;
        let payload = self
            .sealer
            .open(&sealed, &scope(tenant, kind, query))
            .filter(|payload| payload.len() == PAYLOAD_LEN && payload[0] == VERSION)
            .ok_or_else(invalid)?;
        let number = |range: std::ops::Range<usize>| {
            let mut raw = [0u8; 8];
            raw.copy_from_slice(&payload[range]);
            i64::from_be_bytes(raw)
        };
        let value = number(2..10);
        let issued = number(10..18);
        let mut count = [0u8; 4];
        count.copy_from_slice(&payload[18..22]);
        let count = u64::from(u32::from_be_bytes(count));
        if now.timestamp().saturating_sub(issued) > CURSOR_TIMEOUT_SECONDS {
            return Err(ScimError::ExpiredCursor(format!(
                "the cursor has expired: cursors stay valid {CURSOR_TIMEOUT_SECONDS} seconds; \
                 start again with an empty cursor"
            )));
        }
        let position = match payload[1] {
            0 => Position::Keyset(Keyset::First),
            1 => Position::Keyset(Keyset::After(value)),
            2 => Position::Keyset(Keyset::Before(value)),
            3 => Position::Offset(u64::try_from(value).unwrap_or_default()),
            _ => return Err(invalid()),
        };
        Ok((position, count))
    }
}

/// The cursor mode of a list request: the query to run (its `keyset` or `start_index` set
/// from the client's cursor) and how to make the answer's cursors.
#[derive(Debug, Clone)]
pub struct CursorPaging {
    /// The query to run: the request's, with `keyset` or `start_index` set from the cursor.
    pub query: ListQuery,
    position: Position,
}

impl CursorPaging {
    /// The query a cursor request runs: `cursor` is the client's (empty for the first page);
    /// `count_sent` whether the request named a `count` (one that leaves it out pages by the
    /// cursor's).
    pub fn plan(
        codec: &CursorCodec,
        (cursor, count_sent): (&str, bool),
        tenant: &TenantId,
        kind: ResourceKind,
        mut query: ListQuery,
        now: DateTime<Utc>,
    ) -> ScimResult<Self> {
        let position = if cursor.is_empty() {
            match query.sort {
                None => Position::Keyset(Keyset::First),
                Some(_) => Position::Offset(0),
            }
        } else {
            let (position, count) = codec.decode(cursor, tenant, kind, &query, now)?;
            if count_sent {
                check_count(count, query.count)?;
            }
            query.count = count;
            position
        };
        match position {
            Position::Keyset(keyset) if query.sort.is_none() => query.keyset = Some(keyset),
            Position::Offset(offset) if query.sort.is_some() => {
                query.start_index = offset.saturating_add(1);
            }
            // A cursor minted for the other kind of list cannot pass the MAC; be safe.
            _ => {
                return Err(ScimError::InvalidCursor(
                    "the cursor does not fit this query".into(),
                ));
            }
        }
        Ok(Self { query, position })
    }

    /// `(nextCursor, previousCursor)` for the page this query answered: no `nextCursor` on
    /// the last page, no `previousCursor` on the first (RFC 9865 §2).
    pub fn cursors(
        &self,
        codec: &CursorCodec,
        tenant: &TenantId,
        kind: ResourceKind,
        page: &ListPage,
        now: DateTime<Utc>,
    ) -> (Option<String>, Option<String>) {
        let encode = |position| codec.encode(tenant, kind, &self.query, position, now);
        match self.position {
            Position::Keyset(_) => (
                page.next_key
                    .map(|key| encode(Position::Keyset(Keyset::After(key)))),
                page.previous_key
                    .map(|key| encode(Position::Keyset(Keyset::Before(key)))),
            ),
            Position::Offset(offset) => {
                let served = page.resources.len() as u64;
                let next = offset.saturating_add(served);
                let more = served > 0 && next < page.total;
                let previous = offset.saturating_sub(self.query.count.max(1));
                (
                    more.then(|| encode(Position::Offset(next))),
                    (offset > 0).then(|| encode(Position::Offset(previous))),
                )
            }
        }
    }
}

/// RFC 9865 §2.1: the count of a cursor's page must be the count of the query it comes
/// from.
fn check_count(issued_for: u64, asked: u64) -> ScimResult<()> {
    if issued_for == asked.min(u64::from(u32::MAX)) {
        return Ok(());
    }
    Err(ScimError::InvalidCount(format!(
        "count must stay {issued_for}, the count of the query the cursor comes from"
    )))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::filter;

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000, 0).unwrap()
    }

    fn user() -> crate::Resource {
        crate::Resource {
            kind: ResourceKind::User,
            id: "u".into(),
            meta: crate::Meta {
                created: now(),
                last_modified: now(),
                version: 1,
            },
            attributes: serde_json::Map::new(),
        }
    }

    fn tenant(id: &str) -> TenantId {
        TenantId(id.into())
    }

    fn query(filter: Option<&str>) -> ListQuery {
        ListQuery {
            filter: filter.map(|f| filter::parse(f).unwrap()),
            count: 10,
            ..ListQuery::default()
        }
    }

    #[test]
    fn cursors_round_trip_and_are_bound_to_their_query() {
        let keys = SecretKeys::generate();
        let codec = CursorCodec::new(&keys);
        let q = query(Some("userName sw \"a\""));
        let t = tenant("t1");
        let position = Position::Keyset(Keyset::After(42));
        let token = codec.encode(&t, ResourceKind::User, &q, position, now());
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
            "URL-safe: {token}"
        );
        assert!(
            token.starts_with(&format!("{}.", keys.primary_id())),
            "{token}"
        );
        assert_eq!(
            codec.decode(&token, &t, ResourceKind::User, &q, now()),
            Ok((position, 10))
        );

        let invalid = |result: ScimResult<(Position, u64)>| {
            assert_eq!(result.unwrap_err().scim_type(), Some("invalidCursor"));
        };
        invalid(codec.decode(&token, &tenant("t2"), ResourceKind::User, &q, now()));
        invalid(codec.decode(&token, &t, ResourceKind::Group, &q, now()));
        invalid(codec.decode(&token, &t, ResourceKind::User, &query(None), now()));
        // Another server's keys, and the keys after a rotation (a new key seals; the old
        // one is kept only to open secrets at rest): cursors in flight are refused.
        let other = SecretKeys::generate();
        invalid(CursorCodec::new(&other).decode(&token, &t, ResourceKind::User, &q, now()));
        let rotated = SecretKeys::parse(&format!(
            "{}\n{}",
            other.primary_text(),
            keys.primary_text()
        ))
        .unwrap();
        invalid(CursorCodec::new(&rotated).decode(&token, &t, ResourceKind::User, &q, now()));
        let (id, body) = token.split_once('.').unwrap();
        for bad in [
            "",
            "zz",
            id,
            &format!("{id}."),
            &token[..token.len() - 2],
            &format!("{token}AA"),
            &format!("{}.{body}", other.primary_id()),
        ] {
            invalid(codec.decode(bad, &t, ResourceKind::User, &q, now()));
        }
        // Any flipped bit is caught.
        let mut bytes = URL_SAFE_NO_PAD.decode(body).unwrap();
        for i in 0..bytes.len() {
            bytes[i] ^= 1;
            let flipped = format!("{id}.{}", URL_SAFE_NO_PAD.encode(&bytes));
            invalid(codec.decode(&flipped, &t, ResourceKind::User, &q, now()));
            bytes[i] ^= 1;
        }

        let later = now() + chrono::TimeDelta::seconds(CURSOR_TIMEOUT_SECONDS + 1);
        let expired = codec
            .decode(&token, &t, ResourceKind::User, &q, later)
            .unwrap_err();
        assert_eq!(expired.scim_type(), Some("expiredCursor"));
    }

    #[test]
    fn sorted_lists_page_by_offset() {
        let codec = CursorCodec::new(&SecretKeys::generate());
        let t = tenant("t");
        let mut q = query(None);
        q.sort = Some(crate::query::Sort {
            path: crate::AttrPath::new("userName"),
            order: crate::query::SortOrder::Ascending,
        });
        let first =
            CursorPaging::plan(&codec, ("", true), &t, ResourceKind::User, q.clone(), now())
                .unwrap();
        assert_eq!((first.query.start_index, first.query.keyset), (1, None));
        let page = ListPage::new(25, vec![user(); 10]);
        let (next, previous) = first.cursors(&codec, &t, ResourceKind::User, &page, now());
        assert!(previous.is_none(), "no previousCursor on the first page");
        let next = next.unwrap();
        let plan = |cursor: &str, count_sent: bool, query: ListQuery| {
            CursorPaging::plan(
                &codec,
                (cursor, count_sent),
                &t,
                ResourceKind::User,
                query,
                now(),
            )
        };
        let second = plan(&next, true, q.clone()).unwrap();
        assert_eq!(second.query.start_index, 11);
        // Another count is refused; none at all pages by the cursor's.
        let other = ListQuery {
            count: 50,
            ..q.clone()
        };
        assert_eq!(
            plan(&next, true, other.clone()).unwrap_err().scim_type(),
            Some("invalidCount")
        );
        assert_eq!(plan(&next, false, other).unwrap().query.count, 10);
        let last = ListPage::new(25, vec![user(); 5]);
        let (third_cursor, _) = second.cursors(&codec, &t, ResourceKind::User, &page, now());
        let third = plan(&third_cursor.unwrap(), true, q).unwrap();
        assert_eq!(third.query.start_index, 21);
        let (next, previous) = third.cursors(&codec, &t, ResourceKind::User, &last, now());
        assert!(next.is_none(), "no nextCursor on the last page");
        assert!(previous.is_some());
    }
}
