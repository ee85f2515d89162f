//! The PATCH engine, form by form: RFC 7644 §3.5.2 examples, the identity providers' dialects,
//! the members of Groups and every error with its scimType.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::error::ScimResult;
use crate::filter;
use crate::resource::ResourceKind;
use crate::schema::{ENTERPRISE_USER_SCHEMA as ENTERPRISE, LICENSE_USER_EXTENSION, SchemaRegistry};

const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

fn body(ops: Value) -> Value {
    let mut body = json!({"schemas": [PATCH_OP_SCHEMA]});
    body["Operations"] = ops;
    body
}

fn apply(kind: ResourceKind, attributes: &Value, ops: Value) -> ScimResult<PatchOutcome> {
    let registry = SchemaRegistry::standard();
    let request = parse_patch(&body(ops))?;
    apply_patch(&registry, kind, attributes.as_object().unwrap(), &request)
}

/// Babs Jensen, as RFC 7643 §8.2 and RFC 7644 §3.5.2 know her.
fn bjensen() -> Value {
    json!({
        "userName": "bjensen",
        "externalId": "bjensen",
        "name": {
            "formatted": "Ms. Barbara J Jensen III",
            "familyName": "Jensen",
            "givenName": "Barbara",
        },
        "displayName": "Babs Jensen",
        "title": "Tour Guide",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"},
        ],
        "addresses": [
            {
                "type": "work",
                "streetAddress": "100 Universal City Plaza",
                "locality": "Hollywood",
                "region": "CA",
                "postalCode": "91608",
                "country": "USA",
                "primary": true,
            },
            {
                "type": "home",
                "streetAddress": "456 Hollywood Blvd",
                "locality": "Hollywood",
                "region": "CA",
                "postalCode": "91608",
                "country": "USA",
            },
        ],
        ENTERPRISE: {
            "employeeNumber": "701984",
            "department": "Tour Operations",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"},
        },
    })
}

fn patched_user(ops: Value) -> Value {
    let outcome = apply(ResourceKind::User, &bjensen(), ops).unwrap();
    assert!(outcome.members.is_empty());
    Value::Object(outcome.attributes)
}

fn elements(user: &mut Value, attr: &str) -> Vec<Value> {
    user[attr].as_array().cloned().unwrap_or_default()
}

type Edit = fn(&mut Value);

fn check_user_cases(cases: Vec<(&str, Value, Edit)>) {
    for (name, ops, edit) in cases {
        let mut expected = bjensen();
        edit(&mut expected);
        assert_eq!(patched_user(ops.clone()), expected, "{name}: {ops}");
    }
}

#[test]
fn add_operations() {
    check_user_cases(vec![
        (
            "RFC 7644 §3.5.2.1, path-less: a value already present is skipped",
            json!([{"op": "add", "value": {
                "emails": [{"value": "babs@jensen.org", "type": "home"}],
                "nickname": "Babs",
            }}]),
            |u| u["nickName"] = json!("Babs"),
        ),
        (
            "path-less add appends new values",
            json!([{"op": "add", "value": {"emails": [{"value": "babs@example.org", "type": "other"}]}}]),
            |u| {
                let mut emails = elements(u, "emails");
                emails.push(json!({"value": "babs@example.org", "type": "other"}));
                u["emails"] = json!(emails);
            },
        ),
        (
            "add with path to a multi-valued attribute",
            json!([{"op": "add", "path": "emails", "value": [{"value": "b@example.net", "type": "other"}]}]),
            |u| {
                let mut emails = elements(u, "emails");
                emails.push(json!({"value": "b@example.net", "type": "other"}));
                u["emails"] = json!(emails);
            },
        ),
        (
            "a lone object where an array belongs is one value",
            json!([{"op": "add", "path": "phoneNumbers", "value": {"value": "555-555-8377", "type": "work"}}]),
            |u| u["phoneNumbers"] = json!([{"value": "555-555-8377", "type": "work"}]),
        ),
        (
            "plain strings are the value of complex values",
            json!([{"op": "add", "path": "entitlements", "value": ["pro", "pro"]}]),
            |u| u["entitlements"] = json!([{"value": "pro"}]),
        ),
        (
            "add to a complex attribute merges sub-attributes",
            json!([{"op": "add", "path": "name", "value": {"middleName": "Jane", "givenName": "Babs"}}]),
            |u| {
                u["name"]["middleName"] = json!("Jane");
                u["name"]["givenName"] = json!("Babs");
            },
        ),
        (
            "add of a sub-attribute",
            json!([{"op": "add", "path": "name.honorificSuffix", "value": "III"}]),
            |u| u["name"]["honorificSuffix"] = json!("III"),
        ),
        (
            "add replaces a simple single-valued attribute",
            json!([{"op": "add", "path": "title", "value": "Head Guide"}]),
            |u| u["title"] = json!("Head Guide"),
        ),
        (
            "add of an extension attribute",
            json!([{"op": "add", "path": format!("{ENTERPRISE}:costCenter"), "value": "4130"}]),
            |u| u[ENTERPRISE]["costCenter"] = json!("4130"),
        ),
        (
            "add through a filter merges into the matching element",
            json!([{"op": "add", "path": "emails[type eq \"work\"]", "value": {"display": "Work"}}]),
            |u| u["emails"][0]["display"] = json!("Work"),
        ),
        (
            "add through a filter creates the element the eq comparisons describe",
            json!([{"op": "add", "path": "phoneNumbers[type eq \"mobile\"]", "value": {"value": "+1 555 0100"}}]),
            |u| u["phoneNumbers"] = json!([{"type": "mobile", "value": "+1 555 0100"}]),
        ),
        (
            "an empty value adds nothing",
            json!([{"op": "add", "path": "emails", "value": []}]),
            |_| {},
        ),
    ]);
}

