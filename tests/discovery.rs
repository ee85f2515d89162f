//! Discovery endpoints and health, which need no credentials.

use serde_json::json;

use crate::helpers::{ENTERPRISE, Server, Store, USER_SCHEMA};

#[test]
fn discovery_documents_describe_what_is_served() {
    let server = Server::start(Store::sqlite());
    let anon = |path: &str| server.send("GET", path, None, &[], None);

    let config = anon("/scim/v2/ServiceProviderConfig");
    assert_eq!(config.status, 200, "{}", config.text);
    assert_eq!(config.header("content-type"), Some("application/scim+json"));
    assert_eq!(
        config.json["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"])
    );
    assert_eq!(
        config.json["filter"],
        json!({"supported": true, "maxResults": 1000})
    );
    assert_eq!(config.json["etag"]["supported"], true);
    assert_eq!(config.json["sort"]["supported"], true);
    assert_eq!(config.json["patch"]["supported"], true);
    assert_eq!(config.json["bulk"]["supported"], true);
    assert_eq!(config.json["bulk"]["maxOperations"], 1000);
    assert_eq!(config.json["bulk"]["maxPayloadSize"], 4 * 1024 * 1024);
    assert_eq!(
        config.json["authenticationSchemes"][0]["type"],
        "oauthbearertoken"
    );
    // RFC 9967 §4.
    assert_eq!(config.json["securityEvents"]["asyncRequest"], "request");
    // draft-ietf-scim-roles-entitlements.
    assert_eq!(
        config.json["RolesAndEntitlements"]["entitlements"]["supported"],
        true
    );
    let uris = config.json["securityEvents"]["eventUris"]
        .as_array()
        .expect("eventUris");
    for uri in [
        "urn:ietf:params:scim:event:prov:create:full",
        "urn:ietf:params:scim:event:prov:deactivate",
        "urn:ietf:params:scim:event:misc:asyncresp",
        "urn:scim-license:event:license:revoked",
    ] {
        assert!(uris.iter().any(|u| u == uri), "{uri} advertised");
    }

    let types = anon("/scim/v2/ResourceTypes");
    assert_eq!(types.status, 200);
    let user_type = types.json["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .find(|t| t["id"] == "User")
        .expect("User resource type")
        .clone();
    assert_eq!(user_type["endpoint"], "/Users");
    assert_eq!(user_type["schema"], USER_SCHEMA);
    assert_eq!(
        user_type["schemaExtensions"][0],
        json!({"schema": ENTERPRISE, "required": false})
    );
    assert_eq!(anon("/scim/v2/ResourceTypes/User").json, user_type);
    let ids: Vec<&str> = types.json["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(ids, ["User", "Group", "License", "Entitlement", "Role"]);
    let license_type = anon("/scim/v2/ResourceTypes/License");
    assert_eq!(license_type.json["endpoint"], "/Licenses");
    assert_eq!(
        license_type.json["schema"],
        "urn:scim-license:schemas:core:2.0:License"
    );

    let schemas = anon("/scim/v2/Schemas");
    let ids: Vec<_> = schemas.json["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .map(|s| s["id"].clone())
        .collect();
    for id in [
        USER_SCHEMA,
        ENTERPRISE,
        "urn:scim-license:schemas:extension:license:2.0:User",
        "urn:scim-license:schemas:core:2.0:License",
    ] {
        assert!(ids.contains(&json!(id)), "{id} in {ids:?}");
    }
    let user = anon(&format!("/scim/v2/Schemas/{USER_SCHEMA}"));
    let emails = user.json["attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .find(|a| a["name"] == "emails")
        .expect("emails")
        .clone();
    assert_eq!(emails["multiValued"], true);
    assert_eq!(emails["type"], "complex");
    assert_eq!(
        emails["subAttributes"][2]["canonicalValues"],
        json!(["work", "home", "other"])
    );
    anon("/scim/v2/Schemas/urn:nope").assert_error(404, None);

    let health = anon("/healthz");
    assert_eq!(health.status, 200);
    assert_eq!(health.json, json!({"status": "ok"}));
    let ready = anon("/readyz");
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json, json!({"status": "ready"}));
    assert!(
        health
            .header("x-request-id")
            .is_some_and(|id| id.len() == 36)
    );
}

/// Clients whose parsers predate RFC 9967 (and refuse unknown attributes) get a
/// /ServiceProviderConfig without `securityEvents` (and without draft-ietf's
/// `RolesAndEntitlements`) when the operator asks.
#[test]
fn security_events_can_be_left_out_of_the_service_provider_config() {
    let server = Server::start_with(
        Store::sqlite(),
        &[
            "--advertise-security-events",
            "false",
            "--advertise-roles-and-entitlements",
            "false",
        ],
        "warn",
        std::process::Stdio::inherit(),
    );
    let config = server.send("GET", "/scim/v2/ServiceProviderConfig", None, &[], None);
    assert_eq!(config.status, 200);
    assert!(
        config.json.get("securityEvents").is_none(),
        "{}",
        config.text
    );
    assert!(
        config.json.get("RolesAndEntitlements").is_none(),
        "{}",
        config.text
    );
    assert_eq!(config.json["bulk"]["supported"], true);
}
