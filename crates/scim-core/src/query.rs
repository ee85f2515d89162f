//! List queries (RFC 7644 §3.4.2): filter, sorting and paging, as the stores receive them,
//! and [`apply_in_memory`], the reference implementation the stores are tested against.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::filter::Filter;
use crate::filter::eval::{CompiledFilter, Scalar, ValueKind, resolve_attr};
use crate::path::AttrPath;
use crate::resource::{Expand, Resource, ResourceKind, membership_attribute};
use crate::schema::{LICENSE_USER_EXTENSION, SchemaRegistry, TenantSchema};

/// Page size when the client sends no `count`.
pub const DEFAULT_COUNT: u64 = 100;
/// The largest page we return (advertised as `filter.maxResults`).
pub const MAX_COUNT: u64 = 1000;

/// `sortOrder` (RFC 7644 §3.4.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// `ascending`, the default: resources without a value come last.
    #[default]
    Ascending,
    /// `descending`: resources without a value come first.
    Descending,
}

/// Sorting by one attribute; `path` is canonical (resolved against the registry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    /// `sortBy`, resolved: for a complex attribute, its `value` sub-attribute.
    pub path: AttrPath,
    /// `sortOrder`.
    pub order: SortOrder,
}

/// Where a cursor page (RFC 9865, see [`crate::paging`]) of an unsorted list starts, in
/// the store's insertion order. Keys are the store's own (`seq` for the diesel stores),
/// opaque to everyone else; a store reports them in [`ListPage::next_key`] and
/// [`ListPage::previous_key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyset {
    /// The first `count` resources.
    First,
    /// The first `count` resources after the one with this key.
    After(i64),
    /// The last `count` resources before the one with this key.
    Before(i64),
}

/// A validated list query. Filters and sort paths have been checked against the schema
/// registry, so a store may rely on every path resolving.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    /// `filter`: the resources listed; `None`: all of them.
    pub filter: Option<Filter>,
    /// `sortBy` and `sortOrder`; `None`: the store's insertion order.
    pub sort: Option<Sort>,
    /// 1-based index of the first result.
    pub start_index: u64,
    /// Results per page; 0 asks for `totalResults` only.
    pub count: u64,
    /// A cursor page of an unsorted list: where it starts (`start_index` is then ignored).
    pub keyset: Option<Keyset>,
    /// The registry the query was checked against when the tenant has attributes of its
    /// own (`None`: the server's); stores resolve its paths with it.
    pub schema: Option<TenantSchema>,
    /// The most resources a store may load to evaluate the query in memory (a filter or
    /// sort its indexes cannot answer): beyond it the store refuses with
    /// [`StoreError::TooManyCandidates`](crate::StoreError::TooManyCandidates) instead of
    /// loading the tenant's whole set. `None`: no bound (the operator's own queries).
    pub scan_limit: Option<u64>,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            filter: None,
            sort: None,
            start_index: 1,
            count: DEFAULT_COUNT,
            keyset: None,
            schema: None,
            scan_limit: None,
        }
    }
}

impl ListQuery {
    /// The number of matching resources to skip.
    pub fn offset(&self) -> u64 {
        self.start_index.saturating_sub(1)
    }

    /// The computed attributes (see [`Expand`]) the filter or the sort reads: a store that
    /// evaluates the query in memory must load them first.
    pub fn reads_computed(&self, kind: ResourceKind, registry: &SchemaRegistry) -> Expand {
        let mut paths = Vec::new();
        if let Some(filter) = &self.filter {
            filter_paths(filter, &mut paths);
        }
        if let Some(sort) = &self.sort {
            paths.push(&sort.path);
        }
        let computed = membership_attribute(kind);
        let (mut membership, mut licenses) = (false, false);
        for path in paths {
            let top = AttrPath {
                sub: None,
                ..path.clone()
            };
            if let Some(resolved) = registry.resolve(kind, &top) {
                match resolved.extension {
                    None => membership |= resolved.attr.name == computed,
                    Some(extension) => licenses |= extension == LICENSE_USER_EXTENSION,
                }
            }
        }
        let user = kind == ResourceKind::User;
        Expand {
            members: membership && !user,
            groups: membership && user,
            licenses: licenses && user,
        }
    }
}

