//! Translating filters to SQL.
//!
//! The core's evaluator is the oracle; the translation only ever pushes down what it answers
//! identically. Each filter becomes a [`Pushdown`]: a [`Predicate`] over the key columns
//! plus whether it is *exact* (selects exactly the matching resources) or only a *superset*
//! that the evaluator must narrow in memory:
//! - a comparison or `pr` on an attribute with a column (see [`Column`]) is exact; on any
//!   other attribute, or with a literal the column cannot compare, it is `Always`, inexact;
//! - `and` and `or` combine their parts (a conjunction or disjunction of supersets is a
//!   superset) and are exact when both parts are;
//! - `not` is pushed down only when its operand is exact (the negation of a superset is no
//!   superset), else it is `Always`, inexact;
//! - group membership by member id is exact: `members[value eq "x"]`, `members.value eq
//!   "x"` (and `members eq "x"`, which compares `value`) select the groups with a member whose
//!   id has the fold key of `x` (`members.value` is caseExact=false), through the membership
//!   rows; `ne` is its negation; inside the brackets `or` keeps exactness and `and` gives a
//!   superset (some member matching both sides is more than some member matching each);
//! - every other value path (`emails[type eq "work"]`, `members[type eq "User"]`) is
//!   `Always`, inexact, and so is any other term on `members` or on users' `groups`: the
//!   store loads them for the evaluator.
//!
//! Absent values follow the evaluator: a missing attribute matches no comparison except
//! `ne`, and `pr` means present and not empty. Every SQL expression built here is two-valued
//! (never NULL), so that `NOT` and `OR` mean what they mean in the evaluator.

use chrono::DateTime;
use diesel::dsl::not;
use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use scim_core::filter::{CompValue, CompareOp, Filter};
use scim_core::fold::fold_key;
use scim_core::path::AttrPath;
use scim_core::resource::MEMBERS;
use scim_core::{ResourceKind, SchemaRegistry};

use crate::columns::{Column, TextColumn, TimeColumn};
use crate::connection::MultiBackend;
use crate::schema::{group_members, resources};

/// A SQL condition on the resources table.
pub(crate) type Condition =
    Box<dyn BoxableExpression<resources::table, MultiBackend, SqlType = Bool>>;

/// A condition over the key columns, as plain data (built once, turned into SQL as often as
/// a query needs it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Predicate {
    Always,
    Never,
    /// `column op key`; `key` is folded when the column holds fold keys.
    Text {
        column: TextColumn,
        op: CompareOp,
        key: String,
    },
    /// The column is not NULL and not empty.
    Present(TextColumn),
    /// `column op micros`; never a substring operator.
    Time {
        column: TimeColumn,
        op: CompareOp,
        micros: i64,
    },
    /// A group with a member whose id has this fold key.
    Member {
        key: String,
    },
    And(Box<Predicate>, Box<Predicate>),
    Or(Box<Predicate>, Box<Predicate>),
    Not(Box<Predicate>),
}

/// A filter's translation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pushdown {
    pub(crate) predicate: Predicate,
    /// Whether `predicate` selects exactly what the filter matches (else a superset).
    pub(crate) exact: bool,
}

impl Pushdown {
    fn exact(predicate: Predicate) -> Self {
        Self {
            predicate,
            exact: true,
        }
    }

    /// Selects everything; the evaluator decides.
    fn superset() -> Self {
        Self {
            predicate: Predicate::Always,
            exact: false,
        }
    }
}

/// Translates a checked filter on `kind`'s resources.
pub(crate) fn push_down(
    filter: &Filter,
    kind: ResourceKind,
    registry: &SchemaRegistry,
) -> Pushdown {
    match filter {
        Filter::Compare { path, op, value } if is_members(path, kind, registry) => {
            member_comparison(path, *op, value)
        }
        Filter::Compare { path, op, value } => compare(path, *op, value, kind, registry)
            .map_or_else(Pushdown::superset, Pushdown::exact),
        Filter::Present(path) => match Column::of(path, kind, registry) {
            Some(Column::Text(column)) => Pushdown::exact(Predicate::Present(column)),
            Some(Column::Time(_)) => Pushdown::exact(Predicate::Always),
            None => Pushdown::superset(),
        },
        Filter::And(left, right) => {
            let (left, right) = (
                push_down(left, kind, registry),
                push_down(right, kind, registry),
            );
            Pushdown {
                predicate: left.predicate.and(right.predicate),
                exact: left.exact && right.exact,
            }
        }
        Filter::Or(left, right) => {
            let (left, right) = (
                push_down(left, kind, registry),
                push_down(right, kind, registry),
            );
            Pushdown {
                predicate: left.predicate.or(right.predicate),
                exact: left.exact && right.exact,
            }
        }
        Filter::Not(inner) => {
            let inner = push_down(inner, kind, registry);
            if inner.exact {
                Pushdown::exact(inner.predicate.negate())
            } else {
                Pushdown::superset()
            }
        }
        Filter::ValuePath { path, filter } if is_members(path, kind, registry) => {
            member_value_filter(filter)
        }
        Filter::ValuePath { .. } => Pushdown::superset(),
    }
}

