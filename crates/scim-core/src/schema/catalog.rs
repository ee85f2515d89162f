//! The tenant's licenses as identity providers discover them: its pools as entitlements
//! and the role values its rules map as roles, in the shapes the two consumers that exist
//! read (`docs/licensing.md`, "Licenses the IdP can discover").
//!
//! - draft-ietf-scim-roles-entitlements-01: `/Entitlements` and `/Roles`, schemas
//!   `urn:ietf:params:scim:schemas:core:2.0:Entitlement|Role`, items with `value`,
//!   `display`, `type`, `supported` and, for a pool, `limitedAssignmentsPermitted`,
//!   `totalAssignmentsPermitted` (the seats it may grant) and `totalAssignmentsUsed`;
//!   `RolesAndEntitlements` in `/ServiceProviderConfig`.
//! - Okta Identity Governance: a ResourceType whose `schema` is
//!   `urn:okta:scim:schemas:core:1.0:Entitlement` (or `…:Role`), items with `id`,
//!   `displayName`, `type` (the ResourceType's `name`) and `description`. For a tenant of
//!   the `okta` profile, `/ResourceTypes` names Okta's schemas for `License` (at
//!   `/Licenses`, so the Governance tab shows "License" and the users' entitlements carry
//!   `"type": "License"`) and `Role`.
//!
//! Every item carries the members of both (and `id`, which SailPoint needs), so one
//! endpoint serves every client; only the schema URNs depend on the dialect.

use serde_json::{Value, json};

use super::attribute::{AttributeDef, Returned};
use super::license::LICENSE_SCHEMA;
use super::registry::{RESOURCE_TYPE_SCHEMA, Schema};
use crate::fold::fold_key;
use crate::license::{MappingRule, MappingSource, Pool};

/// draft-ietf-scim-roles-entitlements' Entitlement schema.
pub const IETF_ENTITLEMENT_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Entitlement";
/// draft-ietf-scim-roles-entitlements' Role schema.
pub const IETF_ROLE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Role";
/// Okta Identity Governance's entitlement schema.
pub const OKTA_ENTITLEMENT_SCHEMA: &str = "urn:okta:scim:schemas:core:1.0:Entitlement";
/// Okta Identity Governance's role schema.
pub const OKTA_ROLE_SCHEMA: &str = "urn:okta:scim:schemas:core:1.0:Role";

/// The `type` of every license entitlement: the name of the ResourceType Okta reads them
/// from.
pub const LICENSE_TYPE: &str = "License";

/// Whose shapes discovery answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// draft-ietf-scim-roles-entitlements (and every client that is not Okta).
    Ietf,
    /// Okta Identity Governance (a tenant of the `okta` profile).
    Okta,
}

impl Dialect {
    /// The dialect of a tenant's profile.
    pub fn of_profile(profile: &str) -> Self {
        if profile == "okta" {
            Self::Okta
        } else {
            Self::Ietf
        }
    }
}

/// The read-only lists of licenses a tenant serves over SCIM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Catalog {
    /// `/Licenses`: the pools, with their seats and use (our own schema).
    Licenses,
    /// `/Entitlements`: the pools, as entitlements.
    Entitlements,
    /// `/Roles`: the role values the tenant's rules map to pools.
    Roles,
}

impl Catalog {
    /// All three, in the order `/ResourceTypes` lists them.
    pub const ALL: [Self; 3] = [Self::Licenses, Self::Entitlements, Self::Roles];

    /// The catalog at `endpoint` (`Licenses`, without the slash).
    pub fn at(endpoint: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| &c.endpoint()[1..] == endpoint)
    }

    /// Its endpoint, `/Licenses`.
    pub fn endpoint(self) -> &'static str {
        match self {
            Self::Licenses => "/Licenses",
            Self::Entitlements => "/Entitlements",
            Self::Roles => "/Roles",
        }
    }

    /// Its ResourceType's id and name (`meta.resourceType` of its items).
    pub fn resource_type(self) -> &'static str {
        match self {
            Self::Licenses => LICENSE_TYPE,
            Self::Entitlements => "Entitlement",
            Self::Roles => "Role",
        }
    }

    /// The schema of its items, as `dialect` reads them.
    pub fn schema(self, dialect: Dialect) -> &'static str {
        match (self, dialect) {
            (Self::Licenses, Dialect::Ietf) => LICENSE_SCHEMA,
            (Self::Licenses, Dialect::Okta) => OKTA_ENTITLEMENT_SCHEMA,
            (Self::Entitlements, _) => IETF_ENTITLEMENT_SCHEMA,
            (Self::Roles, Dialect::Ietf) => IETF_ROLE_SCHEMA,
            (Self::Roles, Dialect::Okta) => OKTA_ROLE_SCHEMA,
        }
    }

    /// Its `/ResourceTypes` entry.
    pub fn resource_type_json(self, dialect: Dialect, base_url: &str) -> Value {
        let description = match self {
            Self::Licenses => {
                "A license pool of the tenant, read-only: its seats and their use (id = sku)."
            }
            Self::Entitlements => {
                "A license pool of the tenant as an entitlement, read-only (value = id = sku): assign it as an entitlements value."
            }
            Self::Roles => {
                "A role value the tenant maps to license pools, read-only: assign it as a roles value."
            }
        };
        let id = self.resource_type();
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": id,
            "name": id,
            "endpoint": self.endpoint(),
            "description": description,
            "schema": self.schema(dialect),
            "schemaExtensions": [],
            "meta": {
                "resourceType": "ResourceType",
                "location": format!("{base_url}/ResourceTypes/{id}"),
            },
        })
    }
}

