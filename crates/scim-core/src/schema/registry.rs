//! The schema registry: every schema and resource type the server serves, and the one place
//! attribute paths are resolved. `/Schemas` and `/ResourceTypes` are rendered from it.

use serde_json::{Value, json};

use super::attribute::{AttributeDef, Returned, Uniqueness};
use super::enterprise_user::{ENTERPRISE_USER_SCHEMA, enterprise_user_schema};
use super::group::{GROUP_SCHEMA, group_schema};
use super::license::{
    LICENSE_SCHEMA, LICENSE_USER_EXTENSION, license_schema, license_user_extension,
};
use super::user::{USER_SCHEMA, user_schema};
use crate::path::AttrPath;
use crate::resource::ResourceKind;

/// The schema URN of a `/Schemas` entry (RFC 7643 §7).
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
/// The schema URN of a `/ResourceTypes` entry (RFC 7643 §6).
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";

/// One schema (RFC 7643 §7).
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// The schema's URN (`urn:ietf:params:scim:schemas:core:2.0:User`).
    pub id: &'static str,
    /// The human-readable name (`User`).
    pub name: &'static str,
    /// The human-readable description `/Schemas` shows.
    pub description: &'static str,
    /// The top-level attributes it defines.
    pub attributes: Vec<AttributeDef>,
}

impl Schema {
    /// The top-level attribute called `name`, compared case-insensitively (RFC 7643 §2.1).
    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// A schema extension of a resource type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaExtension {
    /// The extension schema's URN.
    pub schema: &'static str,
    /// Whether every resource of the type must carry it.
    pub required: bool,
}

/// One resource type (RFC 7643 §6).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceTypeDef {
    /// The resource type; its name and endpoint follow from it.
    pub kind: ResourceKind,
    /// The human-readable description `/ResourceTypes` shows.
    pub description: &'static str,
    /// The URN of its core schema.
    pub schema: &'static str,
    /// The extension schemas its resources may (or must) carry: `schemaExtensions`.
    pub extensions: Vec<SchemaExtension>,
}

/// An attribute path resolved against the registry.
#[derive(Debug, Clone, Copy)]
pub struct ResolvedAttr<'a> {
    /// The URN of the schema that defines the attribute; `None` for the common attributes
    /// (`id`, `externalId`, `meta`) and the resource type's core schema.
    pub extension: Option<&'static str>,
    /// The top-level attribute the path names.
    pub attr: &'a AttributeDef,
    /// The sub-attribute of `attr` the path names, if it names one.
    pub sub: Option<&'a AttributeDef>,
}

impl<'a> ResolvedAttr<'a> {
    /// The definition the path ends at: the sub-attribute when there is one.
    pub fn target(&self) -> &'a AttributeDef {
        self.sub.unwrap_or(self.attr)
    }

    /// The canonical spelling of the path (`emails.value`, `urn:…:User:manager.value`).
    pub fn canonical_path(&self) -> AttrPath {
        AttrPath {
            urn: self.extension.map(str::to_owned),
            attr: self.attr.name.to_owned(),
            sub: self.sub.map(|s| s.name.to_owned()),
        }
    }
}

/// Every schema and resource type the server serves (RFC 7643 §6, §7), and the one place
/// attribute paths are resolved against them.
#[derive(Debug, Clone)]
pub struct SchemaRegistry {
    schemas: Vec<Schema>,
    resource_types: Vec<ResourceTypeDef>,
    common: Vec<AttributeDef>,
}

impl SchemaRegistry {
    /// The schemas of RFC 7643 (User, EnterpriseUser, Group) and our license extension.
    pub fn standard() -> Self {
        Self {
            schemas: vec![
                user_schema(),
                enterprise_user_schema(),
                group_schema(),
                license_user_extension(),
                license_schema(),
            ]
            .into_iter()
            .chain(super::catalog::catalog_schemas())
            .collect(),
            resource_types: vec![
                ResourceTypeDef {
                    kind: ResourceKind::User,
                    description: "User Account",
                    schema: USER_SCHEMA,
                    extensions: vec![
                        SchemaExtension {
                            schema: ENTERPRISE_USER_SCHEMA,
                            required: false,
                        },
                        SchemaExtension {
                            schema: LICENSE_USER_EXTENSION,
                            required: false,
                        },
                    ],
                },
                ResourceTypeDef {
                    kind: ResourceKind::Group,
                    description: "Group",
                    schema: GROUP_SCHEMA,
                    extensions: vec![],
                },
            ],
            common: common_attributes(),
        }
    }