#[test]
fn replace_operations() {
    check_user_cases(vec![
        (
            "RFC 7644 §3.5.2.3, path-less: attribute by attribute",
            json!([{"op": "replace", "value": {
                "emails": [{"value": "barbara@example.com", "type": "work", "primary": true}],
                "nickname": "Babs",
            }}]),
            |u| {
                u["emails"] =
                    json!([{"value": "barbara@example.com", "type": "work", "primary": true}]);
                u["nickName"] = json!("Babs");
            },
        ),
        (
            "RFC 7644 §3.5.2.3: replace the elements a filter selects",
            json!([{"op": "replace", "path": "addresses[type eq \"work\"]", "value": {
                "type": "work",
                "streetAddress": "911 Universal City Plaza",
                "locality": "Hollywood",
                "region": "CA",
                "postalCode": "91608",
                "country": "US",
                "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US",
                "primary": true,
            }}]),
            |u| {
                u["addresses"][0] = json!({
                    "type": "work",
                    "streetAddress": "911 Universal City Plaza",
                    "locality": "Hollywood",
                    "region": "CA",
                    "postalCode": "91608",
                    "country": "US",
                    "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US",
                    "primary": true,
                });
            },
        ),
        (
            "RFC 7644 §3.5.2.3: replace a sub-attribute of the selected elements",
            json!([{"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1010 Broadway Ave"}]),
            |u| u["addresses"][0]["streetAddress"] = json!("1010 Broadway Ave"),
        ),
        (
            "replace of a complex attribute keeps the sub-attributes it does not name",
            json!([{"op": "replace", "path": "name", "value": {"givenName": "Babs"}}]),
            |u| u["name"]["givenName"] = json!("Babs"),
        ),
        (
            "replace of a whole multi-valued attribute",
            json!([{"op": "replace", "path": "emails", "value": [{"value": "b@example.com"}]}]),
            |u| u["emails"] = json!([{"value": "b@example.com"}]),
        ),
        (
            "replace with an empty array unassigns",
            json!([{"op": "replace", "path": "emails", "value": []}]),
            |u| {
                u.as_object_mut().unwrap().remove("emails");
            },
        ),
        (
            "replace of a whole element drops what the value leaves out",
            json!([{"op": "replace", "path": "emails[type eq \"work\"]", "value": {"value": "w@example.com", "type": "work"}}]),
            |u| u["emails"][0] = json!({"value": "w@example.com", "type": "work"}),
        ),
        (
            "a path with the core schema URN",
            json!([{"op": "replace", "path": format!("{CORE_USER}:userName"), "value": "babs"}]),
            |u| u["userName"] = json!("babs"),
        ),
        (
            "a path with the core schema URN and a sub-attribute",
            json!([{"op": "replace", "path": format!("{CORE_USER}:name.familyName"), "value": "Jensen-Smith"}]),
            |u| u["name"]["familyName"] = json!("Jensen-Smith"),
        ),
        (
            "an extension attribute",
            json!([{"op": "replace", "path": format!("{ENTERPRISE}:department"), "value": "Sales"}]),
            |u| u[ENTERPRISE]["department"] = json!("Sales"),
        ),
        (
            "a sub-attribute of an extension attribute",
            json!([{"op": "replace", "path": format!("{ENTERPRISE}:manager.value"), "value": "m2"}]),
            |u| u[ENTERPRISE]["manager"]["value"] = json!("m2"),
        ),
        (
            "a nested extension object in a path-less value, attribute by attribute",
            json!([{"op": "replace", "value": {ENTERPRISE: {"division": "Theme Park"}}}]),
            |u| u[ENTERPRISE]["division"] = json!("Theme Park"),
        ),
        (
            "paths and keys are case-insensitive; results use canonical names",
            json!([
                {"op": "replace", "path": "NAME.GIVENNAME", "value": "B"},
                {"op": "replace", "path": "Emails[TYPE eq \"work\"].VALUE", "value": "w@example.com"},
                {"op": "replace", "value": {"DisplayName": "D", "name.FamilyName": "J"}},
                {"op": "replace", "path": "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:Department", "value": "X"},
            ]),
            |u| {
                u["name"]["givenName"] = json!("B");
                u["name"]["familyName"] = json!("J");
                u["emails"][0]["value"] = json!("w@example.com");
                u["displayName"] = json!("D");
                u[ENTERPRISE]["department"] = json!("X");
            },
        ),
        (
            "readOnly attributes in a path-less value are ignored (IdPs echo them)",
            json!([{"op": "replace", "value": {
                "id": "2819c223-7f76-453a-919d-413861904646",
                "schemas": [CORE_USER],
                "meta": {"resourceType": "User", "version": "W/\"3\""},
                "groups": [{"value": "e9e30dba-f08f-4109-8486-d5c6a331660a"}],
                "title": "Head Guide",
                format!("{ENTERPRISE}:manager.displayName"): "John Smith",
            }}]),
            |u| u["title"] = json!("Head Guide"),
        ),
        (
            "a password is checked and then dropped, never stored",
            json!([{"op": "replace", "path": "password", "value": "t1meMa$heen"}]),
            |_| {},
        ),
        (
            "operations apply in order",
            json!([
                {"op": "remove", "path": "emails"},
                {"op": "add", "path": "emails", "value": [{"value": "new@example.com", "type": "work"}]},
                {"op": "replace", "path": "emails[type eq \"work\"].primary", "value": true},
            ]),
            |u| {
                u["emails"] =
                    json!([{"value": "new@example.com", "type": "work", "primary": true}]);
            },
        ),
        (
            "replacing a value with itself changes nothing",
            json!([{"op": "replace", "path": "userName", "value": "bjensen"}]),
            |_| {},
        ),
    ]);
}

