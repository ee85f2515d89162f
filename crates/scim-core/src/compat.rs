//! Per-tenant compatibility profiles: what the server does differently for one tenant's
//! identity provider, where the request alone cannot tell (`scim-server tenant set
//! --profile …`). Everything a request shows by itself (Entra's capitalised ops, `"False"`
//! for a boolean, dotted path-less keys…) is accepted for every tenant unless its profile is
//! `strict`.
//!
//! | profile | PATCH answers | `active=false` | Entra's JSON-string values | Entra dialect |
//! |---|---|---|---|---|
//! | `standard` (default) | 200 + resource | keeps the user | kept as sent | accepted |
//! | `entra` | 200 for Users, 204 for Groups | keeps the user | parsed | accepted |
//! | `okta` | 200 + resource | keeps the user | kept as sent | accepted |
//! | `strict` | 200 + resource | keeps the user | kept as sent | refused (400) |
//!
//! `--patch-response` and `--on-deactivate` override a profile's choice.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ScimError, ScimResult};
use crate::resource::ResourceKind;

/// The profiles `tenant set --profile` takes.
pub const PROFILES: [&str; 4] = ["standard", "entra", "okta", "strict"];

/// What a PATCH answers on success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum PatchResponse {
    /// 200 with the resource (RFC 7644 §3.5.2 allows either).
    #[default]
    Resource,
    /// 204 without a body.
    NoContent,
    /// 204 for Groups (Microsoft documents it for Entra's group PATCHes), 200 for Users.
    NoContentForGroups,
}

/// What `active=false` does to a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Deactivation {
    /// Keeps the user, inactive, its licenses revoked (a later `active=true` re-assigns).
    #[default]
    Keep,
    /// Deletes the user (hard delete), for vendors whose product must forget deactivated
    /// people; the IdP then sees 404 for it.
    Delete,
}

/// A tenant's compatibility settings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Compatibility {
    /// The profile's name, one of [`PROFILES`]; empty for a tenant never set.
    pub profile: String,
    /// What a successful PATCH answers: the profile's choice unless `--patch-response` set it.
    pub patch_response: PatchResponse,
    /// What `active=false` does: the profile's choice unless `--on-deactivate` set it.
    pub on_deactivate: Deactivation,
}

impl Compatibility {
    /// The settings of a named profile.
    pub fn profile(name: &str) -> Result<Self, String> {
        let base = Self {
            profile: name.to_owned(),
            ..Self::default()
        };
        Ok(match name {
            "standard" | "okta" => base,
            "entra" => Self {
                patch_response: PatchResponse::NoContentForGroups,
                ..base
            },
            "strict" => base,
            other => {
                return Err(format!(
                    "no profile '{other}': use one of {}",
                    PROFILES.join(", ")
                ));
            }
        })
    }

    /// The profile's name (`standard` for a tenant never set).
    pub fn name(&self) -> &str {
        if self.profile.is_empty() {
            "standard"
        } else {
            &self.profile
        }
    }

    /// Entra without `aadOptscim062020` (the `entra` profile): a role or entitlement whose
    /// value is a JSON string of an object or array is parsed; `primary eq "True"` in a
    /// PATCH path is a boolean.
    pub fn entra_values(&self) -> bool {
        self.name() == "entra"
    }

    /// RFC 7644 only (the `strict` profile): capitalised ops and string booleans are
    /// refused.
    pub fn strict(&self) -> bool {
        self.name() == "strict"
    }

    /// Whether a successful PATCH of `kind` answers 204 without a body.
    pub fn patch_answers_no_content(&self, kind: ResourceKind) -> bool {
        match self.patch_response {
            PatchResponse::Resource => false,
            PatchResponse::NoContent => true,
            PatchResponse::NoContentForGroups => kind == ResourceKind::Group,
        }
    }

