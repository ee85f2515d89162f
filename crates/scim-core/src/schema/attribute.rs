//! Attribute definitions with every characteristic of RFC 7643 §2.2 and §7.

use serde::Serialize;

/// The data type of an attribute (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

/// When a client may write an attribute (RFC 7643 §2.2 "mutability").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

/// When the service provider returns an attribute (RFC 7643 §2.2 "returned").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

/// How unique a value must be (RFC 7643 §2.2 "uniqueness").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

/// One attribute of a schema, serialised exactly as `/Schemas` publishes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeDef {
    pub name: &'static str,
    #[serde(rename = "type")]
    pub ty: AttrType,
    pub multi_valued: bool,
    pub description: std::borrow::Cow<'static, str>,
    pub required: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub canonical_values: Vec<&'static str>,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reference_types: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sub_attributes: Vec<AttributeDef>,
}

impl AttributeDef {
    /// A single-valued, optional, readWrite attribute returned by default: the common case,
    /// refined with the builder methods below.
    pub fn new(
        name: &'static str,
        ty: AttrType,
        description: impl Into<std::borrow::Cow<'static, str>>,
    ) -> Self {
        Self {
            name,
            ty,
            multi_valued: false,
            description: description.into(),
            required: false,
            canonical_values: Vec::new(),
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            reference_types: Vec::new(),
            sub_attributes: Vec::new(),
        }
    }

    pub fn string(name: &'static str, description: &'static str) -> Self {
        Self::new(name, AttrType::String, description)
    }

    pub fn boolean(name: &'static str, description: &'static str) -> Self {
        Self::new(name, AttrType::Boolean, description)
    }

    pub fn date_time(name: &'static str, description: &'static str) -> Self {
        Self::new(name, AttrType::DateTime, description)
    }

    pub fn integer(name: &'static str, description: &'static str) -> Self {
        Self::new(name, AttrType::Integer, description)
    }

    pub fn reference(
        name: &'static str,
        reference_types: &[&'static str],
        description: &'static str,
    ) -> Self {
        Self {
            reference_types: reference_types.to_vec(),
            ..Self::new(name, AttrType::Reference, description)
        }
    }

    pub fn complex(
        name: &'static str,
        description: &'static str,
        sub_attributes: Vec<AttributeDef>,
    ) -> Self {
        Self {
            sub_attributes,
            ..Self::new(name, AttrType::Complex, description)
        }
    }

    pub fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }

    pub fn mutability(mut self, mutability: Mutability) -> Self {
        self.mutability = mutability;
        self
    }

    pub fn read_only(self) -> Self {
        self.mutability(Mutability::ReadOnly)
    }

    pub fn returned(mut self, returned: Returned) -> Self {
        self.returned = returned;
        self
    }

    pub fn uniqueness(mut self, uniqueness: Uniqueness) -> Self {
        self.uniqueness = uniqueness;
        self
    }

    pub fn canonical(mut self, values: &[&'static str]) -> Self {
        self.canonical_values = values.to_vec();
        self
    }

    /// The sub-attribute called `name`, compared case-insensitively as RFC 7643 §2.1 asks.
    pub fn sub_attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    pub fn is_complex(&self) -> bool {
        self.ty == AttrType::Complex
    }
}