/// The attribute paths a filter names at the top level (a value path's own path, not the
/// sub-attributes its filter names).
fn filter_paths<'f>(filter: &'f Filter, out: &mut Vec<&'f AttrPath>) {
    match filter {
        Filter::Compare { path, .. } | Filter::Present(path) | Filter::ValuePath { path, .. } => {
            out.push(path);
        }
        Filter::And(left, right) | Filter::Or(left, right) => {
            filter_paths(left, out);
            filter_paths(right, out);
        }
        Filter::Not(inner) => filter_paths(inner, out),
    }
}

/// One page of a list answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListPage {
    /// All resources matching the filter, not just this page.
    pub total: u64,
    /// The page's resources, in the query's order.
    pub resources: Vec<Resource>,
    /// For a [`Keyset`] query: the key of the page's last resource when more follow it…
    pub next_key: Option<i64>,
    /// …and of its first when more precede it.
    pub previous_key: Option<i64>,
}

impl ListPage {
    /// A page without cursor keys.
    pub fn new(total: u64, resources: Vec<Resource>) -> Self {
        Self {
            total,
            resources,
            ..Self::default()
        }
    }
}

/// [`apply_in_memory`] for a store that knows each resource's key in its own stable order
/// (`keyed`, ascending by key): a cursor page (`query.keyset`) is cut by key from the
/// matches, any other query as `apply_in_memory` cuts it.
pub fn apply_in_memory_keyed(
    keyed: Vec<(i64, Resource)>,
    kind: ResourceKind,
    registry: &SchemaRegistry,
    query: &ListQuery,
) -> ListPage {
    let Some(keyset) = query.keyset else {
        let resources = keyed.into_iter().map(|(_, resource)| resource).collect();
        return apply_in_memory(resources, kind, registry, query);
    };
    let keys: HashMap<String, i64> = keyed
        .iter()
        .map(|(key, resource)| (resource.id.clone(), *key))
        .collect();
    let everything = ListQuery {
        start_index: 1,
        count: u64::MAX,
        ..query.clone()
    };
    let resources = keyed.into_iter().map(|(_, resource)| resource).collect();
    // Unsorted (cursor pages are only by keyset then), so the matches keep the key order.
    let matched = apply_in_memory(resources, kind, registry, &everything)
        .resources
        .into_iter()
        .map(|resource| {
            (
                keys.get(&resource.id).copied().unwrap_or_default(),
                resource,
            )
        })
        .collect();
    keyset_page(matched, keyset, query.count)
}

/// The page `keyset` selects from `keyed`, the matching resources in the store's insertion
/// order with their keys (ascending): for stores that page in memory.
pub fn keyset_page(keyed: Vec<(i64, Resource)>, keyset: Keyset, count: u64) -> ListPage {
    let len = keyed.len();
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    let (start, end) = match keyset {
        Keyset::First => (0, count.min(len)),
        Keyset::After(key) => {
            let start = keyed.partition_point(|(k, _)| *k <= key);
            (start, start.saturating_add(count).min(len))
        }
        Keyset::Before(key) => {
            let end = keyed.partition_point(|(k, _)| *k < key);
            (end.saturating_sub(count), end)
        }
    };
    let served = end > start;
    let (next_key, previous_key) = match keyset {
        _ if served => (
            (end < len).then(|| keyed[end - 1].0),
            (start > 0).then(|| keyed[start].0),
        ),
        // An empty page (what it would have shown was deleted) still leads back to what
        // remains on the other side of its key.
        Keyset::After(key) => (None, (start > 0).then(|| key.saturating_add(1))),
        Keyset::Before(key) => ((end < len).then(|| key.saturating_sub(1)), None),
        Keyset::First => (None, None),
    };
    ListPage {
        total: len as u64,
        resources: keyed
            .into_iter()
            .skip(start)
            .take(end - start)
            .map(|(_, resource)| resource)
            .collect(),
        next_key,
        previous_key,
    }
}