    /// The request body as this tenant's profile reads it: Entra's JSON-string values
    /// parsed (with [`Self::entra_values`]); refused with a precise 400 when `strict` and it uses a
    /// dialect RFC 7644 does not define.
    pub fn read_body(&self, body: Value) -> ScimResult<Value> {
        let mut body = body;
        if self.strict() {
            check_strict(&body)?;
        }
        if self.entra_values() {
            normalize_entra(&mut body);
        }
        Ok(body)
    }

    /// A `/Bulk` request (each operation's `data`) or a `?bulk=true` list (each of its
    /// `Resources`) as [`Self::read_body`] reads single requests.
    pub fn read_bulk_body(&self, body: Value) -> ScimResult<Value> {
        if !self.strict() && !self.entra_values() {
            return Ok(body);
        }
        let mut body = body;
        if let Some(operations) = body.get_mut("Operations").and_then(Value::as_array_mut) {
            for operation in operations {
                if let Some(data) = operation.get_mut("data") {
                    *data = self.read_body(data.take())?;
                }
            }
        }
        if let Some(resources) = body.get_mut("Resources").and_then(Value::as_array_mut) {
            for resource in resources {
                *resource = self.read_body(resource.take())?;
            }
        }
        Ok(body)
    }
}

/// Attributes whose values Entra may send as a JSON string of the value.
const STRINGIFIED: [&str; 2] = ["roles", "entitlements"];

/// Entra without `aadOptscim062020` (and in *Provision on demand*): `roles` added as
/// `"value": "[{\"value\":\"Admin\",…}]"`, and `roles[primary eq "True"]` in paths.
fn normalize_entra(body: &mut Value) {
    let parse = |value: &mut Value| {
        if let Value::String(text) = value {
            let trimmed = text.trim_start();
            if (trimmed.starts_with('[') || trimmed.starts_with('{'))
                && let Ok(parsed) = serde_json::from_str::<Value>(text)
            {
                *value = parsed;
            }
        }
        // Microsoft's documented shape: the element's `value` is the JSON of the app role,
        // `{"id": …, "value": "Developer", "displayName": "Developer"}`.
        if let Value::Object(element) = value
            && let Some(Value::String(text)) = element.get("value")
            && text.trim_start().starts_with('{')
            && let Ok(Value::Object(role)) = serde_json::from_str::<Value>(text)
            && let Some(inner) = role.get("value").filter(|v| v.is_string()).cloned()
        {
            element.insert("value".into(), inner);
            let display = role.get("displayName").or_else(|| role.get("display"));
            if let Some(display) = display.filter(|_| !element.contains_key("display")) {
                element.insert("display".into(), display.clone());
            }
        }
    };
    // `roles` or `roles[…]` (URN-prefixed or not), not a sub-attribute: `roles[…].value`
    // takes a string.
    let attribute_of = |path: &str| {
        const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:user:";
        let path = match path.get(..CORE.len()) {
            Some(prefix) if prefix.eq_ignore_ascii_case(CORE) => &path[CORE.len()..],
            _ => path,
        };
        let (name, rest) = path.split_at(path.find(['[', '.']).unwrap_or(path.len()));
        let whole = rest.is_empty() || (rest.starts_with('[') && rest.ends_with(']'));
        whole && STRINGIFIED.iter().any(|a| a.eq_ignore_ascii_case(name))
    };
    // A resource body (POST/PUT) and path-less PATCH values: `roles: "[…]"` or elements of
    // it as strings.
    let fix_resource = |object: &mut serde_json::Map<String, Value>| {
        for (name, value) in object.iter_mut() {
            if !STRINGIFIED.iter().any(|a| a.eq_ignore_ascii_case(name)) {
                continue;
            }
            parse(value);
            if let Value::Array(items) = value {
                items.iter_mut().for_each(parse);
            }
        }
    };
    if let Some(operations) = body.get_mut("Operations").and_then(Value::as_array_mut) {
        for operation in operations {
            let Some(op) = operation.as_object_mut() else {
                continue;
            };
            let path = op.get("path").and_then(Value::as_str).map(str::to_owned);
            if let Some(path) = &path {
                let fixed = primary_as_boolean(path);
                if fixed != *path {
                    op.insert("path".into(), Value::String(fixed));
                }
            }
            let Some(value) = op.get_mut("value") else {
                continue;
            };
            match &path {
                Some(path) if attribute_of(path) => {
                    parse(value);
                    if let Value::Array(items) = value {
                        items.iter_mut().for_each(parse);
                    }
                }
                None => {
                    if let Value::Object(object) = value {
                        fix_resource(object);
                    }
                }
                _ => {}
            }
        }
    } else if let Value::Object(object) = body {
        fix_resource(object);
    }
}

