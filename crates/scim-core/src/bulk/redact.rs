//! A bulk request as an asynchronous job keeps it: without the users' passwords.
//!
//! Passwords are validated and then dropped on every write (a license server has no use
//! for them), so a job runs the same with them replaced; the stored request then holds no
//! password at all. What is replaced: `password` of a user (also as
//! `urn:…:core:2.0:User:password`, and inside an object under the core URN) in a POST or
//! PUT's data, and in a PATCH's operations naming it by path or in a path-less value. A
//! password that is not a string is left as it is, so that it fails as it would have.

use serde_json::{Map, Value};

use crate::schema::USER_SCHEMA;

/// What a password is replaced with.
pub const REDACTED: &str = "(redacted)";

/// `body` with the password of every user it writes replaced by [`REDACTED`].
pub fn without_passwords(body: &Value) -> Value {
    let mut body = body.clone();
    let operations = body
        .as_object_mut()
        .and_then(|fields| field_mut(fields, "Operations"))
        .and_then(Value::as_array_mut);
    for operation in operations.into_iter().flatten() {
        let Some(fields) = operation.as_object_mut() else {
            continue;
        };
        let on_users = fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("path"))
            .and_then(|(_, v)| v.as_str())
            .is_some_and(|path| {
                let path = path.trim_start_matches('/');
                path.len() >= 5 && path[..5].eq_ignore_ascii_case("Users")
            });
        if !on_users {
            continue;
        }
        if let Some(Value::Object(data)) = field_mut(fields, "data") {
            redact_attributes(data);
            redact_patch_operations(data);
        }
    }
    body
}

/// The password keys of a user's attributes (and of the core schema's object inside).
fn redact_attributes(attributes: &mut Map<String, Value>) {
    for (key, value) in attributes.iter_mut() {
        if names_password(key) {
            redact(value);
        } else if key.eq_ignore_ascii_case(USER_SCHEMA)
            && let Value::Object(core) = value
        {
            redact_attributes(core);
        }
    }
}

/// A PatchOp's operations that write `password`, by path or in a path-less value.
fn redact_patch_operations(data: &mut Map<String, Value>) {
    let Some(Value::Array(operations)) = field_mut(data, "Operations") else {
        return;
    };
    for operation in operations.iter_mut().filter_map(Value::as_object_mut) {
        let path = operation
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("path"))
            .and_then(|(_, v)| v.as_str())
            .map(str::to_owned);
        let Some(value) = field_mut(operation, "value") else {
            continue;
        };
        match path {
            Some(path) if names_password(&path) => redact(value),
            Some(_) => {}
            None => {
                if let Value::Object(attributes) = value {
                    redact_attributes(attributes);
                }
            }
        }
    }
}

/// `password`, or the core User schema's `urn:…:User:password`, in any case.
fn names_password(key: &str) -> bool {
    let key = key.trim();
    key.eq_ignore_ascii_case("password")
        || key.len() == USER_SCHEMA.len() + ":password".len()
            && key[..USER_SCHEMA.len()].eq_ignore_ascii_case(USER_SCHEMA)
            && key[USER_SCHEMA.len()..].eq_ignore_ascii_case(":password")
}

fn redact(value: &mut Value) {
    if value.is_string() {
        *value = Value::String(REDACTED.to_owned());
    }
}

fn field_mut<'a>(fields: &'a mut Map<String, Value>, name: &str) -> Option<&'a mut Value> {
    fields
        .iter_mut()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_users_password_is_redacted_and_nothing_else() {
        let user_urn = format!("{USER_SCHEMA}:password");
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {
                "userName": "a", "password": "hunter2", "name": {"givenName": "password"}}},
            {"method": "PUT", "path": "/Users/u1", "data": {"userName": "b", "PASSWORD": "hunter3", user_urn.clone(): "hunter4"}},
            {"method": "POST", "path": "/Users", "data": {"userName": "c", USER_SCHEMA: {"password": "hunter5"}}},
            {"method": "PATCH", "path": "/Users/u2", "data": {"Operations": [
                {"op": "replace", "path": "password", "value": "hunter6"},
                {"op": "replace", "value": {"password": "hunter7", "title": "password"}},
                {"op": "replace", "path": user_urn, "value": "hunter8"},
                {"op": "replace", "path": "title", "value": "hunter9-is-a-title"},
            ]}},
            {"method": "POST", "path": "/Users", "data": {"userName": "d", "password": 7}},
            {"method": "POST", "path": "/Groups", "data": {"displayName": "g", "password": "not-a-user"}},
        ]});
        let redacted = without_passwords(&body).to_string();
        for secret in [
            "hunter2", "hunter3", "hunter4", "hunter5", "hunter6", "hunter7", "hunter8",
        ] {
            assert!(!redacted.contains(secret), "{secret} in {redacted}");
        }
        for kept in [
            "\"givenName\":\"password\"",
            "hunter9-is-a-title",
            "\"password\":7",
            "not-a-user",
            "\"title\":\"password\"",
        ] {
            assert!(redacted.contains(kept), "{kept} lost from {redacted}");
        }
        assert_eq!(redacted.matches(REDACTED).count(), 7);
    }
}