/// Parses and resolves a `sortBy` parameter into the canonical path stores sort by.
///
/// A complex attribute sorts by its `value` sub-attribute, so `emails` becomes
/// `emails.value`; a complex attribute without one (`name`) is refused. Errors are
/// `invalidValue` and name the attribute.
pub fn sort_path(
    kind: ResourceKind,
    registry: &SchemaRegistry,
    text: &str,
) -> Result<AttrPath, ScimError> {
    let text = text.trim();
    let invalid = |detail: String| ScimError::InvalidValue(format!("sortBy: {detail}"));
    // `AttrPath::parse` slices at byte offsets: give it ASCII only.
    if text.is_empty() || !text.is_ascii() {
        return Err(invalid(format!("'{text}' is not an attribute path")));
    }
    let path = AttrPath::parse(text).map_err(|err| invalid(err.0))?;
    let resolved = resolve_attr(kind, registry, &path).map_err(invalid)?;
    let mut canonical = resolved.canonical_path();
    if resolved.target().is_complex() {
        match resolved.target().sub_attribute("value") {
            Some(value) => canonical.sub = Some(value.name.to_owned()),
            None => {
                return Err(invalid(format!(
                    "'{text}' is a complex attribute without a 'value' sub-attribute; sort by \
                     one of its sub-attributes instead"
                )));
            }
        }
    }
    Ok(canonical)
}

/// Answers `query` over `resources` (given in insertion order), as a store must:
///
/// 1. keep the resources the filter matches ([`crate::filter::matches`] on
///    [`Resource::to_document`]); a filter that does not check matches nothing;
/// 2. sort them, when asked, with a stable sort: values compare as the evaluator compares
///    them (folded keys by code point for caseExact=false strings, instants, numbers,
///    `false < true`); a multi-valued attribute sorts by the element with `primary: true`,
///    else its first element; a complex attribute by its `value`. A resource without a value
///    is greater than every value: last when ascending, first when descending. Descending
///    reverses the comparison, and ties keep their input order in both directions;
/// 3. count them (`total`), skip [`ListQuery::offset`] and take `count`.
pub fn apply_in_memory(
    resources: Vec<Resource>,
    kind: ResourceKind,
    registry: &SchemaRegistry,
    query: &ListQuery,
) -> ListPage {
    let core_schema = registry.resource_type(kind).map_or("", |rt| rt.schema);
    let filter = query
        .filter
        .as_ref()
        .map(|filter| CompiledFilter::compile(filter, kind, registry));
    let sort = query
        .sort
        .as_ref()
        .and_then(|sort| SortKeyPath::new(kind, registry, sort));
    let mut matched: Vec<(Option<Scalar>, Resource)> = resources
        .into_iter()
        .filter_map(|resource| {
            let doc = resource.to_document(core_schema);
            let keep = match &filter {
                None => true,
                Some(Ok(filter)) => filter.matches(&doc),
                Some(Err(_)) => false,
            };
            keep.then(|| (sort.as_ref().and_then(|s| s.key(&doc)), resource))
        })
        .collect();
    if let Some(sort) = &sort {
        matched.sort_by(|(a, _), (b, _)| sort.compare(a.as_ref(), b.as_ref()));
    }
    let total = matched.len() as u64;
    let offset = usize::try_from(query.offset()).unwrap_or(usize::MAX);
    let count = usize::try_from(query.count).unwrap_or(usize::MAX);
    ListPage::new(
        total,
        matched
            .into_iter()
            .skip(offset)
            .take(count)
            .map(|(_, resource)| resource)
            .collect(),
    )
}

/// Where a resource document keeps the value it sorts by, and in which order.
struct SortKeyPath {
    extension: Option<&'static str>,
    attr: &'static str,
    /// The sub-attribute: the given one, or `value` for a complex attribute.
    sub: Option<&'static str>,
    /// `None` for a complex attribute without `value`: nothing to sort by.
    kind: Option<ValueKind>,
    order: SortOrder,
}

