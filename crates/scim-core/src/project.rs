//! Shaping responses: the `returned` characteristic and the `attributes` /
//! `excludedAttributes` parameters (RFC 7644 §3.4.2.5, RFC 7643 §2.2).

use serde_json::{Map, Value};

use crate::error::{ScimError, ScimResult};
use crate::path::AttrPath;
use crate::resource::{Expand, GROUPS, LICENSES, MEMBERS, ResourceKind};
use crate::schema::{AttributeDef, LICENSE_USER_EXTENSION, Returned, SchemaRegistry};

/// What a client asked to see. Paths are canonical; names the registry does not know are
/// ignored (RFC 7644 gives no error for them and IdPs send generous lists).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    /// Whether `attributes` was given (even if it named nothing we know).
    restricted: bool,
    attributes: Vec<Selector>,
    excluded: Vec<Selector>,
}

/// One selected attribute: `extension` is `None` for common and core attributes; `attr` is
/// `None` when a whole extension is selected by its URN.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Selector {
    extension: Option<&'static str>,
    attr: Option<&'static str>,
    sub: Option<&'static str>,
}

impl Projection {
    /// Parses the comma-separated `attributes` and `excludedAttributes` parameters.
    pub fn parse(
        registry: &SchemaRegistry,
        kind: ResourceKind,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> ScimResult<Self> {
        Ok(Self {
            restricted: attributes.is_some_and(|a| !a.trim().is_empty()),
            attributes: selectors(registry, kind, attributes)?,
            excluded: selectors(registry, kind, excluded)?,
        })
    }

    /// Whether the projection keeps the common or core attribute `name` of `kind` (in whole
    /// or in part).
    pub fn shows(&self, registry: &SchemaRegistry, kind: ResourceKind, name: &str) -> bool {
        let Some(def) = registry.core_attribute(kind, name) else {
            return false;
        };
        match def.returned {
            Returned::Never => false,
            Returned::Always => true,
            Returned::Default | Returned::Request => {
                if self.excluded.iter().any(|s| s.covers(None, def.name, None)) {
                    return false;
                }
                if self.restricted || def.returned == Returned::Request {
                    self.mentions(&self.attributes, None, def.name).is_some()
                } else {
                    true
                }
            }
        }
    }

    /// The computed attributes a response with this projection needs loaded: with
    /// `excludedAttributes=members` a group's members are never read.
    pub fn expand(&self, registry: &SchemaRegistry, kind: ResourceKind) -> Expand {
        let user = kind == ResourceKind::User;
        Expand {
            members: kind == ResourceKind::Group && self.shows(registry, kind, MEMBERS),
            groups: user && self.shows(registry, kind, GROUPS),
            licenses: user && self.shows_licenses(registry),
        }
    }

    /// Whether the projection keeps the `licenses` of a user's license extension.
    fn shows_licenses(&self, registry: &SchemaRegistry) -> bool {
        let Some(extension) = registry.extension(ResourceKind::User, LICENSE_USER_EXTENSION) else {
            return false;
        };
        let Some(def) = extension.attributes.iter().find(|d| d.name == LICENSES) else {
            return false;
        };
        let ext = Some(extension.id);
        let excluded = self.excluded.iter().any(|s| s.covers(ext, def.name, None));
        !excluded && (!self.restricted || self.mentions(&self.attributes, ext, def.name).is_some())
    }

    /// Projects a resource document (see [`crate::Resource::to_document`]).
    pub fn apply(
        &self,
        registry: &SchemaRegistry,
        kind: ResourceKind,
        doc: Map<String, Value>,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        for (key, value) in doc {
            if key == "schemas" {
                out.insert(key, value);
                continue;
            }
            if let Some(extension) = registry.extension(kind, &key) {
                let Value::Object(ext) = value else { continue };
                let kept = self.apply_object(extension.id, &extension.attributes, ext);
                if !kept.is_empty() {
                    out.insert(key, Value::Object(kept));
                }
                continue;
            }
            let Some(def) = registry.core_attribute(kind, &key) else {
                continue;
            };
            if let Some(value) = self.apply_attribute(None, def, value) {
                out.insert(key, value);
            }
        }
        out
    }

    fn apply_object(
        &self,
        extension: &'static str,
        defs: &[AttributeDef],
        object: Map<String, Value>,
    ) -> Map<String, Value> {
        object
            .into_iter()
            .filter_map(|(key, value)| {
                let def = defs.iter().find(|d| d.name == key)?;
                let value = self.apply_attribute(Some(extension), def, value)?;
                Some((key, value))
            })
            .collect()
    }

    fn apply_attribute(
        &self,
        extension: Option<&'static str>,
        def: &AttributeDef,
        value: Value,
    ) -> Option<Value> {
        match def.returned {
            Returned::Never => return None,
            Returned::Always => return Some(value),
            Returned::Default | Returned::Request => {}
        }
        let requested = self.mentions(&self.attributes, extension, def.name);
        if (self.restricted || def.returned == Returned::Request) && requested.is_none() {
            return None;
        }
        if self
            .excluded
            .iter()
            .any(|s| s.covers(extension, def.name, None))
        {
            return None;
        }
        if !def.is_complex() {
            return Some(value);
        }
        // Keep only the requested sub-attributes (all when the attribute itself was named),
        // minus the excluded ones and those never returned.
        let whole = requested.as_ref().is_some_and(|subs| subs.is_empty());
        let requested = requested.as_deref();
        let keep = |sub: &AttributeDef| {
            sub.returned != Returned::Never
                && (sub.returned == Returned::Always
                    || !self.restricted && sub.returned == Returned::Default
                    || whole && sub.returned == Returned::Default
                    || requested.is_some_and(|subs| subs.contains(&sub.name)))
                && !self
                    .excluded
                    .iter()
                    .any(|s| s.covers(extension, def.name, Some(sub.name)))
        };
        let filter = |object: Map<String, Value>| -> Map<String, Value> {
            object
                .into_iter()
                .filter(|(k, _)| def.sub_attribute(k).is_some_and(&keep))
                .collect()
        };
        match value {
            Value::Object(object) => {
                let kept = filter(object);
                (!kept.is_empty()).then_some(Value::Object(kept))
            }
            Value::Array(items) => {
                let kept: Vec<Value> = items
                    .into_iter()
                    .filter_map(|item| match item {
                        Value::Object(object) => {
                            let kept = filter(object);
                            (!kept.is_empty()).then_some(Value::Object(kept))
                        }
                        other => Some(other),
                    })
                    .collect();
                (!kept.is_empty()).then_some(Value::Array(kept))
            }
            other => Some(other),
        }
    }

    /// `Some(subs)` when `attr` is selected: `subs` empty means the whole attribute.
    fn mentions(
        &self,
        selectors: &[Selector],
        extension: Option<&'static str>,
        attr: &str,
    ) -> Option<Vec<&'static str>> {
        let mut subs = Vec::new();
        let mut found = false;
        for s in selectors.iter().filter(|s| s.extension == extension) {
            match (s.attr, s.sub) {
                (None, _) => return Some(Vec::new()),
                (Some(a), None) if a == attr => return Some(Vec::new()),
                (Some(a), Some(sub)) if a == attr => {
                    found = true;
                    subs.push(sub);
                }
                _ => {}
            }
        }
        found.then_some(subs)
    }
}

