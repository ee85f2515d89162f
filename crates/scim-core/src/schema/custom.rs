//! A tenant's own attributes (`costCenter`, `badgeNumber`…): an administrator defines them
//! per tenant, under an extension schema URN of their choosing, and from then on they are
//! published in that tenant's `/Schemas`, validated, filtered, sorted and patched like the
//! built-in ones (see [`SchemaRegistry::with_custom`]).
//!
//! The registry's definitions hold `&'static str` names (the standard schemas are
//! constants); a tenant's names, URNs and descriptions are interned once per distinct text
//! ([`intern`]), so the memory they take is bounded by what administrators ever defined.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::attribute::{AttrType, AttributeDef};
use super::registry::{Schema, SchemaRegistry};
use super::{
    ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, LICENSE_SCHEMA, LICENSE_USER_EXTENSION, USER_SCHEMA,
};
use crate::path::is_valid_name;
use crate::resource::ResourceKind;

/// The extension schema a tenant's attributes go in unless the administrator names another.
pub const CUSTOM_USER_SCHEMA: &str = "urn:scim-license:schemas:extension:custom:2.0:User";
/// The extension schema a tenant's Group attributes go in unless the administrator names
/// another.
pub const CUSTOM_GROUP_SCHEMA: &str = "urn:scim-license:schemas:extension:custom:2.0:Group";

/// The extension a tenant's attribute of `resource_type` (`User`, `Group`) lives in when
/// it names none: [`CUSTOM_GROUP_SCHEMA`] for groups, [`CUSTOM_USER_SCHEMA`] otherwise.
pub fn default_custom_schema(resource_type: &str) -> &'static str {
    if resource_type == "Group" {
        CUSTOM_GROUP_SCHEMA
    } else {
        CUSTOM_USER_SCHEMA
    }
}

/// Attributes a tenant may define, at most.
pub const MAX_CUSTOM_ATTRIBUTES: usize = 100;

/// The types a tenant attribute may have (RFC 7643 §2.3, without complex and binary).
pub const CUSTOM_TYPES: [&str; 5] = ["string", "boolean", "integer", "decimal", "dateTime"];

/// One attribute a tenant defined.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantAttribute {
    /// `User` or `Group`.
    pub resource_type: String,
    /// The extension schema's URN.
    pub schema: String,
    /// The attribute's name: a letter, then letters, digits, `-` or `_`.
    pub name: String,
    /// One of [`CUSTOM_TYPES`].
    #[serde(rename = "type")]
    pub ty: String,
    /// Whether its value is an array of values.
    #[serde(default)]
    pub multi_valued: bool,
    /// Whether comparisons of its string values respect case.
    #[serde(default)]
    pub case_exact: bool,
    /// Whether every resource of the type must carry it.
    #[serde(default)]
    pub required: bool,
    /// The administrator's free text, shown in the tenant's `/Schemas`.
    #[serde(default)]
    pub description: String,
}

impl TenantAttribute {
    /// The resource type it extends.
    pub fn kind(&self) -> Option<ResourceKind> {
        match self.resource_type.as_str() {
            "User" => Some(ResourceKind::User),
            "Group" => Some(ResourceKind::Group),
            _ => None,
        }
    }

