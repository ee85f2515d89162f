//! Rows as the tables hold them, and their mapping to and from the domain. Rows never leave
//! the crate.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use scim_core::compat::Compatibility;
use scim_core::fold::fold_key;
use scim_core::resource::membership_attribute;
use scim_core::schema::{LICENSE_USER_EXTENSION, TenantAttribute};
use scim_core::tenant::{ClientAuth, StoredClient, StoredToken, Tenant, TenantId, TokenHash};
use scim_core::{Meta, Resource, ResourceKind, StoreError};
use serde_json::{Map, Value, json};

use crate::connection::MultiBackend;
use crate::schema::{clients, resources, tenants, tokens};

/// A stored value the domain cannot take back. Only a database written by something other
/// than this store holds one.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CorruptRow {
    #[error("timestamp {0} µs is out of range")]
    Timestamp(i64),
    #[error("unknown resource kind '{0}'")]
    Kind(String),
    #[error("resource data is not a JSON object: {0}")]
    Data(#[source] serde_json::Error),
    #[error("unknown bulk job status '{0}'")]
    JobStatus(String),
    #[error("a stored JSON column (bulk job, event, client federation) is not valid JSON: {0}")]
    Json(#[source] serde_json::Error),
    #[error("stored events are not a JSON object")]
    EventsNotObject,
    #[error("'{0}' is not a day (YYYY-MM-DD)")]
    Day(String),
    #[error("'{0}' is not an API key scope")]
    Scope(String),
    #[error("'{0}' is not a portal grant's kind")]
    PortalKind(String),
}

impl From<CorruptRow> for StoreError {
    fn from(error: CorruptRow) -> Self {
        StoreError::corrupt(error)
    }
}

/// Timestamps are stored as microseconds since the epoch (the domain's are milliseconds).
pub(crate) fn to_micros(time: &DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

pub(crate) fn from_micros(micros: i64) -> Result<DateTime<Utc>, CorruptRow> {
    DateTime::from_timestamp_micros(micros).ok_or(CorruptRow::Timestamp(micros))
}

pub(crate) fn kind_from_str(kind: &str) -> Result<ResourceKind, CorruptRow> {
    match kind {
        "User" => Ok(ResourceKind::User),
        "Group" => Ok(ResourceKind::Group),
        other => Err(CorruptRow::Kind(other.to_owned())),
    }
}

/// The columns a resource is read back from.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = resources, check_for_backend(MultiBackend))]
pub(crate) struct ResourceRow {
    seq: i64,
    kind: String,
    id: String,
    version: i64,
    created: i64,
    last_modified: i64,
    data: String,
}

/// A resource read back, with its row's `seq` (what membership rows refer to).
#[derive(Debug)]
pub(crate) struct StoredResource {
    pub(crate) seq: i64,
    pub(crate) resource: Resource,
}

impl TryFrom<ResourceRow> for StoredResource {
    type Error = CorruptRow;

    fn try_from(row: ResourceRow) -> Result<Self, CorruptRow> {
        let attributes: Map<String, Value> =
            serde_json::from_str(&row.data).map_err(CorruptRow::Data)?;
        Ok(Self {
            seq: row.seq,
            resource: Resource {
                kind: kind_from_str(&row.kind)?,
                id: row.id,
                meta: Meta {
                    created: from_micros(row.created)?,
                    last_modified: from_micros(row.last_modified)?,
                    version: row.version,
                },
                attributes,
            },
        })
    }
}

/// Rows as resources with their `seq`.
pub(crate) fn to_stored(rows: Vec<ResourceRow>) -> Result<Vec<StoredResource>, StoreError> {
    rows.into_iter()
        .map(|row| StoredResource::try_from(row).map_err(StoreError::from))
        .collect()
}

/// A new resource row: its identity and its first state.
#[derive(Debug, Insertable)]
#[diesel(table_name = resources)]
pub(crate) struct NewResourceRow {
    pub(crate) tenant_id: String,
    pub(crate) kind: &'static str,
    pub(crate) id: String,
    /// The id's fold key: `members.value` compares case-insensitively.
    pub(crate) id_key: String,
    pub(crate) created: i64,
    #[diesel(embed)]
    pub(crate) state: ResourceState,
}

impl NewResourceRow {
    pub(crate) fn new(tenant: &TenantId, resource: &Resource) -> Result<Self, StoreError> {
        Ok(Self {
            tenant_id: tenant.0.clone(),
            kind: resource.kind.as_str(),
            id: resource.id.clone(),
            id_key: fold_key(&resource.id),
            created: to_micros(&resource.meta.created),
            state: ResourceState::new(resource)?,
        })
    }
}

/// What a write changes: the data, the version, and the key columns derived from the data.
/// `None` writes NULL (an attribute that was removed). The data never holds the attribute
/// computed from membership rows (`members` of groups, `groups` of users).
#[derive(Debug, Insertable, AsChangeset)]
#[diesel(
    table_name = resources,
    treat_none_as_null = true,
    treat_none_as_default_value = false
)]
pub(crate) struct ResourceState {
    version: i64,
    last_modified: i64,
    user_name_key: Option<String>,
    external_id: Option<String>,
    display_name_key: Option<String>,
    /// How a group is shown in its members' `groups` (its displayName as written; a user's
    /// displayName, else userName).
    pub(crate) display: Option<String>,
    /// The resource's attributes as JSON text.
    pub(crate) data: String,
}

