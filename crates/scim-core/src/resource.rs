//! The resource model: what the core plans and the stores keep.

#![warn(missing_docs)]

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The resource types this server stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResourceKind {
    /// `/Users`.
    User,
    /// `/Groups`.
    Group,
}

impl ResourceKind {
    /// The resourceType name (`User`, `Group`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
        }
    }

    /// The endpoint below the base URL, e.g. `Users`.
    pub fn endpoint(self) -> &'static str {
        match self {
            Self::User => "Users",
            Self::Group => "Groups",
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A change to a group's members, applied in order in the same transaction as the group's
/// row. Members are named by id: a User or a Group of the same tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MembershipChange {
    /// Adds these resources; ids that are members already are skipped (and keep their
    /// `display`). An id that is no User or Group of the tenant, or the group's own id, fails
    /// the whole write.
    Add(Vec<NewMember>),
    /// Removes these members; ids that are not members are ignored.
    Remove(Vec<String>),
    /// Removes every member.
    RemoveAll,
}

/// A member as a client adds it: the id of a User or Group, and the `display` the client
/// sent with it, which reads of the group echo (RFC 7643 §8.7.1 gives members no `display`
/// of the server's own; the client's label is what it gets back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMember {
    /// The id of the User or Group to add.
    pub id: String,
    /// The label the client sent with it, if any.
    pub display: Option<String>,
}

impl NewMember {
    /// A member added by id alone.
    pub fn id(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            display: None,
        }
    }
}

/// What to load with resources besides their stored attributes: the attributes computed
/// from the membership rows, `members` of groups and `groups` of users (RFC 7643 §4.1.2,
/// direct and indirect through nested groups). Loading them costs a query per page (and per
/// level of nesting for `groups`), so callers ask only for what they will show or filter.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Expand {
    /// Fill `members` of groups: `[{"value", "display", "type": "User"|"Group"}]`.
    pub members: bool,
    /// Fill `groups` of users: `[{"value", "display", "type": "direct"|"indirect"}]`.
    pub groups: bool,
    /// Fill the license extension of users with the licenses they hold:
    /// `{"licenses": [{"sku", "source", "assigned"}]}`.
    pub licenses: bool,
}

impl Expand {
    /// Every computed attribute.
    pub const ALL: Self = Self {
        members: true,
        groups: true,
        licenses: true,
    };

    /// Only `members` of groups.
    pub const MEMBERS: Self = Self {
        members: true,
        groups: false,
        licenses: false,
    };

    /// Only `groups` of users.
    pub const GROUPS: Self = Self {
        members: false,
        groups: true,
        licenses: false,
    };

    /// What `self` asks for and `other` does not.
    pub fn minus(self, other: Self) -> Self {
        Self {
            members: self.members && !other.members,
            groups: self.groups && !other.groups,
            licenses: self.licenses && !other.licenses,
        }
    }

    /// The attributes of `kind`'s resources this fills: `members`, `groups`, the license
    /// extension.
    pub fn attributes(self, kind: ResourceKind) -> Vec<&'static str> {
        let mut names = Vec::new();
        match kind {
            ResourceKind::Group if self.members => names.push(MEMBERS),
            ResourceKind::User => {
                if self.groups {
                    names.push(GROUPS);
                }
                if self.licenses {
                    names.push(crate::schema::LICENSE_USER_EXTENSION);
                }
            }
            ResourceKind::Group => {}
        }
        names
    }

    /// Whether anything is asked for resources of `kind`.
    pub fn applies_to(self, kind: ResourceKind) -> bool {
        match kind {
            ResourceKind::Group => self.members,
            ResourceKind::User => self.groups || self.licenses,
        }
    }
}

/// The attribute of `kind`'s resources that is computed from the membership rows and never
/// stored with the resource: `members` of groups, `groups` of users.
pub fn membership_attribute(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Group => MEMBERS,
        ResourceKind::User => GROUPS,
    }
}

/// The multi-valued `members` attribute of groups.
pub const MEMBERS: &str = "members";
/// The readOnly, multi-valued `groups` attribute of users.
pub const GROUPS: &str = "groups";
/// The readOnly `licenses` attribute of the users' license extension.
pub const LICENSES: &str = "licenses";

