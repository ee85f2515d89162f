//! The product's routes and SCIM side by side, in one router, with the product's keys.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: failing loudly on a broken fixture is the point"
)]

use axum::body::Body;
use bytes::Bytes;
use scim_axum_example::Product;
use scim_core::Caller;
use scim_core::license::MappingSource;
use serde_json::{Value, json};
use tower::ServiceExt;

async fn call(
    product: &Product,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "product.example");
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    let body = match body {
        Some(body) => {
            request = request.header("content-type", "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    let response = product
        .router()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes: Bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn the_products_routes_and_scim_share_one_router() {
    let product = Product::new().unwrap();
    let (status, created) = call(
        &product,
        "POST",
        "/api/projects",
        None,
        Some(json!({"name": "apollo"})),
    )
    .await;
    assert_eq!((status, created["name"].clone()), (201, json!("apollo")));
    let (_, listed) = call(&product, "GET", "/api/projects", None, None).await;
    assert_eq!(listed["projects"][0]["name"], "apollo");
    // The product's own fallback (axum's) still answers what neither serves.
    assert_eq!(call(&product, "GET", "/nowhere", None, None).await.0, 404);
    // Discovery needs no key.
    let (status, config) = call(
        &product,
        "GET",
        "/scim/v2/ServiceProviderConfig",
        None,
        None,
    )
    .await;
    assert_eq!(
        (status, config["patch"]["supported"].clone()),
        (200, json!(true))
    );
}

#[tokio::test]
async fn the_idp_signs_in_with_the_products_key_and_seats_are_the_cores() {
    let product = Product::new().unwrap();
    let (acme, key) = product.add_customer("acme").await.unwrap();
    let (_, other_key) = product.add_customer("globex").await.unwrap();
    let operator = Caller::new(acme.id.clone(), "product", "sold seats");
    let licenses = &product.services.licenses;
    licenses
        .set_pool(&operator, "pro", &scim_core::service::PoolChange::seats(1))
        .await
        .unwrap();
    licenses
        .map(&operator, MappingSource::Entitlement, "pro", "pro")
        .await
        .unwrap();

    let (status, refused) = call(&product, "GET", "/scim/v2/Users", None, None).await;
    assert_eq!((status, refused["status"].clone()), (401, json!("401")));
    let (status, _) = call(&product, "GET", "/scim/v2/Users", Some("pk_wrong"), None).await;
    assert_eq!(status, 401);

    let ada = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                     "userName": "ada", "entitlements": [{"value": "pro"}]});
    let (status, created) = call(&product, "POST", "/scim/v2/Users", Some(&key), Some(ada)).await;
    assert_eq!(status, 201, "{created}");
    let licenses_of = &created["urn:scim-license:schemas:extension:license:2.0:User"];
    assert_eq!(licenses_of["licenses"][0]["sku"], "pro");
    assert_eq!(
        created["meta"]["location"],
        format!(
            "http://product.example/scim/v2/Users/{}",
            created["id"].as_str().unwrap()
        )
    );
    let bob = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                     "userName": "bob", "entitlements": [{"value": "pro"}]});
    let (status, full) = call(&product, "POST", "/scim/v2/Users", Some(&key), Some(bob)).await;
    assert_eq!(
        (status, full["scimType"].clone()),
        (400, json!("invalidValue"))
    );
    assert_eq!(
        full["detail"],
        "license pool 'pro' has no free seat: 1 of 1 seats are assigned"
    );
    // Another customer's key sees another tenant.
    let (_, listed) = call(&product, "GET", "/scim/v2/Users", Some(&other_key), None).await;
    assert_eq!(listed["totalResults"], 0);
}
