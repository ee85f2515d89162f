//! List queries: in SQL when the filter translates exactly and the sort is on a column,
//! else a SQL prefilter (a superset, in insertion order) narrowed, sorted and paged by the
//! core exactly as its evaluator defines.

use diesel::prelude::*;
use scim_core::query::{ListPage, ListQuery, SortOrder, apply_in_memory};
use scim_core::{Resource, ResourceKind, SchemaRegistry, StoreError};

use crate::columns::{Column, ResourceQuery};
use crate::connection::{DbConnection, MultiBackend};
use crate::errors::from_diesel;
use crate::filter_sql::{Predicate, Pushdown, push_down};
use crate::rows::ResourceRow;
use crate::schema::resources;

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
    /// Load what `prefilter` selects and let the core answer.
    InMemory { prefilter: Predicate },
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
            },
        }
    }

    /// Runs the plan on one tenant's resources of one kind.
    pub(crate) fn run(
        &self,
        connection: &mut DbConnection,
        tenant: &str,
        kind: ResourceKind,
        registry: &SchemaRegistry,
        query: &ListQuery,
    ) -> Result<ListPage, StoreError> {
        match self {
            Self::Empty => Ok(ListPage {
                total: 0,
                resources: Vec::new(),
            }),
            Self::InSql { predicate, sort } => {
                let total: i64 = selecting(tenant, kind, predicate)
                    .count()
                    .get_result(connection)
                    .map_err(from_diesel)?;
                let total = u64::try_from(total).unwrap_or_default();
                if query.count == 0 || query.offset() >= total {
                    return Ok(ListPage {
                        total,
                        resources: Vec::new(),
                    });
                }
                let ordered = match sort {
                    Some((column, order)) => {
                        column.order(selecting(tenant, kind, predicate), *order)
                    }
                    None => selecting(tenant, kind, predicate),
                };
                let rows = ordered
                    .then_order_by(resources::seq.asc())
                    .limit(to_i64(query.count))
                    .offset(to_i64(query.offset()))
                    .select(ResourceRow::as_select())
                    .load(connection)
                    .map_err(from_diesel)?;
                Ok(ListPage {
                    total,
                    resources: to_resources(rows)?,
                })
            }
            Self::InMemory { prefilter } => {
                let rows = selecting(tenant, kind, prefilter)
                    .order(resources::seq.asc())
                    .select(ResourceRow::as_select())
                    .load(connection)
                    .map_err(from_diesel)?;
                Ok(apply_in_memory(to_resources(rows)?, kind, registry, query))
            }
        }
    }
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

fn to_resources(rows: Vec<ResourceRow>) -> Result<Vec<Resource>, StoreError> {
    rows.into_iter()
        .map(|row| Resource::try_from(row).map_err(StoreError::from))
        .collect()
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