#[test]
fn remove_operations() {
    check_user_cases(vec![
        (
            "a single-valued attribute",
            json!([{"op": "remove", "path": "title"}]),
            |u| {
                u.as_object_mut().unwrap().remove("title");
            },
        ),
        (
            "a sub-attribute",
            json!([{"op": "remove", "path": "name.givenName"}]),
            |u| {
                u["name"].as_object_mut().unwrap().remove("givenName");
            },
        ),
        (
            "a whole multi-valued attribute",
            json!([{"op": "remove", "path": "emails"}]),
            |u| {
                u.as_object_mut().unwrap().remove("emails");
            },
        ),
        (
            "the elements a filter selects",
            json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]),
            |u| u["emails"] = json!([{"value": "babs@jensen.org", "type": "home"}]),
        ),
        (
            "a complex filter",
            json!([{"op": "remove", "path": "emails[type eq \"work\" and value ew \"example.com\"]"}]),
            |u| u["emails"] = json!([{"value": "babs@jensen.org", "type": "home"}]),
        ),
        (
            "a filter that matches nothing changes nothing",
            json!([{"op": "remove", "path": "emails[type eq \"other\"]"}]),
            |_| {},
        ),
        (
            "removing every element unassigns the attribute",
            json!([{"op": "remove", "path": "emails[value pr]"}]),
            |u| {
                u.as_object_mut().unwrap().remove("emails");
            },
        ),
        (
            "a sub-attribute of the selected elements",
            json!([{"op": "remove", "path": "addresses[type eq \"work\"].postalCode"}]),
            |u| {
                u["addresses"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("postalCode");
            },
        ),
        (
            "a value list removes the elements with those values (case-insensitive email)",
            json!([{"op": "remove", "path": "emails", "value": [{"value": "BABS@jensen.org"}]}]),
            |u| {
                u["emails"] =
                    json!([{"value": "bjensen@example.com", "type": "work", "primary": true}]);
            },
        ),
        (
            "an extension attribute",
            json!([{"op": "remove", "path": format!("{ENTERPRISE}:department")}]),
            |u| {
                u[ENTERPRISE].as_object_mut().unwrap().remove("department");
            },
        ),
        (
            "the last extension attribute takes the extension with it",
            json!([
                {"op": "remove", "path": format!("{ENTERPRISE}:employeeNumber")},
                {"op": "Remove", "path": format!("{ENTERPRISE}:department")},
                {"op": "remove", "path": format!("{ENTERPRISE}:manager")},
            ]),
            |u| {
                u.as_object_mut().unwrap().remove(ENTERPRISE);
            },
        ),
        (
            "an attribute that has no value",
            json!([{"op": "remove", "path": "x509Certificates"}, {"op": "remove", "path": "ims[type eq \"aim\"]"}]),
            |_| {},
        ),
    ]);
}

