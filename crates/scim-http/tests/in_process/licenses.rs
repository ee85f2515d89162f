//! Seats as the IdP meets them: granted on create, refused when the pool is full, freed on
//! deactivation, shown on the user and at `/Licenses`.

use scim_core::license::MappingSource;
use serde_json::json;

use crate::api::{Api, GROUP, LICENSES, on_both_adapters, patch_op};

on_both_adapters! {
    async fn a_full_pool_refuses_and_a_deactivation_frees_the_seat(adapter: Adapter) {
        let api = Api::start(adapter).await;
        api.license("pro", 1, MappingSource::Entitlement, "pro")
            .await;
        let pro = json!({"entitlements": [{"value": "pro"}]});
        let ada = api.user("ada", pro.clone()).await;
        let held = api.get(&format!("/scim/v2/Users/{ada}")).await.expect(200);
        assert_eq!(held.json[LICENSES]["licenses"][0]["sku"], "pro");
        assert_eq!(held.json[LICENSES]["licenses"][0]["source"], "direct");

        let body = json!({"schemas": [crate::api::USER], "userName": "bob",
                          "entitlements": [{"value": "pro"}]});
        let refused = api
            .post("/scim/v2/Users", &body)
            .await
            .expect_error(400, Some("invalidValue"));
        assert_eq!(
            refused.detail(),
            "license pool 'pro' has no free seat: 1 of 1 seats are assigned"
        );
        let none = api
            .get("/scim/v2/Users?filter=userName%20eq%20%22bob%22")
            .await;
        assert_eq!(
            none.json["totalResults"], 0,
            "a refused write writes nothing"
        );

        let deactivate = patch_op(json!([{"op": "replace", "value": {"active": false}}]));
        let patched = api
            .patch(&format!("/scim/v2/Users/{ada}"), &deactivate)
            .await
            .expect(200);
        assert!(patched.json.get(LICENSES).is_none(), "{}", patched.text);
        api.post("/scim/v2/Users", &body).await.expect(201);
        let pool = api.get("/scim/v2/Licenses/pro").await.expect(200);
        assert_eq!(
            (pool.json["seats"].clone(), pool.json["used"].clone()),
            (json!(1), json!(1))
        );
    }

    async fn the_full_pool_changes_hands_in_one_group_patch(adapter: Adapter) {
        let api = Api::start(adapter).await;
        api.license("pro", 1, MappingSource::Group, "Sales").await;
        let a = api.user("a", json!({})).await;
        let b = api.user("b", json!({})).await;
        let created = api
            .post(
                "/scim/v2/Groups",
                &json!({"schemas": [GROUP], "displayName": "Sales", "members": [{"value": b}]}),
            )
            .await
            .expect(201);
        let path = format!("/scim/v2/Groups/{}", created.json["id"].as_str().unwrap());
        let swap = patch_op(json!([
            {"op": "remove", "path": format!("members[value eq \"{b}\"]")},
            {"op": "add", "path": "members", "value": [{"value": a}]},
        ]));
        api.patch(&path, &swap).await.expect(200);
        let a_read = api.get(&format!("/scim/v2/Users/{a}")).await.expect(200);
        assert_eq!(a_read.json[LICENSES]["licenses"][0]["sku"], "pro");
        assert_eq!(a_read.json[LICENSES]["licenses"][0]["source"], "group");
        let b_read = api.get(&format!("/scim/v2/Users/{b}")).await.expect(200);
        assert!(b_read.json.get(LICENSES).is_none(), "{}", b_read.text);
        let pools = api.get("/scim/v2/Licenses").await.expect(200);
        assert_eq!(pools.json["totalResults"], 1);
        assert_eq!(pools.json["Resources"][0]["available"], 0);
    }
}
