//! `ResourceRepository`: Users and Groups, and their membership rows.

use std::sync::Arc;

use async_trait::async_trait;
use diesel::prelude::*;
use scim_core::events::ResourceEvent;
use scim_core::license::{HeldLicense, LicensedWrite, UserFacts, license_scope};
use scim_core::ports::{BatchWrite, ResourceRepository};
use scim_core::query::{ListPage, ListQuery};
use scim_core::tenant::TenantId;
use scim_core::{Expand, MembershipChange, Resource, ResourceKind, StoreError, WriteContext};

use crate::assignments;
use crate::connection::DbConnection;
use crate::errors::from_diesel;
use crate::expand::expand;
use crate::list::{ListPlan, ListScope};
use crate::members::{self, GroupRow};
use crate::outbox;
use crate::provision::{self, NewUser, Provisioned};
use crate::rows::{NewResourceRow, ResourceRow, ResourceState, StoredResource};
use crate::schema::{group_members, resources};
use crate::seats::Seating;
use crate::store::DieselStore;

#[async_trait]
impl ResourceRepository for DieselStore {
    /// `Conflict` on a taken id or userName (by fold key); `NotFound` when the tenant does
    /// not exist; `InvalidReference` for a member that is no User or Group of the tenant.
    async fn insert(
        &self,
        ctx: &WriteContext,
        resource: &Resource,
        members: &[MembershipChange],
    ) -> Result<Vec<HeldLicense>, StoreError> {
        let write = Prepared::insert(&ctx.tenant, resource, members, &ctx.events)?;
        let ctx = ctx.clone();
        self.write(move |connection| write.apply(connection, &ctx, Seating::SINGLE))
            .await
    }

    async fn write_batch(
        &self,
        ctx: &WriteContext,
        writes: &[BatchWrite],
    ) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        // Rows are built first; one that cannot be built fails alone.
        let prepared: Vec<Result<Prepared, StoreError>> = writes
            .iter()
            .map(|write| Prepared::new(&ctx.tenant, write))
            .collect();
        let ctx = ctx.clone();
        self.write(move |connection| {
            let mut outcomes = Vec::with_capacity(prepared.len());
            let mut pending = prepared.into_iter().peekable();
            while let Some(next) = pending.next() {
                let write = match next {
                    Ok(write) => write,
                    Err(error) => {
                        outcomes.push(Err(error));
                        continue;
                    }
                };
                if !write.is_new_user() {
                    outcomes.push(apply_alone(connection, &ctx, &write));
                    continue;
                }
                let mut run = vec![write];
                while let Some(user) =
                    pending.next_if(|next| next.as_ref().is_ok_and(Prepared::is_new_user))
                {
                    run.extend(user.ok());
                }
                outcomes.extend(create_users(connection, &ctx, &run)?);
            }
            Ok(outcomes)
        })
        .await
    }

    async fn get(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
        expansion: Expand,
    ) -> Result<Option<Resource>, StoreError> {
        let (tenant, id) = (tenant.0.clone(), id.to_owned());
        self.run(move |connection| {
            let row = resources::table
                .filter(resources::tenant_id.eq(&tenant))
                .filter(resources::kind.eq(kind.as_str()))
                .filter(resources::id.eq(id))
                .select(ResourceRow::as_select())
                .first(connection)
                .optional()
                .map_err(from_diesel)?;
            let Some(row) = row else { return Ok(None) };
            let mut stored = [StoredResource::try_from(row)?];
            expand(connection, &tenant, &mut stored, kind, expansion)?;
            let [StoredResource { resource, .. }] = stored;
            Ok(Some(resource))
        })
        .await
    }

    async fn update(
        &self,
        ctx: &WriteContext,
        resource: &Resource,
        expected_version: i64,
        members: &[MembershipChange],
    ) -> Result<(), StoreError> {
        let write = Prepared::update(resource, expected_version, members, &ctx.events)?;
        let ctx = ctx.clone();
        self.write(move |connection| write.apply(connection, &ctx, Seating::SINGLE))
            .await
            .map(|_| ())
    }

    /// The membership rows go with the resource (`ON DELETE CASCADE`); the groups it was a
    /// member of get a new version, since their `members` changed.
    async fn delete(
        &self,
        ctx: &WriteContext,
        kind: ResourceKind,
        id: &str,
        expected_version: Option<i64>,
    ) -> Result<(), StoreError> {
        let write = Prepared {
            write: PreparedWrite::Delete {
                kind,
                id: id.to_owned(),
                expected_version,
            },
            events: ctx.events.clone(),
        };
        let ctx = ctx.clone();
        self.write(move |connection| write.apply(connection, &ctx, Seating::SINGLE))
            .await
            .map(|_| ())
    }

    async fn list(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        query: &ListQuery,
        expansion: Expand,
    ) -> Result<ListPage, StoreError> {
        // The tenant's own attributes, when the query was checked against them.
        let registry = query.schema.as_ref().map_or_else(
            || Arc::clone(&self.registry),
            |schema| Arc::clone(&schema.0),
        );
        let plan = ListPlan::new(query, kind, &registry);
        let (tenant, query, walks) = (tenant.0.clone(), query.clone(), Arc::clone(&self.walks));
        self.run(move |connection| {
            let scope = ListScope {
                tenant: &tenant,
                kind,
                registry: &registry,
                walks: &walks,
            };
            plan.run(connection, &scope, &query, expansion)
        })
        .await
    }
}

