//! `events`: a tenant's recorded events.

use scim_core::resource::format_time;
use serde_json::json;

use crate::wiring::App;

/// `events`: the tenant's recorded events as one JSON array.
pub(crate) async fn events(app: &App, slug: &str, after: i64, limit: usize) -> anyhow::Result<()> {
    let tenant = app.services.tenants.tenant(slug).await?;
    let events = app
        .services
        .events
        .events_after(&tenant.id, after, limit)
        .await
        .map_err(|error| anyhow::anyhow!("reading the events: {error}"))?;
    let rows: Vec<serde_json::Value> = events
        .iter()
        .map(|stored| {
            let mut sub_id = json!({"format": "scim", "uri": stored.event.subject});
            if let Some(external_id) = &stored.event.external_id {
                sub_id["externalId"] = json!(external_id);
            }
            let mut row = json!({
                "seq": stored.seq,
                "at": format_time(&stored.at),
                "sub_id": sub_id,
                "events": stored.event.events,
            });
            if let Some(txn) = &stored.event.txn {
                row["txn"] = json!(txn);
            }
            row
        })
        .collect();
    println!("{}", serde_json::Value::Array(rows));
    Ok(())
}