    /// Why this definition cannot be taken, if it cannot: a bad name, type, resource type
    /// or URN, or a URN of a schema the server defines.
    pub fn check(&self) -> Result<(), String> {
        if self.kind().is_none() {
            return Err(format!(
                "resource type '{}' is neither User nor Group",
                self.resource_type
            ));
        }
        if !is_valid_name(&self.name) || self.name.starts_with('$') {
            return Err(format!(
                "'{}' is not an attribute name: a letter, then letters, digits, '-' or '_'",
                self.name
            ));
        }
        if !CUSTOM_TYPES.contains(&self.ty.as_str()) {
            return Err(format!(
                "type '{}' is not one of {}",
                self.ty,
                CUSTOM_TYPES.join(", ")
            ));
        }
        let urn = &self.schema;
        let well_formed = urn.len() <= 256
            && urn.to_ascii_lowercase().starts_with("urn:")
            && urn.split(':').count() >= 3
            && urn.split(':').all(|part| !part.is_empty())
            && urn
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b));
        if !well_formed {
            return Err(format!(
                "'{urn}' is not a schema URN such as '{CUSTOM_USER_SCHEMA}'"
            ));
        }
        let reserved = [
            USER_SCHEMA,
            GROUP_SCHEMA,
            ENTERPRISE_USER_SCHEMA,
            LICENSE_USER_EXTENSION,
            LICENSE_SCHEMA,
        ];
        let lower = urn.to_ascii_lowercase();
        let under = |r: &str| {
            let r = r.to_ascii_lowercase();
            lower == r || lower.starts_with(&format!("{r}:"))
        };
        if reserved.iter().any(|r| under(r)) {
            return Err(format!(
                "'{urn}' is a schema this server defines; put tenant attributes in an \
                 extension of their own, such as '{CUSTOM_USER_SCHEMA}'"
            ));
        }
        Ok(())
    }

    fn definition(&self) -> AttributeDef {
        let ty = match self.ty.as_str() {
            "boolean" => AttrType::Boolean,
            "integer" => AttrType::Integer,
            "decimal" => AttrType::Decimal,
            "dateTime" => AttrType::DateTime,
            _ => AttrType::String,
        };
        // The name is a short identifier of a bounded set (interned once per process); the
        // description is the tenant's free text, owned, never leaked.
        let description = self.description.clone();
        let mut attribute = AttributeDef::new(intern(&self.name), ty, description);
        attribute.multi_valued = self.multi_valued;
        attribute.case_exact = self.case_exact;
        attribute.required = self.required;
        attribute
    }
}

/// Checks a tenant's whole list: each definition, no name twice in one schema (names
/// compare case-insensitively), one URN extending one resource type, and at most
/// [`MAX_CUSTOM_ATTRIBUTES`].
pub fn check_custom(attributes: &[TenantAttribute]) -> Result<(), String> {
    if attributes.len() > MAX_CUSTOM_ATTRIBUTES {
        return Err(format!(
            "a tenant may define at most {MAX_CUSTOM_ATTRIBUTES} attributes"
        ));
    }
    for (i, attribute) in attributes.iter().enumerate() {
        attribute.check()?;
        for earlier in &attributes[..i] {
            if !earlier.schema.eq_ignore_ascii_case(&attribute.schema) {
                continue;
            }
            if earlier.resource_type != attribute.resource_type {
                return Err(format!(
                    "'{}' already extends {}; use another URN for {}",
                    attribute.schema, earlier.resource_type, attribute.resource_type
                ));
            }
            if earlier.name.eq_ignore_ascii_case(&attribute.name) {
                return Err(format!(
                    "'{}:{}' is already defined",
                    attribute.schema, attribute.name
                ));
            }
        }
    }
    Ok(())
}

impl SchemaRegistry {
    /// `attributes` without what this registry does not define for `kind`: extension
    /// objects of schemas it does not know, and attributes a known extension does not have
    /// (a tenant attribute an administrator removed). `None` when there is nothing to
    /// forget. Stored values stay where they are; reads show none of them and the next write
    /// drops them.
    pub fn forget_undefined(
        &self,
        kind: ResourceKind,
        attributes: &Map<String, Value>,
    ) -> Option<Map<String, Value>> {
        let stale = |key: &str, value: &Value| match self.extension(kind, key) {
            None => true,
            Some(schema) => value
                .as_object()
                .is_some_and(|object| object.keys().any(|name| schema.attribute(name).is_none())),
        };
        if !attributes
            .iter()
            .any(|(key, value)| key.starts_with("urn:") && stale(key, value))
        {
            return None;
        }
        let mut kept = attributes.clone();
        kept.retain(|key, _| !key.starts_with("urn:") || self.extension(kind, key).is_some());
        for (key, value) in &mut kept {
            if let (Some(schema), Value::Object(object)) = (self.extension(kind, key), value) {
                object.retain(|name, _| schema.attribute(name).is_some());
            }
        }
        kept.retain(|key, value| {
            !key.starts_with("urn:") || value.as_object().is_none_or(|o| !o.is_empty())
        });
        Some(kept)
    }

