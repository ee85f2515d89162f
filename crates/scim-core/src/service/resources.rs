//! Create, read, replace, delete and list Users and Groups of one tenant.

use std::sync::Arc;

use serde_json::Value;

use super::plan::{plan_create, plan_replace};
use crate::error::{ScimError, ScimResult, StoreError};
use crate::ports::{Clock, IdGenerator, ResourceRepository};
use crate::query::{ListPage, ListQuery};
use crate::resource::{Resource, ResourceKind};
use crate::schema::SchemaRegistry;
use crate::tenant::TenantId;

/// How often a write without `If-Match` is re-planned when a concurrent write got there
/// first, before the client is told to retry.
const WRITE_ATTEMPTS: usize = 3;

/// An `If-Match` condition (RFC 7232 §3.1 as SCIM uses it, RFC 7644 §3.14).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Precondition {
    #[default]
    None,
    /// `If-Match: *`
    Any,
    /// `If-Match: W/"3", "4"`: the opaque tags, weakness ignored (SCIM's ETags are weak and
    /// clients send them back as they got them).
    OneOf(Vec<String>),
}

impl Precondition {
    /// Parses an `If-Match` header value.
    pub fn parse_if_match(header: &str) -> Self {
        if header.trim() == "*" {
            return Self::Any;
        }
        Self::OneOf(
            header
                .split(',')
                .map(|tag| {
                    tag.trim()
                        .trim_start_matches("W/")
                        .trim_matches('"')
                        .to_owned()
                })
                .filter(|tag| !tag.is_empty())
                .collect(),
        )
    }

    /// Whether a tag of the condition names `version` (`*` names every version; no
    /// condition names none).
    pub fn names_version(&self, version: i64) -> bool {
        match self {
            Self::None => false,
            Self::Any => true,
            Self::OneOf(tags) => tags.contains(&version.to_string()),
        }
    }

    fn check(&self, resource: &Resource) -> ScimResult<()> {
        if *self == Self::None || self.names_version(resource.meta.version) {
            Ok(())
        } else {
            Err(ScimError::PreconditionFailed(format!(
                "If-Match does not match the current version {}",
                resource.meta.etag()
            )))
        }
    }
}

/// The resource use cases.
#[derive(Clone)]
pub struct ResourceService {
    repo: Arc<dyn ResourceRepository>,
    registry: Arc<SchemaRegistry>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
}

impl ResourceService {
    pub fn new(
        repo: Arc<dyn ResourceRepository>,
        registry: Arc<SchemaRegistry>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
    ) -> Self {
        Self {
            repo,
            registry,
            clock,
            ids,
        }
    }

    pub fn registry(&self) -> &SchemaRegistry {
        &self.registry
    }

    pub async fn create(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        body: &Value,
    ) -> ScimResult<Resource> {
        let resource = plan_create(
            &self.registry,
            kind,
            body,
            self.ids.new_id(),
            self.clock.now(),
        )?;
        self.repo
            .insert(tenant, &resource)
            .await
            .map_err(|e| store_error(e, kind))?;
        Ok(resource)
    }

    pub async fn get(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
    ) -> ScimResult<Resource> {
        self.repo
            .get(tenant, kind, id)
            .await
            .map_err(|e| store_error(e, kind))?
            .ok_or_else(|| not_found(kind, id))
    }

    pub async fn replace(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
        body: &Value,
        precondition: &Precondition,
    ) -> ScimResult<Resource> {
        for _ in 0..WRITE_ATTEMPTS {
            let existing = self.get(tenant, kind, id).await?;
            precondition.check(&existing)?;
            let replaced = plan_replace(&self.registry, &existing, body, self.clock.now())?;
            match self
                .repo
                .update(tenant, &replaced, existing.meta.version)
                .await
            {
                Ok(()) => return Ok(replaced),
                Err(StoreError::VersionMismatch) if *precondition == Precondition::None => continue,
                Err(e) => return Err(store_error(e, kind)),
            }
        }
        Err(conflicting_writes(kind, id))
    }

    pub async fn delete(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
        precondition: &Precondition,
    ) -> ScimResult<()> {
        let expected = match precondition {
            Precondition::None => None,
            _ => {
                let existing = self.get(tenant, kind, id).await?;
                precondition.check(&existing)?;
                Some(existing.meta.version)
            }
        };
        self.repo
            .delete(tenant, kind, id, expected)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => not_found(kind, id),
                other => store_error(other, kind),
            })
    }

    pub async fn list(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        query: &ListQuery,
    ) -> ScimResult<ListPage> {
        self.repo
            .list(tenant, kind, query)
            .await
            .map_err(|e| store_error(e, kind))
    }
}

fn not_found(kind: ResourceKind, id: &str) -> ScimError {
    ScimError::NotFound(format!("{kind} {id} not found"))
}

fn conflicting_writes(kind: ResourceKind, id: &str) -> ScimError {
    ScimError::PreconditionFailed(format!(
        "{kind} {id} was changed by concurrent requests; read it again and retry"
    ))
}

