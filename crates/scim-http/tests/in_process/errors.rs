//! Bad requests get a precise SCIM error, never a 500.

use serde_json::json;

use crate::api::{Api, USER, on_both_adapters};

on_both_adapters! {
    async fn a_caller_without_a_working_credential_learns_nothing(adapter: Adapter) {
        let api = Api::start(adapter).await;
        let missing = api
            .send(api.anonymous("GET", "/scim/v2/Users"))
            .await
            .expect_error(401, None);
        let challenges: Vec<&str> = missing
            .headers
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        assert_eq!(
            challenges,
            ["Bearer realm=\"scim\"", "Basic realm=\"scim\""]
        );
        let wrong = api
            .anonymous("GET", "/scim/v2/Users/1")
            .header("authorization", "Bearer scim_not-a-token");
        let wrong = api.send(wrong).await.expect_error(401, None);
        assert!(!wrong.text.contains("scim_not-a-token"), "{}", wrong.text);
    }

    async fn bodies_are_refused_for_their_syntax_type_and_size(adapter: Adapter) {
        let config = scim_http::HttpConfig {
            max_body_bytes: 200,
            ..Default::default()
        };
        let api = Api::with_config(adapter, config).await;
        let send = |payload: &'static str, content_type: &'static str| {
            api.request("POST", "/scim/v2/Users")
                .header("content-type", content_type)
                .body(payload)
        };
        let syntax = api
            .send(send("{\"userName\":", "application/scim+json"))
            .await
            .expect_error(400, Some("invalidSyntax"));
        assert!(
            syntax
                .detail()
                .starts_with("the request body is not valid JSON"),
            "{}",
            syntax.text
        );
        api.send(send("   ", "application/json"))
            .await
            .expect_error(400, Some("invalidSyntax"));
        api.send(send("<user/>", "application/xml"))
            .await
            .expect_error(415, None);
        let surrogate = api
            .send(send(
                r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a\uD800"}"#,
                "application/scim+json",
            ))
            .await
            .expect_error(400, Some("invalidValue"));
        assert!(
            surrogate
                .detail()
                .starts_with("'userName' holds the unpaired"),
            "{}",
            surrogate.text
        );
        let large = json!({"schemas": [USER], "userName": "x".repeat(300)}).to_string();
        let large = api
            .request("POST", "/scim/v2/Users")
            .header("content-type", "application/scim+json")
            .body(large);
        let large = api.send(large).await.expect_error(413, None);
        assert_eq!(
            large.detail(),
            "the request body exceeds the limit of 200 bytes"
        );
    }

    async fn unknown_paths_and_methods_are_scim_errors(adapter: Adapter) {
        let api = Api::start(adapter).await;
        let unknown = api.get("/scim/v2/Widgets").await.expect_error(404, None);
        assert_eq!(unknown.detail(), "no such endpoint: /scim/v2/Widgets");
        // Outside the API's paths: the server's (actix: the API's 404; a host's axum
        // router: its own fallback).
        api.get("/nowhere").await.expect(404);
        let method = api
            .send(api.request("PATCH", "/scim/v2/Users"))
            .await
            .expect_error(405, None);
        assert_eq!(method.detail(), "PATCH is not allowed on /scim/v2/Users");
        api.get("/scim/v2/Me").await.expect_error(501, None);
        let filter = api
            .get("/scim/v2/Users?filter=userName%20eq")
            .await
            .expect_error(400, Some("invalidFilter"));
        assert!(!filter.detail().is_empty());
    }
}