    /// This registry with a tenant's attributes: one extension schema per URN, attached to
    /// the resource type it extends (never required). `attributes` must have passed
    /// [`check_custom`]; definitions that did not are left out.
    pub fn with_custom(&self, attributes: &[TenantAttribute]) -> SchemaRegistry {
        let mut registry = self.clone();
        let mut schemas: Vec<(ResourceKind, Schema)> = Vec::new();
        for attribute in attributes.iter().filter(|a| a.check().is_ok()) {
            let Some(kind) = attribute.kind() else {
                continue;
            };
            let position = schemas
                .iter()
                .position(|(_, s)| s.id.eq_ignore_ascii_case(&attribute.schema));
            let index = match position {
                Some(index) => index,
                None => {
                    schemas.push((
                        kind,
                        Schema {
                            id: intern(&attribute.schema),
                            name: "Tenant attributes",
                            description: "Attributes this tenant's administrator defined",
                            attributes: Vec::new(),
                        },
                    ));
                    schemas.len() - 1
                }
            };
            schemas[index].1.attributes.push(attribute.definition());
        }
        for (kind, schema) in schemas {
            registry.add_extension(kind, schema);
        }
        registry
    }
}

/// A tenant's registry (the server's with the tenant's attributes), as writes and queries
/// carry it. Two are equal when they are the same registry.
#[derive(Clone)]
pub struct TenantSchema(pub Arc<SchemaRegistry>);

impl PartialEq for TenantSchema {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for TenantSchema {}

impl std::fmt::Debug for TenantSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TenantSchema(..)")
    }
}

/// The registries of tenants with attributes of their own, built once per distinct list of
/// definitions.
pub struct TenantSchemas {
    base: Arc<SchemaRegistry>,
    built: Mutex<HashMap<Vec<TenantAttribute>, TenantSchema>>,
}

/// Distinct definition lists kept at most (then the cache starts over).
const TENANT_SCHEMAS_KEPT: usize = 1024;

impl TenantSchemas {
    /// None built yet, on the server's registry `base`.
    pub fn new(base: Arc<SchemaRegistry>) -> Self {
        Self {
            base,
            built: Mutex::default(),
        }
    }

    /// The server's registry.
    pub fn base(&self) -> &Arc<SchemaRegistry> {
        &self.base
    }

    /// The schema of a tenant with these attributes; `None` when it has none (the server's
    /// registry applies).
    pub fn of(&self, attributes: &[TenantAttribute]) -> Option<TenantSchema> {
        if attributes.is_empty() {
            return None;
        }
        let mut built = self
            .built
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(schema) = built.get(attributes) {
            return Some(schema.clone());
        }
        if built.len() >= TENANT_SCHEMAS_KEPT {
            built.clear();
        }
        let schema = TenantSchema(Arc::new(self.base.with_custom(attributes)));
        built.insert(attributes.to_vec(), schema.clone());
        Some(schema)
    }

    /// The registry of a tenant with these attributes.
    pub fn registry(&self, attributes: &[TenantAttribute]) -> Arc<SchemaRegistry> {
        self.resolve(attributes).0
    }

    /// The registry of a tenant with these attributes, and its schema as writes and
    /// queries carry it (`None` when it has none of its own).
    pub fn resolve(
        &self,
        attributes: &[TenantAttribute],
    ) -> (Arc<SchemaRegistry>, Option<TenantSchema>) {
        let schema = self.of(attributes);
        let registry = schema
            .as_ref()
            .map_or_else(|| Arc::clone(&self.base), |schema| Arc::clone(&schema.0));
        (registry, schema)
    }
}

