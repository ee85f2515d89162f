//! `events`: a tenant's recorded events.

use crate::wiring::App;

/// `events`: the tenant's recorded events as one JSON array.
pub(crate) async fn events(app: &App, slug: &str, after: i64, limit: usize) -> anyhow::Result<()> {
    let tenant = app.services.tenants.tenant(slug).await?;
    let events = app
        .services
        .feed()
        .events_after(&tenant.id, after, limit)
        .await
        .map_err(|error| anyhow::anyhow!("reading the events: {error}"))?;
    let rows: Vec<serde_json::Value> = events.iter().map(|stored| stored.feed_entry()).collect();
    println!("{}", serde_json::Value::Array(rows));
    Ok(())
}
