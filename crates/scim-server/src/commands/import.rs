//! `import`: users from a file, as the CLI reports them.

use serde_json::json;

use crate::wiring::App;

pub(crate) async fn import(
    app: &App,
    tenant: &str,
    path: &std::path::Path,
    json: bool,
) -> anyhow::Result<()> {
    let imported = crate::import::import(app, tenant, path).await?;
    if json {
        println!(
            "{}",
            json!({
                "created": imported.created,
                "replaced": imported.replaced,
                "failed": imported.failed,
            })
        );
    } else {
        println!(
            "created {} users, replaced {}, failed {}",
            imported.created,
            imported.replaced,
            imported.failed.len()
        );
        for failure in &imported.failed {
            println!(
                "  {} {}: {} {}",
                failure["origin"].as_str().unwrap_or_default(),
                failure["userName"].as_str().unwrap_or_default(),
                failure["status"],
                failure["detail"].as_str().unwrap_or_default()
            );
        }
    }
    anyhow::ensure!(
        imported.failed.is_empty(),
        "{} users were not imported",
        imported.failed.len()
    );
    Ok(())
}
