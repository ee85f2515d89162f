//! The core engine's license tables, played through a store: the same tenant stated once as
//! a [`Licensing`] model and once as SCIM writes, and the store must end where the model
//! does (holdings, pools' use, license events in order, who waits, who is refused). This is
//! what proves a store hands the engine the right users, facts and seats.

use scim_core::events::{LICENSE_ASSIGNED, LICENSE_REVOKED, POOL_EXHAUSTED};
use scim_core::license::{Licensing, MappingRule, MappingSource, Pool};
use scim_core::ports::{BatchWrite, EventLog, LicenseLedger, ResourceRepository};
use scim_core::schema::LICENSE_USER_EXTENSION;
use scim_core::tenant::TenantId;
use scim_core::{Expand, MembershipChange, NewMember, Resource, ResourceKind, StoreError};
use serde_json::{Value, json};

use crate::StoreFactory;
use crate::contract::with_tenant;
use crate::fixtures::{add_rule, group, next_version, set_pool, user, with, writer};

/// What the tables need of a store: the ports licenses go through.
trait LicensedStore: ResourceRepository + LicenseLedger + EventLog {}

impl<T: ResourceRepository + LicenseLedger + EventLog> LicensedStore for T {}

/// The tenants [`play_engine_tables`] writes to, one per table, by slug.
const TABLE_TENANTS: [&str; 6] = [
    "handover",
    "refused",
    "seats-last",
    "bulk",
    "lifecycle",
    "source",
];

/// One tenant of the store, written to as an IdP and an admin would.
struct Tenancy<'a> {
    store: &'a dyn LicensedStore,
    tenant: TenantId,
    /// Versions written so far, for the next write's `meta`.
    millis: i64,
}

impl<'a> Tenancy<'a> {
    fn open(store: &'a dyn LicensedStore, tenant: TenantId) -> Self {
        Self {
            store,
            tenant,
            millis: 2_000,
        }
    }

    async fn pool(&self, sku: &str, seats: i64) {
        set_pool(self.store, &writer(&self.tenant), &Pool::new(sku, seats))
            .await
            .unwrap();
    }

    async fn rule(&self, source: MappingSource, value: &str, sku: &str) -> Vec<(String, String)> {
        let rule = MappingRule::new(source, value, sku);
        add_rule(self.store, &writer(&self.tenant), &rule)
            .await
            .unwrap()
            .unwrap_or_default()
            .waiting
    }

    /// Creates a user with these `entitlements` and `roles` values. What the insert says
    /// the user holds must be what a read of it shows.
    async fn user(
        &self,
        id: &str,
        entitlements: &[&str],
        roles: &[&str],
    ) -> Result<(), StoreError> {
        let person = person(id, entitlements, roles);
        let held = self
            .store
            .insert(&writer(&self.tenant), &person, &[])
            .await?;
        let mut said = person;
        said.show_licenses(&held);
        let read = self.read(ResourceKind::User, id).await;
        assert_eq!(
            said.attributes.get(LICENSE_USER_EXTENSION),
            read.attributes.get(LICENSE_USER_EXTENSION),
            "the insert of {id} and a read disagree on its licenses"
        );
        Ok(())
    }

    async fn group(&self, id: &str, name: &str, members: &[&str]) {
        let add = MembershipChange::Add(members.iter().map(|m| NewMember::id(*m)).collect());
        self.store
            .insert(&writer(&self.tenant), &group(id, name), &[add])
            .await
            .unwrap();
    }

    async fn read(&self, kind: ResourceKind, id: &str) -> Resource {
        let expand = Expand {
            licenses: true,
            ..Expand::default()
        };
        self.store
            .get(&self.tenant, kind, id, expand)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{kind} {id} is gone"))
    }

    /// Replaces a resource with `change` applied to it.
    async fn replace(
        &mut self,
        kind: ResourceKind,
        id: &str,
        change: impl FnOnce(Resource) -> Resource,
        members: &[MembershipChange],
    ) -> Result<(), StoreError> {
        let stored = self.read(kind, id).await;
        let version = stored.meta.version;
        let mut next = change(stored);
        next.attributes.remove(LICENSE_USER_EXTENSION);
        self.millis += 1_000;
        let next = next_version(&next, self.millis);
        self.store
            .update(&writer(&self.tenant), &next, version, members)
            .await
    }

