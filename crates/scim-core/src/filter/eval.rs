//! The filter checker and evaluator: the reference semantics every store's filter
//! translation is tested against.
//!
//! A filter is first compiled against the schema registry: every path is resolved to the
//! canonical keys of the resource document, every literal is checked against the attribute's
//! type and turned into a comparable `Scalar`. Checking is compiling and dropping the result;
//! evaluating is compiling and running it, so a filter that checks is exactly a filter that
//! can be evaluated.
//!
//! The rules (stores must mirror them):
//! - The values of a path are collected from the document through its canonical names;
//!   arrays are flattened (a multi-valued attribute contributes each element,
//!   `emails.value` the `value` of each element) and `null`s are dropped.
//! - A comparison on a complex attribute without a sub-attribute compares its `value`
//!   sub-attribute (`emails co "x"` is `emails.value co "x"`).
//! - `eq`, `co`, `sw`, `ew`, `gt`, `ge`, `lt`, `le` match when ANY value matches; `ne` is
//!   `not eq`: it matches when NO value is equal, so an absent attribute matches `ne`
//!   and nothing else.
//! - `pr` matches when some value is present: not `null`, not `""`, not `[]`, not `{}`.
//!   `eq null` is `not pr` and `ne null` is `pr` (on the compared path, `.value` for a
//!   complex attribute).
//! - Strings and references with caseExact=false compare by [`fold_key`] (also for the
//!   ordering operators, which compare the folded keys by code point); caseExact=true strings
//!   and binary values (base64, case-significant) compare as written, by code point.
//!   dateTime values compare as instants, integer and decimal values numerically, booleans
//!   by `eq`/`ne` only.
//! - A document value that does not fit the attribute's type (say, an unparsable dateTime)
//!   equals nothing.
//! - `attr[filter]` matches when some element of `attr` satisfies `filter` on its own; a
//!   single-valued complex attribute is a one-element list.
//! - `schemas` is a multi-valued, case-insensitive reference attribute of every resource.

use std::cmp::Ordering;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use serde_json::{Map, Number, Value};

use super::ast::{CompValue, CompareOp, Filter};
use crate::error::ScimError;
use crate::fold::fold_key;
use crate::path::AttrPath;
use crate::resource::ResourceKind;
use crate::schema::{AttrType, AttributeDef, ResolvedAttr, SchemaRegistry};

/// Checks a parsed filter against the registry for `kind`: every path resolves, every
/// operator suits its attribute's type, every literal has that type.
pub fn check(
    filter: &Filter,
    kind: ResourceKind,
    registry: &SchemaRegistry,
) -> Result<(), ScimError> {
    CompiledFilter::compile(filter, kind, registry).map(|_| ())
}

/// Evaluates a checked filter against a resource document (see
/// [`Resource::to_document`](crate::resource::Resource::to_document)). A filter that does not
/// check matches nothing.
pub fn matches(
    filter: &Filter,
    kind: ResourceKind,
    registry: &SchemaRegistry,
    doc: &Map<String, Value>,
) -> bool {
    CompiledFilter::compile(filter, kind, registry).is_ok_and(|compiled| compiled.matches(doc))
}

/// Whether values of the attribute compare by [`fold_key`]: strings and references with
/// caseExact=false. Binary values never fold.
pub fn compares_folded(def: &AttributeDef) -> bool {
    matches!(def.ty, AttrType::String | AttrType::Reference) && !def.case_exact
}

/// `schemas` (RFC 7643 §3): in every resource, though no schema defines it.
static SCHEMAS_ATTRIBUTE: LazyLock<AttributeDef> = LazyLock::new(|| {
    AttributeDef::new(
        "schemas",
        AttrType::Reference,
        "The schema URIs the resource conforms to.",
    )
    .multi()
});

/// Resolves `path` for `kind`, like [`SchemaRegistry::resolve`] but also for `schemas`, and
/// with a detail saying what does not resolve.
pub(crate) fn resolve_attr<'r>(
    kind: ResourceKind,
    registry: &'r SchemaRegistry,
    path: &AttrPath,
) -> Result<ResolvedAttr<'r>, String> {
    let top = if path.urn.is_none() && path.attr.eq_ignore_ascii_case("schemas") {
        ResolvedAttr {
            extension: None,
            attr: &SCHEMAS_ATTRIBUTE,
            sub: None,
        }
    } else {
        let attr_only = AttrPath {
            sub: None,
            ..path.clone()
        };
        registry
            .resolve(kind, &attr_only)
            .ok_or_else(|| unknown_attribute(kind, registry, path))?
    };
    let Some(sub) = &path.sub else {
        return Ok(top);
    };
    if !top.attr.is_complex() {
        return Err(format!(
            "'{}' is not a complex attribute and has no sub-attribute '{sub}'",
            top.attr.name
        ));
    }
    match top.attr.sub_attribute(sub) {
        Some(def) => Ok(ResolvedAttr {
            sub: Some(def),
            ..top
        }),
        None => Err(format!("'{}' has no sub-attribute '{sub}'", top.attr.name)),
    }
}

fn unknown_attribute(kind: ResourceKind, registry: &SchemaRegistry, path: &AttrPath) -> String {
    if let Some(urn) = &path.urn {
        let core = registry
            .resource_type(kind)
            .is_some_and(|rt| rt.schema.eq_ignore_ascii_case(urn));
        if !core && registry.extension(kind, urn).is_none() {
            return format!("'{urn}' is not a schema of {kind} resources");
        }
        return format!("unknown attribute '{}' in schema '{urn}'", path.attr);
    }
    let hint = registry
        .extensions(kind)
        .find(|schema| schema.attribute(&path.attr).is_some())
        .map(|schema| format!(" (did you mean '{}:{}'?)", schema.id, path.attr))
        .unwrap_or_default();
    format!(
        "unknown attribute '{}' of {kind} resources{hint}",
        path.attr
    )
}

