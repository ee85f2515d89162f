//! What a client reads before it provisions anything.

use crate::api::{Api, on_both_adapters};

on_both_adapters! {
    async fn the_service_describes_itself(adapter: Adapter) {
        let api = Api::start(adapter).await;
        let config = api.get("/scim/v2/ServiceProviderConfig").await.expect(200);
        assert_eq!(config.json["patch"]["supported"], true);
        assert_eq!(config.json["bulk"]["maxOperations"], 1000);
        assert_eq!(config.json["filter"]["supported"], true);
        let types = api.get("/scim/v2/ResourceTypes").await.expect(200);
        let names: Vec<&str> = types.json["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["User", "Group", "License", "Entitlement", "Role"]);
        let user = api
            .get("/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")
            .await
            .expect(200);
        assert_eq!(user.json["name"], "User");
        let health = api.send(api.anonymous("GET", "/healthz")).await.expect(200);
        assert!(!health.text.is_empty());
    }
}