/// A write with its rows built and its events, owned for the transaction's closure: every
/// write path (single or batched) applies one of these.
struct Prepared {
    write: PreparedWrite,
    events: Vec<ResourceEvent>,
}

enum PreparedWrite {
    Insert {
        row: NewResourceRow,
        kind: ResourceKind,
        changes: Vec<MembershipChange>,
        /// What the license rules read of a new user, taken from the resource (its stored
        /// text is never parsed back).
        facts: Option<UserFacts>,
    },
    Update {
        state: ResourceState,
        kind: ResourceKind,
        id: String,
        expected_version: i64,
        changes: Vec<MembershipChange>,
    },
    Delete {
        kind: ResourceKind,
        id: String,
        expected_version: Option<i64>,
    },
}

impl Prepared {
    /// A user created (users carry no membership changes): [`provision`] can write it with
    /// others.
    fn is_new_user(&self) -> bool {
        matches!(
            &self.write,
            PreparedWrite::Insert {
                kind: ResourceKind::User,
                ..
            }
        )
    }

    fn new(tenant: &TenantId, write: &BatchWrite) -> Result<Self, StoreError> {
        match write {
            BatchWrite::Insert {
                resource,
                members,
                events,
            } => Self::insert(tenant, resource, members, events),
            BatchWrite::Update {
                resource,
                expected_version,
                members,
                events,
            } => Self::update(resource, *expected_version, members, events),
            BatchWrite::Delete {
                kind,
                id,
                expected_version,
                events,
            } => Ok(Self {
                write: PreparedWrite::Delete {
                    kind: *kind,
                    id: id.clone(),
                    expected_version: *expected_version,
                },
                events: events.clone(),
            }),
        }
    }

    fn insert(
        tenant: &TenantId,
        resource: &Resource,
        members: &[MembershipChange],
        events: &[ResourceEvent],
    ) -> Result<Self, StoreError> {
        Ok(Self {
            write: PreparedWrite::Insert {
                row: NewResourceRow::new(tenant, resource)?,
                kind: resource.kind,
                changes: membership_changes(resource, members)?,
                facts: (resource.kind == ResourceKind::User)
                    .then(|| UserFacts::from_attributes(&resource.attributes, Vec::new())),
            },
            events: events.to_vec(),
        })
    }

    fn update(
        resource: &Resource,
        expected_version: i64,
        members: &[MembershipChange],
        events: &[ResourceEvent],
    ) -> Result<Self, StoreError> {
        Ok(Self {
            write: PreparedWrite::Update {
                state: ResourceState::new(resource)?,
                kind: resource.kind,
                id: resource.id.clone(),
                expected_version,
                changes: membership_changes(resource, members)?,
            },
            events: events.to_vec(),
        })
    }

