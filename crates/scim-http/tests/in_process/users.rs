//! A user's lifecycle as IdPs drive it.

use serde_json::json;

use crate::api::{Api, USER, on_both_adapters, patch_op};

on_both_adapters! {
    async fn a_user_is_created_read_found_patched_replaced_and_deleted(adapter: Adapter) {
        let api = Api::start(adapter).await;
        let body = json!({
            "schemas": [USER],
            "userName": "Barbara.Jensen@example.com",
            "externalId": "ext-1",
            "name": {"givenName": "Barbara"},
            "active": "True",
            "password": "t1meMa$heen",
        });
        let created = api.post("/scim/v2/Users", &body).await.expect(201);
        let id = created.json["id"].as_str().unwrap().to_owned();
        let location = format!("http://localhost:8080/scim/v2/Users/{id}");
        assert_eq!(created.header("location"), Some(location.as_str()));
        assert_eq!(created.header("etag"), Some("W/\"1\""));
        assert_eq!(
            created.header("content-type"),
            Some("application/scim+json")
        );
        assert_eq!(created.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(created.header("cache-control"), Some("no-store"));
        assert_eq!(created.json["meta"]["location"], location);
        assert_eq!(created.json["meta"]["resourceType"], "User");
        assert_eq!(
            created.json["active"], true,
            "Entra's \"True\" is a boolean"
        );
        assert!(created.json.get("password").is_none(), "{}", created.text);

        let read = api.get(&format!("/scim/v2/Users/{id}")).await.expect(200);
        assert_eq!(read.json, created.json);
        // An IdP's lookup before provisioning: another case, percent-encoded.
        let found = api
            .get("/scim/v2/Users?filter=userName%20eq%20%22barbara.jensen%40EXAMPLE.com%22")
            .await
            .expect(200);
        assert_eq!(found.json["totalResults"], 1);
        assert_eq!(found.json["startIndex"], 1);
        assert_eq!(found.json["Resources"][0]["id"], id.as_str());

        let deactivate = patch_op(json!([{"op": "Replace", "path": "active", "value": "False"}]));
        let patched = api
            .patch(&format!("/scim/v2/Users/{id}"), &deactivate)
            .await
            .expect(200);
        assert_eq!(patched.json["active"], false);
        assert_eq!(patched.header("etag"), Some("W/\"2\""));

        let replacement = json!({"schemas": [USER], "userName": "bjensen@example.com"});
        let replaced = api
            .put(&format!("/scim/v2/Users/{id}"), &replacement)
            .await
            .expect(200);
        assert_eq!(replaced.json["userName"], "bjensen@example.com");
        assert!(replaced.json.get("externalId").is_none(), "PUT replaces");

        let deleted = api
            .delete(&format!("/scim/v2/Users/{id}"))
            .await
            .expect(204);
        assert_eq!(deleted.text, "");
        api.get(&format!("/scim/v2/Users/{id}"))
            .await
            .expect_error(404, None);
    }

    async fn versions_guard_writes_and_reads(adapter: Adapter) {
        let api = Api::start(adapter).await;
        let id = api.user("ada", json!({})).await;
        let path = format!("/scim/v2/Users/{id}");
        let not_modified = api
            .send(
                api.request("GET", &path)
                    .header("if-none-match", "W/\"1\""),
            )
            .await
            .expect(304);
        assert_eq!(not_modified.header("etag"), Some("W/\"1\""));
        let stale = api
            .request("PUT", &path)
            .header("if-match", "W/\"7\"")
            .header("content-type", "application/scim+json")
            .body(json!({"schemas": [USER], "userName": "ada2"}).to_string());
        api.send(stale).await.expect_error(412, None);
        assert_eq!(
            api.get(&path).await.json["userName"],
            "ada",
            "nothing written"
        );
    }

    async fn head_answers_as_get_without_a_body(adapter: Adapter) {
        let api = Api::start(adapter).await;
        let id = api.user("ada", json!({})).await;
        let path = format!("/scim/v2/Users/{id}");
        let head = api.send(api.request("HEAD", &path)).await.expect(200);
        assert_eq!(head.header("etag"), Some("W/\"1\""));
        // The HTTP server leaves the body out (the end-to-end suite sees that on the wire).
        let get = api.get(&path).await;
        assert_eq!(head.header("content-type"), get.header("content-type"));
    }

    async fn lists_page_by_index_and_by_cursor_with_projections(adapter: Adapter) {
        let api = Api::start(adapter).await;
        for name in ["a", "b", "c"] {
            api.user(name, json!({"displayName": name.to_uppercase()}))
                .await;
        }
        let page = api
            .get("/scim/v2/Users?startIndex=2&count=1&attributes=userName")
            .await
            .expect(200);
        assert_eq!(page.json["totalResults"], 3);
        assert_eq!(page.json["itemsPerPage"], 1);
        assert_eq!(page.json["Resources"][0]["userName"], "b");
        assert!(page.json["Resources"][0].get("displayName").is_none());
        // RFC 9865: an empty cursor starts a walk.
        let first = api.get("/scim/v2/Users?cursor=&count=2").await.expect(200);
        assert_eq!(first.json["Resources"].as_array().unwrap().len(), 2);
        assert!(first.json.get("startIndex").is_none(), "{}", first.text);
        let next = first.json["nextCursor"].as_str().unwrap();
        let second = api
            .get(&format!("/scim/v2/Users?cursor={next}&count=2"))
            .await
            .expect(200);
        assert_eq!(second.json["Resources"][0]["userName"], "c");
        assert!(second.json.get("nextCursor").is_none(), "{}", second.text);
        let searched = api
            .post(
                "/scim/v2/Users/.search",
                &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                        "filter": "displayName eq \"C\"", "excludedAttributes": ["displayName"]}),
            )
            .await
            .expect(200);
        assert_eq!(searched.json["totalResults"], 1);
        assert_eq!(searched.json["Resources"][0]["userName"], "c");
        assert!(searched.json["Resources"][0].get("displayName").is_none());
    }

    async fn a_tenant_sees_only_its_own_users(adapter: Adapter) {
        let api = Api::start(adapter).await;
        let id = api.user("ada", json!({})).await;
        let (_, other) = api.tenant_with_token("globex").await;
        let foreign = api
            .anonymous("GET", &format!("/scim/v2/Users/{id}"))
            .header("authorization", &format!("Bearer {other}"));
        api.send(foreign).await.expect_error(404, None);
        let listed = api
            .anonymous("GET", "/scim/v2/Users")
            .header("authorization", &format!("Bearer {other}"));
        assert_eq!(api.send(listed).await.expect(200).json["totalResults"], 0);
    }
}
