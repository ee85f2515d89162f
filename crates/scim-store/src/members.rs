//! Membership writes: a group's [`MembershipChange`]s applied as rows of `group_members`,
//! inside the transaction that writes the group's own row.
//!
//! Each change costs what it names, never what the group holds: adding k ids is one query
//! resolving them, one finding those that are members already and one insert of the rest
//! (per [`CHUNK`] ids); removing k ids is one delete; removing all is one delete. Nothing
//! reads the group's current members.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use scim_core::{MembershipChange, StoreError};

use crate::connection::DbConnection;
use crate::errors::from_diesel;
use crate::schema::{group_members, resources};

/// Ids per statement: keeps every statement far below both backends' limits on bound
/// parameters (SQLite 32766, PostgreSQL 65535).
pub(crate) const CHUNK: usize = 500;

/// The group whose members a write changes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GroupRow<'a> {
    pub(crate) tenant: &'a str,
    /// Its `resources.seq`.
    pub(crate) seq: i64,
}

/// One membership row.
#[derive(Debug, Insertable)]
#[diesel(table_name = group_members)]
struct MemberRow {
    group_seq: i64,
    member_seq: i64,
}

/// Applies the changes in order.
pub(crate) fn apply(
    connection: &mut DbConnection,
    group: GroupRow<'_>,
    changes: &[MembershipChange],
) -> Result<(), StoreError> {
    for change in changes {
        match change {
            MembershipChange::Add(ids) => add(connection, group, ids)?,
            MembershipChange::Remove(ids) => remove(connection, group, ids)?,
            MembershipChange::RemoveAll => {
                diesel::delete(group_members::table.filter(group_members::group_seq.eq(group.seq)))
                    .execute(connection)
                    .map_err(from_diesel)?;
            }
        }
    }
    Ok(())
}

/// Adds the resources with these ids that are not members yet. `InvalidReference` names the
/// first id that is no User or Group of the tenant, or is the group's own.
fn add(
    connection: &mut DbConnection,
    group: GroupRow<'_>,
    ids: &[String],
) -> Result<(), StoreError> {
    let mut seen = HashSet::with_capacity(ids.len());
    let ids: Vec<&str> = ids
        .iter()
        .map(String::as_str)
        .filter(|id| seen.insert(*id))
        .collect();
    for chunk in ids.chunks(CHUNK) {
        let seqs = resolve(connection, group, chunk)?;
        let present: HashSet<i64> = group_members::table
            .filter(group_members::group_seq.eq(group.seq))
            .filter(group_members::member_seq.eq_any(&seqs))
            .select(group_members::member_seq)
            .load(connection)
            .map_err(from_diesel)?
            .into_iter()
            .collect();
        let rows: Vec<MemberRow> = seqs
            .into_iter()
            .filter(|seq| !present.contains(seq))
            .map(|member_seq| MemberRow {
                group_seq: group.seq,
                member_seq,
            })
            .collect();
        insert_rows(connection, &rows).map_err(from_diesel)?;
    }
    Ok(())
}

/// The `seq`s of the tenant's resources with these (distinct) ids, in the ids' order. When a
/// User and a Group share an id (only possible with ids the server did not make), the User
/// is meant.
fn resolve(
    connection: &mut DbConnection,
    group: GroupRow<'_>,
    ids: &[&str],
) -> Result<Vec<i64>, StoreError> {
    let found: Vec<(i64, String, String)> = resources::table
        .filter(resources::tenant_id.eq(group.tenant))
        .filter(resources::kind.eq_any(["User", "Group"]))
        .filter(resources::id.eq_any(ids))
        .select((resources::seq, resources::id, resources::kind))
        .load(connection)
        .map_err(from_diesel)?;
    let mut by_id: HashMap<String, i64> = HashMap::with_capacity(found.len());
    for (seq, id, kind) in found {
        if kind == "User" {
            by_id.insert(id, seq);
        } else {
            by_id.entry(id).or_insert(seq);
        }
    }
    ids.iter()
        .map(|id| match by_id.get(*id) {
            Some(&seq) if seq != group.seq => Ok(seq),
            _ => Err(StoreError::InvalidReference {
                value: (*id).to_owned(),
            }),
        })
        .collect()
}

/// Removes the members with these ids; ids that are not members are ignored.
fn remove(
    connection: &mut DbConnection,
    group: GroupRow<'_>,
    ids: &[String],
) -> Result<(), StoreError> {
    for chunk in ids.chunks(CHUNK) {
        let members = resources::table
            .filter(resources::tenant_id.eq(group.tenant))
            .filter(resources::kind.eq_any(["User", "Group"]))
            .filter(resources::id.eq_any(chunk))
            .select(resources::seq);
        diesel::delete(
            group_members::table
                .filter(group_members::group_seq.eq(group.seq))
                .filter(group_members::member_seq.eq_any(members)),
        )
        .execute(connection)
        .map_err(from_diesel)?;
    }
    Ok(())
}

/// Inserts the rows in one statement. A multi-row `INSERT` is not portable through the
/// multi-backend connection, so each backend runs it on its own connection type.
fn insert_rows(connection: &mut DbConnection, rows: &[MemberRow]) -> QueryResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    let insert = diesel::insert_into(group_members::table).values(rows);
    match connection {
        DbConnection::Pg(connection) => insert.execute(connection),
        DbConnection::Sqlite(connection) => insert.execute(connection),
    }
}