impl Selector {
    fn covers(&self, extension: Option<&'static str>, attr: &str, sub: Option<&str>) -> bool {
        if self.extension != extension {
            return false;
        }
        match (self.attr, self.sub) {
            (None, _) => true,
            (Some(a), None) => a == attr,
            (Some(a), Some(s)) => a == attr && sub == Some(s),
        }
    }
}

fn selectors(
    registry: &SchemaRegistry,
    kind: ResourceKind,
    list: Option<&str>,
) -> ScimResult<Vec<Selector>> {
    let mut out = Vec::new();
    for item in list
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if let Some(extension) = registry.extension(kind, item) {
            out.push(Selector {
                extension: Some(extension.id),
                attr: None,
                sub: None,
            });
            continue;
        }
        let path = AttrPath::parse(item)
            .map_err(|e| ScimError::InvalidValue(format!("attribute list: {}", e.0)))?;
        if let Some(resolved) = registry.resolve(kind, &path) {
            out.push(Selector {
                extension: resolved.extension,
                attr: Some(resolved.attr.name),
                sub: resolved.sub.map(|s| s.name),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA};

    fn doc() -> Map<String, Value> {
        json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "id": "2819c223",
            "userName": "bjensen",
            "password": "never shown",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "b@example.com", "type": "work"}, {"value": "b@home", "type": "home"}],
            ENTERPRISE_USER_SCHEMA: {"department": "Sales", "costCenter": "4130"},
            "meta": {"resourceType": "User", "version": "W/\"1\""},
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn project(attributes: Option<&str>, excluded: Option<&str>) -> Value {
        let registry = SchemaRegistry::standard();
        let projection =
            Projection::parse(&registry, ResourceKind::User, attributes, excluded).unwrap();
        Value::Object(projection.apply(&registry, ResourceKind::User, doc()))
    }

    #[test]
    fn default_returns_everything_but_never_returned() {
        let mut expected = doc();
        expected.remove("password");
        assert_eq!(project(None, None), Value::Object(expected));
    }

    #[test]
    fn attributes_keep_always_returned_and_the_requested() {
        assert_eq!(
            project(Some("userName, name.givenName,emails.type"), None),
            json!({
                "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
                "id": "2819c223",
                "userName": "bjensen",
                "name": {"givenName": "Barbara"},
                "emails": [{"type": "work"}, {"type": "home"}],
            })
        );
        assert_eq!(
            project(
                Some(&format!("{ENTERPRISE_USER_SCHEMA}:department,password")),
                None
            ),
            json!({
                "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
                "id": "2819c223",
                ENTERPRISE_USER_SCHEMA: {"department": "Sales"},
            })
        );
        assert_eq!(
            project(Some(ENTERPRISE_USER_SCHEMA), None)[ENTERPRISE_USER_SCHEMA],
            json!({"department": "Sales", "costCenter": "4130"})
        );
    }

    #[test]
    fn excluded_attributes_never_remove_always_returned() {
        assert_eq!(
            project(
                None,
                Some(
                    "emails,name.familyName,id,meta,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
                )
            ),
            json!({
                "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
                "id": "2819c223",
                "userName": "bjensen",
                "name": {"givenName": "Barbara"},
            })
        );
    }

    #[test]
    fn expansion_follows_the_projection() {
        let registry = SchemaRegistry::standard();
        let group = ResourceKind::Group;
        let cases = [
            (None, None, true),
            (None, Some("members"), false),
            (None, Some("members.value"), true),
            (Some("displayName"), None, false),
            (Some("members.value"), None, true),
        ];
        for (attributes, excluded, members) in cases {
            let projection = Projection::parse(&registry, group, attributes, excluded).unwrap();
            assert_eq!(
                projection.expand(&registry, group).members,
                members,
                "{attributes:?} {excluded:?}"
            );
            assert!(!projection.expand(&registry, group).groups);
        }
        let user = ResourceKind::User;
        let licenses = LICENSE_USER_EXTENSION;
        let with_licenses = Expand {
            licenses: true,
            ..Expand::default()
        };
        let cases = [
            (None, Some("groups".to_owned()), with_licenses),
            (
                None,
                None,
                Expand {
                    groups: true,
                    ..with_licenses
                },
            ),
            (None, Some(format!("groups,{licenses}")), Expand::default()),
            (
                None,
                Some(format!("groups,{licenses}:licenses")),
                Expand::default(),
            ),
            (
                None,
                Some(format!("groups,{licenses}:licenses.sku")),
                with_licenses,
            ),
            (Some("userName".to_owned()), None, Expand::default()),
            (
                Some(format!("userName,{licenses}:licenses")),
                None,
                with_licenses,
            ),
            (Some(licenses.to_owned()), None, with_licenses),
        ];
        for (attributes, excluded, expected) in cases {
            let projection =
                Projection::parse(&registry, user, attributes.as_deref(), excluded.as_deref())
                    .unwrap();
            assert_eq!(
                projection.expand(&registry, user),
                expected,
                "{attributes:?} {excluded:?}"
            );
        }
    }

    #[test]
    fn unknown_names_are_ignored_and_malformed_ones_rejected() {
        assert_eq!(project(Some("shoeSize"), None)["userName"], Value::Null);
        let registry = SchemaRegistry::standard();
        let err =
            Projection::parse(&registry, ResourceKind::User, Some("a.b.c"), None).unwrap_err();
        assert_eq!(err.scim_type(), Some("invalidValue"));
    }
}
