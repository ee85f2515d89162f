//! Creating a run of users in one transaction with a handful of statements: the /Bulk
//! first sync, where an IdP POSTs thousands of users in a row.
//!
//! A write of its own costs about a dozen statements per user (its row, its events, the
//! rules, the locks, the seat, the assignment, the audit line). A run of new users needs
//! far fewer: new users hold nothing and are in no group, so their licenses follow from
//! their attributes alone, and every statement can carry the whole run:
//! 1. one multi-row insert of the rows that skips (`ON CONFLICT DO NOTHING`) any that
//!    clash with a stored or an earlier user, to be written on their own afterwards, which
//!    fails them with the precise `Conflict`;
//! 2. the run's licenses decided by the core engine at once, each user seated whole or
//!    refused in order (`SeatPolicy::EachUserWhole`), its pools' stripes locked; a refused
//!    user's row is deleted again;
//! 3. their licenses written at once (assignments, audit) and the created users' events
//!    recorded in order, then the license events, in one outbox insert.
//!
//! Outcomes are those of writing the users one after the other, each in its savepoint.

use std::collections::HashMap;

use diesel::prelude::*;
use scim_core::events::ResourceEvent;
use scim_core::license::UserFacts;
use scim_core::{StoreError, WriteContext};

use crate::assignments::{decide_new_users, write};
use crate::connection::DbConnection;
use crate::errors::from_diesel;
use crate::members::CHUNK;
use crate::rows::NewResourceRow;
use crate::schema::resources;
use crate::seats::Seating;

/// One user of the run.
pub(crate) struct NewUser<'a> {
    pub(crate) row: &'a NewResourceRow,
    /// What the license rules read of it.
    pub(crate) facts: &'a UserFacts,
    pub(crate) events: &'a [ResourceEvent],
}

/// What became of a user of the run.
#[derive(Debug)]
pub(crate) enum Provisioned {
    Created,
    Refused(StoreError),
    /// Its row clashed: write it on its own for the precise error.
    Alone,
}

/// Creates the run's users in the caller's transaction.
pub(crate) fn create_users(
    connection: &mut DbConnection,
    ctx: &WriteContext,
    users: &[NewUser<'_>],
) -> Result<Vec<Provisioned>, StoreError> {
    let mut seqs: HashMap<String, i64> = HashMap::with_capacity(users.len());
    for chunk in users.chunks(ROWS_PER_INSERT) {
        let rows: Vec<&NewResourceRow> = chunk.iter().map(|user| user.row).collect();
        let statement = diesel::insert_into(resources::table)
            .values(rows)
            .on_conflict_do_nothing()
            .returning((resources::id, resources::seq));
        let inserted: Vec<(String, i64)> = match connection {
            #[cfg(feature = "postgres")]
            DbConnection::Pg(connection) => statement.get_results(connection),
            #[cfg(feature = "sqlite")]
            DbConnection::Sqlite(connection) => statement.get_results(connection),
        }
        .map_err(from_diesel)?;
        seqs.extend(inserted);
    }
    let created: Vec<(i64, &str, &UserFacts)> = users
        .iter()
        .filter_map(|user| {
            let seq = *seqs.get(&user.row.id)?;
            Some((seq, user.row.id.as_str(), user.facts))
        })
        .collect();
    let licenses = decide_new_users(connection, ctx, &created, Seating::NEW_USERS)?;
    let mut refused: HashMap<i64, StoreError> = licenses
        .refused
        .iter()
        .map(|(seq, shortage)| (*seq, shortage.clone().into()))
        .collect();
    let gone: Vec<i64> = refused.keys().copied().collect();
    for chunk in gone.chunks(CHUNK) {
        diesel::delete(resources::table.filter(resources::seq.eq_any(chunk)))
            .execute(connection)
            .map_err(from_diesel)?;
    }
    let mut events = Vec::new();
    let outcomes = users
        .iter()
        .map(|user| match seqs.get(&user.row.id) {
            None => Provisioned::Alone,
            Some(seq) => match refused.remove(seq) {
                Some(why) => Provisioned::Refused(why),
                None => {
                    events.extend_from_slice(user.events);
                    Provisioned::Created
                }
            },
        })
        .collect();
    write(connection, ctx, &licenses, &events)?;
    Ok(outcomes)
}

/// Rows per INSERT: a resource row binds 12 values, so this stays far below both
/// backends' limits on bound parameters (SQLite 32766, PostgreSQL 65535).
const ROWS_PER_INSERT: usize = 1_000;
