//! A bulk request as an asynchronous job keeps it: without the users' passwords.
//!
//! Passwords are validated and then dropped on every write (a license server has no use
//! for them), so a job runs the same with them replaced; the stored request then holds no
//! password at all. What is replaced, in every operation whatever its path says (only
//! users have a password, so elsewhere a replacement changes no outcome, and no way of
//! spelling a path lets one through): `password` (also as `urn:…:core:2.0:User:password`,
//! and inside an object under the core URN) in a POST or PUT's data, and in a PATCH's
//! operations, by path or inside any object value. A password that is not a string is
//! replaced by an empty value of its own type (`0`, `[]`, `{}`), so that it fails
//! validation as it would have, holding nothing.

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
        if let Some(Value::Object(data)) = operation
            .as_object_mut()
            .and_then(|fields| field_mut(fields, "data"))
        {
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

/// A PatchOp's operations that write `password`, by path or inside an object value.
fn redact_patch_operations(data: &mut Map<String, Value>) {
    let Some(Value::Array(operations)) = field_mut(data, "Operations") else {
        return;
    };
    for operation in operations.iter_mut().filter_map(Value::as_object_mut) {
        let by_path = operation
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("path"))
            .and_then(|(_, v)| v.as_str())
            .is_some_and(names_password);
        match field_mut(operation, "value") {
            Some(value) if by_path => redact(value),
            // A path-less value, one under the core schema's URN, or anything else.
            Some(Value::Object(attributes)) => redact_attributes(attributes),
            _ => {}
        }
    }
}

/// `password`, or the core User schema's `urn:…:User:password`, in any case (compared as
/// bytes: a key may hold any characters).
fn names_password(key: &str) -> bool {
    let key = key.trim().as_bytes();
    let qualified = key.len() == USER_SCHEMA.len() + ":password".len()
        && key[..USER_SCHEMA.len()].eq_ignore_ascii_case(USER_SCHEMA.as_bytes())
        && key[USER_SCHEMA.len()..].eq_ignore_ascii_case(b":password");
    qualified || key.eq_ignore_ascii_case(b"password")
}

/// A password replaced: a string by [`REDACTED`], anything else by an empty value of its
/// type, so that validation answers as it would have for the original.
fn redact(value: &mut Value) {
    *value = match value {
        Value::String(_) => Value::String(REDACTED.to_owned()),
        Value::Number(_) => Value::from(0),
        Value::Array(_) => Value::Array(Vec::new()),
        Value::Object(_) => Value::Object(Map::new()),
        Value::Bool(_) | Value::Null => return,
    };
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
                {"op": "replace", "path": USER_SCHEMA, "value": {"password": "hunter10"}},
            ]}},
            {"method": "POST", "path": "/Users", "data": {"userName": "d", "password": ["hunter11"]}},
            {"method": "POST", "path": "/Users", "data": {"userName": "e", "password": {"x": "hunter12"}}},
            // Whatever the path says, and however it is spelled.
            {"method": "POST", "path": "/Groups", "data": {"displayName": "g", "password": "hunter13"}},
            {"method": "POST", "path": " /Users", "data": {"userName": "g", "password": "hunter14"}},
            {"method": "PATCH", "path": "/Users/u3", "data": {"Operations": [
                {"op": "replace", "path": "", "value": {"password": "hunter15"}},
                {"op": "replace", "path": " password ", "value": "hunter16"},
                {"op": "add", "path": "name", "value": {"password": "hunter17", "givenName": "password"}},
            ]}},
            // Multi-byte characters where a byte offset would cut them: no panic.
            {"method": "POST", "path": "/Useré", "data": {"password": "hunter18"}},
            {"method": "POST", "path": "/Users", "data": {"userName": "f",
                "urn:ietf:params:scim:schemas:core:2.0:Useré:password": "kept-not-a-password"}},
        ]});
        let redacted = without_passwords(&body).to_string();
        for secret in (2..=18).filter(|n| *n != 9).map(|n| format!("hunter{n}")) {
            assert!(!redacted.contains(&secret), "{secret} in {redacted}");
        }
        for kept in [
            "\"givenName\":\"password\"",
            "hunter9-is-a-title",
            "kept-not-a-password",
            "\"title\":\"password\"",
        ] {
            assert!(redacted.contains(kept), "{kept} lost from {redacted}");
        }
        assert_eq!(redacted.matches(REDACTED).count(), 14);
        assert!(redacted.contains("\"password\":[]") && redacted.contains("\"password\":{}"));
    }
}