/// RFC 7643 §2.5: `null` is "unassigned", so an add or replace of `null` clears its target
/// (Microsoft's validator sends `{"op": "Replace", "path": "title", "value": null}`), and is
/// a no-op where nothing is set.
#[test]
fn null_values_clear_what_they_name() {
    check_user_cases(vec![
        (
            "a simple attribute (Microsoft's validator)",
            json!([{"op": "Replace", "path": "title", "value": null}]),
            |u| {
                u.as_object_mut().unwrap().remove("title");
            },
        ),
        (
            "add of null clears too",
            json!([{"op": "add", "path": "displayName", "value": null}]),
            |u| {
                u.as_object_mut().unwrap().remove("displayName");
            },
        ),
        (
            "a complex attribute",
            json!([{"op": "replace", "path": "name", "value": null}]),
            |u| {
                u.as_object_mut().unwrap().remove("name");
            },
        ),
        (
            "a sub-attribute",
            json!([{"op": "replace", "path": "name.givenName", "value": null}]),
            |u| {
                u["name"].as_object_mut().unwrap().remove("givenName");
            },
        ),
        (
            "a sub-attribute named null inside a complex value",
            json!([{"op": "replace", "path": "name", "value": {"givenName": null, "middleName": "J"}}]),
            |u| {
                let name = u["name"].as_object_mut().unwrap();
                name.remove("givenName");
                name.insert("middleName".into(), json!("J"));
            },
        ),
        (
            "path-less, simple and sub-attributes",
            json!([{"op": "replace", "value": {"title": null, "name.familyName": null, "name": {"formatted": null}}}]),
            |u| {
                u.as_object_mut().unwrap().remove("title");
                let name = u["name"].as_object_mut().unwrap();
                name.remove("familyName");
                name.remove("formatted");
            },
        ),
        (
            "a multi-valued attribute",
            json!([{"op": "replace", "path": "emails", "value": null}]),
            |u| {
                u.as_object_mut().unwrap().remove("emails");
            },
        ),
        (
            "an add of null to a multi-valued attribute adds nothing (null is [])",
            json!([
                {"op": "add", "path": "emails", "value": null},
                {"op": "Add", "path": "emails[type eq \"work\"]", "value": null},
            ]),
            |_| {},
        ),
        (
            "a sub-attribute of the elements a filter selects",
            json!([{"op": "replace", "path": "addresses[type eq \"home\"].locality", "value": null}]),
            |u| {
                u["addresses"][1]
                    .as_object_mut()
                    .unwrap()
                    .remove("locality");
            },
        ),
        (
            "a filter that selects nothing: nothing to clear, no noTarget",
            json!([{"op": "replace", "path": "emails[type eq \"other\"].value", "value": null}]),
            |_| {},
        ),
        (
            "an extension attribute",
            json!([{"op": "Replace", "path": format!("{ENTERPRISE}:department"), "value": null}]),
            |u| {
                u[ENTERPRISE].as_object_mut().unwrap().remove("department");
            },
        ),
        (
            "an extension sub-attribute",
            json!([{"op": "replace", "path": format!("{ENTERPRISE}:manager.value"), "value": null}]),
            |u| {
                u[ENTERPRISE].as_object_mut().unwrap().remove("manager");
            },
        ),
        (
            "a whole extension",
            json!([{"op": "replace", "path": ENTERPRISE, "value": null}]),
            |u| {
                u.as_object_mut().unwrap().remove(ENTERPRISE);
            },
        ),
        (
            "nothing is set: no change",
            json!([
                {"op": "replace", "path": "nickName", "value": null},
                {"op": "add", "path": "x509Certificates", "value": null},
                {"op": "replace", "path": "name.honorificPrefix", "value": null},
            ]),
            |_| {},
        ),
    ]);
    // A required attribute cannot be cleared, by null no more than by remove.
    let err = apply(
        ResourceKind::User,
        &bjensen(),
        json!([{"op": "replace", "path": "userName", "value": null}]),
    )
    .unwrap_err();
    assert_eq!(err.scim_type(), Some("mutability"), "{err}");
    // A group's members: a replace with null clears them all; an add of null adds nobody
    // (and removes nobody: a seat follows each member).
    let outcome = apply(
        ResourceKind::Group,
        &group(),
        json!([{"op": "replace", "path": "members", "value": null}]),
    )
    .unwrap();
    assert_eq!(outcome.members, [MemberChange::RemoveAll]);
    let outcome = apply(
        ResourceKind::Group,
        &group(),
        json!([{"op": "add", "path": "members", "value": null}]),
    )
    .unwrap();
    assert!(outcome.members.is_empty(), "{:?}", outcome.members);
}

#[test]
fn primary_stays_unique() {
    check_user_cases(vec![
        (
            "an added primary value takes over",
            json!([{"op": "add", "path": "emails", "value": [{"value": "b@example.net", "primary": true}]}]),
            |u| {
                u["emails"][0]["primary"] = json!(false);
                let mut emails = elements(u, "emails");
                emails.push(json!({"value": "b@example.net", "primary": true}));
                u["emails"] = json!(emails);
            },
        ),
        (
            "a sub-attribute set through a filter",
            json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]),
            |u| {
                u["emails"][0]["primary"] = json!(false);
                u["emails"][1]["primary"] = json!(true);
            },
        ),
        (
            "a path-less add with Entra's string boolean",
            json!([{"op": "Add", "value": {"emails": [{"value": "n@example.com", "primary": "True"}]}}]),
            |u| {
                u["emails"][0]["primary"] = json!(false);
                let mut emails = elements(u, "emails");
                emails.push(json!({"value": "n@example.com", "primary": true}));
                u["emails"] = json!(emails);
            },
        ),
        (
            "an element created from a filter",
            json!([{"op": "add", "path": "emails[type eq \"other\" and primary eq true].value", "value": "o@example.com"}]),
            |u| {
                u["emails"][0]["primary"] = json!(false);
                let mut emails = elements(u, "emails");
                emails.push(json!({"type": "other", "primary": true, "value": "o@example.com"}));
                u["emails"] = json!(emails);
            },
        ),
        (
            "a replaced element",
            json!([{"op": "replace", "path": "addresses[type eq \"home\"]", "value": {"type": "home", "country": "USA", "primary": true}}]),
            |u| {
                u["addresses"][0]["primary"] = json!(false);
                u["addresses"][1] = json!({"type": "home", "country": "USA", "primary": true});
            },
        ),
        (
            "a non-primary value changes no other",
            json!([{"op": "add", "path": "emails", "value": [{"value": "c@example.com", "primary": false}]}]),
            |u| {
                let mut emails = elements(u, "emails");
                emails.push(json!({"value": "c@example.com", "primary": false}));
                u["emails"] = json!(emails);
            },
        ),
    ]);
}

