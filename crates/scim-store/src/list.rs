//! List queries: in SQL when the filter translates exactly and the sort is on a column,
//! else a SQL prefilter (a superset, in insertion order) narrowed, sorted and paged by the
//! core exactly as its evaluator defines. The evaluator sees the attributes computed from
//! membership rows when the query reads them; the page carries those its caller asked for.

use std::collections::HashMap;

use diesel::prelude::*;
use scim_core::query::{Keyset, ListPage, ListQuery, SortOrder, apply_in_memory_keyed};
use scim_core::{Expand, ResourceKind, SchemaRegistry, StoreError};

use crate::columns::{Column, ResourceQuery};
use crate::connection::{DbConnection, MultiBackend};
use crate::errors::from_diesel;
use crate::expand::expand;
use crate::filter_sql::{Predicate, Pushdown, push_down};
use crate::index_walks::{IndexWalks, PageKey, WalkState};
use crate::rows::{ResourceRow, StoredResource, to_stored};
use crate::schema::resources;

/// What a list query runs on: the tenant's resources of one kind.
pub(crate) struct ListScope<'a> {
    pub(crate) tenant: &'a str,
    pub(crate) kind: ResourceKind,
    pub(crate) registry: &'a SchemaRegistry,
    pub(crate) walks: &'a IndexWalks,
}

/// How a list query runs, decided before a connection is taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListPlan {
    /// Nothing can match.
    Empty,
    /// Filter, count, order and page in SQL.
    InSql {
        predicate: Predicate,
        sort: Option<(Column, SortOrder)>,
    },
    /// Load what `prefilter` selects, with the computed attributes the query `reads`, and
    /// let the core answer.
    InMemory { prefilter: Predicate, reads: Expand },
}

impl ListPlan {
    pub(crate) fn new(query: &ListQuery, kind: ResourceKind, registry: &SchemaRegistry) -> Self {
        let Pushdown { predicate, exact } = match &query.filter {
            Some(filter) => push_down(filter, kind, registry),
            None => Pushdown {
                predicate: Predicate::Always,
                exact: true,
            },
        };
        if predicate == Predicate::Never {
            return Self::Empty;
        }
        // `Some(None)`: no sort; `Some(Some(_))`: a column sort; `None`: SQL cannot sort.
        let sort = match &query.sort {
            None => Some(None),
            Some(sort) => {
                Column::of(&sort.path, kind, registry).map(|column| Some((column, sort.order)))
            }
        };
        match sort {
            Some(sort) if exact => Self::InSql { predicate, sort },
            _ => Self::InMemory {
                prefilter: predicate,
                reads: query.reads_computed(kind, registry),
            },
        }
    }

