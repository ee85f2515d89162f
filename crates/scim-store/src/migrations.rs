//! The migrations of both backends, embedded in the binary, and running them.

use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::connection::DbConnection;

#[cfg(feature = "sqlite")]
const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
#[cfg(feature = "postgres")]
const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// What running or checking migrations failed with.
pub(crate) type MigrationError = Box<dyn std::error::Error + Send + Sync>;

/// The migrations of the connection's backend.
fn migrations_for(connection: &DbConnection) -> EmbeddedMigrations {
    match connection {
        #[cfg(feature = "postgres")]
        DbConnection::Pg(_) => POSTGRES,
        #[cfg(feature = "sqlite")]
        DbConnection::Sqlite(_) => SQLITE,
    }
}

/// Applies the pending migrations. When another process migrates the same database at the
/// same moment, one of the two fails on the tables the other created; that failure is
/// harmless when nothing is pending afterwards.
pub(crate) fn run_pending(connection: &mut DbConnection) -> Result<(), MigrationError> {
    let migrations = migrations_for(connection);
    let failure = match connection.run_pending_migrations(migrations) {
        Ok(applied) => {
            for version in applied {
                tracing::info!(%version, "applied migration");
            }
            return Ok(());
        }
        Err(error) => error.to_string(),
    };
    if has_pending(connection)? {
        return Err(failure.into());
    }
    tracing::debug!(error = %failure, "another process applied the migrations first");
    Ok(())
}

/// Whether a migration of this build is not applied yet.
pub(crate) fn has_pending(connection: &mut DbConnection) -> Result<bool, MigrationError> {
    let migrations = migrations_for(connection);
    connection.has_pending_migration(migrations)
}