/// The request shapes Microsoft documents for Entra ID's SCIM client ("Develop and plan
/// provisioning for a SCIM endpoint" and the `aadOptscim062020` compatibility notes).
#[test]
fn entra_id_shapes() {
    check_user_cases(vec![
        (
            "Update User [Multi-valued properties]",
            json!([
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
                {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
            ]),
            |u| {
                u["emails"][0]["value"] = json!("updatedEmail@microsoft.com");
                u["name"]["familyName"] = json!("updatedFamilyName");
            },
        ),
        (
            "Update User [Single-valued properties]",
            json!([{"op": "Replace", "path": "userName", "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}]),
            |u| u["userName"] = json!("5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"),
        ),
        (
            "Disable User, with the boolean",
            json!([{"op": "Replace", "path": "active", "value": false}]),
            |u| u["active"] = json!(false),
        ),
        (
            "Disable User, with the string of tenants without the flag",
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
            |u| u["active"] = json!(false),
        ),
        (
            "Add of a work email that exists replaces its value",
            json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "babs@example.com"}]),
            |u| u["emails"][0]["value"] = json!("babs@example.com"),
        ),
        (
            "Replace of a sub-attribute of an element that does not exist creates it",
            json!([{"op": "Replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"}]),
            |u| u["phoneNumbers"] = json!([{"type": "mobile", "value": "+1 555 0100"}]),
        ),
        (
            "path-less replace with dotted, filtered and URN-prefixed keys",
            json!([{"op": "replace", "value": {
                "displayName": "Pvlo",
                "emails[type eq \"work\"].value": "TestBcwqnm@test.microsoft.com",
                "name.givenName": "Pvlo",
                "name.familyName": "Yrqlc",
                format!("{ENTERPRISE}:employeeNumber"): "Pvlo",
                format!("{ENTERPRISE}:department"): "Sales",
                format!("{ENTERPRISE}:manager"): "f0a5ca0c-3aed-4a0e-9a3b-1b2c3d4e5f60",
                "active": "True",
            }}]),
            |u| {
                u["displayName"] = json!("Pvlo");
                u["emails"][0]["value"] = json!("TestBcwqnm@test.microsoft.com");
                u["name"]["givenName"] = json!("Pvlo");
                u["name"]["familyName"] = json!("Yrqlc");
                u[ENTERPRISE]["employeeNumber"] = json!("Pvlo");
                u[ENTERPRISE]["department"] = json!("Sales");
                u[ENTERPRISE]["manager"] = json!({"value": "f0a5ca0c-3aed-4a0e-9a3b-1b2c3d4e5f60"});
            },
        ),
        (
            "manager as a plain id with a path",
            json!([{"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": "f0a5ca0c"}]),
            |u| u[ENTERPRISE]["manager"]["value"] = json!("f0a5ca0c"),
        ),
        (
            "roles of app-role assignments, primary as a string",
            json!([{"op": "Add", "path": "roles", "value": [
                {"primary": "False", "type": "WindowsAzureActiveDirectoryRole", "display": "Pro", "value": "pro"},
            ]}]),
            |u| {
                u["roles"] = json!([
                    {"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "Pro", "value": "pro"},
                ]);
            },
        ),
        ("no operations", json!([]), |_| {}),
    ]);
}

#[test]
fn a_schema_urn_path_names_the_whole_extension() {
    check_user_cases(vec![
        (
            "add through the extension's URN sets the attributes named, keeps the others",
            json!([{"op": "add", "path": ENTERPRISE, "value": {"costCenter": "4130", "department": "Sales"}}]),
            |u| {
                u[ENTERPRISE]["department"] = json!("Sales");
                u[ENTERPRISE]["costCenter"] = json!("4130");
            },
        ),
        (
            "replace through the extension's URN, in another case",
            json!([{"op": "Replace", "path": ENTERPRISE.to_uppercase(), "value": {"division": "Theme Park"}}]),
            |u| u[ENTERPRISE]["division"] = json!("Theme Park"),
        ),
        (
            "remove through the extension's URN removes all of it",
            json!([{"op": "remove", "path": ENTERPRISE}]),
            |u| {
                u.as_object_mut().unwrap().shift_remove(ENTERPRISE);
            },
        ),
        (
            "add through the core schema's URN",
            json!([{"op": "add", "path": CORE_USER, "value": {"nickName": "Babs"}}]),
            |u| u["nickName"] = json!("Babs"),
        ),
    ]);
    let removed = apply(
        ResourceKind::User,
        &bjensen(),
        json!([{"op": "remove", "path": CORE_USER}]),
    );
    assert_eq!(removed.unwrap_err().scim_type(), Some("mutability"));
    let not_object = apply(
        ResourceKind::User,
        &bjensen(),
        json!([{"op": "add", "path": ENTERPRISE, "value": "Sales"}]),
    );
    assert_eq!(not_object.unwrap_err().scim_type(), Some("invalidValue"));
}

#[test]
fn entra_creates_the_work_email_of_a_user_without_emails() {
    let user = json!({"userName": "u@contoso.com", "active": true});
    let ops =
        json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "u@contoso.com"}]);
    let outcome = apply(ResourceKind::User, &user, ops).unwrap();
    assert_eq!(
        Value::Object(outcome.attributes),
        json!({"userName": "u@contoso.com", "active": true, "emails": [{"type": "work", "value": "u@contoso.com"}]})
    );
}