    /// What each user holds, as [`Licensing::holdings`] says it.
    async fn holdings(&self, ids: &[&str]) -> Vec<String> {
        let mut lines = Vec::new();
        for id in ids {
            let user = self.read(ResourceKind::User, id).await;
            let held: Vec<String> = user
                .attributes
                .get(LICENSE_USER_EXTENSION)
                .and_then(|extension| extension["licenses"].as_array().cloned())
                .unwrap_or_default()
                .iter()
                .map(|license| format!("{} ({})", text(&license["sku"]), text(&license["source"])))
                .collect();
            lines.push(format!("{id}: {}", held.join(", ")));
        }
        lines
    }

    /// Each pool as [`Licensing::pools`] says it, in the order given.
    async fn pools(&self, skus: &[&str]) -> Vec<String> {
        let pools = self.store.pools(&self.tenant).await.unwrap();
        skus.iter()
            .map(|sku| {
                let pool = pools.iter().find(|pool| pool.sku == *sku).unwrap();
                format!("{} {}/{}", pool.sku, pool.seats, pool.used)
            })
            .collect()
    }

    async fn last_event(&self) -> i64 {
        let events = self.store.events_after(&self.tenant, 0, 100_000).await;
        events.unwrap().last().map_or(0, |event| event.seq)
    }

    /// The license events recorded after `after`, in order, as [`Licensing`] says them.
    async fn license_events(&self, after: i64) -> Vec<String> {
        let events = self.store.events_after(&self.tenant, after, 1_000).await;
        let mut lines = Vec::new();
        for stored in events.unwrap() {
            let event = &stored.event;
            let user = event.subject.trim_start_matches("/Users/");
            if let Some(body) = event.events.get(LICENSE_REVOKED) {
                lines.push(format!("{user} -{}", text(&body["sku"])));
            }
            if let Some(body) = event.events.get(LICENSE_ASSIGNED) {
                let (sku, source) = (text(&body["sku"]), text(&body["source"]));
                lines.push(format!("{user} +{sku} ({source})"));
            }
            if let Some(body) = event.events.get(POOL_EXHAUSTED) {
                let sku = text(&body["sku"]);
                lines.push(format!(
                    "{sku} exhausted {}/{}",
                    body["seats"], body["used"]
                ));
            }
        }
        lines
    }
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

fn person(id: &str, entitlements: &[&str], roles: &[&str]) -> Resource {
    let values =
        |values: &[&str]| -> Value { values.iter().map(|value| json!({"value": value})).collect() };
    let mut person = user(id, id);
    if !entitlements.is_empty() {
        person = with(person, "entitlements", values(entitlements));
    }
    if !roles.is_empty() {
        person = with(person, "roles", values(roles));
    }
    person
}

/// The model's lines that are license events (what a store records), in order.
fn event_lines(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|line| line.contains(" -") || line.contains(" +") || line.contains(" exhausted "))
        .cloned()
        .collect()
}

fn refusal(result: Result<(), StoreError>) -> String {
    match result {
        Err(StoreError::SeatsExhausted { sku, seats, used }) => {
            format!("refused: {sku} {seats}/{used}")
        }
        other => format!("{other:?}"),
    }
}

/// The engine tables, played through the server's store.
pub async fn the_engine_tables_hold_in_the_store<F: StoreFactory>(factory: &F) {
    let store = factory.open().await;
    let mut tenants = Vec::new();
    for slug in TABLE_TENANTS {
        tenants.push((slug, with_tenant(&store, slug).await.id));
    }
    let tenant_of = |slug: &str| {
        let found = tenants.iter().find(|(known, _)| *known == slug);
        found.map(|(_, id)| id.clone()).unwrap()
    };
    play_engine_tables(&*store, &tenant_of).await;
}