    /// Runs the plan on one tenant's resources of one kind; the page's resources carry the
    /// computed attributes `expansion` asks for.
    pub(crate) fn run(
        &self,
        connection: &mut DbConnection,
        scope: &ListScope<'_>,
        query: &ListQuery,
        expansion: Expand,
    ) -> Result<ListPage, StoreError> {
        let ListScope {
            tenant,
            kind,
            registry,
            walks,
        } = *scope;
        match self {
            Self::Empty => Ok(ListPage::default()),
            Self::InSql {
                predicate,
                sort: None,
            } if query.keyset.is_some() => {
                keyset_in_sql(connection, scope, predicate, query, expansion)
            }
            Self::InSql { predicate, sort } => {
                // Insertion order: a walk's next page reads on from the last `seq` served,
                // with the count its first page made.
                let walk = sort.is_none().then(|| {
                    let key = |offset| -> PageKey {
                        (
                            tenant.to_owned(),
                            kind.as_str(),
                            format!("{predicate:?}"),
                            offset,
                        )
                    };
                    (key(query.offset()), key(query.offset() + query.count))
                });
                let state = walk.as_ref().and_then(|(this, _)| walks.after(this));
                let count = |connection: &mut DbConnection| -> Result<u64, StoreError> {
                    let total: i64 = selecting(tenant, kind, predicate)
                        .count()
                        .get_result(connection)
                        .map_err(from_diesel)?;
                    Ok(u64::try_from(total).unwrap_or_default())
                };
                if query.count == 0 {
                    let total = match state {
                        Some(state) => state.total,
                        None => count(connection)?,
                    };
                    return Ok(ListPage::new(total, Vec::new()));
                }
                let ordered = match (sort, state) {
                    (Some((column, order)), _) => {
                        column.order(selecting(tenant, kind, predicate), *order)
                    }
                    (None, Some(state)) => {
                        selecting(tenant, kind, predicate).filter(resources::seq.gt(state.after))
                    }
                    (None, None) => selecting(tenant, kind, predicate),
                };
                let mut ordered = ordered
                    .then_order_by(resources::seq.asc())
                    .limit(to_i64(query.count));
                if state.is_none() {
                    ordered = ordered.offset(to_i64(query.offset()));
                }
                let rows = ordered
                    .select(ResourceRow::as_select())
                    .load(connection)
                    .map_err(from_diesel)?;
                let mut page = to_stored(rows)?;
                // The total: the walk's; or, for a last page (fewer than asked, and not past
                // the end), what comes before it and what it holds, which spares a lookup's
                // `userName eq` the count; else a count.
                let served = page.len() as u64;
                let total = match state {
                    Some(state) => state.total,
                    None if served < query.count && (served > 0 || query.offset() == 0) => {
                        query.offset() + served
                    }
                    None => count(connection)?,
                };
                // Only a full page with more after it starts a walk (a lookup's one match
                // does not).
                let full = served == query.count;
                let more = query.offset() + query.count < total;
                if let (Some((_, next)), Some(last)) = (walk, page.last())
                    && full
                    && more
                {
                    let after = last.seq;
                    walks.remember(next, WalkState { after, total });
                }
                expand(connection, tenant, &mut page, kind, expansion)?;
                Ok(ListPage::new(
                    total,
                    page.into_iter().map(|stored| stored.resource).collect(),
                ))
            }
            Self::InMemory { prefilter, reads } => {
                // Bounded: one more than the limit tells that the limit is passed.
                let mut candidates = selecting(tenant, kind, prefilter).order(resources::seq.asc());
                if let Some(limit) = query.scan_limit {
                    candidates = candidates.limit(to_i64(limit.saturating_add(1)));
                }
                let rows = candidates
                    .select(ResourceRow::as_select())
                    .load(connection)
                    .map_err(from_diesel)?;
                if let Some(limit) = query.scan_limit
                    && rows.len() as u64 > limit
                {
                    return Err(StoreError::TooManyCandidates { limit });
                }
                // Every candidate gets what the filter or the sort reads; only the page gets
                // what the caller asked for besides.
                let mut candidates = to_stored(rows)?;
                expand(connection, tenant, &mut candidates, kind, *reads)?;
                let seqs: HashMap<String, i64> = candidates
                    .iter()
                    .map(|stored| (stored.resource.id.clone(), stored.seq))
                    .collect();
                let keyed = candidates
                    .into_iter()
                    .map(|stored| (stored.seq, stored.resource))
                    .collect();
                let mut page = apply_in_memory_keyed(keyed, kind, registry, query);
                let missing = expansion.minus(*reads);
                if missing.applies_to(kind) {
                    let mut stored: Vec<StoredResource> = page
                        .resources
                        .drain(..)
                        .map(|resource| StoredResource {
                            seq: seqs.get(&resource.id).copied().unwrap_or_default(),
                            resource,
                        })
                        .collect();
                    expand(connection, tenant, &mut stored, kind, missing)?;
                    page.resources = stored.into_iter().map(|stored| stored.resource).collect();
                }
                for name in reads.minus(expansion).attributes(kind) {
                    for resource in &mut page.resources {
                        resource.attributes.remove(name);
                    }
                }
                Ok(page)
            }
        }
    }
}

