//! A tenant's own attributes on every store: the definitions (and the tenant's compatibility
//! profile) are kept with the tenant (and come back with its credentials), and lists filter and sort on the attributes when the
//! query carries the tenant's schema.

use std::sync::Arc;

use scim_core::filter::parse;
use scim_core::ports::{CredentialStore, ResourceRepository, TenantDirectory};
use scim_core::query::{ListQuery, Sort, SortOrder};
use scim_core::schema::{CUSTOM_USER_SCHEMA, SchemaRegistry, TenantAttribute, TenantSchemas};
use scim_core::{Expand, ResourceKind};
use serde_json::json;

use crate::StoreFactory;
use crate::contract::{insert_all, with_tenant};
use crate::fixtures::{ids, path, token, user, with};

fn attribute(name: &str, ty: &str) -> TenantAttribute {
    TenantAttribute {
        resource_type: "User".into(),
        schema: CUSTOM_USER_SCHEMA.into(),
        name: name.into(),
        ty: ty.into(),
        multi_valued: false,
        case_exact: false,
        required: false,
        description: String::new(),
    }
}

/// Definitions round-trip with the tenant and its tokens; queries on the attributes select
/// and order as the core's evaluator does.
pub async fn tenant_attributes_are_kept_and_queried<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let tenant = with_tenant(&store, "custom").await;
    let other = with_tenant(&store, "plain").await;
    let defined = vec![
        attribute("costCenter", "string"),
        attribute("level", "integer"),
    ];
    store
        .set_custom_attributes(&tenant.id, &[], &defined)
        .await
        .unwrap();
    let found = store.find_tenant("custom").await.unwrap().unwrap();
    assert_eq!(found.custom_attributes, defined);
    // A change planned from what another change has since replaced is refused.
    assert!(matches!(
        store.set_custom_attributes(&tenant.id, &[], &[]).await,
        Err(scim_core::StoreError::VersionMismatch)
    ));
    assert!(
        store
            .find_tenant("plain")
            .await
            .unwrap()
            .unwrap()
            .custom_attributes
            .is_empty()
    );
    store
        .insert_token(&token("k1", &tenant, "secret-1"))
        .await
        .unwrap();
    let (_, with_token) = store
        .find_token(&scim_core::tenant::TokenHash::of("secret-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(with_token.custom_attributes, defined);
    assert!(matches!(
        store
            .set_custom_attributes(&scim_core::tenant::TenantId("nobody".into()), &[], &defined)
            .await,
        Err(scim_core::StoreError::NotFound)
    ));
    // The compatibility profile is kept with the tenant too.
    let entra = scim_core::compat::Compatibility::profile("entra").unwrap();
    store
        .update_tenant(&tenant.id, &tenant.name, &entra)
        .await
        .unwrap();
    let found = store.find_tenant("custom").await.unwrap().unwrap();
    assert_eq!(
        (found.compatibility, found.custom_attributes),
        (entra, defined.clone())
    );
    let by_id = store.tenant_by_id(&tenant.id).await.unwrap().unwrap();
    assert_eq!(
        (by_id.slug.as_str(), by_id.custom_attributes),
        ("custom", defined.clone())
    );
    let nobody = scim_core::tenant::TenantId("nobody".into());
    assert!(store.tenant_by_id(&nobody).await.unwrap().is_none());
    let plain = store.find_tenant("plain").await.unwrap().unwrap();
    assert_eq!(plain.compatibility.name(), "standard");

    let extended = |id: &str, cost: &str, level: i64| {
        with(
            user(id, id),
            CUSTOM_USER_SCHEMA,
            json!({"costCenter": cost, "level": level}),
        )
    };
    insert_all(
        &store,
        &tenant,
        &[
            extended("u1", "CC-1", 3),
            extended("u2", "cc-2", 1),
            extended("u3", "CC-1", 2),
            user("u4", "u4"),
        ],
    )
    .await;
    insert_all(&store, &other, &[extended("o1", "CC-1", 3)]).await;

    let schemas = TenantSchemas::new(Arc::new(SchemaRegistry::standard()));
    let schema = schemas.of(&defined);
    let query = |filter: &str, sort: Option<&str>| ListQuery {
        filter: Some(parse(filter).unwrap()),
        sort: sort.map(|attribute| Sort {
            path: path(attribute),
            order: SortOrder::Descending,
        }),
        schema: schema.clone(),
        ..ListQuery::default()
    };
    let cost = format!("{CUSTOM_USER_SCHEMA}:costCenter");
    let level = format!("{CUSTOM_USER_SCHEMA}:level");
    let cases = [
        (
            query(&format!("{cost} eq \"cc-1\""), None),
            vec!["u1", "u3"],
        ),
        (
            query(&format!("{level} gt 1"), Some(&level)),
            vec!["u1", "u3"],
        ),
        (
            query(&format!("{cost} pr"), Some(&level)),
            vec!["u1", "u3", "u2"],
        ),
        (query(&format!("not ({cost} pr)"), None), vec!["u4"]),
    ];
    for (query, expected) in cases {
        let page = store
            .list(&tenant.id, ResourceKind::User, &query, Expand::default())
            .await
            .unwrap();
        assert_eq!(ids(&page), expected, "{:?}", query.filter);
        assert_eq!(page.total, expected.len() as u64);
    }
}
