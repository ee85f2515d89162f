//! Membership writes: a group's [`MembershipChange`]s applied as rows of `group_members`,
//! inside the transaction that writes the group's own row.
//!
//! Each change costs what it names, never what the group holds: adding k ids is one query
//! resolving them (two when some are groups) and one insert that skips those already
//! members (per [`CHUNK`] ids); removing k ids is one delete; removing all is one delete. Nothing
//! reads the group's current members.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use scim_core::{MembershipChange, NewMember, StoreError};

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
struct MemberRow<'a> {
    group_seq: i64,
    member_seq: i64,
    display: Option<&'a str>,
    tenant_id: &'a str,
}

/// Applies the changes in order.
pub(crate) fn apply(
    connection: &mut DbConnection,
    group: GroupRow<'_>,
    changes: &[MembershipChange],
) -> Result<(), StoreError> {
    for change in changes {
        match change {
            MembershipChange::Add(members) => add(connection, group, members)?,
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

/// Adds the resources that are not members yet (the first mention of an id counts).
/// `InvalidReference` names the first id that is no User or Group of the tenant, or is the
/// group's own.
fn add(
    connection: &mut DbConnection,
    group: GroupRow<'_>,
    members: &[NewMember],
) -> Result<(), StoreError> {
    let mut seen = HashSet::with_capacity(members.len());
    let members: Vec<&NewMember> = members
        .iter()
        .filter(|member| seen.insert(member.id.as_str()))
        .collect();
    for chunk in members.chunks(CHUNK) {
        let ids: Vec<&str> = chunk.iter().map(|member| member.id.as_str()).collect();
        let seqs = resolve(connection, group, &ids)?;
        let rows: Vec<MemberRow<'_>> = seqs
            .into_iter()
            .zip(chunk)
            .map(|(member_seq, member)| MemberRow {
                group_seq: group.seq,
                member_seq,
                display: member.display.as_deref(),
                tenant_id: group.tenant,
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
    let by_id = seqs_by_id(connection, group.tenant, ids)?;
    ids.iter()
        .map(|id| match by_id.get(*id) {
            Some(&seq) if seq != group.seq => Ok(seq),
            _ => Err(StoreError::InvalidReference {
                value: (*id).to_owned(),
            }),
        })
        .collect()
}

/// The `seq` of each of the tenant's Users and Groups with one of these ids (a User when
/// both have it). One query per kind, each an index lookup on `(tenant_id, kind, id)`: a
/// single query with `kind IN ('User', 'Group')` makes PostgreSQL scan the whole tenant.
pub(crate) fn seqs_by_id(
    connection: &mut DbConnection,
    tenant: &str,
    ids: &[&str],
) -> Result<HashMap<String, i64>, StoreError> {
    let mut by_id: HashMap<String, i64> = HashMap::with_capacity(ids.len());
    for kind in ["User", "Group"] {
        let missing: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|id| !by_id.contains_key(*id))
            .collect();
        if missing.is_empty() {
            break;
        }
        let found: Vec<(i64, String)> = resources::table
            .filter(resources::tenant_id.eq(tenant))
            .filter(resources::kind.eq(kind))
            .filter(resources::id.eq_any(&missing))
            .select((resources::seq, resources::id))
            .load(connection)
            .map_err(from_diesel)?;
        by_id.extend(found.into_iter().map(|(seq, id)| (id, seq)));
    }
    Ok(by_id)
}

/// Removes the members with these ids; ids that are not members are ignored.
fn remove(
    connection: &mut DbConnection,
    group: GroupRow<'_>,
    ids: &[String],
) -> Result<(), StoreError> {
    for chunk in ids.chunks(CHUNK) {
        let chunk: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let seqs: Vec<i64> = seqs_by_id(connection, group.tenant, &chunk)?
            .into_values()
            .collect();
        diesel::delete(
            group_members::table
                .filter(group_members::group_seq.eq(group.seq))
                .filter(group_members::member_seq.eq_any(seqs)),
        )
        .execute(connection)
        .map_err(from_diesel)?;
    }
    Ok(())
}

/// Inserts the rows that are not there yet (`ON CONFLICT DO NOTHING`, `INSERT OR IGNORE`: the
/// primary key finds the members already present, so nothing reads the group's members
/// and no plan depends on how many it has). A multi-row `INSERT` is not portable through
/// the multi-backend connection, so each backend runs it on its own connection type.
fn insert_rows(connection: &mut DbConnection, rows: &[MemberRow<'_>]) -> QueryResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    match connection {
        #[cfg(feature = "postgres")]
        DbConnection::Pg(connection) => diesel::insert_into(group_members::table)
            .values(rows)
            .on_conflict_do_nothing()
            .execute(connection),
        #[cfg(feature = "sqlite")]
        DbConnection::Sqlite(connection) => diesel::insert_or_ignore_into(group_members::table)
            .values(rows)
            .execute(connection),
    }
}
