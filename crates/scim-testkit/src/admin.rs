//! Contract tests of the dashboard's store: login links and sessions, usage snapshots.

use chrono::{NaiveDate, TimeDelta, TimeZone, Utc};
use scim_core::admin::{AdminSession, Revocation, SessionScope, UsageDay};
use scim_core::license::Pool;
use scim_core::ports::{AdminRepository, ResourceRepository};
use scim_core::tenant::TokenHash;
use serde_json::json;

use crate::StoreFactory;
use crate::contract::with_tenant;
use crate::fixtures::{user, with, writer};

/// A login link opens one session, once, before it expires, seeing what the link was made
/// for (one tenant, or every tenant); sessions expire, are listed, and end by id, by
/// their secret (a logout) or all at once; expired secrets are forgotten by the next
/// snapshot.
pub async fn login_links_open_one_session_once<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let now = Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap();
    let hour = TimeDelta::hours(1);
    let (link, session) = (TokenHash::of("link-1"), TokenHash::of("session-1"));
    let made = |id: &str, scope: SessionScope, expires| AdminSession {
        id: id.to_owned(),
        scope,
        created: now,
        expires,
    };
    let acme_only = SessionScope::Tenant(acme.id.clone());
    store
        .add_login_link(&link, &made("l1", acme_only.clone(), now + hour))
        .await
        .unwrap();
    // A link is no session.
    assert_eq!(store.admin_session(&link, now).await.unwrap(), None);
    // The session takes the link's scope, whatever it was made with.
    let opening = made("s1", SessionScope::AllTenants, now + hour);
    let opened = store
        .redeem_login_link(&link, &session, &opening, now)
        .await
        .unwrap();
    let expected = made("s1", acme_only.clone(), now + hour);
    assert_eq!(opened.as_ref(), Some(&expected));
    assert_eq!(
        store.admin_session(&session, now).await.unwrap(),
        Some(expected.clone())
    );
    assert_eq!(
        store.admin_session(&session, now + hour).await.unwrap(),
        None
    );
    // Used once: a second try opens nothing.
    let again = TokenHash::of("session-2");
    let reopening = made("s2", SessionScope::AllTenants, now + hour);
    assert_eq!(
        store
            .redeem_login_link(&link, &again, &reopening, now)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.admin_session(&again, now).await.unwrap(), None);
    // An expired link opens nothing, and is gone afterwards.
    let stale = TokenHash::of("link-2");
    store
        .add_login_link(&stale, &made("l2", SessionScope::AllTenants, now - hour))
        .await
        .unwrap();
    assert_eq!(
        store
            .redeem_login_link(&stale, &again, &reopening, now)
            .await
            .unwrap(),
        None
    );
    // A session is not a link.
    assert_eq!(
        store
            .redeem_login_link(&session, &again, &reopening, now)
            .await
            .unwrap(),
        None
    );
    // An every-tenant link opens an every-tenant session.
    let wide = TokenHash::of("link-3");
    store
        .add_login_link(&wide, &made("l3", SessionScope::AllTenants, now + hour))
        .await
        .unwrap();
    let wide_session = TokenHash::of("session-3");
    let opened = store
        .redeem_login_link(
            &wide,
            &wide_session,
            &made("s3", acme_only.clone(), now + hour),
            now,
        )
        .await
        .unwrap();
    assert_eq!(opened.map(|s| s.scope), Some(SessionScope::AllTenants));
    let listed: Vec<String> = store
        .admin_sessions(now)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, ["s1", "s3"]);
    // Revoked by id, by secret, or all at once.
    assert_eq!(
        store
            .revoke_admin_sessions(&Revocation::Id("s1".into()))
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.admin_session(&session, now).await.unwrap(), None);
    assert_eq!(
        store
            .revoke_admin_sessions(&Revocation::Secret(wide_session.clone()))
            .await
            .unwrap(),
        1
    );
    assert!(store.admin_sessions(now).await.unwrap().is_empty());
    let last = TokenHash::of("link-4");
    store
        .add_login_link(&last, &made("l4", SessionScope::AllTenants, now + hour))
        .await
        .unwrap();
    assert_eq!(
        store.revoke_admin_sessions(&Revocation::All).await.unwrap(),
        1
    );
    assert_eq!(
        store
            .redeem_login_link(&last, &again, &reopening, now)
            .await
            .unwrap(),
        None,
        "revoking all ends the links too"
    );
    // Expired sessions are forgotten by the next snapshot.
    let late = TokenHash::of("link-5");
    store
        .add_login_link(&late, &made("l5", SessionScope::AllTenants, now + hour))
        .await
        .unwrap();
    store
        .redeem_login_link(
            &late,
            &session,
            &made("s5", SessionScope::AllTenants, now + hour),
            now,
        )
        .await
        .unwrap();
    store
        .record_usage(now.date_naive(), now + hour * 2)
        .await
        .unwrap();
    assert_eq!(store.admin_session(&session, now).await.unwrap(), None);
}

/// A snapshot holds each pool's seats and use; the day's last one wins; history is per
/// tenant, by sku then day, from the day asked for.
pub async fn usage_is_snapshotted_per_pool_and_day<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let globex = with_tenant(&store, "globex").await;
    for (tenant, sku, seats) in [(&acme, "Pro", 5), (&acme, "basic", 50), (&globex, "pro", 7)] {
        crate::fixtures::set_pool(&*store, &writer(&tenant.id), &Pool::new(sku, seats))
            .await
            .unwrap();
    }
    let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    let at = |d: u32| Utc.with_ymd_and_hms(2026, 11, d, 23, 0, 0).unwrap();
    store.record_usage(day(27), at(27)).await.unwrap();
    for id in ["u1", "u2"] {
        let licensed = with(user(id, id), "entitlements", json!([{"value": "pro"}]));
        store
            .insert(&writer(&acme.id), &licensed, &[])
            .await
            .unwrap();
    }
    store.record_usage(day(28), at(28)).await.unwrap();
    let licensed = with(user("u3", "u3"), "entitlements", json!([{"value": "PRO"}]));
    store
        .insert(&writer(&acme.id), &licensed, &[])
        .await
        .unwrap();
    crate::fixtures::set_pool(&*store, &writer(&acme.id), &Pool::new("pro", 6))
        .await
        .unwrap();
    // Twice on the 29th, the pool changed in between: the later snapshot stands, alone.
    store.record_usage(day(29), at(29)).await.unwrap();
    let licensed = with(user("u4", "u4"), "entitlements", json!([{"value": "pro"}]));
    store
        .insert(&writer(&acme.id), &licensed, &[])
        .await
        .unwrap();
    crate::fixtures::set_pool(&*store, &writer(&acme.id), &Pool::new("pro", 8))
        .await
        .unwrap();
    store.record_usage(day(29), at(29)).await.unwrap();

    let usage = |sku: &str, d: u32, seats: i64, used: i64| UsageDay {
        sku: sku.into(),
        day: day(d),
        seats,
        used,
    };
    assert_eq!(
        store.usage_history(&acme.id, day(28)).await.unwrap(),
        vec![
            usage("basic", 28, 50, 0),
            usage("basic", 29, 50, 0),
            usage("Pro", 28, 5, 2),
            usage("Pro", 29, 8, 4),
        ]
    );
    assert_eq!(
        store.usage_history(&globex.id, day(1)).await.unwrap(),
        vec![
            usage("pro", 27, 7, 0),
            usage("pro", 28, 7, 0),
            usage("pro", 29, 7, 0)
        ]
    );
}