/// How the values of an attribute compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueKind {
    /// Strings, references and binary values; `folded` ones compare by [`fold_key`].
    Text {
        folded: bool,
    },
    Boolean,
    Integer,
    Decimal,
    DateTime,
}

impl ValueKind {
    /// The kind of a simple attribute; `None` for a complex one.
    pub(crate) fn of(def: &AttributeDef) -> Option<Self> {
        Some(match def.ty {
            AttrType::String | AttrType::Reference | AttrType::Binary => Self::Text {
                folded: compares_folded(def),
            },
            AttrType::Boolean => Self::Boolean,
            AttrType::Integer => Self::Integer,
            AttrType::Decimal => Self::Decimal,
            AttrType::DateTime => Self::DateTime,
            AttrType::Complex => return None,
        })
    }
}

/// A value ready to compare: folded when its attribute folds, parsed when it is a dateTime.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Text(String),
    Bool(bool),
    Number(Number),
    Instant(DateTime<Utc>),
}

impl Scalar {
    /// A document value as an attribute of `kind`; `None` when it does not fit the type.
    pub(crate) fn from_json(kind: ValueKind, value: &Value) -> Option<Self> {
        match (kind, value) {
            (ValueKind::Text { folded }, Value::String(text)) => Some(Self::text(folded, text)),
            (ValueKind::Boolean, Value::Bool(b)) => Some(Self::Bool(*b)),
            (ValueKind::Integer | ValueKind::Decimal, Value::Number(n)) => {
                Some(Self::Number(n.clone()))
            }
            (ValueKind::DateTime, Value::String(text)) => parse_instant(text).map(Self::Instant),
            _ => None,
        }
    }

    /// A filter literal as an attribute of `kind`; `None` when it does not fit the type.
    fn from_literal(kind: ValueKind, value: &CompValue) -> Option<Self> {
        match (kind, value) {
            (ValueKind::Text { folded }, CompValue::Str(text)) => Some(Self::text(folded, text)),
            (ValueKind::Boolean, CompValue::Bool(b)) => Some(Self::Bool(*b)),
            (ValueKind::Integer, CompValue::Number(n)) if n.is_i64() || n.is_u64() => {
                Some(Self::Number(n.clone()))
            }
            (ValueKind::Decimal, CompValue::Number(n)) => Some(Self::Number(n.clone())),
            (ValueKind::DateTime, CompValue::Str(text)) => parse_instant(text).map(Self::Instant),
            _ => None,
        }
    }

    fn text(folded: bool, text: &str) -> Self {
        Self::Text(if folded {
            fold_key(text)
        } else {
            text.to_owned()
        })
    }

