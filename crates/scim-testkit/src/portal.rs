//! The customer's portal's contract: links and sessions found by their secret's hash and
//! kind while they work, listed per tenant, a revoked link taking its sessions with it,
//! expired ones pruned, all gone with their tenant.

use scim_core::StoreError;
use scim_core::portal::{PortalGrant, PortalKind};
use scim_core::ports::{PortalAccess, TenantDirectory};
use scim_core::tenant::{PurgeStep, TenantId, TokenHash};

use crate::StoreFactory;
use crate::contract::with_tenant;
use crate::fixtures::time;

fn grant(
    id: &str,
    kind: PortalKind,
    tenant: &TenantId,
    link: Option<&str>,
    expires: i64,
) -> PortalGrant {
    PortalGrant {
        id: id.into(),
        kind,
        tenant: tenant.clone(),
        link: link.map(str::to_owned),
        created: time(10),
        expires: time(expires),
    }
}

/// Links open sessions of one tenant; revoking a link ends them.
pub async fn portal_links_and_sessions_are_kept_and_revoked<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await.id;
    let globex = with_tenant(&store, "globex").await.id;
    let hash = |secret: &str| TokenHash::of(secret);
    let link = grant("l1", PortalKind::Link, &acme, None, 1_000);
    let other_link = grant("l2", PortalKind::Link, &acme, None, 2_000);
    let session = grant("s1", PortalKind::Session, &acme, Some("l1"), 500);
    let foreign = grant("l3", PortalKind::Link, &globex, None, 1_000);
    store
        .add_portal_grant(&hash("scim_link"), &link)
        .await
        .unwrap();
    store
        .add_portal_grant(&hash("scim_link2"), &other_link)
        .await
        .unwrap();
    store
        .add_portal_grant(&hash("scim_session"), &session)
        .await
        .unwrap();
    store
        .add_portal_grant(&hash("scim_foreign"), &foreign)
        .await
        .unwrap();

    let now = time(100);
    let found = |secret: &'static str, kind| {
        let store = &store;
        async move { store.portal_grant(&hash(secret), kind, now).await.unwrap() }
    };
    assert_eq!(
        found("scim_link", PortalKind::Link).await,
        Some(link.clone())
    );
    assert_eq!(
        found("scim_session", PortalKind::Session).await,
        Some(session.clone())
    );
    // A link is no session, a session no link; unknown and expired secrets find nothing.
    assert_eq!(found("scim_link", PortalKind::Session).await, None);
    assert_eq!(found("scim_session", PortalKind::Link).await, None);
    assert_eq!(found("scim_unknown", PortalKind::Link).await, None);
    let late = store
        .portal_grant(&hash("scim_session"), PortalKind::Session, time(500))
        .await
        .unwrap();
    assert_eq!(late, None, "a session ends when it expires");
    assert_eq!(
        store.portal_links(&acme, now).await.unwrap(),
        [link.clone(), other_link.clone()]
    );
    assert_eq!(
        store.portal_links(&acme, time(1_500)).await.unwrap(),
        std::slice::from_ref(&other_link)
    );

    // Another tenant cannot revoke a link; its own revocation ends the link's sessions.
    let foreign_revoke = store.revoke_portal_link(&globex, "l1").await;
    assert!(
        matches!(foreign_revoke, Err(StoreError::NotFound)),
        "{foreign_revoke:?}"
    );
    store.revoke_portal_link(&acme, "l1").await.unwrap();
    assert_eq!(found("scim_link", PortalKind::Link).await, None);
    assert_eq!(found("scim_session", PortalKind::Session).await, None);
    let again = store.revoke_portal_link(&acme, "l1").await;
    assert!(matches!(again, Err(StoreError::NotFound)), "{again:?}");

    // A logout ends a session only.
    let second = grant("s2", PortalKind::Session, &acme, Some("l2"), 1_500);
    store
        .add_portal_grant(&hash("scim_second"), &second)
        .await
        .unwrap();
    store.end_portal_session(&hash("scim_link2")).await.unwrap();
    assert!(found("scim_link2", PortalKind::Link).await.is_some());
    store
        .end_portal_session(&hash("scim_second"))
        .await
        .unwrap();
    assert_eq!(found("scim_second", PortalKind::Session).await, None);

    // Pruning removes what expired; a deleted tenant leaves none behind.
    assert_eq!(
        store.prune_portal(time(1_200)).await.unwrap(),
        1,
        "globex's l3"
    );
    assert_eq!(store.portal_links(&globex, now).await.unwrap(), []);
    let mut step = PurgeStep::default();
    while !step.finished {
        step = store.purge_tenant(&acme, 1).await.unwrap();
    }
    assert_eq!(found("scim_link2", PortalKind::Link).await, None);
}