/// Whether `path` names the `members` of groups (any spelling, any sub-attribute).
fn is_members(path: &AttrPath, kind: ResourceKind, registry: &SchemaRegistry) -> bool {
    let top = AttrPath {
        sub: None,
        ..path.clone()
    };
    kind == ResourceKind::Group
        && registry
            .resolve(kind, &top)
            .is_some_and(|resolved| resolved.extension.is_none() && resolved.attr.name == MEMBERS)
}

/// `members.value eq|ne "x"` (or `members eq|ne "x"`); any other comparison on `members` is
/// for the evaluator.
fn member_comparison(path: &AttrPath, op: CompareOp, value: &CompValue) -> Pushdown {
    let on_value = path
        .sub
        .as_deref()
        .is_none_or(|sub| sub.eq_ignore_ascii_case("value"));
    match (on_value, op, value) {
        (true, CompareOp::Eq, CompValue::Str(literal)) => Pushdown::exact(Predicate::Member {
            key: fold_key(literal),
        }),
        (true, CompareOp::Ne, CompValue::Str(literal)) => Pushdown::exact(
            Predicate::Member {
                key: fold_key(literal),
            }
            .negate(),
        ),
        _ => Pushdown::superset(),
    }
}

/// The filter inside `members[…]`: some member satisfies it.
fn member_value_filter(filter: &Filter) -> Pushdown {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::Str(literal),
        } if path.urn.is_none()
            && path.sub.is_none()
            && path.attr.eq_ignore_ascii_case("value") =>
        {
            Pushdown::exact(Predicate::Member {
                key: fold_key(literal),
            })
        }
        // Some member satisfies `a or b` exactly when some member satisfies `a` or some
        // member satisfies `b`.
        Filter::Or(left, right) => {
            let (left, right) = (member_value_filter(left), member_value_filter(right));
            Pushdown {
                predicate: left.predicate.or(right.predicate),
                exact: left.exact && right.exact,
            }
        }
        // Some member satisfying `a and b` satisfies each; the converse does not hold.
        Filter::And(left, right) => {
            let (left, right) = (member_value_filter(left), member_value_filter(right));
            Pushdown {
                predicate: left.predicate.and(right.predicate),
                exact: false,
            }
        }
        _ => Pushdown::superset(),
    }
}

/// A comparison on a column, when the literal is one the column can compare exactly.
fn compare(
    path: &AttrPath,
    op: CompareOp,
    value: &CompValue,
    kind: ResourceKind,
    registry: &SchemaRegistry,
) -> Option<Predicate> {
    let CompValue::Str(literal) = value else {
        return None;
    };
    match Column::of(path, kind, registry)? {
        Column::Text(column) => Some(Predicate::Text {
            column,
            op,
            key: if column.is_folded() {
                fold_key(literal)
            } else {
                literal.clone()
            },
        }),
        Column::Time(column) if !op.is_substring() => Some(Predicate::Time {
            column,
            op,
            micros: parse_micros(literal)?,
        }),
        Column::Time(_) => None,
    }
}

/// An RFC 3339 literal as microseconds since the epoch; `None` when it is not one or is
/// more precise than the column (the evaluator then decides).
fn parse_micros(literal: &str) -> Option<i64> {
    let time = DateTime::parse_from_rfc3339(literal).ok()?;
    let nanos = time.timestamp_subsec_nanos();
    (nanos % 1_000 == 0 && nanos < 1_000_000_000).then(|| time.timestamp_micros())
}

impl Predicate {
    pub(crate) fn and(self, other: Self) -> Self {
        match (self, other) {
            (Self::Always, other) | (other, Self::Always) => other,
            (Self::Never, _) | (_, Self::Never) => Self::Never,
            (left, right) => Self::And(Box::new(left), Box::new(right)),
        }
    }

    pub(crate) fn or(self, other: Self) -> Self {
        match (self, other) {
            (Self::Never, other) | (other, Self::Never) => other,
            (Self::Always, _) | (_, Self::Always) => Self::Always,
            (left, right) => Self::Or(Box::new(left), Box::new(right)),
        }
    }

    pub(crate) fn negate(self) -> Self {
        match self {
            Self::Always => Self::Never,
            Self::Never => Self::Always,
            Self::Not(inner) => *inner,
            other => Self::Not(Box::new(other)),
        }
    }

