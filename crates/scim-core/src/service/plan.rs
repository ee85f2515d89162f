//! Pure planning: old resource + request → new resource. No port is touched here.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde_json::Value;

use crate::error::ScimResult;
use crate::resource::{Meta, Resource, ResourceKind};
use crate::schema::SchemaRegistry;
use crate::validate::{merge_for_replace, validate_resource};

/// Timestamps are kept to the millisecond: what we emit, what both stores keep exactly.
fn to_millis(time: DateTime<Utc>) -> DateTime<Utc> {
    time.duration_trunc(TimeDelta::milliseconds(1))
        .unwrap_or(time)
}

/// The resource a create request asks for.
pub fn plan_create(
    registry: &SchemaRegistry,
    kind: ResourceKind,
    body: &Value,
    id: String,
    now: DateTime<Utc>,
) -> ScimResult<Resource> {
    let attributes = validate_resource(registry, kind, body)?;
    let now = to_millis(now);
    Ok(Resource {
        kind,
        id,
        meta: Meta {
            created: now,
            last_modified: now,
            version: 1,
        },
        attributes,
    })
}

/// The resource a replace (PUT) request turns `existing` into.
pub fn plan_replace(
    registry: &SchemaRegistry,
    existing: &Resource,
    body: &Value,
    now: DateTime<Utc>,
) -> ScimResult<Resource> {
    let replacement = validate_resource(registry, existing.kind, body)?;
    let attributes = merge_for_replace(registry, existing.kind, &existing.attributes, replacement)?;
    let last_modified = to_millis(now).max(existing.meta.last_modified);
    Ok(Resource {
        kind: existing.kind,
        id: existing.id.clone(),
        meta: Meta {
            created: existing.meta.created,
            last_modified,
            version: existing.meta.version + 1,
        },
        attributes,
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::schema::USER_SCHEMA;

    #[test]
    fn create_then_replace_bumps_version_and_keeps_created() {
        let registry = SchemaRegistry::standard();
        let t0 = Utc.timestamp_opt(1_700_000_000, 123_456_789).unwrap();
        let body = json!({"schemas": [USER_SCHEMA], "userName": "a"});
        let created = plan_create(&registry, ResourceKind::User, &body, "id1".into(), t0).unwrap();
        assert_eq!(created.meta.version, 1);
        assert_eq!(created.meta.created.timestamp_subsec_nanos(), 123_000_000);

        let t1 = t0 + TimeDelta::seconds(5);
        let body = json!({"schemas": [USER_SCHEMA], "userName": "b", "id": "ignored"});
        let replaced = plan_replace(&registry, &created, &body, t1).unwrap();
        assert_eq!(replaced.id, "id1");
        assert_eq!(replaced.meta.version, 2);
        assert_eq!(replaced.meta.created, created.meta.created);
        assert_eq!(replaced.meta.last_modified, to_millis(t1));
        assert_eq!(replaced.str_attribute("userName"), Some("b"));
    }
}