impl ResourceState {
    pub(crate) fn new(resource: &Resource) -> Result<Self, StoreError> {
        let user_name = match resource.kind {
            ResourceKind::User => resource.str_attribute("userName"),
            ResourceKind::Group => None,
        };
        let display_name = resource.str_attribute("displayName");
        Ok(Self {
            version: resource.meta.version,
            last_modified: to_micros(&resource.meta.last_modified),
            user_name_key: user_name.map(fold_key),
            external_id: resource.external_id().map(str::to_owned),
            display_name_key: display_name.map(fold_key),
            display: resource.display().map(str::to_owned),
            data: stored_data(resource)?,
        })
    }
}

/// The resource's attributes as the `data` column keeps them: without the attributes that
/// are computed (from the membership rows, and a user's licenses).
fn stored_data(resource: &Resource) -> Result<String, StoreError> {
    let computed = [membership_attribute(resource.kind), LICENSE_USER_EXTENSION];
    let data = if computed
        .iter()
        .any(|name| resource.attributes.contains_key(*name))
    {
        let mut attributes = resource.attributes.clone();
        for name in computed {
            attributes.remove(name);
        }
        serde_json::to_string(&attributes)
    } else {
        serde_json::to_string(&resource.attributes)
    };
    data.map_err(StoreError::corrupt)
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = tenants, check_for_backend(MultiBackend))]
pub(crate) struct TenantRow {
    id: String,
    slug: String,
    name: String,
    created: i64,
    client_cert_sha256: Option<String>,
    /// A JSON array of [`TenantAttribute`]s.
    custom_attributes: String,
    /// A JSON [`Compatibility`] object.
    compatibility: String,
}

/// A tenant's attributes as the `custom_attributes` column keeps them.
pub(crate) fn custom_attributes_json(attributes: &[TenantAttribute]) -> String {
    serde_json::to_string(attributes).unwrap_or_else(|_| "[]".to_owned())
}

/// A tenant's compatibility settings as the `compatibility` column keeps them.
pub(crate) fn compatibility_json(compatibility: &Compatibility) -> String {
    serde_json::to_string(compatibility).unwrap_or_else(|_| "{}".to_owned())
}

/// Fingerprints as the `client_cert_sha256` column keeps them: comma-separated, `None`
/// when there are none.
pub(crate) fn joined_fingerprints(fingerprints: &[String]) -> Option<String> {
    (!fingerprints.is_empty()).then(|| fingerprints.join(","))
}

impl From<&Tenant> for TenantRow {
    fn from(tenant: &Tenant) -> Self {
        Self {
            id: tenant.id.0.clone(),
            slug: tenant.slug.clone(),
            name: tenant.name.clone(),
            created: to_micros(&tenant.created),
            client_cert_sha256: joined_fingerprints(&tenant.client_certs),
            custom_attributes: custom_attributes_json(&tenant.custom_attributes),
            compatibility: compatibility_json(&tenant.compatibility),
        }
    }
}

impl TryFrom<TenantRow> for Tenant {
    type Error = CorruptRow;

    fn try_from(row: TenantRow) -> Result<Self, CorruptRow> {
        Ok(Tenant {
            id: TenantId(row.id),
            slug: row.slug,
            name: row.name,
            created: from_micros(row.created)?,
            client_certs: row
                .client_cert_sha256
                .map(|joined| joined.split(',').map(str::to_owned).collect())
                .unwrap_or_default(),
            custom_attributes: serde_json::from_str(&row.custom_attributes)
                .map_err(CorruptRow::Json)?,
            compatibility: serde_json::from_str(&row.compatibility).map_err(CorruptRow::Json)?,
        })
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(
    table_name = tokens,
    check_for_backend(MultiBackend),
    treat_none_as_default_value = false
)]
pub(crate) struct TokenRow {
    id: String,
    tenant_id: String,
    hash: String,
    hint: String,
    created: i64,
    expires: Option<i64>,
    client_id: Option<String>,
}

impl From<&StoredToken> for TokenRow {
    fn from(token: &StoredToken) -> Self {
        Self {
            id: token.id.clone(),
            tenant_id: token.tenant.0.clone(),
            hash: token.hash.0.clone(),
            hint: token.hint.clone(),
            created: to_micros(&token.created),
            expires: token.expires.as_ref().map(to_micros),
            client_id: token.client.clone(),
        }
    }
}

impl TryFrom<TokenRow> for StoredToken {
    type Error = CorruptRow;

