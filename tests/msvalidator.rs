//! A replay of Microsoft's SCIM Validator (<https://scimvalidator.microsoft.com/>) for Users
//! and Groups, on both stores, with the requests shown in these public documents:
//!
//! - [VAL] "Tutorial: Validate a SCIM endpoint", Microsoft Learn,
//!   <https://learn.microsoft.com/en-us/entra/identity/app-provisioning/scim-validator-tutorial>:
//!   the joining (matching) property, "Enable Group Tests", and the known issue that "the
//!   patch user remove attributes" test may remove required attributes. Its UI (test
//!   option, URL and token, expressions like `{%generateRandomString 6%}`, the results page)
//!   is not replayed; fixed values of the generated shapes stand in for random ones.
//! - [DEV] "Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft Entra ID",
//!   <https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups>:
//!   the requirements and the request/response examples whose headings name the steps below.
//! - [COMPAT] "Known issues and resolutions with SCIM 2.0 protocol compliance of the Microsoft
//!   Entra user provisioning service", <https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility>:
//!   requests with and without the `aadOptscim062020` flag.
//! - [QA-DISABLE] Microsoft Q&A 2238842, <https://learn.microsoft.com/en-us/answers/questions/2238842/microsoft-entra-id-scim-validator-test-failing-pat>:
//!   the step "PATCH /Users/Id - Patch User - Disable User", its check "Response from a GET
//!   and filter request on a disabled User should have attribute active", a generated user,
//!   and the lookup as sent, `filter=userName+eq+"…%40…"`.
//! - [QA-PATCH] Microsoft Q&A 1665068, <https://docs.microsoft.com/en-us/answers/questions/1665068/scim-validation-tool-(https-scimvalidator-microsof>:
//!   the validator's PATCH, a lowercase path-less `replace` with keys like `name.givenName`.
//! - [TC] "Azure AD SCIM Validator is in General Availability (GA) Status", Microsoft Tech
//!   Community, <https://techcommunity.microsoft.com/t5/microsoft-entra/azure-ad-scim-validator-is-in-general-availability-ga-status/m-p/3700466>
//!   (POST /Users answers 201; after renaming a user the validator POSTs its new userName)
//!   and page 2, <https://techcommunity.microsoft.com/t5/microsoft-entra-azure-ad/azure-ad-scim-validator-is-in-general-availability-ga-status/td-p/3637911/page/2>
//!   (group tests send a `replace` of `members`).
//!
//! The validator names its steps only in its UI, so steps are named after [DEV]'s headings
//! (and the quoted Disable User step); checks beyond what a source shows are RFC 7643/7644's.
//! Not replayed: [DEV]'s "Groups must have uniqueness on the 'displayName' value" (not an RFC
//! rule; no source shows a validator step for it). Its "should yield an HTTP 204" for group
//! PATCH is relaxed to 200-or-204, as RFC 7644 §3.5.2 allows both.

use serde_json::{Value, json};

use crate::helpers::{
    ENTERPRISE, GROUP_SCHEMA, Reply, Server, Store, USER_SCHEMA, tenant_with_token,
};

const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const GROUP_EXTERNAL_ID: &str = "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159";
const LEGACY_GROUP: &str =
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";

/// A query value encoded as an HTML form would (space as '+'), as the validator sends it.
fn form(value: &str) -> String {
    let encode = |byte: u8| match byte {
        b' ' => "+".to_owned(),
        b'-' | b'.' | b'_' | b'~' => char::from(byte).to_string(),
        _ if byte.is_ascii_alphanumeric() => char::from(byte).to_string(),
        _ => format!("%{byte:02X}"),
    };
    value.bytes().map(encode).collect()
}

/// A validator run: the server and the tenant's token.
struct Validator {
    server: Server,
    token: String,
}

impl Validator {
    fn start(store: Store) -> Self {
        let token = tenant_with_token(&store, "validator");
        Validator {
            server: Server::start(store),
            token,
        }
    }

    fn get(&self, path: &str) -> Reply {
        self.server.get(path, &self.token)
    }

    fn post(&self, path: &str, body: &Value) -> Reply {
        self.server.post(path, &self.token, body)
    }