/// `roles[primary eq "True"]` → `roles[primary eq true]`: only a `primary` that opens the
/// value filter or follows `and`/`or`/`(`, compared with exactly `"True"` or `"False"`.
fn primary_as_boolean(path: &str) -> String {
    let mut out = path.to_owned();
    for literal in ["\"true\"", "\"false\""] {
        let needle = format!("primary eq {literal}");
        let mut from = 0;
        while let Some(found) = out.to_ascii_lowercase()[from..].find(&needle) {
            let at = from + found;
            let opens = out[..at].ends_with(['[', '(', ' ']);
            if opens {
                let start = at + "primary eq ".len();
                out.replace_range(start..start + literal.len(), &literal[1..literal.len() - 1]);
            }
            from = at + 1;
        }
    }
    out
}

/// The strict profile: op names as RFC 7644 spells them, and JSON booleans for `active`
/// and `primary`.
fn check_strict(body: &Value) -> ScimResult<()> {
    let Some(operations) = body.get("Operations").and_then(Value::as_array) else {
        return check_booleans(body, "");
    };
    for (i, operation) in operations.iter().enumerate() {
        if let Some(op) = operation.get("op").and_then(Value::as_str)
            && !["add", "remove", "replace"].contains(&op)
        {
            return Err(ScimError::InvalidSyntax(format!(
                "Operations[{i}]: op '{op}' is not 'add', 'remove' or 'replace' (this tenant's \
                 profile is strict: RFC 7644 spellings only)"
            )));
        }
        let path = operation.get("path").and_then(Value::as_str).unwrap_or("");
        if let Some(value) = operation.get("value") {
            check_booleans(value, path)?;
        }
    }
    Ok(())
}