/// Maps a storage failure to what the client sees. `Unavailable`'s cause is logged by the
/// adapter that saw it; the client learns only that it may retry.
fn store_error(error: StoreError, kind: ResourceKind) -> ScimError {
    match error {
        StoreError::NotFound => ScimError::NotFound(format!("{kind} not found")),
        StoreError::Conflict { attribute } => ScimError::Uniqueness(format!(
            "a {kind} with this {attribute} already exists in this tenant"
        )),
        StoreError::VersionMismatch => ScimError::PreconditionFailed(format!(
            "the {kind} changed since it was read; read it again and retry"
        )),
        StoreError::Unavailable(_) => ScimError::Unavailable,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    use super::*;
    use crate::ports::{MockClock, MockIdGenerator, MockResourceRepository};
    use crate::schema::USER_SCHEMA;

    fn service(repo: MockResourceRepository) -> ResourceService {
        let mut clock = MockClock::new();
        clock
            .expect_now()
            .returning(|| Utc.timestamp_opt(1_700_000_000, 0).unwrap());
        let mut ids = MockIdGenerator::new();
        ids.expect_new_id().returning(|| "u1".to_owned());
        ResourceService::new(
            Arc::new(repo),
            Arc::new(SchemaRegistry::standard()),
            Arc::new(clock),
            Arc::new(ids),
        )
    }

    fn tenant() -> TenantId {
        TenantId("t1".into())
    }

    #[tokio::test]
    async fn create_inserts_the_planned_resource() {
        let mut repo = MockResourceRepository::new();
        repo.expect_insert()
            .withf(|t, r| t.0 == "t1" && r.id == "u1" && r.str_attribute("userName") == Some("a"))
            .times(1)
            .returning(|_, _| Ok(()));
        let body = json!({"schemas": [USER_SCHEMA], "userName": "a"});
        let created = service(repo)
            .create(&tenant(), ResourceKind::User, &body)
            .await
            .unwrap();
        assert_eq!(created.meta.version, 1);
    }

    #[tokio::test]
    async fn duplicate_user_name_is_a_uniqueness_error() {
        let mut repo = MockResourceRepository::new();
        repo.expect_insert().returning(|_, _| {
            Err(StoreError::Conflict {
                attribute: "userName".into(),
            })
        });
        let body = json!({"schemas": [USER_SCHEMA], "userName": "a"});
        let err = service(repo)
            .create(&tenant(), ResourceKind::User, &body)
            .await
            .unwrap_err();
        assert_eq!((err.status(), err.scim_type()), (409, Some("uniqueness")));
        assert!(err.detail().contains("userName"));
    }

    fn stored(version: i64) -> Resource {
        let registry = SchemaRegistry::standard();
        let body = json!({"schemas": [USER_SCHEMA], "userName": "a"});
        let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let mut r = plan_create(&registry, ResourceKind::User, &body, "u1".into(), now).unwrap();
        r.meta.version = version;
        r
    }

    #[tokio::test]
    async fn replace_checks_if_match_and_retries_races_without_it() {
        let mut repo = MockResourceRepository::new();
        repo.expect_get().returning(|_, _, _| Ok(Some(stored(3))));
        let svc = service(repo);
        let body = json!({"schemas": [USER_SCHEMA], "userName": "b"});
        let stale = Precondition::parse_if_match("W/\"2\"");
        let err = svc
            .replace(&tenant(), ResourceKind::User, "u1", &body, &stale)
            .await
            .unwrap_err();
        assert_eq!(err.status(), 412);

        let mut repo = MockResourceRepository::new();
        repo.expect_get()
            .times(2)
            .returning(|_, _, _| Ok(Some(stored(3))));
        let mut seq = mockall::Sequence::new();
        repo.expect_update()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _| Err(StoreError::VersionMismatch));
        repo.expect_update()
            .withf(|_, r, v| *v == 3 && r.meta.version == 4)
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _| Ok(()));
        let replaced = service(repo)
            .replace(
                &tenant(),
                ResourceKind::User,
                "u1",
                &body,
                &Precondition::None,
            )
            .await
            .unwrap();
        assert_eq!(replaced.str_attribute("userName"), Some("b"));
    }

    #[tokio::test]
    async fn missing_resources_are_not_found() {
        let mut repo = MockResourceRepository::new();
        repo.expect_get().returning(|_, _, _| Ok(None));
        repo.expect_delete()
            .returning(|_, _, _, _| Err(StoreError::NotFound));
        let svc = service(repo);
        let err = svc
            .get(&tenant(), ResourceKind::User, "x")
            .await
            .unwrap_err();
        assert_eq!(err.status(), 404);
        let err = svc
            .delete(&tenant(), ResourceKind::User, "x", &Precondition::None)
            .await
            .unwrap_err();
        assert_eq!(err.status(), 404);
    }

    #[test]
    fn if_match_parsing() {
        assert_eq!(Precondition::parse_if_match(" * "), Precondition::Any);
        assert_eq!(
            Precondition::parse_if_match("W/\"3\", \"4\""),
            Precondition::OneOf(vec!["3".into(), "4".into()])
        );
    }
}
