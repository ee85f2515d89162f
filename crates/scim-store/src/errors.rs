//! Mapping diesel and r2d2 errors into the core's `StoreError`.

use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind, Error as DieselError};
use scim_core::StoreError;

/// Column or constraint names (as they appear in PostgreSQL's constraint names and SQLite's
/// messages) and the attribute a client knows them by. The first match wins; anything else
/// is a clash of ids.
const UNIQUE_KEYS: [(&str, &str); 3] = [
    ("user_name", "userName"),
    ("slug", "slug"),
    ("hash", "token"),
];

/// Maps a diesel error: a unique violation is a `Conflict` naming the attribute, a foreign
/// key violation means the tenant the row belongs to is gone (`NotFound`), a row that
/// does not read as its type is `Corrupt`, and everything else is the store failing for
/// now (`Unavailable`).
pub(crate) fn from_diesel(error: DieselError) -> StoreError {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            StoreError::Conflict {
                attribute: conflicting_attribute(info.as_ref()).to_owned(),
            }
        }
        DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)
        | DieselError::NotFound => StoreError::NotFound,
        DieselError::DeserializationError(_) | DieselError::SerializationError(_) => {
            StoreError::corrupt(error)
        }
        other => StoreError::unavailable(other),
    }
}

/// Pool timeouts and failed connections.
pub(crate) fn from_pool(error: r2d2::Error) -> StoreError {
    StoreError::unavailable(error)
}

/// The attribute whose uniqueness a violation reports. PostgreSQL names the constraint;
/// SQLite names the columns in its message (`UNIQUE constraint failed: resources.tenant_id,
/// resources.kind, resources.user_name_key`).
fn conflicting_attribute(info: &dyn DatabaseErrorInformation) -> &'static str {
    let text = info.constraint_name().unwrap_or_else(|| info.message());
    UNIQUE_KEYS
        .iter()
        .find(|(needle, _)| text.contains(needle))
        .map_or("id", |(_, attribute)| attribute)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Info {
        message: &'static str,
        constraint: Option<&'static str>,
    }

    impl DatabaseErrorInformation for Info {
        fn message(&self) -> &str {
            self.message
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            self.constraint
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn unique_violation(message: &'static str, constraint: Option<&'static str>) -> DieselError {
        DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            Box::new(Info {
                message,
                constraint,
            }),
        )
    }

    #[test]
    fn unique_violations_name_the_attribute() {
        let sqlite = "UNIQUE constraint failed: ";
        let cases = [
            (
                unique_violation(
                    "UNIQUE constraint failed: resources.tenant_id, resources.kind, resources.user_name_key",
                    None,
                ),
                "userName",
            ),
            (
                unique_violation(
                    "UNIQUE constraint failed: resources.tenant_id, resources.kind, resources.id",
                    None,
                ),
                "id",
            ),
            (
                unique_violation("UNIQUE constraint failed: tenants.slug", None),
                "slug",
            ),
            (
                unique_violation("UNIQUE constraint failed: tokens.hash", None),
                "token",
            ),
            (unique_violation(sqlite, None), "id"),
            (
                unique_violation("duplicate key value", Some("resources_user_name_unique")),
                "userName",
            ),
            (
                unique_violation("duplicate key value", Some("resources_id_unique")),
                "id",
            ),
            (
                unique_violation("duplicate key value", Some("tenants_slug_unique")),
                "slug",
            ),
            (
                unique_violation("duplicate key value", Some("tenants_pkey")),
                "id",
            ),
        ];
        for (error, expected) in cases {
            match from_diesel(error) {
                StoreError::Conflict { attribute } => assert_eq!(attribute, expected),
                other => panic!("expected a conflict, got {other:?}"),
            }
        }
    }

    #[test]
    fn other_errors_are_not_found_or_unavailable() {
        let foreign = DieselError::DatabaseError(
            DatabaseErrorKind::ForeignKeyViolation,
            Box::new(Info {
                message: "FOREIGN KEY constraint failed",
                constraint: None,
            }),
        );
        assert!(matches!(from_diesel(foreign), StoreError::NotFound));
        assert!(matches!(
            from_diesel(DieselError::BrokenTransactionManager),
            StoreError::Unavailable(_)
        ));
    }
}