    /// Writes, recording the write's events in the same transaction right after its row
    /// (so they come before the license events the write causes); a new user's licenses.
    fn apply(
        &self,
        connection: &mut DbConnection,
        ctx: &WriteContext,
        seating: Seating,
    ) -> Result<Vec<HeldLicense>, StoreError> {
        let events = &self.events;
        match &self.write {
            PreparedWrite::Insert {
                row,
                kind,
                changes,
                facts,
            } => {
                let insert = (row, *kind, facts.as_ref());
                insert_one(connection, ctx, insert, changes, events, seating)
            }
            PreparedWrite::Update {
                state,
                kind,
                id,
                expected_version,
                changes,
            } => {
                let row = (state, *kind, id.as_str(), *expected_version);
                update_one(connection, ctx, row, changes, events, seating).map(|()| Vec::new())
            }
            PreparedWrite::Delete {
                kind,
                id,
                expected_version,
            } => {
                let target = (*kind, id.as_str(), *expected_version);
                delete_one(connection, ctx, target, events, seating).map(|()| Vec::new())
            }
        }
    }
}

/// Replaces a resource's row if its version is still `expected_version`, and applies its
/// membership changes and license effects.
fn update_one(
    connection: &mut DbConnection,
    ctx: &WriteContext,
    (state, kind, id, expected_version): (&ResourceState, ResourceKind, &str, i64),
    changes: &[MembershipChange],
    events: &[ResourceEvent],
    seating: Seating,
) -> Result<(), StoreError> {
    let tenant = ctx.tenant.0.as_str();
    let maps_groups = kind == ResourceKind::Group && assignments::maps_groups(connection, tenant)?;
    let renamed = maps_groups
        && resources::table
            .filter(resources::tenant_id.eq(tenant))
            .filter(resources::kind.eq(kind.as_str()))
            .filter(resources::id.eq(id))
            .select(resources::display)
            .first::<Option<String>>(connection)
            .optional()
            .map_err(from_diesel)?
            .is_some_and(|display| display != state.display);
    // Writing the row first also takes its lock (PostgreSQL) before the members change,
    // so concurrent writers of one group queue up here.
    let seq = diesel::update(resources::table)
        .filter(resources::tenant_id.eq(tenant))
        .filter(resources::kind.eq(kind.as_str()))
        .filter(resources::id.eq(id))
        .filter(resources::version.eq(expected_version))
        .set(state)
        .returning(resources::seq)
        .get_result::<i64>(connection)
        .optional()
        .map_err(from_diesel)?;
    let Some(seq) = seq else {
        return Err(why_not_written(connection, tenant, kind, id));
    };
    outbox::record(connection, ctx, events)?;
    let written = Written {
        seq,
        kind,
        maps_groups,
        renamed,
    };
    apply_with_licenses(connection, ctx, written, changes, seating)
}