    /// Keeps only the resource types the server serves; their schemas stay published.
    pub fn restricted_to(mut self, kinds: &[ResourceKind]) -> Self {
        self.resource_types.retain(|rt| kinds.contains(&rt.kind));
        let used: Vec<&'static str> = self
            .resource_types
            .iter()
            .flat_map(|rt| std::iter::once(rt.schema).chain(rt.extensions.iter().map(|e| e.schema)))
            .chain([LICENSE_SCHEMA])
            .collect();
        self.schemas.retain(|s| used.contains(&s.id));
        self
    }

    /// Publishes `schema` and makes it an optional extension of `kind`.
    pub(crate) fn add_extension(&mut self, kind: ResourceKind, schema: Schema) {
        if let Some(rt) = self.resource_types.iter_mut().find(|rt| rt.kind == kind) {
            rt.extensions.push(SchemaExtension {
                schema: schema.id,
                required: false,
            });
        }
        self.schemas.push(schema);
    }

    /// Every published schema, core and extension alike.
    pub fn schemas(&self) -> &[Schema] {
        &self.schemas
    }

    /// The resource types the server serves.
    pub fn resource_types(&self) -> &[ResourceTypeDef] {
        &self.resource_types
    }

    /// Whether `kind` is among the resource types served (see [`Self::restricted_to`]).
    pub fn serves(&self, kind: ResourceKind) -> bool {
        self.resource_types.iter().any(|rt| rt.kind == kind)
    }

    /// The schema with this URN (URNs compare case-insensitively, RFC 7643 §2.1).
    pub fn schema(&self, urn: &str) -> Option<&Schema> {
        self.schemas.iter().find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// The resource type of `kind`, if it is served.
    pub fn resource_type(&self, kind: ResourceKind) -> Option<&ResourceTypeDef> {
        self.resource_types.iter().find(|rt| rt.kind == kind)
    }

    /// The core schema of `kind`.
    pub fn core_schema(&self, kind: ResourceKind) -> Option<&Schema> {
        self.resource_type(kind)
            .and_then(|rt| self.schema(rt.schema))
    }

    /// The extension schemas `kind` accepts.
    pub fn extensions(&self, kind: ResourceKind) -> impl Iterator<Item = &Schema> {
        self.resource_type(kind)
            .into_iter()
            .flat_map(|rt| rt.extensions.iter())
            .filter_map(|e| self.schema(e.schema))
    }

    /// The extension schema of `kind` with this URN.
    pub fn extension(&self, kind: ResourceKind, urn: &str) -> Option<&Schema> {
        self.extensions(kind)
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// `id`, `externalId` and `meta`: attributes of every resource (RFC 7643 §3.1).
    pub fn common_attributes(&self) -> &[AttributeDef] {
        &self.common
    }

    /// The common or core-schema attribute of `kind` called `name`.
    pub fn core_attribute(&self, kind: ResourceKind, name: &str) -> Option<&AttributeDef> {
        self.common
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
            .or_else(|| self.core_schema(kind).and_then(|s| s.attribute(name)))
    }

    /// Resolves a path of `kind`'s resources. A URN must name the core schema or one of its
    /// extensions; unqualified names are common or core attributes (RFC 7644 §3.10).
    pub fn resolve(&self, kind: ResourceKind, path: &AttrPath) -> Option<ResolvedAttr<'_>> {
        let (extension, attr) = match &path.urn {
            Some(urn) => {
                let core = self.resource_type(kind)?.schema;
                if core.eq_ignore_ascii_case(urn) {
                    (None, self.core_attribute(kind, &path.attr)?)
                } else {
                    let schema = self.extension(kind, urn)?;
                    (Some(schema.id), schema.attribute(&path.attr)?)
                }
            }
            None => (None, self.core_attribute(kind, &path.attr)?),
        };
        let sub = match &path.sub {
            Some(sub) => Some(attr.sub_attribute(sub)?),
            None => None,
        };
        Some(ResolvedAttr {
            extension,
            attr,
            sub,
        })
    }

    /// The `/Schemas` representation of one schema.
    pub fn schema_json(&self, schema: &Schema, base_url: &str) -> Value {
        json!({
            "schemas": [SCHEMA_SCHEMA],
            "id": schema.id,
            "name": schema.name,
            "description": schema.description,
            "attributes": schema.attributes,
            "meta": {
                "resourceType": "Schema",
                "location": format!("{base_url}/Schemas/{}", schema.id),
            },
        })
    }

    /// The `/ResourceTypes` representation of one resource type.
    pub fn resource_type_json(&self, rt: &ResourceTypeDef, base_url: &str) -> Value {
        let name = rt.kind.as_str();
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": name,
            "name": name,
            "endpoint": format!("/{}", rt.kind.endpoint()),
            "description": rt.description,
            "schema": rt.schema,
            "schemaExtensions": rt.extensions.iter().map(|e| json!({
                "schema": e.schema,
                "required": e.required,
            })).collect::<Vec<_>>(),
            "meta": {
                "resourceType": "ResourceType",
                "location": format!("{base_url}/ResourceTypes/{name}"),
            },
        })
    }
}

