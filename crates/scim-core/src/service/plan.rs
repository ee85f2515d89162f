//! Pure planning: old resource + request → new resource. No port is touched here.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde_json::Value;

use crate::error::ScimResult;
use crate::patch::{MemberChange, PatchRequest, apply_patch};
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
    let forgotten = registry.forget_undefined(existing.kind, &existing.attributes);
    let stored = forgotten.as_ref().unwrap_or(&existing.attributes);
    let attributes = merge_for_replace(registry, existing.kind, stored, replacement)?;
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

/// The resource a PATCH request turns `existing` into, and the changes to its members
/// (stored apart; see [`apply_patch`]), in request order. Like a replace, it keeps `id` and
/// `created` and counts one more version; the caller decides whether anything changed.
///
/// `pub(crate)` until `service/mod.rs` re-exports it next to `plan_create` and `plan_replace`.
pub fn plan_patch(
    registry: &SchemaRegistry,
    existing: &Resource,
    request: &PatchRequest,
    now: DateTime<Utc>,
) -> ScimResult<(Resource, Vec<MemberChange>)> {
    // A tenant attribute removed since the resource was stored is not patched, nor kept.
    let forgotten = registry.forget_undefined(existing.kind, &existing.attributes);
    let stored = forgotten.as_ref().unwrap_or(&existing.attributes);
    let outcome = apply_patch(registry, existing.kind, stored, request)?;
    let last_modified = to_millis(now).max(existing.meta.last_modified);
    let patched = Resource {
        kind: existing.kind,
        id: existing.id.clone(),
        meta: Meta {
            created: existing.meta.created,
            last_modified,
            version: existing.meta.version + 1,
        },
        attributes: outcome.attributes,
    };
    Ok((patched, outcome.members))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::patch::{Member, parse_patch};
    use crate::schema::{GROUP_SCHEMA, USER_SCHEMA};

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

    fn patch_request(ops: Value) -> PatchRequest {
        let mut body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]});
        body["Operations"] = ops;
        parse_patch(&body).unwrap()
    }

    #[test]
    fn patch_bumps_version_and_keeps_id_and_created() {
        let registry = SchemaRegistry::standard();
        let t0 = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let body = json!({"schemas": [USER_SCHEMA], "userName": "a", "active": true});
        let created = plan_create(&registry, ResourceKind::User, &body, "id1".into(), t0).unwrap();

        let t1 = Utc.timestamp_opt(1_700_000_060, 987_654_321).unwrap();
        let request = patch_request(json!([{"op": "Replace", "path": "active", "value": "False"}]));
        let (patched, members) = plan_patch(&registry, &created, &request, t1).unwrap();
        assert!(members.is_empty());
        assert_eq!(patched.id, "id1");
        assert_eq!(patched.kind, ResourceKind::User);
        assert_eq!(patched.meta.created, created.meta.created);
        assert_eq!(patched.meta.version, 2);
        assert_eq!(patched.meta.last_modified, to_millis(t1));
        assert_eq!(
            patched.meta.last_modified.timestamp_subsec_nanos(),
            987_000_000
        );
        assert_eq!(
            Value::Object(patched.attributes.clone()),
            json!({"userName": "a", "active": false})
        );

        // A clock behind the stored time never moves lastModified backwards.
        let (again, _) = plan_patch(&registry, &patched, &patch_request(json!([])), t0).unwrap();
        assert_eq!(again.meta.last_modified, patched.meta.last_modified);
        assert_eq!(again.meta.version, 3);
        assert_eq!(again.attributes, patched.attributes);
    }

    #[test]
    fn patch_of_a_group_returns_member_changes_in_request_order() {
        let registry = SchemaRegistry::standard();
        let t0 = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let body = json!({"schemas": [GROUP_SCHEMA], "displayName": "Admins"});
        let group = plan_create(&registry, ResourceKind::Group, &body, "g1".into(), t0).unwrap();
        let request = patch_request(json!([
            {"op": "remove", "path": "members[value eq \"u1\"]"},
            {"op": "add", "path": "members", "value": [{"value": "u2", "type": "User"}]},
            {"op": "replace", "path": "displayName", "value": "Administrators"},
        ]));
        let (patched, members) = plan_patch(&registry, &group, &request, t0).unwrap();
        assert_eq!(
            members,
            [
                MemberChange::RemoveValues(vec!["u1".into()]),
                MemberChange::Add(vec![Member {
                    value: "u2".into(),
                    kind: Some("User".into()),
                    display: None,
                }]),
            ]
        );
        assert_eq!(
            Value::Object(patched.attributes),
            json!({"displayName": "Administrators"})
        );
    }

    #[test]
    fn patch_errors_leave_no_plan() {
        let registry = SchemaRegistry::standard();
        let t0 = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let body = json!({"schemas": [USER_SCHEMA], "userName": "a"});
        let created = plan_create(&registry, ResourceKind::User, &body, "id1".into(), t0).unwrap();
        let request = patch_request(json!([{"op": "remove", "path": "userName"}]));
        let err = plan_patch(&registry, &created, &request, t0).unwrap_err();
        assert_eq!(err.scim_type(), Some("mutability"));
    }
}