#[test]
fn keeps_the_read_only_attributes_the_server_set() {
    let mut user = bjensen();
    user[LICENSE_USER_EXTENSION] = json!({"licenses": [{"sku": "pro", "source": "direct"}]});
    let ops = json!([{"op": "replace", "value": {
        "title": "x",
        LICENSE_USER_EXTENSION: {"licenses": [{"sku": "enterprise"}]},
    }}]);
    let outcome = apply(ResourceKind::User, &user, ops).unwrap();
    user["title"] = json!("x");
    assert_eq!(Value::Object(outcome.attributes), user);
}

fn group() -> Value {
    json!({"displayName": "Tour Guides", "externalId": "tour-guides"})
}

fn member(value: &str) -> Member {
    Member {
        value: value.to_owned(),
        kind: None,
        display: None,
    }
}

#[test]
fn group_members_become_member_changes() {
    let babs = "2819c223-7f76-453a-919d-413861904646";
    let mandy = "902c246b-6245-4190-8e05-00816be7344a";
    let filter = |text: &str| filter::parse(text).unwrap();
    let cases: Vec<(&str, Value, Vec<MemberChange>)> = vec![
        (
            "RFC 7644 §3.5.2.1: add members",
            json!([{"op": "add", "path": "members", "value": [{
                "display": "Babs Jensen",
                "$ref": format!("https://example.com/v2/Users/{babs}"),
                "value": babs,
            }]}]),
            vec![MemberChange::Add(vec![Member {
                display: Some("Babs Jensen".into()),
                ..member(babs)
            }])],
        ),
        (
            "Entra ID: Add with a null $ref",
            json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": babs}, {"$ref": null, "value": mandy}]}]),
            vec![MemberChange::Add(vec![member(babs), member(mandy)])],
        ),
        (
            "type is canonicalised",
            json!([{"op": "add", "path": "members", "value": [{"value": babs, "type": "user"}, {"value": mandy, "type": "GROUP"}]}]),
            vec![MemberChange::Add(vec![
                Member {
                    kind: Some("User".into()),
                    ..member(babs)
                },
                Member {
                    kind: Some("Group".into()),
                    ..member(mandy)
                },
            ])],
        ),
        (
            "RFC 7644 §3.5.2.2: remove one member by filter",
            json!([{"op": "remove", "path": format!("members[value eq \"{babs}\"]")}]),
            vec![MemberChange::RemoveValues(vec![babs.into()])],
        ),
        (
            "remove several members by filter",
            json!([{"op": "remove", "path": format!("members[value eq \"{babs}\" or value eq \"{mandy}\"]")}]),
            vec![MemberChange::RemoveValues(vec![babs.into(), mandy.into()])],
        ),
        (
            "remove members by any other filter",
            json!([{"op": "remove", "path": "members[type eq \"Group\" and display co \"Smith\"]"}]),
            vec![MemberChange::RemoveMatching(filter(
                "type eq \"Group\" and display co \"Smith\"",
            ))],
        ),
        (
            "RFC 7644 §3.5.2.2: remove all members",
            json!([{"op": "remove", "path": "members"}]),
            vec![MemberChange::RemoveAll],
        ),
        (
            "Entra ID: remove members by a value list",
            json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": babs}]}]),
            vec![MemberChange::RemoveValues(vec![babs.into()])],
        ),
        (
            "RFC 7644 §3.5.2.2: remove all members, then add some",
            json!([
                {"op": "remove", "path": "members"},
                {"op": "add", "path": "members", "value": [{"value": babs}, {"value": mandy}]},
            ]),
            vec![
                MemberChange::RemoveAll,
                MemberChange::Add(vec![member(babs), member(mandy)]),
            ],
        ),
        (
            "RFC 7644 §3.5.2.3: replace members",
            json!([{"op": "replace", "path": "members", "value": [{"value": mandy}]}]),
            vec![
                MemberChange::RemoveAll,
                MemberChange::Add(vec![member(mandy)]),
            ],
        ),
        (
            "replace with no members removes all",
            json!([{"op": "replace", "path": "members", "value": []}]),
            vec![MemberChange::RemoveAll],
        ),
        (
            "path-less add",
            json!([{"op": "add", "value": {"members": [{"value": babs}]}}]),
            vec![MemberChange::Add(vec![member(babs)])],
        ),
        (
            "path with the core schema URN",
            json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:members", "value": [{"value": babs}]}]),
            vec![MemberChange::Add(vec![member(babs)])],
        ),
        (
            "an empty value list removes nobody",
            json!([{"op": "remove", "path": "members", "value": []}]),
            vec![],
        ),
    ];
    for (name, ops, expected) in cases {
        let outcome = apply(ResourceKind::Group, &group(), ops).unwrap();
        assert_eq!(outcome.members, expected, "{name}");
        assert_eq!(Value::Object(outcome.attributes), group(), "{name}");
    }
}

