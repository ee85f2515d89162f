//! The filter AST (RFC 7644 §3.4.2.2): owned by the domain, translated by every store.

use std::fmt;

use serde_json::Number;

use crate::path::AttrPath;

/// A comparison operator (`compareOp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `eq`: some value equals the literal.
    Eq,
    /// `ne`: no value equals the literal (an absent attribute matches).
    Ne,
    /// `co`: some value contains the literal.
    Co,
    /// `sw`: some value starts with the literal.
    Sw,
    /// `ew`: some value ends with the literal.
    Ew,
    /// `gt`: some value is greater than the literal.
    Gt,
    /// `ge`: some value is greater than or equal to the literal.
    Ge,
    /// `lt`: some value is less than the literal.
    Lt,
    /// `le`: some value is less than or equal to the literal.
    Le,
}

impl CompareOp {
    /// The operator keyword as the grammar spells it (lower case).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Co => "co",
            Self::Sw => "sw",
            Self::Ew => "ew",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
        }
    }

    /// Parses an operator keyword; keywords are case-insensitive.
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "co" => Self::Co,
            "sw" => Self::Sw,
            "ew" => Self::Ew,
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            "lt" => Self::Lt,
            "le" => Self::Le,
            _ => return None,
        })
    }

    /// Whether the operator orders values (gt, ge, lt, le).
    pub fn is_ordering(self) -> bool {
        matches!(self, Self::Gt | Self::Ge | Self::Lt | Self::Le)
    }

    /// Whether the operator matches substrings (co, sw, ew).
    pub fn is_substring(self) -> bool {
        matches!(self, Self::Co | Self::Sw | Self::Ew)
    }
}

/// A comparison literal (`compValue`).
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    /// `null`, with `eq` (not present) or `ne` (present) only.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A JSON number, for integer and decimal attributes.
    Number(Number),
    /// A JSON string, escapes already decoded; dateTime literals are strings too.
    Str(String),
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attrPath compareOp compValue`
    Compare {
        /// The attribute compared; a complex one compares its `value` sub-attribute.
        path: AttrPath,
        /// How it is compared.
        op: CompareOp,
        /// The literal it is compared with.
        value: CompValue,
    },
    /// `attrPath pr`
    Present(AttrPath),
    /// `filter and filter`
    And(Box<Filter>, Box<Filter>),
    /// `filter or filter`
    Or(Box<Filter>, Box<Filter>),
    /// `not (filter)`
    Not(Box<Filter>),
    /// `attrPath "[" valFilter "]"`: `filter` applies to each value of the multi-valued
    /// complex attribute `path`; its own paths name sub-attributes (`attr` holds the
    /// sub-attribute name, `sub` is `None`).
    ValuePath {
        /// The multi-valued complex attribute (a single-valued one is a one-element list).
        path: AttrPath,
        /// What one of its values must satisfy.
        filter: Box<Filter>,
    },
}

impl Filter {
    /// `path op value`.
    pub fn compare(path: AttrPath, op: CompareOp, value: CompValue) -> Self {
        Self::Compare { path, op, value }
    }

    /// `left and right`.
    pub fn and(left: Filter, right: Filter) -> Self {
        Self::And(Box::new(left), Box::new(right))
    }

    /// `left or right`.
    pub fn or(left: Filter, right: Filter) -> Self {
        Self::Or(Box::new(left), Box::new(right))
    }

    /// `not (inner)`.
    #[allow(
        clippy::should_implement_trait,
        reason = "named after the grammar's `not`, like `and` and `or`"
    )]
    pub fn not(inner: Filter) -> Self {
        Self::Not(Box::new(inner))
    }

    /// `path[filter]`, where `filter` names sub-attributes of `path`.
    pub fn value_path(path: AttrPath, filter: Filter) -> Self {
        Self::ValuePath {
            path,
            filter: Box::new(filter),
        }
    }
}

impl From<&str> for CompValue {
    fn from(text: &str) -> Self {
        Self::Str(text.to_owned())
    }
}

impl From<bool> for CompValue {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("null"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Number(n) => write!(f, "{n}"),
            Self::Str(s) => write!(f, "{}", serde_json::Value::String(s.clone())),
        }
    }
}

/// Renders the filter in the RFC grammar, fully parenthesised so that parsing the output
/// yields the same AST.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Compare { path, op, value } => write!(f, "{path} {} {value}", op.as_str()),
            Self::Present(path) => write!(f, "{path} pr"),
            Self::And(l, r) => write!(f, "({l} and {r})"),
            Self::Or(l, r) => write!(f, "({l} or {r})"),
            Self::Not(inner) => write!(f, "not ({inner})"),
            Self::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
        }
    }
}