    /// The SQL condition.
    pub(crate) fn to_sql(&self) -> Condition {
        match self {
            Self::Always => Box::new(true.into_sql::<Bool>()),
            Self::Never => Box::new(false.into_sql::<Bool>()),
            Self::Text { column, op, key } => text_condition(*column, *op, key.clone()),
            Self::Present(column) => Box::new(
                column
                    .expr()
                    .is_not_null()
                    .and(column.expr().assume_not_null().ne(String::new())),
            ),
            Self::Time { column, op, micros } => time_condition(*column, *op, *micros),
            Self::Member { key } => member_condition(key.clone()),
            Self::And(left, right) => Box::new(left.to_sql().and(right.to_sql())),
            Self::Or(left, right) => Box::new(left.to_sql().or(right.to_sql())),
            Self::Not(inner) => Box::new(not(inner.to_sql())),
        }
    }
}

/// `column op key`, false when the column is NULL, except for `ne`, which is true then.
fn text_condition(column: TextColumn, op: CompareOp, key: String) -> Condition {
    let present = || column.expr().is_not_null();
    let value = || column.expr().assume_not_null();
    match op {
        CompareOp::Eq => Box::new(present().and(value().eq(key))),
        CompareOp::Ne => Box::new(column.expr().is_null().or(value().ne(key))),
        CompareOp::Co => Box::new(
            present().and(
                value()
                    .like(format!("%{}%", escape_like(&key)))
                    .escape('\\'),
            ),
        ),
        CompareOp::Sw => {
            Box::new(present().and(value().like(format!("{}%", escape_like(&key))).escape('\\')))
        }
        CompareOp::Ew => {
            Box::new(present().and(value().like(format!("%{}", escape_like(&key))).escape('\\')))
        }
        CompareOp::Gt => Box::new(present().and(value().gt(key))),
        CompareOp::Ge => Box::new(present().and(value().ge(key))),
        CompareOp::Lt => Box::new(present().and(value().lt(key))),
        CompareOp::Le => Box::new(present().and(value().le(key))),
    }
}

/// The group has a member whose id has the fold key `key`: its `seq` is among the groups of
/// the resources with that key. Uncorrelated, so each backend runs the subquery once, from
/// the `id_key` and `member_seq` indexes, whatever the number of groups. Never NULL
/// (`group_seq` is not).
fn member_condition(key: String) -> Condition {
    let member = diesel::alias!(resources as member);
    let members = member
        .filter(member.field(resources::id_key).eq(key))
        .select(member.field(resources::seq));
    let groups = group_members::table
        .filter(group_members::member_seq.eq_any(members))
        .select(group_members::group_seq);
    Box::new(resources::seq.eq_any(groups))
}

/// `column op micros` on a column that is never NULL.
fn time_condition(column: TimeColumn, op: CompareOp, micros: i64) -> Condition {
    let value = column.expr();
    match op {
        CompareOp::Eq => Box::new(value.eq(micros)),
        CompareOp::Ne => Box::new(value.ne(micros)),
        CompareOp::Gt => Box::new(value.gt(micros)),
        CompareOp::Ge => Box::new(value.ge(micros)),
        CompareOp::Lt => Box::new(value.lt(micros)),
        CompareOp::Le => Box::new(value.le(micros)),
        // Never built (see `compare`); matching nothing keeps the function total.
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => Box::new(false.into_sql::<Bool>()),
    }
}