impl SortKeyPath {
    /// `None` when the path does not resolve (a query that was not validated): no sorting.
    fn new(kind: ResourceKind, registry: &SchemaRegistry, sort: &Sort) -> Option<Self> {
        let resolved = resolve_attr(kind, registry, &sort.path).ok()?;
        let sub = match resolved.sub {
            None if resolved.attr.is_complex() => resolved.attr.sub_attribute("value"),
            sub => sub,
        };
        let leaf = sub.unwrap_or(resolved.attr);
        Some(Self {
            extension: resolved.extension,
            attr: resolved.attr.name,
            sub: sub.map(|s| s.name),
            kind: ValueKind::of(leaf),
            order: sort.order,
        })
    }

    /// The order of two sort keys: a missing key is greater than every value, and
    /// descending reverses the whole comparison.
    fn compare(&self, a: Option<&Scalar>, b: Option<&Scalar>) -> Ordering {
        let ascending = match (a, b) {
            (Some(a), Some(b)) => a.compare(b).unwrap_or(Ordering::Equal),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        match self.order {
            SortOrder::Ascending => ascending,
            SortOrder::Descending => ascending.reverse(),
        }
    }

    /// The value `doc` sorts by; `None` when it has none or one that does not fit the
    /// attribute's type.
    fn key(&self, doc: &Map<String, Value>) -> Option<Scalar> {
        let container = match self.extension {
            Some(urn) => doc.get(urn)?.as_object()?,
            None => doc,
        };
        let mut value = container.get(self.attr)?;
        if let Value::Array(items) = value {
            value = items
                .iter()
                .find(|item| item.get("primary") == Some(&Value::Bool(true)))
                .or_else(|| items.first())?;
        }
        if let Some(sub) = self.sub {
            value = value.get(sub)?;
        }
        Scalar::from_json(self.kind?, value)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    use super::*;
    use crate::filter::parse;
    use crate::resource::Meta;

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    /// A user whose id is `id`, modified `minute` minutes past midnight, with `attributes`.
    fn user(id: &str, minute: u32, attributes: Value) -> Resource {
        let Value::Object(attributes) = attributes else {
            unreachable!()
        };
        let time = Utc.with_ymd_and_hms(2024, 1, 1, 0, minute, 0).unwrap();
        Resource {
            kind: ResourceKind::User,
            id: id.to_owned(),
            meta: Meta {
                created: time,
                last_modified: time,
                version: 1,
            },
            attributes,
        }
    }

    /// Seven users in insertion order, with ties, gaps and Unicode.
    fn users() -> Vec<Resource> {
        vec![
            user(
                "1",
                30,
                json!({"userName": "carol", "active": true,
                    "emails": [{"value": "z@x.org"}, {"value": "c@x.org", "primary": true}],
                    ENTERPRISE: {"department": "Sales"}}),
            ),
            user(
                "2",
                10,
                json!({"userName": "Alice", "active": false, "emails": [{"value": "a@x.org"}]}),
            ),
            user("3", 50, json!({"userName": "bob", "emails": []})),
            user(
                "4",
                20,
                json!({"userName": "ßigma", "active": true,
                    ENTERPRISE: {"department": "sales"}}),
            ),
            user(
                "5",
                40,
                json!({"userName": "BOB2", "active": false, "emails": [{"value": "B@x.org"}],
                    ENTERPRISE: {"department": "Engineering"}}),
            ),
            user("6", 0, json!({"userName": "sSigma", "active": true})),
            user(
                "7",
                5,
                json!({"userName": "Émile", "emails": [{"value": null}]}),
            ),
        ]
    }

    fn ids(page: &ListPage) -> Vec<&str> {
        page.resources.iter().map(|r| r.id.as_str()).collect()
    }

    fn run(filter: Option<&str>, sort_by: Option<&str>, order: SortOrder) -> ListPage {
        let registry = SchemaRegistry::standard();
        let kind = ResourceKind::User;
        let query = ListQuery {
            filter: filter.map(|text| parse(text).unwrap()),
            sort: sort_by.map(|text| Sort {
                path: sort_path(kind, &registry, text).unwrap(),
                order,
            }),
            ..ListQuery::default()
        };
        apply_in_memory(users(), kind, &registry, &query)
    }

    #[test]
    fn sorts_stably_with_missing_values_greatest() {
        use SortOrder::{Ascending, Descending};
        let cases = [
            // No sort: insertion order.
            (None, Ascending, vec!["1", "2", "3", "4", "5", "6", "7"]),
            // Folded keys by code point: alice, bob, bob2, carol, ssigma = ssigma (tie: input
            // order), émile (é > s).
            (
                Some("userName"),
                Ascending,
                vec!["2", "3", "5", "1", "4", "6", "7"],
            ),
            (
                Some("userName"),
                Descending,
                vec!["7", "4", "6", "1", "5", "3", "2"],
            ),
            // false < true; resources without `active` last ascending, first descending.
            (
                Some("active"),
                Ascending,
                vec!["2", "5", "1", "4", "6", "3", "7"],
            ),
            (
                Some("active"),
                Descending,
                vec!["3", "7", "1", "4", "6", "2", "5"],
            ),
            // The primary email, else the first; `emails` sorts by `emails.value`. 3 has an
            // empty list, 7 a null value, 4 and 6 no emails: missing.
            (
                Some("emails"),
                Ascending,
                vec!["2", "5", "1", "3", "4", "6", "7"],
            ),
            (
                Some("emails.value"),
                Descending,
                vec!["3", "4", "6", "7", "1", "5", "2"],
            ),
            // Instants.
            (
                Some("meta.lastModified"),
                Ascending,
                vec!["6", "7", "2", "4", "1", "5", "3"],
            ),
            (
                Some("META.LASTMODIFIED"),
                Descending,
                vec!["3", "5", "1", "4", "2", "7", "6"],
            ),
            // Extension attribute, folded ("sales" twice: input order kept both ways).
            (
                Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
                Ascending,
                vec!["5", "1", "4", "2", "3", "6", "7"],
            ),
            (
                Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
                Descending,
                vec!["2", "3", "6", "7", "1", "4", "5"],
            ),
            // Case-exact id: raw code points.
            (
                Some("id"),
                Descending,
                vec!["7", "6", "5", "4", "3", "2", "1"],
            ),
        ];
        for (sort_by, order, want) in cases {
            let page = run(None, sort_by, order);
            assert_eq!(ids(&page), want, "{sort_by:?} {order:?}");
            assert_eq!(page.total, 7);
        }
    }

    #[test]
    fn filters_before_counting_and_paging() {
        let registry = SchemaRegistry::standard();
        let kind = ResourceKind::User;
        let filter = Some(parse("userName sw \"B\" or active eq true").unwrap());
        let sort = Some(Sort {
            path: sort_path(kind, &registry, "userName").unwrap(),
            order: SortOrder::Ascending,
        });
        // Matches 1, 3, 4, 5, 6; sorted: bob(3), bob2(5), carol(1), ßigma(4), sSigma(6).
        let cases = [
            (1, 100, vec!["3", "5", "1", "4", "6"]),
            (2, 2, vec!["5", "1"]),
            (5, 10, vec!["6"]),
            (6, 10, vec![]),
            (1, 0, vec![]),
            (u64::MAX, u64::MAX, vec![]),
        ];
        for (start_index, count, want) in cases {
            let query = ListQuery {
                filter: filter.clone(),
                sort: sort.clone(),
                start_index,
                count,
                ..ListQuery::default()
            };
            let page = apply_in_memory(users(), kind, &registry, &query);
            assert_eq!(page.total, 5, "{start_index}/{count}");
            assert_eq!(ids(&page), want, "{start_index}/{count}");
        }
    }

    #[test]
    fn a_filter_that_does_not_check_matches_nothing() {
        let page = run(Some("nope pr"), None, SortOrder::Ascending);
        assert_eq!((page.total, ids(&page)), (0, vec![]));
        let page = run(Some("userName ne \"alice\""), None, SortOrder::Ascending);
        assert_eq!(ids(&page), vec!["1", "3", "4", "5", "6", "7"]);
    }

    #[test]
    fn knows_which_queries_read_computed_attributes() {
        let registry = SchemaRegistry::standard();
        let (user, group) = (ResourceKind::User, ResourceKind::Group);
        let members = Expand::MEMBERS;
        let groups = Expand::GROUPS;
        let cases = [
            (group, Some("displayName eq \"a\""), None, Expand::default()),
            (group, Some("members[value eq \"u1\"]"), None, members),
            (group, Some("MEMBERS.type eq \"User\""), None, members),
            (
                group,
                Some(
                    "displayName pr and not (urn:ietf:params:scim:schemas:core:2.0:Group:members pr)",
                ),
                None,
                members,
            ),
            (group, None, Some("members"), members),
            (group, None, Some("displayName"), Expand::default()),
            (
                user,
                Some("groups[type eq \"direct\"] or userName eq \"a\""),
                None,
                groups,
            ),
            (
                user,
                Some("emails[value co \"groups\"]"),
                None,
                Expand::default(),
            ),
            (user, None, Some("groups.display"), groups),
        ];
        for (kind, filter, sort_by, want) in cases {
            let query = ListQuery {
                filter: filter.map(|text| parse(text).unwrap()),
                sort: sort_by.map(|text| Sort {
                    path: sort_path(kind, &registry, text).unwrap(),
                    order: SortOrder::Ascending,
                }),
                ..ListQuery::default()
            };
            assert_eq!(
                query.reads_computed(kind, &registry),
                want,
                "{filter:?} {sort_by:?}"
            );
        }
    }

    #[test]
    fn sort_paths_resolve_to_canonical_leaves() {
        let registry = SchemaRegistry::standard();
        let cases = [
            ("userName", AttrPath::new("userName")),
            (" USERNAME ", AttrPath::new("userName")),
            ("name.FamilyName", AttrPath::with_sub("name", "familyName")),
            ("emails", AttrPath::with_sub("emails", "value")),
            (
                "meta.lastmodified",
                AttrPath::with_sub("meta", "lastModified"),
            ),
            ("schemas", AttrPath::new("schemas")),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:userName",
                AttrPath::new("userName"),
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:manager",
                AttrPath {
                    urn: Some(ENTERPRISE.to_owned()),
                    attr: "manager".to_owned(),
                    sub: Some("value".to_owned()),
                },
            ),
        ];
        for (text, want) in cases {
            assert_eq!(
                sort_path(ResourceKind::User, &registry, text),
                Ok(want),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_invalid_sort_paths() {
        let registry = SchemaRegistry::standard();
        let cases = [
            (
                ResourceKind::User,
                "",
                "sortBy: '' is not an attribute path",
            ),
            (
                ResourceKind::User,
                "userNamé",
                "sortBy: 'userNamé' is not an attribute path",
            ),
            (
                ResourceKind::User,
                "abcé",
                "sortBy: 'abcé' is not an attribute path",
            ),
            (
                ResourceKind::User,
                "a.b.c",
                "sortBy: 'a.b.c' nests deeper than attribute.subAttribute",
            ),
            (
                ResourceKind::User,
                "nope",
                "sortBy: unknown attribute 'nope' of User resources",
            ),
            (
                ResourceKind::Group,
                "userName",
                "sortBy: unknown attribute 'userName' of Group resources",
            ),
            (
                ResourceKind::User,
                "userName.x",
                "sortBy: 'userName' is not a complex attribute and has no sub-attribute 'x'",
            ),
            (
                ResourceKind::User,
                "name",
                "sortBy: 'name' is a complex attribute without a 'value' sub-attribute; sort by \
                 one of its sub-attributes instead",
            ),
            (
                ResourceKind::User,
                "emails[type eq \"work\"]",
                "sortBy: 'emails[type eq \"work\"]' is not a valid attribute path",
            ),
        ];
        for (kind, text, detail) in cases {
            assert_eq!(
                sort_path(kind, &registry, text),
                Err(ScimError::InvalidValue(detail.to_owned())),
                "{text}"
            );
        }
    }
}