/// Server-maintained metadata (RFC 7643 §3.1 `meta`), without `location`, which depends on
/// how the resource is reached and is added at the HTTP edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// When it was created.
    pub created: DateTime<Utc>,
    /// When it last changed.
    pub last_modified: DateTime<Utc>,
    /// Increases by one with every committed change; the ETag is `W/"<version>"`.
    pub version: i64,
}

impl Meta {
    /// The weak ETag of this version, `W/"<version>"`.
    pub fn etag(&self) -> String {
        format!("W/\"{}\"", self.version)
    }
}

/// A stored SCIM resource.
///
/// `attributes` holds every client-visible attribute except `id`, `schemas` and `meta`:
/// core attributes at the top level under their canonical names (including `externalId`),
/// extension attributes in an object under their schema URN. It is always the output of
/// [`crate::validate`], so it is well-typed against the schema registry.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// User or Group.
    pub kind: ResourceKind,
    /// Its id, unique per tenant and kind.
    pub id: String,
    /// `created`, `lastModified`, `version`.
    pub meta: Meta,
    /// Every client-visible attribute but `id`, `schemas` and `meta` (above).
    pub attributes: Map<String, Value>,
}

impl Resource {
    /// `externalId`, when set.
    pub fn external_id(&self) -> Option<&str> {
        self.attributes.get("externalId").and_then(Value::as_str)
    }

    /// A top-level string attribute, by canonical name.
    pub fn str_attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).and_then(Value::as_str)
    }

    /// How the resource is shown where it is referenced (a member's or a group's
    /// `display`): its displayName, else a user's userName.
    pub fn display(&self) -> Option<&str> {
        self.str_attribute("displayName").or(match self.kind {
            ResourceKind::User => self.str_attribute("userName"),
            ResourceKind::Group => None,
        })
    }
}

/// RFC 3339 with milliseconds and `Z`, the form every timestamp we emit takes.
pub fn format_time(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Resource {
    /// Shows `held` in the license extension (`licenses`), as reads with
    /// [`Expand::licenses`] do; a user holding nothing has no extension.
    pub fn show_licenses(&mut self, held: &[crate::license::HeldLicense]) {
        let extension = crate::schema::LICENSE_USER_EXTENSION;
        if held.is_empty() {
            self.attributes.remove(extension);
            return;
        }
        let licenses = held
            .iter()
            .map(crate::license::HeldLicense::to_value)
            .collect();
        let mut shown = Map::new();
        shown.insert(LICENSES.into(), Value::Array(licenses));
        self.attributes
            .insert(extension.into(), Value::Object(shown));
    }

    /// The resource as clients see it, before projection and without `meta.location`:
    /// `schemas`, `id`, the attributes, and `meta`. Filters are evaluated on this form.
    pub fn to_document(&self, core_schema: &str) -> Map<String, Value> {
        let mut schemas = vec![Value::String(core_schema.to_owned())];
        let mut doc = Map::new();
        doc.insert("schemas".into(), Value::Null);
        doc.insert("id".into(), Value::String(self.id.clone()));
        for (key, value) in &self.attributes {
            if key.starts_with("urn:") {
                schemas.push(Value::String(key.clone()));
            }
            doc.insert(key.clone(), value.clone());
        }
        doc.insert("schemas".into(), Value::Array(schemas));
        let mut meta = Map::new();
        meta.insert(
            "resourceType".into(),
            Value::String(self.kind.as_str().to_owned()),
        );
        meta.insert(
            "created".into(),
            Value::String(format_time(&self.meta.created)),
        );
        meta.insert(
            "lastModified".into(),
            Value::String(format_time(&self.meta.last_modified)),
        );
        meta.insert("version".into(), Value::String(self.meta.etag()));
        doc.insert("meta".into(), Value::Object(meta));
        doc
    }
}

/// A member or group reference as `members` and `groups` hold it: `{"value": id,
/// "display": display, "type": kind}`, `display` left out when there is none (`$ref` is
/// the HTTP edge's to add: it knows the base URL).
pub fn member_reference(id: &str, display: Option<&str>, kind: &str) -> serde_json::Value {
    let mut value = serde_json::Map::new();
    value.insert("value".into(), id.into());
    if let Some(display) = display {
        value.insert("display".into(), display.into());
    }
    value.insert("type".into(), kind.into());
    serde_json::Value::Object(value)
}