#[test]
fn group_attributes_change_beside_members() {
    let ops = json!([
        // Okta renames with a path-less replace that echoes the id.
        {"op": "replace", "value": {"id": "abf4dd94-a4c0-4f67-89c9-76b03340cb9b", "displayName": "Guides"}},
        {"op": "Replace", "path": "displayName", "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"},
        {"op": "add", "path": "members", "value": [{"value": "u1"}]},
    ]);
    let outcome = apply(ResourceKind::Group, &group(), ops).unwrap();
    assert_eq!(
        Value::Object(outcome.attributes),
        json!({"displayName": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName", "externalId": "tour-guides"})
    );
    assert_eq!(outcome.members, [MemberChange::Add(vec![member("u1")])]);
}

#[test]
fn rejects_what_cannot_be_applied_with_the_rfc_scim_type() {
    let user = ResourceKind::User;
    let grp = ResourceKind::Group;
    let cases: Vec<(ResourceKind, Value, &str, &str)> = vec![
        // readOnly, required and immutable targets.
        (
            user,
            json!([{"op": "replace", "path": "id", "value": "x"}]),
            "mutability",
            "'id' is readOnly",
        ),
        (
            user,
            json!([{"op": "replace", "path": "meta.version", "value": "x"}]),
            "mutability",
            "readOnly",
        ),
        (
            user,
            json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}]),
            "mutability",
            "readOnly",
        ),
        (
            user,
            json!([{"op": "remove", "path": "groups"}]),
            "mutability",
            "readOnly",
        ),
        (
            user,
            json!([{"op": "replace", "path": format!("{ENTERPRISE}:manager.displayName"), "value": "x"}]),
            "mutability",
            "readOnly",
        ),
        (
            user,
            json!([{"op": "add", "path": format!("{LICENSE_USER_EXTENSION}:licenses"), "value": [{"sku": "pro"}]}]),
            "mutability",
            "readOnly",
        ),
        (
            user,
            json!([{"op": "remove", "path": "userName"}]),
            "mutability",
            "'userName' is required",
        ),
        (
            grp,
            json!([{"op": "remove", "path": "displayName"}]),
            "mutability",
            "'displayName' is required",
        ),
        (
            grp,
            json!([{"op": "replace", "path": "members[value eq \"u1\"].value", "value": "u2"}]),
            "mutability",
            "immutable",
        ),
        (
            grp,
            json!([{"op": "replace", "path": "members[value eq \"u1\"].display", "value": "x"}]),
            "mutability",
            "immutable",
        ),
        (
            grp,
            json!([{"op": "remove", "path": "members.type"}]),
            "mutability",
            "immutable",
        ),
        // A value filter that selects nothing, where the RFC says so.
        (
            user,
            json!([{"op": "replace", "path": "emails[type eq \"other\"]", "value": {"value": "o@x"}}]),
            "noTarget",
            "no value of 'emails' matches",
        ),
        (
            user,
            json!([{"op": "replace", "path": "emails[value co \"@nowhere\"].type", "value": "work"}]),
            "noTarget",
            "emails",
        ),
        (
            user,
            json!([{"op": "add", "path": "emails[type eq \"other\" or type eq \"pager\"]", "value": {"value": "x@y"}}]),
            "noTarget",
            "emails",
        ),
        (
            user,
            json!([{"op": "remove"}]),
            "noTarget",
            "needs a 'path'",
        ),
        // Paths.
        (
            user,
            json!([{"op": "replace", "path": "shoeSize", "value": 9}]),
            "invalidPath",
            "shoeSize",
        ),
        (
            user,
            json!([{"op": "replace", "path": "department", "value": "x"}]),
            "invalidPath",
            "did you mean",
        ),
        (
            user,
            json!([{"op": "replace", "path": "name.nickname", "value": "x"}]),
            "invalidPath",
            "no sub-attribute",
        ),
        (
            user,
            json!([{"op": "replace", "path": "userName[value eq \"x\"]", "value": "x"}]),
            "invalidPath",
            "multi-valued complex",
        ),
        (
            user,
            json!([{"op": "replace", "path": "emails[shade eq \"x\"].value", "value": "x"}]),
            "invalidPath",
            "shade",
        ),
        (
            user,
            json!([{"op": "replace", "path": "emails[primary eq \"yes\"].value", "value": "x"}]),
            "invalidPath",
            "primary",
        ),
        (
            user,
            json!([{"op": "remove", "path": "emails[type eq \"work\""}]),
            "invalidPath",
            "emails",
        ),
        (
            user,
            json!([{"op": "replace", "path": "schemas", "value": [CORE_USER]}]),
            "invalidPath",
            "schemas",
        ),
        (
            user,
            json!([{"op": "add", "path": "urn:example:params:Custom:attr", "value": "x"}]),
            "invalidPath",
            "urn:example",
        ),
        (
            grp,
            json!([{"op": "add", "path": "members[value eq \"u1\"]", "value": {"value": "u1"}}]),
            "invalidPath",
            "members",
        ),
        // Values.
        (
            user,
            json!([{"op": "replace", "path": "active", "value": "yes"}]),
            "invalidValue",
            "'active' must be a boolean",
        ),
        (
            user,
            json!([{"op": "replace", "path": "userName", "value": 7}]),
            "invalidValue",
            "'userName' must be a string",
        ),
        (
            user,
            json!([{"op": "replace", "path": "userName", "value": ["a"]}]),
            "invalidValue",
            "single-valued",
        ),
        (
            user,
            json!([{"op": "add", "path": "emails", "value": [{"value": 1}]}]),
            "invalidValue",
            "emails.value",
        ),
        (
            user,
            json!([{"op": "add", "path": "emails", "value": [{"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}]}]),
            "invalidValue",
            "primary",
        ),
        (
            user,
            json!([{"op": "replace", "path": "emails[type eq \"work\"]", "value": [{"value": "a@x"}, {"value": "b@x"}]}]),
            "invalidValue",
            "one object",
        ),
        (
            user,
            json!([{"op": "replace", "path": "name", "value": "Babs"}]),
            "invalidValue",
            "'name' must be an object",
        ),
        (
            user,
            json!([{"op": "add", "path": format!("{ENTERPRISE}:manager"), "value": 7}]),
            "invalidValue",
            "manager",
        ),
        (
            user,
            json!([{"op": "replace", "path": "emails[type eq \"work\"].primary", "value": "maybe"}]),
            "invalidValue",
            "boolean",
        ),
        (
            user,
            json!([{"op": "remove", "path": "emails", "value": [{"type": "work"}]}]),
            "invalidValue",
            "'value'",
        ),
        (
            user,
            json!([{"op": "replace", "value": {ENTERPRISE: "Sales"}}]),
            "invalidValue",
            ENTERPRISE,
        ),
        (
            grp,
            json!([{"op": "add", "path": "members", "value": [{"display": "no id"}]}]),
            "invalidValue",
            "needs a 'value'",
        ),
        (
            grp,
            json!([{"op": "add", "path": "members", "value": [{"value": "u1", "type": "Robot"}]}]),
            "invalidValue",
            "'User' or 'Group'",
        ),
        (
            grp,
            json!([{"op": "add", "path": "members", "value": [{"value": 7}]}]),
            "invalidValue",
            "members.value",
        ),
        // Structure: unknown attributes in values, as in a PUT body.
        (
            user,
            json!([{"op": "replace", "value": {"shoeSize": 9}}]),
            "invalidSyntax",
            "shoeSize",
        ),
        (
            user,
            json!([{"op": "add", "value": {"name": {"nick": "B"}}}]),
            "invalidSyntax",
            "nick",
        ),
        (
            user,
            json!([{"op": "add", "value": "Babs"}]),
            "invalidSyntax",
            "object of attributes",
        ),
        (
            user,
            json!([{"op": "copy", "path": "title", "value": "x"}]),
            "invalidSyntax",
            "add, replace or remove",
        ),
    ];
    for (kind, ops, scim_type, detail) in cases {
        let err = apply(kind, &bjensen_or_group(kind), ops.clone()).unwrap_err();
        assert_eq!(err.scim_type(), Some(scim_type), "{ops}: {err}");
        assert!(err.detail().contains(detail), "{ops}: {err}");
    }
}

fn bjensen_or_group(kind: ResourceKind) -> Value {
    match kind {
        ResourceKind::User => bjensen(),
        ResourceKind::Group => group(),
    }
}

#[test]
fn errors_name_the_operation_and_change_nothing() {
    let ops = json!([
        {"op": "replace", "path": "title", "value": "changed"},
        {"op": "replace", "path": "id", "value": "x"},
    ]);
    let err = apply(ResourceKind::User, &bjensen(), ops).unwrap_err();
    assert!(err.detail().starts_with("Operations[1]: "), "{err}");
}

proptest! {
    /// A replaced simple attribute reads back as sent, whatever the case of its path.
    #[test]
    fn replace_then_read(
        attr in prop::sample::select(vec!["displayName", "nickName", "title", "userType", "locale", "timezone"]),
        upper in any::<bool>(),
        value in "[^\u{0}]{0,24}",
    ) {
        let path = if upper { attr.to_uppercase() } else { attr.to_owned() };
        let ops = json!([{"op": "replace", "path": path, "value": value}]);
        let patched = patched_user(ops);
        prop_assert_eq!(&patched[attr], &json!(value));
        let mut rest = patched.as_object().unwrap().clone();
        rest.remove(attr);
        let mut expected = bjensen().as_object().unwrap().clone();
        expected.remove(attr);
        prop_assert_eq!(rest, expected);
    }

    /// Add-then-remove of an element through a filter leaves the resource as it was.
    #[test]
    fn add_then_remove_through_a_filter(kind in "[a-z]{1,8}", number in "[0-9 +-]{1,16}") {
        let filter = format!("phoneNumbers[type eq \"{kind}\"]");
        let ops = json!([
            {"op": "add", "path": format!("{filter}.value"), "value": number},
            {"op": "remove", "path": filter},
        ]);
        prop_assert_eq!(patched_user(ops), bjensen());
    }
}