/// A cursor page of an unsorted list, by `seq`: one more row than asked for tells whether
/// more follow (or, backwards, precede); whether any precede a page read forwards (or
/// follow one read backwards) is one indexed probe.
fn keyset_in_sql(
    connection: &mut DbConnection,
    scope: &ListScope<'_>,
    predicate: &Predicate,
    query: &ListQuery,
    expansion: Expand,
) -> Result<ListPage, StoreError> {
    let ListScope { tenant, kind, .. } = *scope;
    let keyset = query.keyset.unwrap_or(Keyset::First);
    let total: i64 = selecting(tenant, kind, predicate)
        .count()
        .get_result(connection)
        .map_err(from_diesel)?;
    let total = u64::try_from(total).unwrap_or_default();
    let count = usize::try_from(query.count).unwrap_or(usize::MAX);
    if count == 0 {
        return Ok(ListPage::new(total, Vec::new()));
    }
    let limit = to_i64(query.count.saturating_add(1));
    let rows = selecting(tenant, kind, predicate);
    let rows = match keyset {
        Keyset::First => rows.order(resources::seq.asc()),
        Keyset::After(key) => rows
            .filter(resources::seq.gt(key))
            .order(resources::seq.asc()),
        Keyset::Before(key) => rows
            .filter(resources::seq.lt(key))
            .order(resources::seq.desc()),
    };
    let mut rows = rows
        .limit(limit)
        .select(ResourceRow::as_select())
        .load(connection)
        .map_err(from_diesel)?;
    let beyond = rows.len() > count;
    rows.truncate(count);
    if matches!(keyset, Keyset::Before(_)) {
        rows.reverse();
    }
    let mut page = to_stored(rows)?;
    let any = |connection: &mut DbConnection, beyond: Keyset| -> Result<bool, StoreError> {
        let probe = selecting(tenant, kind, predicate);
        let probe = match beyond {
            Keyset::After(key) => probe.filter(resources::seq.ge(key)),
            Keyset::Before(key) => probe.filter(resources::seq.le(key)),
            Keyset::First => probe,
        };
        let found: Option<i64> = probe
            .select(resources::seq)
            .limit(1)
            .get_result(connection)
            .optional()
            .map_err(from_diesel)?;
        Ok(found.is_some())
    };
    let (first, last) = match (page.first(), page.last()) {
        (Some(first), Some(last)) => (first.seq, last.seq),
        // An empty page (what it would have shown was deleted) still leads back to what
        // remains on the other side of its key.
        _ => {
            let (next_key, previous_key) = match keyset {
                Keyset::After(key) => (
                    None,
                    any(connection, Keyset::Before(key))?.then(|| key.saturating_add(1)),
                ),
                Keyset::Before(key) => (
                    any(connection, Keyset::After(key))?.then(|| key.saturating_sub(1)),
                    None,
                ),
                Keyset::First => (None, None),
            };
            return Ok(ListPage {
                total,
                resources: Vec::new(),
                next_key,
                previous_key,
            });
        }
    };
    let (more_after, more_before) = match keyset {
        Keyset::First => (beyond, false),
        Keyset::After(key) => (beyond, any(connection, Keyset::Before(key))?),
        Keyset::Before(key) => (any(connection, Keyset::After(key))?, beyond),
    };
    expand(connection, tenant, &mut page, kind, expansion)?;
    Ok(ListPage {
        total,
        resources: page.into_iter().map(|stored| stored.resource).collect(),
        next_key: more_after.then_some(last),
        previous_key: more_before.then_some(first),
    })
}

/// The tenant's resources of `kind` the predicate selects.
fn selecting(tenant: &str, kind: ResourceKind, predicate: &Predicate) -> ResourceQuery {
    let query = resources::table
        .filter(resources::tenant_id.eq(tenant.to_owned()))
        .filter(resources::kind.eq(kind.as_str()))
        .into_boxed::<MultiBackend>();
    match predicate {
        Predicate::Always => query,
        predicate => query.filter(predicate.to_sql()),
    }
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