/// The pool as an entitlement (`/Entitlements`): what a user carries to hold it (`value`,
/// the sku), and the seats it may grant (`totalAssignmentsPermitted`: its seats and
/// overage allowance; none outside its term) and has granted.
pub fn entitlement_json(pool: &Pool, now: chrono::DateTime<chrono::Utc>, base_url: &str) -> Value {
    let permitted = if pool.term.holds(now) {
        pool.capacity()
    } else {
        0
    };
    json!({
        "schemas": [IETF_ENTITLEMENT_SCHEMA],
        "id": pool.sku,
        "value": pool.sku,
        "display": pool.display_name,
        "displayName": pool.display_name,
        "type": LICENSE_TYPE,
        "description": license_description(pool),
        "supported": true,
        "limitedAssignmentsPermitted": true,
        "totalAssignmentsPermitted": permitted,
        "totalAssignmentsUsed": pool.used,
        "meta": {
            "resourceType": Catalog::Entitlements.resource_type(),
            "location": format!("{base_url}/Entitlements/{}", pool.sku),
        },
    })
}

/// What an entitlement of `pool` gives, for its `description`.
pub fn license_description(pool: &Pool) -> String {
    format!("{} license ({} seats)", pool.display_name, pool.seats)
}

/// A role value the tenant's rules map, with the pools it grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedRole {
    /// As the first rule spells it.
    pub value: String,
    /// The skus it grants, by sku.
    pub skus: Vec<String>,
}

impl MappedRole {
    /// The role values `rules` map (compared case-insensitively), by folded value.
    pub fn of(rules: &[MappingRule]) -> Vec<Self> {
        let mut roles: std::collections::BTreeMap<String, Self> = Default::default();
        for rule in rules
            .iter()
            .filter(|rule| rule.source == MappingSource::Role)
        {
            let role = roles.entry(fold_key(&rule.value)).or_insert_with(|| Self {
                value: rule.value.clone(),
                skus: Vec::new(),
            });
            role.skus.push(rule.sku.clone());
        }
        roles.into_values().collect()
    }

    /// Whether it is the role `id` names (case-insensitively).
    pub fn is(&self, id: &str) -> bool {
        fold_key(&self.value) == fold_key(id)
    }

    /// The role (`/Roles`), as `dialect` reads it.
    pub fn to_json(&self, dialect: Dialect, base_url: &str) -> Value {
        let location = format!(
            "{base_url}/Roles/{}",
            url::form_urlencoded::byte_serialize(self.value.as_bytes()).collect::<String>()
        )
        .replace('+', "%20");
        json!({
            "schemas": [Catalog::Roles.schema(dialect)],
            "id": self.value,
            "value": self.value,
            "display": self.value,
            "displayName": self.value,
            "description": format!("Grants the licenses {}", self.skus.join(", ")),
            "supported": true,
            "meta": {
                "resourceType": Catalog::Roles.resource_type(),
                "location": location,
            },
        })
    }
}

/// `/ServiceProviderConfig`'s `RolesAndEntitlements` (draft-ietf-scim-roles-entitlements):
/// users carry several of each; a role may be `primary` (Entra's single-role expression);
/// entitlements are typed `License`.
pub fn roles_and_entitlements() -> Value {
    json!({
        "roles": {
            "supported": true,
            "multipleRolesSupported": true,
            "primarySupported": true,
            "typeSupported": false,
            "types": [],
        },
        "entitlements": {
            "supported": true,
            "multipleEntitlementsSupported": true,
            "primarySupported": false,
            "typeSupported": true,
            "types": [LICENSE_TYPE],
        },
    })
}

