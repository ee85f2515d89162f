//! Attribute definitions with every characteristic of RFC 7643 §2.2 and §7.

use serde::Serialize;

/// The data type of an attribute (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum AttrType {
    /// A sequence of Unicode characters (§2.3.1).
    String,
    /// `true` or `false` (§2.3.2).
    Boolean,
    /// A real number (§2.3.3).
    Decimal,
    /// A whole number (§2.3.4).
    Integer,
    /// An `xsd:dateTime` such as `2008-01-23T04:56:22Z` (§2.3.5).
    DateTime,
    /// Base64-encoded bytes (§2.3.6).
    Binary,
    /// A URI naming a resource; `referenceTypes` says of what kind (§2.3.7).
    Reference,
    /// A value made of sub-attributes (§2.3.8).
    Complex,
}

/// When a client may write an attribute (RFC 7643 §2.2 "mutability").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    /// Set by the server only: ignored in a body a client sends, refused as a PATCH target.
    ReadOnly,
    /// Written and read at any time.
    ReadWrite,
    /// Set when the resource is created or while it has no value; never changed after.
    Immutable,
    /// Accepted from a client but never returned; this server does not store it either
    /// (`password`).
    WriteOnly,
}

/// When the service provider returns an attribute (RFC 7643 §2.2 "returned").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    /// In every response, whatever `attributes` and `excludedAttributes` say.
    Always,
    /// In no response.
    Never,
    /// Unless `excludedAttributes` names it or `attributes` leaves it out.
    Default,
    /// Only when `attributes` names it.
    Request,
}

/// How unique a value must be (RFC 7643 §2.2 "uniqueness").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Uniqueness {
    /// No constraint.
    None,
    /// Unique within the service provider (here: within the tenant).
    Server,
    /// Unique across every service provider.
    Global,
}

/// One attribute of a schema, serialised exactly as `/Schemas` publishes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeDef {
    /// The attribute's name as the schema spells it (matched case-insensitively).
    pub name: &'static str,
    /// `type`: the data type of its values.
    #[serde(rename = "type")]
    pub ty: AttrType,
    /// Whether its value is an array of values.
    pub multi_valued: bool,
    /// The human-readable description `/Schemas` shows.
    pub description: std::borrow::Cow<'static, str>,
    /// Whether a resource must carry it.
    pub required: bool,
    /// Suggested values, not enforced (an email's `type`: `work`, `home`, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub canonical_values: Vec<&'static str>,
    /// Whether comparisons of string values respect case.
    pub case_exact: bool,
    /// When a client may write it.
    pub mutability: Mutability,
    /// When a response carries it.
    pub returned: Returned,
    /// How unique its value must be.
    pub uniqueness: Uniqueness,
    /// What a `reference` may point at: resource types, `external` or `uri`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reference_types: Vec<&'static str>,
    /// A complex attribute's sub-attributes (empty for every other type).
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

    /// A `string` attribute.
    pub fn string(name: &'static str, description: &'static str) -> Self {
        Self::new(name, AttrType::String, description)
    }

    /// A `boolean` attribute.
    pub fn boolean(name: &'static str, description: &'static str) -> Self {
        Self::new(name, AttrType::Boolean, description)
    }

    /// A `dateTime` attribute.
    pub fn date_time(name: &'static str, description: &'static str) -> Self {
        Self::new(name, AttrType::DateTime, description)
    }

    /// An `integer` attribute.
    pub fn integer(name: &'static str, description: &'static str) -> Self {
        Self::new(name, AttrType::Integer, description)
    }

    /// A `reference` attribute to `reference_types`.
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

    /// A `complex` attribute made of `sub_attributes`.
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

    /// Makes it multi-valued.
    pub fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }

    /// Makes it required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Makes its string comparisons case-sensitive (`caseExact`).
    pub fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }

    /// With `mutability` instead of readWrite.
    pub fn mutability(mut self, mutability: Mutability) -> Self {
        self.mutability = mutability;
        self
    }

    /// Makes it readOnly: set by the server only.
    pub fn read_only(self) -> Self {
        self.mutability(Mutability::ReadOnly)
    }

    /// With `returned` instead of default.
    pub fn returned(mut self, returned: Returned) -> Self {
        self.returned = returned;
        self
    }

    /// With `uniqueness` instead of none.
    pub fn uniqueness(mut self, uniqueness: Uniqueness) -> Self {
        self.uniqueness = uniqueness;
        self
    }

    /// With `values` as its canonical values.
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

    /// Whether it is of type `complex`.
    pub fn is_complex(&self) -> bool {
        self.ty == AttrType::Complex
    }
}