/// Deletes a resource (if given, only at `expected_version`) with its membership rows;
/// the groups it was a member of get a new version; seats are freed. Its events get the
/// stored externalId.
fn delete_one(
    connection: &mut DbConnection,
    ctx: &WriteContext,
    (kind, id, expected_version): (ResourceKind, &str, Option<i64>),
    events: &[ResourceEvent],
    seating: Seating,
) -> Result<(), StoreError> {
    let tenant = ctx.tenant.0.as_str();
    // The row's lock first (PostgreSQL; SQLite has one writer): a concurrent write of the
    // resource then commits wholly before or after this delete, and so do their outbox
    // entries, which keeps `seq` order the order of the resource's changes.
    #[cfg(feature = "postgres")]
    if let DbConnection::Pg(pg) = connection {
        resources::table
            .filter(resources::tenant_id.eq(tenant))
            .filter(resources::kind.eq(kind.as_str()))
            .filter(resources::id.eq(id))
            .select(resources::seq)
            .for_update()
            .load::<i64>(pg)
            .map_err(from_diesel)?;
    }
    let mut target = resources::table
        .filter(resources::tenant_id.eq(tenant))
        .filter(resources::kind.eq(kind.as_str()))
        .filter(resources::id.eq(id))
        .select((resources::seq, resources::external_id))
        .into_boxed();
    if let Some(version) = expected_version {
        target = target.filter(resources::version.eq(version));
    }
    let Some((seq, external_id)) = target
        .first::<(i64, Option<String>)>(connection)
        .optional()
        .map_err(from_diesel)?
    else {
        return Err(why_not_written(connection, tenant, kind, id));
    };
    let mut events = events.to_vec();
    for event in &mut events {
        event.external_id = event.external_id.take().or_else(|| external_id.clone());
    }
    outbox::record(connection, ctx, &events)?;
    // A deleted user's seats are freed; a deleted group's members lose what only it
    // granted (they are found before its membership rows go).
    let (write, maps_groups) = match kind {
        ResourceKind::User => (LicensedWrite::UserDeleted, false),
        ResourceKind::Group => (
            LicensedWrite::GroupDeleted,
            assignments::maps_groups(connection, tenant)?,
        ),
    };
    let scope = license_scope(write, maps_groups);
    if scope.leaving_user {
        assignments::revoke_all(connection, ctx, seq, id, seating)?;
    }
    let affected = if scope.below_group_before {
        assignments::descendant_users(connection, tenant, &[seq])?
    } else {
        Vec::new()
    };
    let groups = group_members::table
        .filter(group_members::member_seq.eq(seq))
        .select(group_members::group_seq);
    diesel::update(resources::table.filter(resources::tenant_id.eq(tenant)))
        .filter(resources::seq.eq_any(groups))
        .set(resources::version.eq(resources::version + 1))
        .execute(connection)
        .map_err(from_diesel)?;
    // Checked again: a concurrent write may have changed the version meanwhile.
    let mut delete = diesel::delete(resources::table)
        .filter(resources::tenant_id.eq(tenant))
        .filter(resources::seq.eq(seq))
        .into_boxed();
    if let Some(version) = expected_version {
        delete = delete.filter(resources::version.eq(version));
    }
    if delete.execute(connection).map_err(from_diesel)? == 0 {
        return Err(why_not_written(connection, tenant, kind, id));
    }
    assignments::reconcile(connection, ctx, &affected, seating)?;
    Ok(())
}

/// Inserts one resource's row and applies its membership changes and license effects; a
/// new user's licenses.
fn insert_one(
    connection: &mut DbConnection,
    ctx: &WriteContext,
    (row, kind, facts): (&NewResourceRow, ResourceKind, Option<&UserFacts>),
    changes: &[MembershipChange],
    events: &[ResourceEvent],
    seating: Seating,
) -> Result<Vec<HeldLicense>, StoreError> {
    let seq = diesel::insert_into(resources::table)
        .values(row)
        .returning(resources::seq)
        .get_result::<i64>(connection)
        .map_err(from_diesel)?;
    if let Some(facts) = facts {
        // A new user holds nothing and is in no group: its attributes alone decide its
        // licenses, and its events go with theirs.
        let user = (seq, row.id.as_str(), facts);
        let outcome = assignments::license_new_user(connection, ctx, user, events, seating)?;
        return Ok(outcome.assigned_to(&seq, ctx.at));
    }
    outbox::record(connection, ctx, events)?;
    let maps_groups = kind == ResourceKind::Group
        && !changes.is_empty()
        && assignments::maps_groups(connection, ctx.tenant.0.as_str())?;
    let written = Written {
        seq,
        kind,
        maps_groups,
        renamed: false,
    };
    apply_with_licenses(connection, ctx, written, changes, seating)?;
    Ok(Vec::new())
}

/// Applies one write of a batch in its own savepoint: a failure undoes this write only.
fn apply_alone(
    connection: &mut DbConnection,
    ctx: &WriteContext,
    write: &Prepared,
) -> Result<(), StoreError> {
    connection
        .transaction(|connection| {
            write
                .apply(connection, ctx, Seating::BATCHED)
                .map(|_| ())
                .map_err(Savepoint)
        })
        .map_err(|Savepoint(error)| error)
}

/// Creates a run of new users of a batch together ([`provision`]), in a savepoint; users
/// that clashed are written alone afterwards, and if the run as a whole fails (a row the
/// store refused), every user is written alone, for each one's own outcome.
fn create_users(
    connection: &mut DbConnection,
    ctx: &WriteContext,
    run: &[Prepared],
) -> Result<Vec<Result<(), StoreError>>, StoreError> {
    let users: Vec<NewUser<'_>> = run
        .iter()
        .filter_map(|write| match &write.write {
            PreparedWrite::Insert { row, facts, .. } => Some(NewUser {
                row,
                facts: facts.as_ref()?,
                events: &write.events,
            }),
            _ => None,
        })
        .collect();
    let together = connection.transaction(|connection| {
        provision::create_users(connection, ctx, &users).map_err(Savepoint)
    });
    let Ok(provisioned) = together else {
        return Ok(run
            .iter()
            .map(|write| apply_alone(connection, ctx, write))
            .collect());
    };
    Ok(provisioned
        .into_iter()
        .zip(run)
        .map(|(outcome, write)| match outcome {
            Provisioned::Created => Ok(()),
            Provisioned::Refused(why) => Err(why),
            Provisioned::Alone => apply_alone(connection, ctx, write),
        })
        .collect())
}