/// `text` as a `&'static str`, leaked once per distinct text: only for attribute names and
/// schema ids, short identifiers validated by [`TenantAttribute`]'s rules.
pub fn intern(text: &str) -> &'static str {
    static INTERNED: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut interned = INTERNED
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(found) = interned.get(text) {
        return found;
    }
    let leaked: &'static str = Box::leak(text.to_owned().into_boxed_str());
    interned.insert(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::AttrPath;

    pub(crate) fn cost_center() -> TenantAttribute {
        TenantAttribute {
            resource_type: "User".into(),
            schema: CUSTOM_USER_SCHEMA.into(),
            name: "costCenter".into(),
            ty: "string".into(),
            multi_valued: false,
            case_exact: false,
            required: false,
            description: "Where the seat is charged".into(),
        }
    }

    #[test]
    fn tenant_attributes_resolve_like_built_in_ones() {
        let level = TenantAttribute {
            name: "level".into(),
            ty: "integer".into(),
            ..cost_center()
        };
        let registry = SchemaRegistry::standard().with_custom(&[cost_center(), level]);
        let path = AttrPath::parse(&format!("{CUSTOM_USER_SCHEMA}:costCenter")).unwrap();
        let resolved = registry.resolve(ResourceKind::User, &path).unwrap();
        assert_eq!(resolved.extension, Some(CUSTOM_USER_SCHEMA));
        assert_eq!(resolved.attr.ty, AttrType::String);
        assert_eq!(
            registry
                .extension(ResourceKind::User, CUSTOM_USER_SCHEMA)
                .unwrap()
                .attributes
                .len(),
            2
        );
        assert!(registry.resolve(ResourceKind::Group, &path).is_none());
        // The standard registry is untouched.
        assert!(
            SchemaRegistry::standard()
                .resolve(ResourceKind::User, &path)
                .is_none()
        );
    }

    #[test]
    fn definitions_are_checked() {
        let bad = |change: fn(&mut TenantAttribute)| {
            let mut attribute = cost_center();
            change(&mut attribute);
            attribute.check().unwrap_err()
        };
        assert!(bad(|a| a.name = "cost center".into()).contains("not an attribute name"));
        assert!(bad(|a| a.ty = "complex".into()).contains("not one of"));
        assert!(bad(|a| a.resource_type = "Device".into()).contains("neither User nor Group"));
        assert!(bad(|a| a.schema = "costs".into()).contains("not a schema URN"));
        assert!(bad(|a| a.schema = USER_SCHEMA.into()).contains("this server defines"));
        assert!(bad(|a| a.schema = format!("{USER_SCHEMA}:name")).contains("this server defines"));
        assert!(bad(|a| a.name = "$ref".into()).contains("not an attribute name"));
        let twice = [
            cost_center(),
            TenantAttribute {
                name: "COSTCENTER".into(),
                ..cost_center()
            },
        ];
        assert!(
            check_custom(&twice)
                .unwrap_err()
                .contains("already defined")
        );
        let group = TenantAttribute {
            resource_type: "Group".into(),
            name: "x".into(),
            ..cost_center()
        };
        assert!(
            check_custom(&[cost_center(), group])
                .unwrap_err()
                .contains("already extends User")
        );
        assert_eq!(intern("costCenter").as_ptr(), intern("costCenter").as_ptr());
    }

    #[test]
    fn a_tenants_free_text_is_owned_not_leaked() {
        let described = TenantAttribute {
            description: "where the cost is booked".into(),
            ..cost_center()
        };
        let definition = described.definition();
        assert_eq!(definition.description, "where the cost is booked");
        assert!(matches!(definition.description, std::borrow::Cow::Owned(_)));
    }
}