    fn try_from(row: TokenRow) -> Result<Self, CorruptRow> {
        Ok(StoredToken {
            id: row.id,
            tenant: TenantId(row.tenant_id),
            hash: TokenHash(row.hash),
            hint: row.hint,
            created: from_micros(row.created)?,
            expires: row.expires.map(from_micros).transpose()?,
            client: row.client_id,
        })
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = clients, check_for_backend(MultiBackend))]
pub(crate) struct ClientRow {
    id: String,
    tenant_id: String,
    /// '' for a federated client, which has no secret.
    secret_hash: String,
    created: i64,
    expires: Option<i64>,
    /// A federated client's trust, as JSON.
    federation: Option<String>,
}

impl From<&StoredClient> for ClientRow {
    fn from(client: &StoredClient) -> Self {
        let (secret_hash, federation) = match &client.auth {
            ClientAuth::Secret(hash) => (hash.0.clone(), None),
            ClientAuth::Federated(trust) => (String::new(), Some(json!(trust).to_string())),
        };
        Self {
            id: client.id.clone(),
            tenant_id: client.tenant.0.clone(),
            secret_hash,
            created: to_micros(&client.created),
            expires: client.expires.as_ref().map(to_micros),
            federation,
        }
    }
}

impl TryFrom<ClientRow> for StoredClient {
    type Error = CorruptRow;

    fn try_from(row: ClientRow) -> Result<Self, CorruptRow> {
        let auth = match row.federation {
            None => ClientAuth::Secret(TokenHash(row.secret_hash)),
            Some(text) => {
                ClientAuth::Federated(serde_json::from_str(&text).map_err(CorruptRow::Json)?)
            }
        };
        Ok(StoredClient {
            id: row.id,
            tenant: TenantId(row.tenant_id),
            auth,
            created: from_micros(row.created)?,
            expires: row.expires.map(from_micros).transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(attributes: Value) -> Resource {
        let Value::Object(attributes) = attributes else {
            panic!("attributes must be an object")
        };
        let time = DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
        Resource {
            kind: ResourceKind::User,
            id: "u1".into(),
            meta: Meta {
                created: time,
                last_modified: time,
                version: 3,
            },
            attributes,
        }
    }

    #[test]
    fn key_columns_are_derived_from_the_attributes() {
        let state = ResourceState::new(&user(json!({
            "userName": "Straße",
            "externalId": "Ext-1",
            "displayName": "Ǆemal",
        })))
        .unwrap();
        assert_eq!(state.user_name_key.as_deref(), Some("strasse"));
        assert_eq!(state.external_id.as_deref(), Some("Ext-1"));
        assert_eq!(state.display_name_key.as_deref(), Some("ǆemal"));
        assert_eq!(state.display.as_deref(), Some("Ǆemal"));
        assert_eq!(state.last_modified, 1_700_000_000_123_000);
        let state = ResourceState::new(&user(json!({"userName": "Straße"}))).unwrap();
        assert_eq!(state.display.as_deref(), Some("Straße"));

        let group = Resource {
            kind: ResourceKind::Group,
            ..user(json!({"displayName": "Admins", "userName": "ignored"}))
        };
        let state = ResourceState::new(&group).unwrap();
        assert_eq!(state.user_name_key, None);
        assert_eq!(state.external_id, None);
        assert_eq!(state.display.as_deref(), Some("Admins"));
        assert_eq!(
            NewResourceRow::new(&TenantId("t".into()), &group)
                .unwrap()
                .id_key,
            "u1"
        );
    }

    #[test]
    fn computed_membership_attributes_are_never_stored() {
        let member = json!([{"value": "u2", "type": "User", "display": "Bob"}]);
        let group = Resource {
            kind: ResourceKind::Group,
            ..user(json!({"displayName": "Admins", "members": member, "externalId": "e"}))
        };
        let data = ResourceState::new(&group).unwrap().data;
        assert_eq!(data, r#"{"displayName":"Admins","externalId":"e"}"#);
        let alice = user(json!({"userName": "alice", "groups": [{"value": "g1"}]}));
        let data = ResourceState::new(&alice).unwrap().data;
        assert_eq!(data, r#"{"userName":"alice"}"#);
    }

    #[test]
    fn corrupt_rows_are_reported() {
        assert!(from_micros(i64::MAX).is_err());
        assert!(kind_from_str("Device").is_err());
        let row = ResourceRow {
            seq: 1,
            kind: "User".into(),
            id: "u1".into(),
            version: 1,
            created: 0,
            last_modified: 0,
            data: "[1]".into(),
        };
        assert!(matches!(
            StoredResource::try_from(row),
            Err(CorruptRow::Data(_))
        ));
    }
}