/// Escapes `LIKE`'s wildcards and its escape character (`\`, declared with `ESCAPE`).
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> AttrPath {
        AttrPath::parse(text).unwrap()
    }

    fn cmp(attr: &str, op: CompareOp, value: &str) -> Filter {
        Filter::Compare {
            path: path(attr),
            op,
            value: CompValue::Str(value.into()),
        }
    }

    fn text(column: TextColumn, op: CompareOp, key: &str) -> Predicate {
        Predicate::Text {
            column,
            op,
            key: key.into(),
        }
    }

    #[test]
    fn pushes_down_column_terms_and_keeps_the_rest_for_the_evaluator() {
        use CompareOp::*;
        let registry = SchemaRegistry::standard();
        let user = ResourceKind::User;
        let title = cmp("title", Eq, "x");
        let user_name = cmp("userName", Eq, "Straße");
        let cases = [
            (
                user_name.clone(),
                text(TextColumn::UserName, Eq, "strasse"),
                true,
            ),
            (
                cmp("externalId", Co, "A_b"),
                text(TextColumn::ExternalId, Co, "A_b"),
                true,
            ),
            (
                cmp("DISPLAYNAME", Sw, "ÄB"),
                text(TextColumn::DisplayName, Sw, "äb"),
                true,
            ),
            (cmp("id", Gt, "abc"), text(TextColumn::Id, Gt, "abc"), true),
            (
                cmp("meta.lastModified", Ge, "2024-01-02T03:04:05.678+01:00"),
                Predicate::Time {
                    column: TimeColumn::LastModified,
                    op: Ge,
                    micros: 1_704_161_045_678_000,
                },
                true,
            ),
            // More precise than the column, or no time at all: the evaluator decides.
            (
                cmp("meta.created", Eq, "2024-01-02T03:04:05.0000001Z"),
                Predicate::Always,
                false,
            ),
            (
                cmp("meta.created", Eq, "yesterday"),
                Predicate::Always,
                false,
            ),
            (cmp("meta.created", Co, "2024"), Predicate::Always, false),
            (
                Filter::Compare {
                    path: path("userName"),
                    op: Eq,
                    value: CompValue::Bool(true),
                },
                Predicate::Always,
                false,
            ),
            (title.clone(), Predicate::Always, false),
            (
                Filter::Present(path("externalId")),
                Predicate::Present(TextColumn::ExternalId),
                true,
            ),
            (
                Filter::Present(path("meta.created")),
                Predicate::Always,
                true,
            ),
            (Filter::Present(path("title")), Predicate::Always, false),
            (
                Filter::and(user_name.clone(), title.clone()),
                text(TextColumn::UserName, Eq, "strasse"),
                false,
            ),
            (
                Filter::or(user_name.clone(), cmp("id", Eq, "1")),
                text(TextColumn::UserName, Eq, "strasse").or(text(TextColumn::Id, Eq, "1")),
                true,
            ),
            (
                Filter::or(user_name.clone(), title.clone()),
                Predicate::Always,
                false,
            ),
            (
                Filter::not(user_name.clone()),
                Predicate::Not(Box::new(text(TextColumn::UserName, Eq, "strasse"))),
                true,
            ),
            (Filter::not(title.clone()), Predicate::Always, false),
            (
                Filter::not(Filter::Present(path("meta.created"))),
                Predicate::Never,
                true,
            ),
            (
                Filter::ValuePath {
                    path: path("emails"),
                    filter: Box::new(cmp("type", Eq, "work")),
                },
                Predicate::Always,
                false,
            ),
        ];
        for (filter, predicate, exact) in cases {
            let pushdown = push_down(&filter, user, &registry);
            assert_eq!(pushdown, Pushdown { predicate, exact }, "{filter}");
        }
    }

    #[test]
    fn pushes_down_membership_by_member_id() {
        use CompareOp::*;
        let registry = SchemaRegistry::standard();
        let member = |key: &str| Predicate::Member { key: key.into() };
        let members = |filter: Filter| Filter::ValuePath {
            path: path("members"),
            filter: Box::new(filter),
        };
        let value_is = |id: &str| cmp("value", Eq, id);
        let type_is = cmp("type", Eq, "User");
        let cases = [
            (members(value_is("U-1")), member("u-1"), true),
            (cmp("members.value", Eq, "Straße"), member("strasse"), true),
            (cmp("MEMBERS", Eq, "a"), member("a"), true),
            (
                cmp(
                    "urn:ietf:params:scim:schemas:core:2.0:Group:members.value",
                    Eq,
                    "a",
                ),
                member("a"),
                true,
            ),
            (
                cmp("members.value", Ne, "a"),
                Predicate::Not(Box::new(member("a"))),
                true,
            ),
            (
                members(Filter::or(value_is("a"), value_is("b"))),
                member("a").or(member("b")),
                true,
            ),
            (
                Filter::or(members(value_is("a")), cmp("displayName", Eq, "X")),
                member("a").or(text(TextColumn::DisplayName, Eq, "x")),
                true,
            ),
            (
                members(Filter::and(value_is("a"), type_is.clone())),
                member("a"),
                false,
            ),
            (members(type_is.clone()), Predicate::Always, false),
            (cmp("members.value", Co, "a"), Predicate::Always, false),
            (cmp("members.type", Eq, "User"), Predicate::Always, false),
            (cmp("members.display", Eq, "a"), Predicate::Always, false),
            (Filter::Present(path("members")), Predicate::Always, false),
            (
                Filter::and(members(value_is("a")), cmp("members.type", Eq, "Group")),
                member("a"),
                false,
            ),
        ];
        for (filter, predicate, exact) in cases {
            let pushdown = push_down(&filter, ResourceKind::Group, &registry);
            assert_eq!(pushdown, Pushdown { predicate, exact }, "{filter}");
        }
        // Users have no members; their `groups` are for the evaluator.
        let groups = Filter::ValuePath {
            path: path("groups"),
            filter: Box::new(value_is("g1")),
        };
        assert_eq!(
            push_down(&groups, ResourceKind::User, &registry),
            Pushdown::superset()
        );
    }

    #[test]
    fn escapes_like_wildcards() {
        assert_eq!(escape_like(r"50%_off\now"), r"50\%\_off\\now");
        assert_eq!(escape_like("plain"), "plain");
    }
}
