//! The license lookup, the product's hot path: which licenses a user holds, found by its
//! id, userName or externalId, in one indexed read.

#![warn(missing_docs)]

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::ScimResult;
use crate::filter::{CompValue, CompareOp, Filter};
use crate::license::{HeldLicense, LicenseSource, LicenseStatus};
use crate::path::AttrPath;
use crate::query::ListQuery;
use crate::resource::{Expand, LICENSES, Resource, ResourceKind};
use crate::schema::LICENSE_USER_EXTENSION;
use crate::service::ResourceService;
use crate::tenant::TenantId;

/// How the product names the user it asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserKey {
    /// The user's SCIM `id`.
    Id(String),
    /// Its `userName` (compared as SCIM compares it: case-insensitively, after NFC).
    UserName(String),
    /// Its `externalId` (compared exactly).
    ExternalId(String),
}

/// A user and the licenses it holds, as a write left them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserLicenses {
    /// The user's `id`.
    pub id: String,
    /// Its `userName`.
    pub user_name: String,
    /// Whether it is active (a user without `active` is).
    pub active: bool,
    /// What it holds, by sku.
    pub licenses: Vec<HeldLicense>,
}

impl UserLicenses {
    /// The user's licenses as a read with its licenses shows them.
    pub fn of(user: &Resource) -> Self {
        let licenses = user
            .attributes
            .get(LICENSE_USER_EXTENSION)
            .and_then(|extension| extension.get(LICENSES))
            .and_then(Value::as_array)
            .map(|held| held.iter().filter_map(held_license).collect())
            .unwrap_or_default();
        Self {
            id: user.id.clone(),
            user_name: user
                .attributes
                .get("userName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            active: user.attributes.get("active") != Some(&Value::Bool(false)),
            licenses,
        }
    }
}

/// An element of the license extension's `licenses`, as [`HeldLicense::to_value`] made it.
fn held_license(element: &Value) -> Option<HeldLicense> {
    Some(HeldLicense {
        sku: element.get("sku")?.as_str()?.to_owned(),
        source: LicenseSource::parse(element.get("source")?.as_str()?)?,
        assigned: element
            .get("assigned")?
            .as_str()?
            .parse::<DateTime<Utc>>()
            .ok()?,
        // Written before licenses could wait: they all held a seat.
        status: match element.get("status") {
            None => LicenseStatus::Active,
            Some(status) => LicenseStatus::parse(status.as_str()?)?,
        },
    })
}

impl ResourceService {
    /// The user `key` names and its licenses; `None` when the tenant has no such user.
    pub async fn user_licenses(
        &self,
        tenant: &TenantId,
        key: &UserKey,
    ) -> ScimResult<Option<UserLicenses>> {
        let expand = Expand {
            licenses: true,
            ..Expand::default()
        };
        let (attribute, value) = match key {
            UserKey::Id(id) => {
                return match self.get(tenant, ResourceKind::User, id, expand).await {
                    Ok(user) => Ok(Some(UserLicenses::of(&user))),
                    Err(crate::ScimError::NotFound(_)) => Ok(None),
                    Err(error) => Err(error),
                };
            }
            UserKey::UserName(name) => ("userName", name),
            UserKey::ExternalId(id) => ("externalId", id),
        };
        let query = ListQuery {
            filter: Some(Filter::compare(
                AttrPath::new(attribute),
                CompareOp::Eq,
                CompValue::Str(value.clone()),
            )),
            // Two, so that the page is a last page: no count is needed.
            count: 2,
            ..ListQuery::default()
        };
        let page = self
            .list(tenant, ResourceKind::User, &query, expand)
            .await?;
        // userName is unique; externalId need not be: never answer for one user of several.
        if page.resources.len() > 1 {
            return Err(crate::ScimError::Conflict(format!(
                "more than one user has the {attribute} '{value}': look the user up by id"
            )));
        }
        Ok(page.resources.first().map(UserLicenses::of))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    #[test]
    fn a_read_users_licenses_come_back_as_held() {
        let assigned = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let mut user = Resource {
            kind: ResourceKind::User,
            id: "u1".into(),
            meta: crate::resource::Meta {
                created: assigned,
                last_modified: assigned,
                version: 1,
            },
            attributes: serde_json::Map::new(),
        };
        user.attributes.insert("userName".into(), json!("ada"));
        user.show_licenses(&[
            HeldLicense::active("pro", LicenseSource::Group, assigned),
            HeldLicense::active("viewer", LicenseSource::Direct, assigned),
        ]);
        let found = UserLicenses::of(&user);
        assert_eq!(found.user_name, "ada");
        assert!(found.active);
        assert_eq!(
            found
                .licenses
                .iter()
                .map(|held| (held.sku.as_str(), held.source, held.assigned))
                .collect::<Vec<_>>(),
            [
                ("pro", LicenseSource::Group, assigned),
                ("viewer", LicenseSource::Direct, assigned)
            ]
        );
        user.attributes.insert("active".into(), json!(false));
        user.show_licenses(&[]);
        let inactive = UserLicenses::of(&user);
        assert!(!inactive.active);
        assert!(inactive.licenses.is_empty());
    }
}