/// A store error inside a savepoint, which diesel wants to build from its own errors.
struct Savepoint(StoreError);

impl From<diesel::result::Error> for Savepoint {
    fn from(error: diesel::result::Error) -> Self {
        Self(from_diesel(error))
    }
}

/// A resource just written, for [`apply_with_licenses`].
#[derive(Debug, Clone, Copy)]
struct Written {
    seq: i64,
    kind: ResourceKind,
    /// A group of a tenant that maps groups to skus (asked once per write).
    maps_groups: bool,
    /// A group whose displayName changed (only known when `maps_groups`).
    renamed: bool,
}

/// Applies a group's membership changes, then brings the licenses of the users the write
/// affects ([`license_scope`]) in line with the tenant's rules. Under the strict policy any
/// missing seat fails the write.
fn apply_with_licenses(
    connection: &mut DbConnection,
    ctx: &WriteContext,
    written: Written,
    changes: &[MembershipChange],
    seating: Seating,
) -> Result<(), StoreError> {
    let tenant = ctx.tenant.0.as_str();
    let group = GroupRow {
        tenant,
        seq: written.seq,
    };
    let write = match written.kind {
        ResourceKind::User => LicensedWrite::UserChanged,
        ResourceKind::Group => LicensedWrite::GroupChanged {
            renamed: written.renamed,
            changes,
        },
    };
    let scope = license_scope(write, written.maps_groups);
    let mut affected = if scope.below_group_before {
        assignments::descendant_users(connection, tenant, &[written.seq])?
    } else {
        Vec::new()
    };
    members::apply(connection, group, changes)?;
    if scope.written_user {
        affected.push(written.seq);
    }
    if !scope.below_members.is_empty() {
        let named: Vec<i64> = members::seqs_by_id(connection, tenant, &scope.below_members)?
            .into_values()
            .collect();
        affected.extend(assignments::descendant_users(connection, tenant, &named)?);
    }
    if scope.below_group_after {
        affected.extend(assignments::descendant_users(
            connection,
            tenant,
            &[written.seq],
        )?);
    }
    assignments::reconcile(connection, ctx, &affected, seating)?;
    Ok(())
}

/// A membership change of something that is not a group: a bug of the caller.
#[derive(Debug, thiserror::Error)]
#[error("membership changes apply to groups only, not to {kind} {id}")]
struct NotAGroup {
    kind: ResourceKind,
    id: String,
}

/// The changes to apply with a write of `resource`, owned for the write's closure.
fn membership_changes(
    resource: &Resource,
    changes: &[MembershipChange],
) -> Result<Vec<MembershipChange>, StoreError> {
    if resource.kind != ResourceKind::Group && !changes.is_empty() {
        return Err(StoreError::corrupt(NotAGroup {
            kind: resource.kind,
            id: resource.id.clone(),
        }));
    }
    Ok(changes.to_vec())
}

/// Why a versioned write touched no row: the resource is gone (`NotFound`) or has another
/// version (`VersionMismatch`). Asked inside the write's transaction.
fn why_not_written(
    connection: &mut DbConnection,
    tenant: &str,
    kind: ResourceKind,
    id: &str,
) -> StoreError {
    let exists = resources::table
        .filter(resources::tenant_id.eq(tenant))
        .filter(resources::kind.eq(kind.as_str()))
        .filter(resources::id.eq(id))
        .select(resources::version)
        .first::<i64>(connection)
        .optional();
    match exists {
        Ok(Some(_)) => StoreError::VersionMismatch,
        Ok(None) => StoreError::NotFound,
        Err(error) => from_diesel(error),
    }
}