    /// `GET /{resource}?filter=…` (groups without members, as Entra asks [DEV]); checks
    /// the ListResponse and returns it.
    fn query(&self, resource: &str, filter: &str) -> Reply {
        let groups = (resource == "Groups").then_some("excludedAttributes=members&");
        let path = format!("/scim/v2/{resource}?{}filter=", groups.unwrap_or_default());
        let reply = self.get(&(path + &form(filter)));
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.json["schemas"], json!([LIST]));
        assert_eq!(reply.json["startIndex"], 1);
        assert_eq!(reply.json["itemsPerPage"], reply.json["totalResults"]);
        reply
    }

    /// `GET /{resource}?filter={attr} eq "{value}"`.
    fn lookup(&self, resource: &str, attr: &str, value: &str) -> Reply {
        self.query(resource, &format!("{attr} eq \"{value}\""))
    }

    /// The ids a lookup finds.
    fn found(&self, resource: &str, attr: &str, value: &str) -> Vec<String> {
        let reply = self.lookup(resource, attr, value);
        let resources = reply.json["Resources"].as_array().expect("Resources");
        resources
            .iter()
            .map(|r| r["id"].as_str().expect("id").to_owned())
            .collect()
    }

    /// A PATCH that must succeed (200 with the resource, or 204): the resource as stored.
    fn patch(&self, path: &str, operations: &Value) -> Value {
        let reply = self.server.patch(path, &self.token, operations);
        assert!(matches!(reply.status, 200 | 204), "{}", reply.text);
        let stored = self.get(path).json;
        if reply.status == 200 {
            assert_eq!(reply.json, stored, "PATCH answers the stored resource");
        }
        stored
    }

    /// A PATCH that must fail with this status and scimType.
    fn refused(&self, path: &str, operations: &Value, status: u16, scim_type: &str) {
        let reply = self.server.patch(path, &self.token, operations);
        reply.assert_error(status, Some(scim_type));
    }
}

/// A user of the shape the validator generates [QA-DISABLE] with enterprise attributes.
fn validator_user(n: u32) -> Value {
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": format!("dale.mohr{n}@romaguera.example"),
        "externalId": format!("9950b140-90a0-4201-9d65-{n:012}"),
        "active": true,
        "displayName": "XKWLCONOGMVT",
        "emails": [{"type": "work", "value": format!("aric{n}@prohaska.example")}],
        "name": {"formatted": "Aric", "familyName": "Nia", "givenName": "Sandy"},
        "title": "KRVQWZJPTNOA",
        ENTERPRISE: {"employeeNumber": format!("{n}"), "department": "QNRLBXQZ"},
    })
}