/// `active` and `primary` of the core schemas (an extension's attributes, a tenant's own
/// among them, are the extension's business).
fn check_booleans(value: &Value, path: &str) -> ScimResult<()> {
    let lower = path.to_ascii_lowercase();
    if lower.starts_with("urn:") && !lower.contains(":core:2.0:") {
        return Ok(());
    }
    let boolean =
        |name: &str| name.eq_ignore_ascii_case("active") || name.eq_ignore_ascii_case("primary");
    let refuse = |name: &str| {
        ScimError::InvalidValue(format!(
            "'{name}' must be a JSON boolean, not a string (this tenant's profile is strict)"
        ))
    };
    match value {
        Value::String(_) if boolean(path.rsplit(['.', ':']).next().unwrap_or(path)) => {
            Err(refuse(path))
        }
        Value::Object(object) => {
            for (name, inner) in object {
                if name.to_ascii_lowercase().starts_with("urn:") {
                    continue;
                }
                if boolean(name) && inner.is_string() {
                    return Err(refuse(name));
                }
                check_booleans(inner, "")?;
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(|item| check_booleans(item, "")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn profiles_set_their_behaviours() {
        let entra = Compatibility::profile("entra").unwrap();
        assert!(entra.patch_answers_no_content(ResourceKind::Group));
        assert!(!entra.patch_answers_no_content(ResourceKind::User));
        assert!(entra.entra_values() && !entra.strict());
        assert!(Compatibility::profile("strict").unwrap().strict());
        assert_eq!(Compatibility::default().name(), "standard");
        assert!(
            Compatibility::profile("ping")
                .unwrap_err()
                .contains("standard, entra")
        );
    }

    #[test]
    fn entra_json_string_roles_are_parsed() {
        let entra = Compatibility::profile("entra").unwrap();
        let body = json!({"Operations": [
            {"op": "Add", "path": "roles", "value": "[{\"value\":\"Admin\",\"display\":\"Admin\"}]"},
            {"op": "Replace", "path": "roles[primary eq \"True\"].value", "value": "Dev"},
            {"op": "Add", "value": {"entitlements": "{\"value\":\"pro\"}"}},
            {"op": "Replace", "path": "displayName", "value": "[not json"},
        ]});
        let read = entra.read_body(body).unwrap();
        // As Microsoft documents it.
        let documented = json!({"Operations": [{"op": "Add", "path": "roles", "value": [
            {"value": "{\"id\":\"06b07648\",\"value\":\"Developer\",\"displayName\":\"Dev team\"}"}
        ]}]});
        let documented = entra.read_body(documented).unwrap();
        assert_eq!(
            documented["Operations"][0]["value"],
            json!([{"value": "Developer", "display": "Dev team"}])
        );
        assert_eq!(
            read["Operations"][0]["value"],
            json!([{"value": "Admin", "display": "Admin"}])
        );
        assert_eq!(
            read["Operations"][1]["path"],
            "roles[primary eq true].value"
        );
        assert_eq!(
            read["Operations"][2]["value"]["entitlements"],
            json!({"value": "pro"})
        );
        assert_eq!(read["Operations"][3]["value"], "[not json");
        // A sub-attribute takes the string as it is; `primary` needs a word boundary.
        let sub = json!({"Operations": [
            {"op": "Replace", "path": "roles[primary eq true].value", "value": "{\"a\":1}"},
            {"op": "Replace", "path": "emails[xprimary eq \"true\"].value", "value": "x"},
        ]});
        let sub = entra.read_body(sub).unwrap();
        assert_eq!(sub["Operations"][0]["value"], "{\"a\":1}");
        assert_eq!(
            sub["Operations"][1]["path"],
            "emails[xprimary eq \"true\"].value"
        );
        // A POST body's roles too; other profiles keep the strings.
        let post = json!({"userName": "a", "roles": ["{\"value\":\"Dev\"}"]});
        assert_eq!(
            entra.read_body(post.clone()).unwrap()["roles"],
            json!([{"value": "Dev"}])
        );
        assert_eq!(
            Compatibility::default().read_body(post.clone()).unwrap(),
            post
        );
    }

    #[test]
    fn strict_refuses_dialects() {
        let strict = Compatibility::profile("strict").unwrap();
        let capitalised =
            json!({"Operations": [{"op": "Replace", "path": "active", "value": false}]});
        assert_eq!(
            strict.read_body(capitalised).unwrap_err().scim_type(),
            Some("invalidSyntax")
        );
        let string = json!({"Operations": [{"op": "replace", "path": "active", "value": "False"}]});
        assert_eq!(
            strict.read_body(string).unwrap_err().scim_type(),
            Some("invalidValue")
        );
        let nested = json!({"userName": "a", "emails": [{"value": "a@b", "primary": "true"}]});
        assert_eq!(
            strict.read_body(nested).unwrap_err().scim_type(),
            Some("invalidValue")
        );
        // A tenant attribute named `active` in an extension is not the core boolean.
        let extension = json!({"userName": "a", "urn:example:2.0:User": {"active": "yes"}});
        assert!(strict.read_body(extension).is_ok());
        let fine = json!({"Operations": [{"op": "replace", "value": {"active": false}}]});
        assert!(strict.read_body(fine).is_ok());
        let standard =
            json!({"Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
        assert!(Compatibility::default().read_body(standard).is_ok());
    }
}