    /// The order of two values of the same kind: text by code point, booleans
    /// `false < true`, numbers numerically, instants chronologically. `None` across kinds.
    pub(crate) fn compare(&self, other: &Self) -> Option<Ordering> {
        match (self, other) {
            (Self::Text(a), Self::Text(b)) => Some(a.cmp(b)),
            (Self::Bool(a), Self::Bool(b)) => Some(a.cmp(b)),
            (Self::Number(a), Self::Number(b)) => compare_numbers(a, b),
            (Self::Instant(a), Self::Instant(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    /// Whether `self op operand` holds.
    fn satisfies(&self, op: CompareOp, operand: &Self) -> bool {
        match (op, self, operand) {
            (CompareOp::Co, Self::Text(value), Self::Text(part)) => value.contains(part.as_str()),
            (CompareOp::Sw, Self::Text(value), Self::Text(part)) => {
                value.starts_with(part.as_str())
            }
            (CompareOp::Ew, Self::Text(value), Self::Text(part)) => value.ends_with(part.as_str()),
            (CompareOp::Co | CompareOp::Sw | CompareOp::Ew, _, _) => false,
            _ => self
                .compare(operand)
                .is_some_and(|order| ordering_satisfies(op, order)),
        }
    }
}

fn ordering_satisfies(op: CompareOp, order: Ordering) -> bool {
    match op {
        CompareOp::Eq => order.is_eq(),
        CompareOp::Ne => order.is_ne(),
        CompareOp::Gt => order.is_gt(),
        CompareOp::Ge => order.is_ge(),
        CompareOp::Lt => order.is_lt(),
        CompareOp::Le => order.is_le(),
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

/// Integers exactly (as `i128`), anything else as `f64`.
fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    fn integer(n: &Number) -> Option<i128> {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    }
    match (integer(a), integer(b)) {
        (Some(a), Some(b)) => Some(a.cmp(&b)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// An RFC 3339 date-time as an instant.
fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Whether a value counts for `pr`: not `null`, `""`, `[]` or `{}`.
fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(members) => !members.is_empty(),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

/// The values at `keys` below `root`: arrays are flattened at every step, `null`s dropped.
fn collect<'d>(root: &'d Map<String, Value>, keys: &[&str]) -> Vec<&'d Value> {
    let Some((first, rest)) = keys.split_first() else {
        return Vec::new();
    };
    let mut values: Vec<&Value> = root.get(*first).into_iter().collect();
    for key in rest {
        values = values
            .into_iter()
            .flat_map(elements)
            .filter_map(|v| v.as_object()?.get(*key))
            .collect();
    }
    values
        .into_iter()
        .flat_map(elements)
        .filter(|v| !v.is_null())
        .collect()
}

/// The elements of an array, or the value itself.
fn elements(value: &Value) -> &[Value] {
    match value {
        Value::Array(items) => items,
        other => std::slice::from_ref(other),
    }
}

/// A filter resolved against the registry for one resource type.
#[derive(Debug, Clone)]
pub(crate) struct CompiledFilter(Node);

#[derive(Debug, Clone)]
enum Node {
    /// `keys op operand`; a `None` operand is `null` (with `eq` or `ne` only).
    Compare {
        keys: Vec<&'static str>,
        kind: ValueKind,
        op: CompareOp,
        operand: Option<Scalar>,
    },
    Present(Vec<&'static str>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    /// Some element at `keys` satisfies `inner`, whose keys are relative to the element.
    Any {
        keys: Vec<&'static str>,
        inner: Box<Node>,
    },
}

/// Where a path is resolved: at the resource, or inside an element of a complex attribute.
#[derive(Debug, Clone, Copy)]
enum Scope<'r> {
    Resource,
    Element(&'r AttributeDef),
}

/// What a path names: its keys from the scope's root, and its definition.
struct Target<'r> {
    keys: Vec<&'static str>,
    def: &'r AttributeDef,
}

impl CompiledFilter {
    /// Resolves and type-checks `filter`; errors are `invalidFilter`.
    pub(crate) fn compile(
        filter: &Filter,
        kind: ResourceKind,
        registry: &SchemaRegistry,
    ) -> Result<Self, ScimError> {
        Compiler { kind, registry }
            .node(filter, Scope::Resource)
            .map(Self)
            .map_err(ScimError::InvalidFilter)
    }

    /// Whether the resource document matches.
    pub(crate) fn matches(&self, doc: &Map<String, Value>) -> bool {
        self.0.eval(doc)
    }
}

struct Compiler<'r> {
    kind: ResourceKind,
    registry: &'r SchemaRegistry,
}

impl<'r> Compiler<'r> {
    fn node(&self, filter: &Filter, scope: Scope<'r>) -> Result<Node, String> {
        Ok(match filter {
            Filter::Compare { path, op, value } => self.compare(path, *op, value, scope)?,
            Filter::Present(path) => Node::Present(self.target(path, scope)?.keys),
            Filter::And(left, right) => Node::And(
                Box::new(self.node(left, scope)?),
                Box::new(self.node(right, scope)?),
            ),
            Filter::Or(left, right) => Node::Or(
                Box::new(self.node(left, scope)?),
                Box::new(self.node(right, scope)?),
            ),
            Filter::Not(inner) => Node::Not(Box::new(self.node(inner, scope)?)),
            Filter::ValuePath { path, filter } => self.value_path(path, filter, scope)?,
        })
    }

    fn target(&self, path: &AttrPath, scope: Scope<'r>) -> Result<Target<'r>, String> {
        match scope {
            Scope::Resource => {
                let resolved = resolve_attr(self.kind, self.registry, path)?;
                let mut keys = Vec::with_capacity(3);
                keys.extend(resolved.extension);
                keys.push(resolved.attr.name);
                keys.extend(resolved.sub.map(|sub| sub.name));
                Ok(Target {
                    keys,
                    def: resolved.target(),
                })
            }
            Scope::Element(parent) => {
                let sub = match path {
                    AttrPath {
                        urn: None,
                        attr,
                        sub: None,
                    } => parent.sub_attribute(attr),
                    _ => None,
                };
                let sub = sub.ok_or_else(|| {
                    format!(
                        "'{path}' is not a sub-attribute of '{}', so it cannot be used in \
                         '{}[…]'",
                        parent.name, parent.name
                    )
                })?;
                Ok(Target {
                    keys: vec![sub.name],
                    def: sub,
                })
            }
        }
    }

    fn compare(
        &self,
        path: &AttrPath,
        op: CompareOp,
        value: &CompValue,
        scope: Scope<'r>,
    ) -> Result<Node, String> {
        let mut target = self.target(path, scope)?;
        if target.def.is_complex() {
            let Some(value_def) = target.def.sub_attribute("value") else {
                let example = target
                    .def
                    .sub_attributes
                    .first()
                    .map(|sub| format!(", e.g. '{path}.{}'", sub.name))
                    .unwrap_or_default();
                return Err(format!(
                    "'{path}' is a complex attribute without a 'value' sub-attribute; compare \
                     one of its sub-attributes instead{example}"
                ));
            };
            target.keys.push(value_def.name);
            target.def = value_def;
        }
        let def = target.def;
        let kind = ValueKind::of(def)
            .ok_or_else(|| format!("'{path}' is a complex attribute and cannot be compared"))?;
        check_operator(path, op, def)?;
        let operand = match value {
            CompValue::Null if matches!(op, CompareOp::Eq | CompareOp::Ne) => None,
            CompValue::Null => {
                return Err(format!(
                    "'{path} {op} null': null can only be compared with 'eq' or 'ne'"
                ));
            }
            literal => Some(
                Scalar::from_literal(kind, literal)
                    .ok_or_else(|| literal_mismatch(path, def, literal))?,
            ),
        };
        Ok(Node::Compare {
            keys: target.keys,
            kind,
            op,
            operand,
        })
    }

    fn value_path(
        &self,
        path: &AttrPath,
        inner: &Filter,
        scope: Scope<'r>,
    ) -> Result<Node, String> {
        if let Scope::Element(parent) = scope {
            return Err(format!(
                "value filters cannot be nested: '{path}[…]' inside '{}[…]'",
                parent.name
            ));
        }
        let target = self.target(path, scope)?;
        if path.sub.is_some() || !target.def.is_complex() {
            return Err(format!(
                "'{path}' is not a complex attribute; a value filter '[…]' applies to complex \
                 attributes only"
            ));
        }
        let inner = self.node(inner, Scope::Element(target.def))?;
        Ok(Node::Any {
            keys: target.keys,
            inner: Box::new(inner),
        })
    }
}

fn type_name(ty: AttrType) -> &'static str {
    match ty {
        AttrType::String => "string",
        AttrType::Boolean => "boolean",
        AttrType::Decimal => "decimal",
        AttrType::Integer => "integer",
        AttrType::DateTime => "dateTime",
        AttrType::Binary => "binary",
        AttrType::Reference => "reference",
        AttrType::Complex => "complex",
    }
}

/// RFC 7644 §3.4.2.2: `gt`/`ge`/`lt`/`le` do not apply to boolean and binary attributes,
/// and we allow `co`/`sw`/`ew` on strings, references and binary values only.
fn check_operator(path: &AttrPath, op: CompareOp, def: &AttributeDef) -> Result<(), String> {
    let ty = def.ty;
    let refused = (op.is_ordering() && matches!(ty, AttrType::Boolean | AttrType::Binary))
        || (op.is_substring()
            && !matches!(
                ty,
                AttrType::String | AttrType::Reference | AttrType::Binary
            ));
    if refused {
        return Err(format!(
            "'{op}' cannot be applied to '{path}', a {} attribute",
            type_name(ty)
        ));
    }
    Ok(())
}

fn literal_mismatch(path: &AttrPath, def: &AttributeDef, literal: &CompValue) -> String {
    let ty = type_name(def.ty);
    let expected = match (def.ty, literal) {
        (AttrType::DateTime, CompValue::Str(_)) => {
            return format!(
                "'{path}' is a dateTime attribute, and {literal} is not an RFC 3339 date-time \
                 (e.g. \"2011-05-13T04:42:34Z\")"
            );
        }
        (AttrType::Integer, CompValue::Number(_)) => {
            return format!("'{path}' is an integer attribute, and {literal} is not an integer");
        }
        (AttrType::Boolean, _) => "true or false",
        (AttrType::Integer | AttrType::Decimal, _) => "a number",
        _ => "a string",
    };
    let article = if def.ty == AttrType::Integer {
        "an"
    } else {
        "a"
    };
    format!(
        "'{path}' is {article} {ty} attribute and must be compared with {expected}, not {literal}"
    )
}

impl Node {
    fn eval(&self, scope: &Map<String, Value>) -> bool {
        match self {
            Self::Compare {
                keys,
                kind,
                op,
                operand,
            } => {
                let values = collect(scope, keys);
                let Some(operand) = operand else {
                    let present = values.iter().any(|v| is_present(v));
                    return if *op == CompareOp::Ne {
                        present
                    } else {
                        !present
                    };
                };
                let satisfied = |op: CompareOp| {
                    values.iter().any(|value| {
                        Scalar::from_json(*kind, value).is_some_and(|v| v.satisfies(op, operand))
                    })
                };
                match op {
                    CompareOp::Ne => !satisfied(CompareOp::Eq),
                    op => satisfied(*op),
                }
            }
            Self::Present(keys) => collect(scope, keys).into_iter().any(is_present),
            Self::And(left, right) => left.eval(scope) && right.eval(scope),
            Self::Or(left, right) => left.eval(scope) || right.eval(scope),
            Self::Not(inner) => !inner.eval(scope),
            Self::Any { keys, inner } => collect(scope, keys)
                .into_iter()
                .filter_map(Value::as_object)
                .any(|element| inner.eval(element)),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::filter::parse;
    use crate::resource::{Meta, Resource};

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    const LICENSE: &str = "urn:scim-license:schemas:extension:license:2.0:User";

    /// Barbara Jensen of RFC 7643 §8.2, with a few additions: folding (`ß`), an empty
    /// string, an empty list, a certificate, the enterprise and license extensions.
    fn user() -> Map<String, Value> {
        let attributes = json!({
            "externalId": "bjensen",
            "userName": "Bjensen",
            "name": {
                "formatted": "Ms. Barbara J Jensen III",
                "familyName": "O'Malley",
                "givenName": "Barbara"
            },
            "displayName": "Babs Jensen",
            "nickName": "Straße",
            "profileUrl": "https://login.example.com/bjensen",
            "title": "Tour Guide",
            "userType": "Employee",
            "locale": "",
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "phoneNumbers": [],
            "ims": [{"value": "someaimhandle", "type": "aim"}],
            "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJ"}],
            ENTERPRISE: {
                "employeeNumber": "701984",
                "department": "Tour Operations",
                "manager": {
                    "value": "26118915-6090-4610-87e4-49d8ca9f808d",
                    "displayName": "John Smith"
                }
            },
            LICENSE: {
                "licenses": [
                    {"sku": "pro", "source": "direct", "assigned": "2024-01-02T03:04:05.000Z"}
                ]
            }
        });
        let Value::Object(attributes) = attributes else {
            unreachable!()
        };
        let resource = Resource {
            kind: ResourceKind::User,
            id: "2819c223-7f76-453a-919d-413861904646".to_owned(),
            meta: Meta {
                created: Utc.with_ymd_and_hms(2010, 1, 23, 4, 56, 22).unwrap(),
                last_modified: Utc.with_ymd_and_hms(2011, 5, 13, 4, 42, 34).unwrap(),
                version: 3,
            },
            attributes,
        };
        resource.to_document(crate::schema::USER_SCHEMA)
    }

    fn eval(text: &str, doc: &Map<String, Value>) -> bool {
        let registry = SchemaRegistry::standard();
        let filter = parse(text).unwrap_or_else(|err| panic!("{text}: {err}"));
        check(&filter, ResourceKind::User, &registry).unwrap_or_else(|err| panic!("{text}: {err}"));
        matches(&filter, ResourceKind::User, &registry, doc)
    }

    fn assert_table(doc: &Map<String, Value>, cases: &[(&str, bool)]) {
        let failures: Vec<String> = cases
            .iter()
            .filter(|(text, want)| eval(text, doc) != *want)
            .map(|(text, want)| format!("{text}: expected {want}"))
            .collect();
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn rfc_examples_evaluate() {
        assert_table(
            &user(),
            &[
                ("userName eq \"bjensen\"", true),
                ("name.familyName co \"O'Malley\"", true),
                ("userName sw \"J\"", false),
                ("userName sw \"B\"", true),
                (
                    "urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"b\"",
                    true,
                ),
                ("title pr", true),
                ("meta.lastModified gt \"2011-05-13T04:42:34Z\"", false),
                ("meta.lastModified ge \"2011-05-13T04:42:34Z\"", true),
                ("meta.lastModified lt \"2011-05-13T04:42:34Z\"", false),
                ("meta.lastModified le \"2011-05-13T04:42:34Z\"", true),
                ("title pr and userType eq \"Employee\"", true),
                ("title pr or userType eq \"Intern\"", true),
                (
                    "schemas eq \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"",
                    true,
                ),
                (
                    "userType eq \"Employee\" and (emails co \"example.com\" or emails.value co \
                     \"example.org\")",
                    true,
                ),
                (
                    "userType ne \"Employee\" and not (emails co \"example.com\" or emails.value \
                     co \"example.org\")",
                    false,
                ),
                (
                    "userType eq \"Employee\" and (emails.type eq \"work\")",
                    true,
                ),
                (
                    "userType eq \"Employee\" and emails[type eq \"work\" and value co \
                     \"@example.com\"]",
                    true,
                ),
                (
                    "emails[type eq \"work\" and value co \"@example.com\"] or ims[type eq \
                     \"xmpp\" and value co \"@foo.com\"]",
                    true,
                ),
                ("userName Eq \"john\"", false),
                ("Username eq \"BJENSEN\"", true),
            ],
        );
    }

    #[test]
    fn case_insensitive_strings_fold_and_case_exact_ones_do_not() {
        assert_table(
            &user(),
            &[
                // caseExact=false: userName, name.familyName, nickName, emails.value.
                ("userName eq \"BJENSEN\"", true),
                ("userName ne \"BJENSEN\"", false),
                ("userName co \"JENS\"", true),
                ("userName sw \"bJ\"", true),
                ("userName ew \"SEN\"", true),
                ("userName ew \"x\"", false),
                // Ordering compares folded keys: "bjensen" > "a", < "c".
                ("userName gt \"A\"", true),
                ("userName gt \"C\"", false),
                ("userName lt \"C\"", true),
                ("userName ge \"BJENSEN\"", true),
                ("userName le \"bjensen\"", true),
                ("userName lt \"bjensen\"", false),
                // Full case folding: ß is ss.
                ("nickName eq \"STRASSE\"", true),
                ("nickName eq \"strasse\"", true),
                ("nickName co \"SS\"", true),
                ("nickName sw \"STRAß\"", true),
                ("nickName eq \"Strase\"", false),
                // caseExact=true: id, externalId, licenses.sku, meta.version.
                ("externalId eq \"bjensen\"", true),
                ("externalId eq \"BJENSEN\"", false),
                ("externalId ne \"BJENSEN\"", true),
                ("externalId co \"JENS\"", false),
                ("externalId sw \"bj\"", true),
                ("externalId ew \"SEN\"", false),
                // Raw code points: "bjensen" > "C" (b > C), unlike the folded userName.
                ("externalId gt \"C\"", true),
                ("externalId lt \"C\"", false),
                ("id eq \"2819C223-7F76-453A-919D-413861904646\"", false),
                ("id eq \"2819c223-7f76-453a-919d-413861904646\"", true),
                ("meta.version eq \"W/\\\"3\\\"\"", true),
                ("meta.version eq \"w/\\\"3\\\"\"", false),
                // A reference with caseExact=false folds; binary never does.
                ("profileUrl sw \"HTTPS://LOGIN.\"", true),
                (
                    "x509Certificates.value eq \"MIIDQzCCAqygAwIBAgICEAAwDQYJ\"",
                    true,
                ),
                (
                    "x509Certificates.value eq \"miidqzccaqygawibagiceaawdqyj\"",
                    false,
                ),
                ("x509Certificates co \"CCAqyg\"", true),
                ("x509Certificates co \"ccaqyg\"", false),
            ],
        );
    }

    #[test]
    fn datetimes_compare_as_instants() {
        assert_table(
            &user(),
            &[
                // The document says "2011-05-13T04:42:34.000Z".
                ("meta.lastModified eq \"2011-05-13T04:42:34Z\"", true),
                ("meta.lastModified eq \"2011-05-13T06:42:34+02:00\"", true),
                ("meta.lastModified ne \"2011-05-13T06:42:34+02:00\"", false),
                ("meta.lastModified gt \"2011-05-13T04:42:33.999Z\"", true),
                ("meta.lastModified gt \"2011-05-13T05:42:34+02:00\"", true),
                ("meta.lastModified lt \"2011-05-13T04:42:34.001Z\"", true),
                ("meta.lastModified lt \"2011-05-13T04:42:34Z\"", false),
                ("meta.created lt \"2011-01-01T00:00:00Z\"", true),
                ("meta.created gt \"2011-01-01T00:00:00Z\"", false),
                (
                    "urn:scim-license:schemas:extension:license:2.0:User:licenses.assigned ge \
                     \"2024-01-02T03:04:05Z\"",
                    true,
                ),
            ],
        );
    }

    #[test]
    fn booleans_compare_with_eq_and_ne() {
        assert_table(
            &user(),
            &[
                ("active eq true", true),
                ("active eq TRUE", true),
                ("active ne true", false),
                ("active eq false", false),
                ("active ne false", true),
                ("emails.primary eq true", true),
                ("emails.primary eq false", false),
                ("emails.primary ne false", true),
                ("ims.primary eq true", false),
                ("ims.primary ne true", true),
            ],
        );
    }

    #[test]
    fn multi_valued_attributes_match_when_any_value_does() {
        assert_table(
            &user(),
            &[
                ("emails eq \"babs@jensen.org\"", true),
                ("emails.value eq \"BABS@JENSEN.ORG\"", true),
                ("emails.type eq \"home\"", true),
                ("emails.type eq \"other\"", false),
                // ne is "no value equals".
                ("emails ne \"babs@jensen.org\"", false),
                ("emails.value ne \"nobody@example.com\"", true),
                ("emails.type ne \"work\"", false),
                ("emails co \"jensen.org\"", true),
                ("emails gt \"bz\"", false),
                ("emails lt \"bb\"", true),
                // Across elements versus within one element.
                ("emails.primary eq true and emails.type eq \"home\"", true),
                ("emails[primary eq true and type eq \"home\"]", false),
                ("emails[primary eq true and type eq \"work\"]", true),
                ("emails[type eq \"home\" and not (primary eq true)]", true),
                ("emails[type eq \"home\" and primary pr]", false),
                (
                    "emails[value ew \".org\" or (type eq \"work\" and value sw \"x\")]",
                    true,
                ),
                ("ims[type eq \"xmpp\"]", false),
                ("phoneNumbers[type eq \"work\"]", false),
                (
                    "schemas eq \"URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER\"",
                    true,
                ),
                (
                    "schemas eq \"urn:ietf:params:scim:schemas:core:2.0:Group\"",
                    false,
                ),
                (
                    "schemas ne \"urn:ietf:params:scim:schemas:core:2.0:Group\"",
                    true,
                ),
                ("schemas ew \"license:2.0:user\"", true),
                ("schemas pr", true),
            ],
        );
    }

    #[test]
    fn extension_and_single_valued_complex_paths() {
        assert_table(
            &user(),
            &[
                (
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq \
                     \"tour operations\"",
                    true,
                ),
                (
                    "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:EMPLOYEENUMBER eq \
                     \"701984\"",
                    true,
                ),
                (
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \
                     \"26118915-6090-4610-87e4-49d8ca9f808d\"",
                    true,
                ),
                // A complex attribute without a sub-attribute compares its value.
                (
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq \
                     \"26118915-6090-4610-87E4-49D8CA9F808D\"",
                    true,
                ),
                (
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[displayName \
                     sw \"john\"]",
                    true,
                ),
                (
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter pr",
                    false,
                ),
                (
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter ne \"x\"",
                    true,
                ),
                (
                    "urn:scim-license:schemas:extension:license:2.0:User:licenses[sku eq \"pro\" \
                     and assigned gt \"2024-01-01T00:00:00Z\"]",
                    true,
                ),
                // Skus compare case-insensitively, as pools and rules do.
                (
                    "urn:scim-license:schemas:extension:license:2.0:User:licenses[sku eq \"PRO\"]",
                    true,
                ),
                (
                    "name[givenName eq \"BARBARA\" and familyName sw \"o'\"]",
                    true,
                ),
                ("name[givenName eq \"Babs\"]", false),
                ("NAME.FAMILYNAME eq \"o'malley\"", true),
                ("EMAILS[TYPE eq \"work\"]", true),
                ("meta.resourceType eq \"User\"", true),
            ],
        );
    }

    #[test]
    fn presence_and_absence() {
        assert_table(
            &user(),
            &[
                ("title pr", true),
                ("name pr", true),
                ("emails pr", true),
                ("active pr", true),
                ("preferredLanguage pr", false),
                // Empty strings and empty lists are not present.
                ("locale pr", false),
                ("phoneNumbers pr", false),
                ("phoneNumbers.value pr", false),
                ("emails.display pr", false),
                // Absent: every comparison is false except ne.
                ("preferredLanguage eq \"en\"", false),
                ("preferredLanguage ne \"en\"", true),
                ("preferredLanguage co \"en\"", false),
                ("preferredLanguage sw \"en\"", false),
                ("preferredLanguage ew \"en\"", false),
                ("preferredLanguage gt \"en\"", false),
                ("preferredLanguage ge \"en\"", false),
                ("preferredLanguage lt \"en\"", false),
                ("preferredLanguage le \"en\"", false),
                ("not (preferredLanguage eq \"en\")", true),
                ("phoneNumbers ne \"123\"", true),
                ("addresses[type eq \"work\"]", false),
                ("not (addresses[type eq \"work\"])", true),
                // null: eq null is "not present", ne null is "present".
                ("preferredLanguage eq null", true),
                ("preferredLanguage ne null", false),
                ("locale eq null", true),
                ("title eq null", false),
                ("title ne null", true),
                ("emails eq null", false),
                ("emails.display eq null", true),
                ("emails[display eq null and type eq \"home\"]", true),
                // A bare empty string is still a string that equals "".
                ("locale eq \"\"", true),
            ],
        );
    }

    #[test]
    fn values_of_the_wrong_type_in_the_document_equal_nothing() {
        let mut doc = user();
        doc.insert("active".into(), json!("true"));
        doc.insert("title".into(), json!(42));
        let meta = doc.get_mut("meta").and_then(Value::as_object_mut).unwrap();
        meta.insert("lastModified".into(), json!("yesterday"));
        assert_table(
            &doc,
            &[
                ("active eq true", false),
                ("active ne true", true),
                ("active pr", true),
                ("title eq \"42\"", false),
                ("meta.lastModified gt \"2000-01-01T00:00:00Z\"", false),
                ("meta.lastModified lt \"2000-01-01T00:00:00Z\"", false),
            ],
        );
    }

    #[test]
    fn numbers_compare_numerically() {
        let integer = ValueKind::Integer;
        let decimal = ValueKind::Decimal;
        let n = |text: &str| CompValue::Number(serde_json::from_str(text).unwrap());
        let cases = [
            (integer, json!(10), CompareOp::Gt, n("9"), true),
            (integer, json!(10), CompareOp::Eq, n("10"), true),
            (integer, json!(-3), CompareOp::Lt, n("2"), true),
            (
                integer,
                json!(u64::MAX),
                CompareOp::Gt,
                n("9223372036854775807"),
                true,
            ),
            (
                integer,
                json!(i64::MIN),
                CompareOp::Lt,
                n("-9223372036854775807"),
                true,
            ),
            (decimal, json!(1.5), CompareOp::Gt, n("1"), true),
            (decimal, json!(1), CompareOp::Eq, n("1.0"), true),
            (decimal, json!(2.5), CompareOp::Le, n("2.5e0"), true),
            (decimal, json!(2.5), CompareOp::Lt, n("25e-1"), false),
            (decimal, json!("2.5"), CompareOp::Eq, n("2.5"), false),
        ];
        for (kind, value, op, literal, want) in cases {
            let operand = Scalar::from_literal(kind, &literal).unwrap();
            let got = Scalar::from_json(kind, &value).is_some_and(|v| v.satisfies(op, &operand));
            assert_eq!(got, want, "{value} {op} {literal}");
        }
        assert_eq!(Scalar::from_literal(integer, &n("1.5")), None);
        assert_eq!(Scalar::from_literal(integer, &CompValue::from("1")), None);
    }

    #[test]
    fn accepts_valid_filters() {
        let registry = SchemaRegistry::standard();
        let cases = [
            (ResourceKind::User, "emails eq null"),
            (
                ResourceKind::User,
                "meta.lastModified gt \"2011-05-13T04:42:34+02:00\"",
            ),
            (
                ResourceKind::User,
                "groups.value eq \"g1\" and groups[display co \"x\"]",
            ),
            (ResourceKind::User, "x509Certificates.value sw \"MII\""),
            (ResourceKind::User, "name pr and name.givenName ge \"A\""),
            (ResourceKind::User, "schemas co \"enterprise\""),
            (
                ResourceKind::Group,
                "members[value eq \"u1\" and type eq \"User\"]",
            ),
            (ResourceKind::Group, "members[$ref pr]"),
            (
                ResourceKind::Group,
                "displayName eq \"Admins\" or members.value eq \"u1\"",
            ),
            (
                ResourceKind::Group,
                "urn:ietf:params:scim:schemas:core:2.0:Group:displayName pr",
            ),
            (ResourceKind::Group, "meta.version eq \"W/\\\"1\\\"\""),
        ];
        for (kind, text) in cases {
            let filter = parse(text).unwrap();
            assert_eq!(check(&filter, kind, &registry), Ok(()), "{kind}: {text}");
        }
    }

    #[test]
    fn rejects_filters_the_schema_does_not_allow() {
        let registry = SchemaRegistry::standard();
        let cases = [
            (
                ResourceKind::User,
                "nope eq \"x\"",
                "unknown attribute 'nope' of User resources",
            ),
            (
                ResourceKind::User,
                "department eq \"x\"",
                "unknown attribute 'department' of User resources (did you mean \
                 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department'?)",
            ),
            (
                ResourceKind::User,
                "urn:example:params:Thing:attr pr",
                "'urn:example:params:Thing' is not a schema of User resources",
            ),
            (
                ResourceKind::User,
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:nope pr",
                "unknown attribute 'nope' in schema \
                 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'",
            ),
            (
                ResourceKind::User,
                "urn:ietf:params:scim:schemas:core:2.0:Group:displayName pr",
                "'urn:ietf:params:scim:schemas:core:2.0:Group' is not a schema of User resources",
            ),
            (
                ResourceKind::Group,
                "userName eq \"x\"",
                "unknown attribute 'userName' of Group resources",
            ),
            (
                ResourceKind::User,
                "userName.first eq \"x\"",
                "'userName' is not a complex attribute and has no sub-attribute 'first'",
            ),
            (
                ResourceKind::User,
                "schemas.value pr",
                "'schemas' is not a complex attribute and has no sub-attribute 'value'",
            ),
            (
                ResourceKind::User,
                "name.first eq \"x\"",
                "'name' has no sub-attribute 'first'",
            ),
            (
                ResourceKind::User,
                "name eq \"x\"",
                "'name' is a complex attribute without a 'value' sub-attribute; compare one of \
                 its sub-attributes instead, e.g. 'name.formatted'",
            ),
            (
                ResourceKind::User,
                "meta lt \"x\"",
                "'meta' is a complex attribute without a 'value' sub-attribute; compare one of \
                 its sub-attributes instead, e.g. 'meta.resourceType'",
            ),
            (
                ResourceKind::User,
                "active gt true",
                "'gt' cannot be applied to 'active', a boolean attribute",
            ),
            (
                ResourceKind::User,
                "emails.primary le false",
                "'le' cannot be applied to 'emails.primary', a boolean attribute",
            ),
            (
                ResourceKind::User,
                "x509Certificates.value ge \"MII\"",
                "'ge' cannot be applied to 'x509Certificates.value', a binary attribute",
            ),
            (
                ResourceKind::User,
                "x509Certificates lt \"MII\"",
                "'lt' cannot be applied to 'x509Certificates', a binary attribute",
            ),
            (
                ResourceKind::User,
                "active co \"t\"",
                "'co' cannot be applied to 'active', a boolean attribute",
            ),
            (
                ResourceKind::User,
                "meta.lastModified sw \"2011\"",
                "'sw' cannot be applied to 'meta.lastModified', a dateTime attribute",
            ),
            (
                ResourceKind::User,
                "active eq \"true\"",
                "'active' is a boolean attribute and must be compared with true or false, not \
                 \"true\"",
            ),
            (
                ResourceKind::User,
                "userName eq 42",
                "'userName' is a string attribute and must be compared with a string, not 42",
            ),
            (
                ResourceKind::User,
                "emails.type eq true",
                "'emails.type' is a string attribute and must be compared with a string, not true",
            ),
            (
                ResourceKind::User,
                "profileUrl eq 1",
                "'profileUrl' is a reference attribute and must be compared with a string, not 1",
            ),
            (
                ResourceKind::User,
                "meta.lastModified gt \"yesterday\"",
                "'meta.lastModified' is a dateTime attribute, and \"yesterday\" is not an RFC \
                 3339 date-time (e.g. \"2011-05-13T04:42:34Z\")",
            ),
            (
                ResourceKind::User,
                "meta.lastModified gt \"2011-05-13\"",
                "'meta.lastModified' is a dateTime attribute, and \"2011-05-13\" is not an RFC \
                 3339 date-time (e.g. \"2011-05-13T04:42:34Z\")",
            ),
            (
                ResourceKind::User,
                "meta.created eq 1305261754",
                "'meta.created' is a dateTime attribute and must be compared with a string, not \
                 1305261754",
            ),
            (
                ResourceKind::User,
                "userName gt null",
                "'userName gt null': null can only be compared with 'eq' or 'ne'",
            ),
            (
                ResourceKind::User,
                "title co null",
                "'title co null': null can only be compared with 'eq' or 'ne'",
            ),
            (
                ResourceKind::User,
                "userName[value eq \"x\"]",
                "'userName' is not a complex attribute; a value filter '[…]' applies to complex \
                 attributes only",
            ),
            (
                ResourceKind::User,
                "name.givenName[value eq \"x\"]",
                "'name.givenName' is not a complex attribute; a value filter '[…]' applies to \
                 complex attributes only",
            ),
            (
                ResourceKind::User,
                "emails[foo eq \"x\"]",
                "'foo' is not a sub-attribute of 'emails', so it cannot be used in 'emails[…]'",
            ),
            (
                ResourceKind::User,
                "emails[type eq \"work\" and givenName pr]",
                "'givenName' is not a sub-attribute of 'emails', so it cannot be used in \
                 'emails[…]'",
            ),
            (
                ResourceKind::User,
                "emails[type gt true]",
                "'type' is a string attribute and must be compared with a string, not true",
            ),
            (
                ResourceKind::User,
                "emails[primary co \"t\"]",
                "'co' cannot be applied to 'primary', a boolean attribute",
            ),
            (
                ResourceKind::User,
                "title pr and (nope pr or title pr)",
                "unknown attribute 'nope' of User resources",
            ),
        ];
        for (kind, text, detail) in cases {
            let filter = parse(text).unwrap_or_else(|err| panic!("{text}: {err}"));
            assert_eq!(
                check(&filter, kind, &registry),
                Err(ScimError::InvalidFilter(detail.to_owned())),
                "{text}"
            );
            assert!(!matches(&filter, kind, &registry, &user()), "{text}");
        }
    }

    #[test]
    fn hand_built_asts_are_checked_like_parsed_ones() {
        let registry = SchemaRegistry::standard();
        let nested = Filter::value_path(
            AttrPath::new("emails"),
            Filter::value_path(
                AttrPath::new("type"),
                Filter::Present(AttrPath::new("value")),
            ),
        );
        assert_eq!(
            check(&nested, ResourceKind::User, &registry),
            Err(ScimError::InvalidFilter(
                "value filters cannot be nested: 'type[…]' inside 'emails[…]'".to_owned()
            ))
        );
        let qualified = Filter::value_path(
            AttrPath::new("emails"),
            Filter::Present(AttrPath::with_sub("emails", "value")),
        );
        assert_eq!(
            check(&qualified, ResourceKind::User, &registry),
            Err(ScimError::InvalidFilter(
                "'emails.value' is not a sub-attribute of 'emails', so it cannot be used in \
                 'emails[…]'"
                    .to_owned()
            ))
        );
    }

    #[test]
    fn folding_is_decided_by_type_and_case_exactness() {
        let registry = SchemaRegistry::standard();
        let def = |text: &str| {
            let path = AttrPath::parse(text).unwrap();
            resolve_attr(ResourceKind::User, &registry, &path)
                .unwrap()
                .target()
                .clone()
        };
        assert!(compares_folded(&def("userName")));
        assert!(compares_folded(&def("profileUrl")));
        assert!(compares_folded(&def("schemas")));
        assert!(!compares_folded(&def("externalId")));
        assert!(!compares_folded(&def("x509Certificates.value")));
        assert!(!compares_folded(&def("active")));
    }
}