fn run_users(store: Store) {
    let v = Validator::start(store);

    // Create User [DEV]: 201 [TC], the resource as stored, SCIM content type [DEV].
    let body = validator_user(1);
    let created = v.post("/scim/v2/Users", &body);
    assert_eq!(created.status, 201, "{}", created.text);
    let content_type = created.header("content-type");
    assert_eq!(content_type, Some("application/scim+json"));
    let id = created.json["id"].as_str().expect("id").to_owned();
    let path = format!("/scim/v2/Users/{id}");
    let location = format!("{}{path}", v.server.base);
    assert_eq!(created.header("location"), Some(location.as_str()));
    assert_eq!(created.json["meta"]["location"], location);
    assert_eq!(created.json["meta"]["resourceType"], "User");
    for (key, value) in body.as_object().expect("object") {
        assert_eq!(&created.json[key], value, "{key} as sent");
    }

    // Get User [DEV]: found, and not found (404, SCIM error, status as a string).
    let read = v.get(&path);
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.json, created.json);
    let unknown = v.get("/scim/v2/Users/5171a35d82074e068ce2");
    unknown.assert_error(404, None);

    // Get User by query [DEV], as the validator sends it [QA-DISABLE]; userName is
    // caseExact=false (RFC 7643 §4.1.1), so any case finds it.
    let first_name = "dale.mohr1@romaguera.example";
    let by_name = v.lookup("Users", "userName", first_name);
    assert_eq!(by_name.json["totalResults"], 1, "{}", by_name.text);
    assert_eq!(by_name.json["Resources"][0], created.json);
    let upper = v.found("Users", "userName", "DALE.MOHR1@Romaguera.example");
    assert_eq!(upper, [id.as_str()]);
    // Users are also queried by externalId [DEV] (caseExact: another case is another value)
    // and by the work email (see `run_work_email_lookup` for the form [DEV] shows).
    let external = "9950b140-90a0-4201-9d65-000000000001";
    assert_eq!(v.found("Users", "externalId", external), [id.as_str()]);
    let other_case = external.to_uppercase();
    assert!(v.found("Users", "externalId", &other_case).is_empty());
    let work = "emails[type eq \"work\" and value eq \"aric1@prohaska.example\"]";
    let work = v.query("Users", work).json;
    assert_eq!(work["Resources"][0]["id"], id.as_str(), "{work}");

    // Get User by query - Zero results [DEV]: an empty ListResponse.
    let none = v.lookup("Users", "userName", "non-existent user");
    assert_eq!(none.json["totalResults"], 0);
    assert_eq!(none.json["Resources"], json!([]));

    // Update User [Multi-valued properties] [DEV].
    let ops = json!([
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@romaguera.example"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
    ]);
    let user = v.patch(&path, &ops);
    let emails = json!([{"type": "work", "value": "new@romaguera.example"}]);
    assert_eq!(user["emails"], emails);
    assert_eq!(user["name"]["familyName"], "updatedFamilyName");
    assert_eq!(user["meta"]["version"], "W/\"2\"");

    // Replace multiple attributes without the flag [COMPAT]: one capitalised op each.
    let ops = json!([
        {"op": "Replace", "path": "displayName", "value": "Pvlo"},
        {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
        {"op": "Replace", "path": "externalId", "value": "Eqpj"},
        {"op": "Replace", "path": format!("{ENTERPRISE}:employeeNumber"), "value": "Eqpj"},
    ]);
    let user = v.patch(&path, &ops);
    assert_eq!(user["displayName"], "Pvlo");
    assert_eq!(user["name"]["givenName"], "Gtfd");
    assert_eq!(user["externalId"], "Eqpj");
    assert_eq!(user[ENTERPRISE]["employeeNumber"], "Eqpj");
    // With the flag [COMPAT], and the validator's own shape [QA-PATCH]: one path-less
    // replace whose keys are dotted and URN-prefixed paths; other attributes are kept.
    let ops = json!([{"op": "replace", "value": {
        "displayName": "Bjfe",
        "name.givenName": "Oswaldo",
        "name.familyName": "Rylan",
        format!("{ENTERPRISE}:department"): "Human Resources",
    }}]);
    let user = v.patch(&path, &ops);
    let name = json!({"formatted": "Aric", "familyName": "Rylan", "givenName": "Oswaldo"});
    assert_eq!(user["name"], name);
    assert_eq!(user["displayName"], "Bjfe");
    let enterprise = json!({"employeeNumber": "Eqpj", "department": "Human Resources"});
    assert_eq!(user[ENTERPRISE], enterprise);
    assert_eq!(user["emails"], emails);

    // Add attributes: a single-value string (both shapes [COMPAT]), and the multi-valued
    // and address paths of Entra's default mapping [DEV], which create the element named.
    let ops = json!([
        {"op": "Add", "path": "nickName", "value": "Babs"},
        {"op": "add", "path": "preferredLanguage", "value": "en-US"},
        {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "55555555555"},
        {"op": "Add", "path": "addresses[type eq \"work\"].postalCode", "value": "98052"},
    ]);
    let user = v.patch(&path, &ops);
    assert_eq!(user["nickName"], "Babs");
    assert_eq!(user["preferredLanguage"], "en-US");
    // "Values sent should be stored in the same format they were sent" [DEV].
    let phones = json!([{"type": "mobile", "value": "55555555555"}]);
    assert_eq!(user["phoneNumbers"], phones);
    let addresses = json!([{"type": "work", "postalCode": "98052"}]);
    assert_eq!(user["addresses"], addresses);

    // Manager: the enterprise URN path [DEV], the manager's id as a plain string.
    let manager = v.post("/scim/v2/Users", &validator_user(2));
    assert_eq!(manager.status, 201, "{}", manager.text);
    let manager_id = manager.json["id"].as_str().expect("id").to_owned();
    let ops = json!([{"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": manager_id}]);
    let user = v.patch(&path, &ops);
    assert_eq!(user[ENTERPRISE]["manager"]["value"], manager_id.as_str());

    // Patch User - remove attributes [VAL]: optional ones go; a required one (userName)
    // is refused with 400 mutability (RFC 7644 §3.5.2.2), which [VAL] says to ignore.
    let ops = json!([{"op": "Remove", "path": "nickName"}, {"op": "Remove", "path": "title"}]);
    let user = v.patch(&path, &ops);
    assert!(user.get("nickName").is_none(), "{user}");
    assert!(user.get("title").is_none(), "{user}");
    let remove_user_name = json!([{"op": "Remove", "path": "userName"}]);
    v.refused(&path, &remove_user_name, 400, "mutability");

    // Update User [Single-valued properties] [DEV]: userName; lookups follow the rename, and
    // a rename onto another user's userName (in any case) is a uniqueness conflict.
    let renamed = "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com";
    let ops = json!([{"op": "Replace", "path": "userName", "value": renamed}]);
    let user = v.patch(&path, &ops);
    assert_eq!(user["userName"], renamed);
    assert_eq!(v.found("Users", "userName", renamed), [id.as_str()]);
    assert!(v.found("Users", "userName", first_name).is_empty());
    let taken =
        json!([{"op": "Replace", "path": "userName", "value": "DALE.mohr2@romaguera.example"}]);
    v.refused(&path, &taken, 409, "uniqueness");

    // "PATCH /Users/Id - Patch User - Disable User" [QA-DISABLE], in each shape [COMPAT]:
    // a disabled user is still returned [DEV], with `active` false by GET and by filter;
    // then restored with active=true [DEV].
    for (op, value) in [("Replace", json!("False")), ("replace", json!(false))] {
        let user = v.patch(
            &path,
            &json!([{"op": op, "path": "active", "value": value}]),
        );
        assert_eq!(user["active"], false, "{user}");
        let filtered = v.lookup("Users", "userName", renamed).json;
        assert_eq!(filtered["Resources"][0]["active"], false, "{filtered}");
        let ops = json!([{"op": "Replace", "path": "active", "value": "True"}]);
        let user = v.patch(&path, &ops);
        assert_eq!(user["active"], true);
    }

    // Create a duplicate User: 409 uniqueness (RFC 7644 §3.3), in any case of the userName,
    // creating nothing. After the rename the validator POSTs the new userName [TC]; users
    // there report it does not expect the 409, but a duplicate it is.
    let upper = renamed.to_uppercase();
    for user_name in ["dale.mohr2@romaguera.example", upper.as_str()] {
        let mut twin = validator_user(3);
        twin["userName"] = json!(user_name);
        let refused = v.post("/scim/v2/Users", &twin);
        refused.assert_error(409, Some("uniqueness"));
    }
    assert_eq!(v.get("/scim/v2/Users").json["totalResults"], 2);

    // Delete User [DEV]: 204 without a body; then 404 by id, and no longer found.
    let deleted = v.server.delete(&path, &v.token);
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert!(deleted.text.is_empty());
    let detail = v.get(&path).assert_error(404, None);
    assert!(detail.contains(&id), "{detail}");
    assert!(v.found("Users", "userName", renamed).is_empty());
}