/// The draft's Entitlement and Role schemas, as `/Schemas` describes them (every
/// attribute read-only).
pub fn catalog_schemas() -> Vec<Schema> {
    let ro = |a: AttributeDef| a.read_only().returned(Returned::Default);
    let common = || {
        vec![
            ro(AttributeDef::string("value", "What a User carries to have it.").required()),
            ro(AttributeDef::string("display", "Human-readable name.")),
            ro(AttributeDef::string(
                "displayName",
                "Human-readable name (Okta's member).",
            )),
            ro(AttributeDef::string("type", "Its kind.")),
            ro(AttributeDef::string("description", "What it gives.")),
            ro(AttributeDef::boolean(
                "supported",
                "Whether it may be assigned.",
            )),
        ]
    };
    let mut entitlement = common();
    entitlement.extend([
        ro(AttributeDef::boolean(
            "limitedAssignmentsPermitted",
            "Whether only so many Users may have it (a license pool's seats).",
        )),
        ro(AttributeDef::integer(
            "totalAssignmentsPermitted",
            "How many Users may have it: the seats bought and any overage allowance.",
        )),
        ro(AttributeDef::integer(
            "totalAssignmentsUsed",
            "How many Users have it (seats assigned).",
        )),
    ]);
    vec![
        Schema {
            id: IETF_ENTITLEMENT_SCHEMA,
            name: "Entitlement",
            description: "An entitlement a User may be assigned: a license pool of the tenant.",
            attributes: entitlement,
        },
        Schema {
            id: IETF_ROLE_SCHEMA,
            name: "Role",
            description: "A role a User may be assigned: a role value the tenant maps to license pools.",
            attributes: common(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_the_role_values_the_rules_map_once_each() {
        let rules = [
            MappingRule::new(MappingSource::Role, "Developer", "pro"),
            MappingRule::new(MappingSource::Group, "Sales", "pro"),
            MappingRule::new(MappingSource::Role, "DEVELOPER", "basic"),
            MappingRule::new(MappingSource::Role, "Admin", "pro"),
        ];
        let roles = MappedRole::of(&rules);
        let found: Vec<(&str, Vec<&str>)> = (roles.iter())
            .map(|role| {
                (
                    role.value.as_str(),
                    role.skus.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            found,
            [("Admin", vec!["pro"]), ("Developer", vec!["pro", "basic"])]
        );
        assert!(roles[1].is("developer"));
        let json = roles[1].to_json(Dialect::Okta, "https://x/scim/v2");
        assert_eq!(json["schemas"], json!([OKTA_ROLE_SCHEMA]));
        assert_eq!(
            (json["id"].clone(), json["displayName"].clone()),
            (json!("Developer"), json!("Developer"))
        );
        let spaced = MappedRole {
            value: "Team Lead".into(),
            skus: vec!["pro".into()],
        };
        let json = spaced.to_json(Dialect::Ietf, "https://x/scim/v2");
        assert_eq!(
            json["meta"]["location"],
            "https://x/scim/v2/Roles/Team%20Lead"
        );
        assert_eq!(json["schemas"], json!([IETF_ROLE_SCHEMA]));
    }

    #[test]
    fn an_entitlement_permits_the_seats_its_pool_may_grant_in_its_term() {
        let now = chrono::DateTime::UNIX_EPOCH + chrono::Duration::days(1);
        let pool = Pool {
            used: 3,
            ..Pool::new("pro", 5)
                .named("Pro")
                .with_policy(crate::license::PoolPolicy::Overage { allowance: 2 })
        };
        let json = entitlement_json(&pool, now, "https://x/scim/v2");
        let counts = (
            json["totalAssignmentsPermitted"].clone(),
            json["totalAssignmentsUsed"].clone(),
        );
        assert_eq!(counts, (json!(7), json!(3)));
        assert_eq!(
            (
                json["id"].clone(),
                json["value"].clone(),
                json["type"].clone()
            ),
            (json!("pro"), json!("pro"), json!("License"))
        );
        let ended = pool.with_term(crate::license::Term::new(None, Some(now)).unwrap());
        let json = entitlement_json(&ended, now, "https://x/scim/v2");
        assert_eq!(json["totalAssignmentsPermitted"], 0, "outside its term");
    }

    #[test]
    fn okta_tenants_read_licenses_and_roles_under_oktas_schemas() {
        let okta = Catalog::Licenses.resource_type_json(Dialect::Okta, "https://x/scim/v2");
        assert_eq!(
            (okta["name"].clone(), okta["schema"].clone()),
            (json!("License"), json!(OKTA_ENTITLEMENT_SCHEMA))
        );
        let ietf = Catalog::Licenses.resource_type_json(Dialect::Ietf, "https://x/scim/v2");
        assert_eq!(ietf["schema"], LICENSE_SCHEMA);
        assert_eq!(Catalog::Roles.schema(Dialect::Okta), OKTA_ROLE_SCHEMA);
        assert_eq!(
            Catalog::Entitlements.schema(Dialect::Okta),
            IETF_ENTITLEMENT_SCHEMA
        );
        assert_eq!(Catalog::at("Roles"), Some(Catalog::Roles));
        assert_eq!(Catalog::at("roles"), None);
        assert_eq!(Dialect::of_profile("okta"), Dialect::Okta);
        assert_eq!(Dialect::of_profile("entra"), Dialect::Ietf);
    }
}
