//! Contract tests of the dashboard's store: login links and sessions, usage snapshots.

use chrono::{NaiveDate, TimeDelta, TimeZone, Utc};
use scim_core::admin::{AdminSecretKind, UsageDay};
use scim_core::license::Pool;
use scim_core::ports::{AdminRepository, LicenseLedger, ResourceRepository};
use scim_core::tenant::TokenHash;
use serde_json::json;

use crate::StoreFactory;
use crate::contract::with_tenant;
use crate::fixtures::{user, with, writer};

/// A login link opens one session, once, before it expires; sessions expire; expired
/// secrets are forgotten by the next snapshot.
pub async fn login_links_open_one_session_once<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let now = Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap();
    let (link, session) = (TokenHash::of("link-1"), TokenHash::of("session-1"));
    let hour = TimeDelta::hours(1);
    store
        .add_admin_secret(&link, AdminSecretKind::Link, now + hour)
        .await
        .unwrap();
    // A link is no session.
    assert!(!store.admin_session_valid(&link, now).await.unwrap());
    assert!(
        store
            .redeem_login_link(&link, &session, now + hour, now)
            .await
            .unwrap()
    );
    assert!(store.admin_session_valid(&session, now).await.unwrap());
    assert!(
        !store
            .admin_session_valid(&session, now + hour)
            .await
            .unwrap()
    );
    // Used once: a second try opens nothing.
    let again = TokenHash::of("session-2");
    assert!(
        !store
            .redeem_login_link(&link, &again, now + hour, now)
            .await
            .unwrap()
    );
    assert!(!store.admin_session_valid(&again, now).await.unwrap());
    // An expired link opens nothing, and is gone afterwards.
    let stale = TokenHash::of("link-2");
    store
        .add_admin_secret(&stale, AdminSecretKind::Link, now - hour)
        .await
        .unwrap();
    assert!(
        !store
            .redeem_login_link(&stale, &again, now + hour, now)
            .await
            .unwrap()
    );
    assert!(!store.admin_session_valid(&again, now).await.unwrap());
    // A session is not a link.
    assert!(
        !store
            .redeem_login_link(&session, &again, now + hour, now)
            .await
            .unwrap()
    );
    store
        .record_usage(now.date_naive(), now + hour * 2)
        .await
        .unwrap();
    assert!(!store.admin_session_valid(&session, now).await.unwrap());
}

/// A snapshot holds each pool's seats and use; the day's last one wins; history is per
/// tenant, by sku then day, from the day asked for.
pub async fn usage_is_snapshotted_per_pool_and_day<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let acme = with_tenant(&store, "acme").await;
    let globex = with_tenant(&store, "globex").await;
    for (tenant, sku, seats) in [(&acme, "Pro", 5), (&acme, "basic", 50), (&globex, "pro", 7)] {
        store
            .set_pool(&writer(&tenant.id), &Pool::new(sku, seats))
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
    store
        .set_pool(&writer(&acme.id), &Pool::new("pro", 6))
        .await
        .unwrap();
    // Twice on the 29th: the later one stands.
    store.record_usage(day(29), at(29)).await.unwrap();
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
            usage("Pro", 29, 6, 3),
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