/// [DEV], /Users: "Any attributes that are considered for user uniqueness must be usable as
/// part of a filtered query", e.g. `emails[type eq "work"].value eq "user@contoso.com"`, the
/// form Entra sends when the work email is the matching (joining [VAL]) attribute.
fn run_work_email_lookup(store: Store) {
    let v = Validator::start(store);
    let created = v.post("/scim/v2/Users", &validator_user(1));
    assert_eq!(created.status, 201, "{}", created.text);
    let filter = "emails[type eq \"work\"].value eq \"aric1@prohaska.example\"";
    let found = v.query("Users", filter);
    assert_eq!(found.json["Resources"][0]["id"], created.json["id"]);
    let none = v.query("Users", &filter.replace("aric1", "nobody"));
    assert_eq!(none.json["totalResults"], 0);
}

/// The member ids of a group (none when `members` is absent).
fn member_ids(group: &Value) -> Vec<String> {
    let members = group.get("members").and_then(Value::as_array);
    let members = members.map(Vec::as_slice).unwrap_or_default();
    members
        .iter()
        .map(|m| m["value"].as_str().expect("value").to_owned())
        .collect()
}

fn run_groups(store: Store) {
    let v = Validator::start(store);
    let mut users = Vec::new();
    for n in 1..=3 {
        let reply = v.post("/scim/v2/Users", &validator_user(n));
        assert_eq!(reply.status, 201, "{}", reply.text);
        users.push(reply.json["id"].as_str().expect("id").to_owned());
    }
    // A user's readOnly `groups`, empty when absent.
    let groups_of = |n: usize| {
        let user = v.get(&format!("/scim/v2/Users/{}", users[n])).json;
        user.get("groups").cloned().unwrap_or(json!([]))
    };

    // Create Group [DEV]: with the legacy schema URI (ignored); created with no members.
    let body = json!({
        "schemas": [GROUP_SCHEMA, LEGACY_GROUP],
        "externalId": GROUP_EXTERNAL_ID,
        "displayName": "QQ7M8HRCRACN",
        "meta": {"resourceType": "Group"},
    });
    let created = v.post("/scim/v2/Groups", &body);
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_str().expect("id").to_owned();
    let path = format!("/scim/v2/Groups/{id}");
    let location = format!("{}{path}", v.server.base);
    assert_eq!(created.header("location"), Some(location.as_str()));
    assert_eq!(created.json["schemas"], json!([GROUP_SCHEMA]));
    assert_eq!(created.json["externalId"], GROUP_EXTERNAL_ID);
    assert_eq!(created.json["displayName"], "QQ7M8HRCRACN");
    assert_eq!(created.json["meta"]["resourceType"], "Group");
    assert!(member_ids(&created.json).is_empty());

    // Get Group [DEV]: ?excludedAttributes=members.
    let read = v.get(&format!("{path}?excludedAttributes=members"));
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.json["id"], id.as_str());
    assert_eq!(read.json["displayName"], "QQ7M8HRCRACN");
    assert!(read.json.get("members").is_none(), "{}", read.text);

    // Get Group by displayName [DEV] (caseExact=false), without members; and a missing one.
    let by_name = v.lookup("Groups", "displayName", "qq7m8hrcracn");
    assert_eq!(by_name.json["totalResults"], 1, "{}", by_name.text);
    assert_eq!(by_name.json["Resources"][0]["id"], id.as_str());
    assert!(by_name.json["Resources"][0].get("members").is_none());
    assert!(v.found("Groups", "displayName", "NOSUCHGROUP").is_empty());

    // Update Group [Add Members] [DEV]: a list with "$ref": null.
    let value: Vec<Value> = users
        .iter()
        .map(|u| json!({"$ref": null, "value": u}))
        .collect();
    let ops = json!([{"op": "Add", "path": "members", "value": value}]);
    let group = v.patch(&path, &ops);
    assert_eq!(member_ids(&group), users);
    assert_eq!(group["members"][0]["type"], "User");

    // Update Group [Non-member attributes] [DEV]; the members' `groups` show the new name.
    let new_name = "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName";
    let ops = json!([{"op": "Replace", "path": "displayName", "value": new_name}]);
    let group = v.patch(&path, &ops);
    assert_eq!(group["displayName"], new_name);
    assert_eq!(v.found("Groups", "displayName", new_name), [id.as_str()]);
    assert!(v.found("Groups", "displayName", "QQ7M8HRCRACN").is_empty());
    assert_eq!(groups_of(0)[0]["value"], id.as_str());
    assert_eq!(groups_of(0)[0]["display"], new_name);

    // Update Group [Remove Members]: without the flag by a `value` list [DEV] [COMPAT], and
    // with it by a filter [COMPAT].
    let ops = json!([
        {"op": "Remove", "path": "members", "value": [{"$ref": null, "value": users[0]}]},
    ]);
    let group = v.patch(&path, &ops);
    assert_eq!(member_ids(&group), [users[1].as_str(), users[2].as_str()]);
    assert_eq!(groups_of(0), json!([]));
    let filter = format!("members[value eq \"{}\"]", users[1]);
    let group = v.patch(&path, &json!([{"op": "remove", "path": filter}]));
    assert_eq!(member_ids(&group), [users[2].as_str()]);

    // A `replace` of members [TC]: the members become exactly the list given.
    let ops = json!([{"op": "replace", "path": "members", "value": [{"value": users[0]}]}]);
    let group = v.patch(&path, &ops);
    assert_eq!(member_ids(&group), [users[0].as_str()]);
    assert_eq!(groups_of(2), json!([]));

    // Delete Group [DEV]: 204, then 404; its members stay, without the group.
    let deleted = v.server.delete(&path, &v.token);
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    v.get(&path).assert_error(404, None);
    assert_eq!(groups_of(0), json!([]));
    assert_eq!(v.get(&format!("/scim/v2/Users/{}", users[0])).status, 200);
}

#[test]
fn microsoft_validator_users_on_sqlite() {
    run_users(Store::sqlite());
}

#[test]
fn microsoft_validator_users_on_postgres() {
    if let Some(store) = Store::postgres("e2e microsoft validator users on postgres") {
        run_users(store);
    }
}

#[test]
fn microsoft_validator_users_by_work_email_on_sqlite() {
    run_work_email_lookup(Store::sqlite());
}

#[test]
fn microsoft_validator_users_by_work_email_on_postgres() {
    if let Some(store) = Store::postgres("e2e microsoft validator work email on postgres") {
        run_work_email_lookup(store);
    }
}

#[test]
fn microsoft_validator_groups_on_sqlite() {
    run_groups(Store::sqlite());
}

#[test]
fn microsoft_validator_groups_on_postgres() {
    if let Some(store) = Store::postgres("e2e microsoft validator groups on postgres") {
        run_groups(store);
    }
}
