//! The SCIM attributes that have a column of their own: what filters and sorts can do in SQL.

use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use scim_core::path::AttrPath;
use scim_core::query::SortOrder;
use scim_core::{ResourceKind, SchemaRegistry};

use crate::connection::MultiBackend;
use crate::schema::resources;

/// A text column, as a nullable expression (`id` is never NULL, but treating it like the
/// others lets one piece of code serve all four).
pub(crate) type TextExpr =
    Box<dyn BoxableExpression<resources::table, MultiBackend, SqlType = Nullable<Text>>>;
/// A timestamp column (microseconds), never NULL.
pub(crate) type TimeExpr =
    Box<dyn BoxableExpression<resources::table, MultiBackend, SqlType = BigInt>>;
/// A list query on the resources table, built at run time.
pub(crate) type ResourceQuery = resources::BoxedQuery<'static, MultiBackend>;

/// An attribute stored in a text column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextColumn {
    /// `id`, case-exact.
    Id,
    /// `externalId`, case-exact.
    ExternalId,
    /// `userName` of Users, as its fold key.
    UserName,
    /// `displayName`, as its fold key.
    DisplayName,
}

/// An attribute stored in a timestamp column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeColumn {
    Created,
    LastModified,
}

/// An attribute with a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Column {
    Text(TextColumn),
    Time(TimeColumn),
}

impl Column {
    /// The column of the attribute `path` names on `kind`'s resources, if it has one.
    /// Paths are resolved against the registry, so every spelling of an attribute (any
    /// case, with or without the core schema URN) finds its column.
    pub(crate) fn of(
        path: &AttrPath,
        kind: ResourceKind,
        registry: &SchemaRegistry,
    ) -> Option<Self> {
        let resolved = registry.resolve(kind, path)?;
        if resolved.extension.is_some() {
            return None;
        }
        let column = match (resolved.attr.name, resolved.sub.map(|sub| sub.name)) {
            ("id", None) => Self::Text(TextColumn::Id),
            ("externalId", None) => Self::Text(TextColumn::ExternalId),
            ("userName", None) if kind == ResourceKind::User => Self::Text(TextColumn::UserName),
            ("displayName", None) => Self::Text(TextColumn::DisplayName),
            ("meta", Some("created")) => Self::Time(TimeColumn::Created),
            ("meta", Some("lastModified")) => Self::Time(TimeColumn::LastModified),
            _ => return None,
        };
        Some(column)
    }

    /// Orders by the column as the core's in-memory sort does: a missing value counts as
    /// greatest (last ascending, first descending); ties keep insertion order, which the
    /// caller adds as the last key.
    pub(crate) fn order(self, query: ResourceQuery, order: SortOrder) -> ResourceQuery {
        match self {
            Self::Text(column) => match order {
                SortOrder::Ascending => query
                    .then_order_by(column.expr().is_null().asc())
                    .then_order_by(column.expr().asc()),
                SortOrder::Descending => query
                    .then_order_by(column.expr().is_null().desc())
                    .then_order_by(column.expr().desc()),
            },
            Self::Time(column) => match order {
                SortOrder::Ascending => query.then_order_by(column.expr().asc()),
                SortOrder::Descending => query.then_order_by(column.expr().desc()),
            },
        }
    }
}

impl TextColumn {
    /// Whether the column holds fold keys, so literals compared with it must be folded.
    pub(crate) fn is_folded(self) -> bool {
        matches!(self, Self::UserName | Self::DisplayName)
    }

    pub(crate) fn expr(self) -> TextExpr {
        match self {
            Self::Id => Box::new(resources::id.nullable()),
            Self::ExternalId => Box::new(resources::external_id),
            Self::UserName => Box::new(resources::user_name_key),
            Self::DisplayName => Box::new(resources::display_name_key),
        }
    }
}

impl TimeColumn {
    pub(crate) fn expr(self) -> TimeExpr {
        match self {
            Self::Created => Box::new(resources::created),
            Self::LastModified => Box::new(resources::last_modified),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_column_of_every_spelling() {
        let registry = SchemaRegistry::standard();
        let user = ResourceKind::User;
        let group = ResourceKind::Group;
        let cases = [
            ("id", user, Some(Column::Text(TextColumn::Id))),
            (
                "externalId",
                group,
                Some(Column::Text(TextColumn::ExternalId)),
            ),
            ("USERNAME", user, Some(Column::Text(TextColumn::UserName))),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:userName",
                user,
                Some(Column::Text(TextColumn::UserName)),
            ),
            (
                "displayName",
                group,
                Some(Column::Text(TextColumn::DisplayName)),
            ),
            (
                "meta.lastModified",
                user,
                Some(Column::Time(TimeColumn::LastModified)),
            ),
            (
                "Meta.Created",
                group,
                Some(Column::Time(TimeColumn::Created)),
            ),
            ("meta.version", user, None),
            ("title", user, None),
            ("emails.value", user, None),
            ("name.givenName", user, None),
            ("userName", group, None),
        ];
        for (text, kind, expected) in cases {
            let path = AttrPath::parse(text).unwrap();
            assert_eq!(
                Column::of(&path, kind, &registry),
                expected,
                "{text} on {kind}"
            );
        }
    }
}
