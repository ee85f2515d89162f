//! Groups and their members, as Entra and Okta PATCH them.

use serde_json::json;

use crate::api::{Api, GROUP, on_both_adapters, patch_op};

on_both_adapters! {
    async fn members_are_added_and_removed_and_shown_on_both_sides(adapter: Adapter) {
        let api = Api::start(adapter).await;
        let ada = api.user("ada", json!({})).await;
        let bob = api.user("bob", json!({})).await;
        let created = api
            .post(
                "/scim/v2/Groups",
                &json!({"schemas": [GROUP], "displayName": "Sales",
                        "members": [{"value": ada}]}),
            )
            .await
            .expect(201);
        let group = created.json["id"].as_str().unwrap().to_owned();
        let path = format!("/scim/v2/Groups/{group}");
        let add = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": bob}]}]));
        api.patch(&path, &add).await.expect(200);
        let read = api.get(&path).await.expect(200);
        let members: Vec<&str> = read.json["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap())
            .collect();
        assert_eq!(members, [ada.as_str(), bob.as_str()]);
        assert_eq!(
            read.json["members"][1]["$ref"],
            format!("http://localhost:8080/scim/v2/Users/{bob}")
        );
        let user = api.get(&format!("/scim/v2/Users/{bob}")).await.expect(200);
        assert_eq!(user.json["groups"][0]["value"], group.as_str());
        assert_eq!(user.json["groups"][0]["display"], "Sales");

        // Entra removes a member by a filtered path.
        let remove =
            patch_op(json!([{"op": "Remove", "path": format!("members[value eq \"{ada}\"]")}]));
        api.patch(&path, &remove).await.expect(200);
        let read = api.get(&path).await.expect(200);
        assert_eq!(read.json["members"].as_array().unwrap().len(), 1);
        assert_eq!(read.json["members"][0]["value"], bob.as_str());
    }

    async fn an_unknown_member_refuses_the_whole_patch(adapter: Adapter) {
        let api = Api::start(adapter).await;
        let ada = api.user("ada", json!({})).await;
        let created = api
            .post(
                "/scim/v2/Groups",
                &json!({"schemas": [GROUP], "displayName": "Sales"}),
            )
            .await
            .expect(201);
        let path = format!("/scim/v2/Groups/{}", created.json["id"].as_str().unwrap());
        let add = patch_op(json!([
            {"op": "add", "path": "members", "value": [{"value": ada}]},
            {"op": "add", "path": "members", "value": [{"value": "nobody"}]},
        ]));
        let refused = api
            .patch(&path, &add)
            .await
            .expect_error(400, Some("invalidValue"));
        assert!(refused.detail().contains("nobody"), "{}", refused.text);
        let read = api.get(&path).await.expect(200);
        assert!(read.json.get("members").is_none(), "{}", read.text);
        assert_eq!(read.header("etag"), Some("W/\"1\""));
    }
}