fn common_attributes() -> Vec<AttributeDef> {
    vec![
        AttributeDef::string("id", "A unique identifier for a SCIM resource as defined by the service provider.")
            .case_exact()
            .read_only()
            .returned(Returned::Always)
            .uniqueness(Uniqueness::Server),
        AttributeDef::string("externalId", "A String that is an identifier for the resource as defined by the provisioning client.")
            .case_exact(),
        AttributeDef::complex(
            "meta",
            "A complex attribute containing resource metadata.",
            vec![
                AttributeDef::string("resourceType", "The name of the resource type of the resource.")
                    .case_exact()
                    .read_only(),
                AttributeDef::date_time("created", "The date and time the resource was added to the service provider.")
                    .read_only(),
                AttributeDef::date_time("lastModified", "The most recent date and time that the details of this resource were updated at the service provider.")
                    .read_only(),
                AttributeDef::reference("location", &["uri"], "The URI of the resource being returned.")
                    .case_exact()
                    .read_only(),
                AttributeDef::string("version", "The version of the resource being returned.")
                    .case_exact()
                    .read_only(),
            ],
        )
        .read_only(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_core_extension_and_common_paths() {
        let registry = SchemaRegistry::standard();
        let user = ResourceKind::User;
        let cases = [
            ("userName", Some("userName"), None),
            ("USERNAME", Some("userName"), None),
            ("name.givenName", Some("name"), Some("givenName")),
            ("emails.VALUE", Some("emails"), Some("value")),
            ("meta.lastModified", Some("meta"), Some("lastModified")),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:userName",
                Some("userName"),
                None,
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
                Some("manager"),
                Some("value"),
            ),
            ("department", None, None),
            ("userName.sub", None, None),
            (
                "urn:ietf:params:scim:schemas:core:2.0:Group:displayName",
                None,
                None,
            ),
        ];
        for (text, attr, sub) in cases {
            let path = AttrPath::parse(text).unwrap();
            let resolved = registry.resolve(user, &path);
            assert_eq!(resolved.map(|r| r.attr.name), attr, "{text}");
            assert_eq!(resolved.and_then(|r| r.sub).map(|s| s.name), sub, "{text}");
        }
    }

    #[test]
    fn schema_documents_carry_every_characteristic() {
        let registry = SchemaRegistry::standard();
        let user = registry.schema(USER_SCHEMA).unwrap();
        let doc = registry.schema_json(user, "https://x/scim/v2");
        let user_name = &doc["attributes"][0];
        assert_eq!(user_name["name"], "userName");
        assert_eq!(user_name["type"], "string");
        assert_eq!(user_name["multiValued"], false);
        assert_eq!(user_name["required"], true);
        assert_eq!(user_name["caseExact"], false);
        assert_eq!(user_name["mutability"], "readWrite");
        assert_eq!(user_name["returned"], "default");
        assert_eq!(user_name["uniqueness"], "server");
        let password = doc["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "password")
            .unwrap();
        assert_eq!(password["mutability"], "writeOnly");
        assert_eq!(password["returned"], "never");
        assert_eq!(
            doc["meta"]["location"],
            format!("https://x/scim/v2/Schemas/{USER_SCHEMA}")
        );
    }

    #[test]
    fn restriction_keeps_only_served_types_and_their_schemas() {
        let registry = SchemaRegistry::standard().restricted_to(&[ResourceKind::User]);
        assert!(registry.serves(ResourceKind::User));
        assert!(!registry.serves(ResourceKind::Group));
        assert!(registry.schema(GROUP_SCHEMA).is_none());
        assert!(registry.schema(ENTERPRISE_USER_SCHEMA).is_some());
    }
}