/// The full pool handed over in one write, a refused write, while-seats-last, a /Bulk run
/// seated user by user, deactivation, deletion and a change of source: each stated as an
/// engine table and played through `store`, which must agree line for line. `tenant_of`
/// names the store's tenant for each of [`TABLE_TENANTS`] (empty, created by the caller).
async fn play_engine_tables(store: &dyn LicensedStore, tenant_of: &dyn Fn(&str) -> TenantId) {
    // A full pool: B leaves Sales as A joins it, in one PATCH of the group.
    let mut model = Licensing::new()
        .pool("pro", 1)
        .rule("group Sales -> pro")
        .user("A", "group:Sales")
        .user("B", "holds:pro(group)");
    let expected = model.write(&["A", "B"]);
    assert_eq!(expected, ["B -pro", "A +pro (group)"]);
    let mut t = Tenancy::open(store, tenant_of("handover"));
    t.pool("pro", 1).await;
    t.rule(MappingSource::Group, "Sales", "pro").await;
    t.user("A", &[], &[]).await.unwrap();
    t.user("B", &[], &[]).await.unwrap();
    t.group("g", "Sales", &["B"]).await;
    let before = t.last_event().await;
    let swap = [
        MembershipChange::Remove(vec!["B".into()]),
        MembershipChange::Add(vec![NewMember::id("A")]),
    ];
    t.replace(ResourceKind::Group, "g", |g| g, &swap)
        .await
        .unwrap();
    assert_eq!(t.license_events(before).await, event_lines(&expected));
    assert_eq!(t.holdings(&["A", "B"]).await, model.holdings());
    assert_eq!(t.pools(&["pro"]).await, model.pools());

    // A write needing a seat of a full pool is refused whole: not even basic's free seat.
    let mut model = Licensing::new()
        .pool("pro", 1)
        .pool("basic", 5)
        .rule("group Sales -> pro")
        .rule("group Sales -> basic")
        .user("A", "group:Sales")
        .user("B", "entitlement:pro holds:pro");
    let expected = model.write(&["A"]);
    let mut t = Tenancy::open(store, tenant_of("refused"));
    t.pool("pro", 1).await;
    t.pool("basic", 5).await;
    t.rule(MappingSource::Group, "Sales", "pro").await;
    t.rule(MappingSource::Group, "Sales", "basic").await;
    t.user("A", &[], &[]).await.unwrap();
    t.user("B", &["pro"], &[]).await.unwrap();
    t.group("g", "Sales", &[]).await;
    let add = [MembershipChange::Add(vec![NewMember::id("A")])];
    let refused = t.replace(ResourceKind::Group, "g", |g| g, &add).await;
    assert_eq!([refusal(refused)], expected.as_slice());
    assert_eq!(t.holdings(&["A", "B"]).await, model.holdings());
    assert_eq!(t.pools(&["pro", "basic"]).await, model.pools());

    // An admin's new rule: seats in creation order while they last, the rest wait.
    let mut model = Licensing::new()
        .pool("pro", 2)
        .rule("role admin -> pro")
        .user("A", "role:Admin")
        .user("B", "role:admin")
        .user("C", "role:ADMIN");
    let expected = model.reevaluate();
    let t = Tenancy::open(store, tenant_of("seats-last"));
    t.pool("pro", 2).await;
    for (id, role) in [("A", "Admin"), ("B", "admin"), ("C", "ADMIN")] {
        t.user(id, &[], &[role]).await.unwrap();
    }
    let before = t.last_event().await;
    let waiting = t.rule(MappingSource::Role, "admin", "pro").await;
    assert_eq!(t.license_events(before).await, event_lines(&expected));
    let waiting: Vec<String> = waiting
        .iter()
        .map(|(id, sku)| format!("{id} waits for {sku}"))
        .collect();
    assert_eq!(waiting, ["C waits for pro"]);
    assert!(expected.contains(&waiting[0]));
    assert_eq!(t.holdings(&["A", "B", "C"]).await, model.holdings());
    assert_eq!(t.pools(&["pro"]).await, model.pools());

    // A /Bulk run of new users: each seated whole, in order, or refused.
    let mut model = Licensing::new()
        .pool("pro", 1)
        .pool("basic", 2)
        .user("A", "entitlement:basic entitlement:pro")
        .user("B", "entitlement:basic entitlement:pro")
        .user("C", "entitlement:basic");
    let expected = model.bulk_create(&["A", "B", "C"]);
    let t = Tenancy::open(store, tenant_of("bulk"));
    t.pool("pro", 1).await;
    t.pool("basic", 2).await;
    let before = t.last_event().await;
    let writes: Vec<BatchWrite> = [
        ("A", &["basic", "pro"][..]),
        ("B", &["basic", "pro"]),
        ("C", &["basic"]),
    ]
    .into_iter()
    .map(|(id, skus)| BatchWrite::Insert {
        resource: person(id, skus, &[]),
        members: vec![],
        events: vec![],
    })
    .collect();
    let results = store
        .write_batch(&writer(&t.tenant), &writes)
        .await
        .unwrap();
    let refused: Vec<String> = ["A", "B", "C"]
        .into_iter()
        .zip(results)
        .filter(|(_, result)| result.is_err())
        .map(|(id, result)| format!("{id} {}", refusal(result)))
        .collect();
    assert_eq!(refused, ["B refused: pro 1/1"]);
    assert!(expected.contains(&refused[0]));
    assert_eq!(t.license_events(before).await, event_lines(&expected));
    assert_eq!(t.holdings(&["A", "C"]).await, model.holdings());
    assert_eq!(t.pools(&["pro", "basic"]).await, model.pools());

    // Deactivation revokes everything, direct and through a group; deletion frees seats.
    let mut model = Licensing::new()
        .pool("pro", 1)
        .pool("basic", 1)
        .rule("group Everyone -> basic")
        .user(
            "A",
            "entitlement:pro group:Everyone holds:pro holds:basic(group)",
        )
        .user("B", "entitlement:pro");
    model.set("A", "inactive entitlement:pro group:Everyone");
    let deactivated = model.write(&["A"]);
    assert_eq!(deactivated, ["A -basic", "A -pro"]);
    let mut t = Tenancy::open(store, tenant_of("lifecycle"));
    t.pool("pro", 1).await;
    t.pool("basic", 1).await;
    t.rule(MappingSource::Group, "Everyone", "basic").await;
    t.user("A", &["pro"], &[]).await.unwrap();
    t.group("g", "Everyone", &["A"]).await;
    let before = t.last_event().await;
    let inactive = |user| with(user, "active", json!(false));
    t.replace(ResourceKind::User, "A", inactive, &[])
        .await
        .unwrap();
    assert_eq!(t.license_events(before).await, deactivated);
    assert_eq!(t.holdings(&["A"]).await, ["A: "]);
    assert_eq!(t.pools(&["pro", "basic"]).await, model.pools());
    // B takes the freed pro seat; deleting B frees it again.
    assert_eq!(
        model.write(&["B"]),
        ["B +pro (direct)", "pro exhausted 1/1"]
    );
    let deleted = model.delete("B");
    t.user("B", &["pro"], &[]).await.unwrap();
    let before = t.last_event().await;
    let owner = writer(&t.tenant);
    store
        .delete(&owner, ResourceKind::User, "B", None)
        .await
        .unwrap();
    assert_eq!(t.license_events(before).await, deleted);
    assert_eq!(t.pools(&["pro", "basic"]).await, model.pools());

    // A sku granted another way stays: its source follows, no seat moves, no event.
    let mut model = Licensing::new()
        .pool("pro", 1)
        .rule("group Sales -> pro")
        .user("A", "entitlement:pro group:Sales holds:pro(group)");
    assert_eq!(model.write(&["A"]), ["A pro now direct"]);
    let mut t = Tenancy::open(store, tenant_of("source"));
    t.pool("pro", 1).await;
    t.rule(MappingSource::Group, "Sales", "pro").await;
    t.user("A", &[], &[]).await.unwrap();
    t.group("g", "Sales", &["A"]).await;
    assert_eq!(t.holdings(&["A"]).await, ["A: pro (group)"]);
    let before = t.last_event().await;
    let entitled = |user| with(user, "entitlements", json!([{"value": "pro"}]));
    t.replace(ResourceKind::User, "A", entitled, &[])
        .await
        .unwrap();
    assert!(t.license_events(before).await.is_empty());
    assert_eq!(t.holdings(&["A"]).await, model.holdings());
    assert_eq!(t.pools(&["pro"]).await, model.pools());
}
