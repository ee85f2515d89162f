//! `schema add|list|remove`: a tenant's own attributes.

use serde_json::json;

use scim_core::schema::{TenantAttribute, default_custom_schema};

use crate::cli::SchemaCommand;
use crate::wiring::App;

use super::say;

pub(crate) async fn schema(app: &App, command: SchemaCommand) -> anyhow::Result<()> {
    let default_schema = |resource: &str| default_custom_schema(resource).to_owned();
    let (tenant, attributes, json, said) = match command {
        SchemaCommand::Add {
            tenant,
            name,
            ty,
            resource,
            schema,
            multi_valued,
            case_exact,
            required,
            description,
            json,
        } => {
            let attribute = TenantAttribute {
                schema: schema.unwrap_or_else(|| default_schema(&resource)),
                resource_type: resource,
                name,
                ty,
                multi_valued,
                case_exact,
                required,
                description,
            };
            let said = format!(
                "added {}:{} ({}) to the {}s of tenant '{tenant}'",
                attribute.schema, attribute.name, attribute.ty, attribute.resource_type
            );
            let attributes = app
                .services
                .tenants
                .add_custom_attribute(&tenant, attribute)
                .await?;
            (tenant, attributes, json, Some(said))
        }
        SchemaCommand::Remove {
            tenant,
            name,
            resource,
            schema,
            json,
        } => {
            let schema = schema.unwrap_or_else(|| default_schema(&resource));
            let attributes = app
                .services
                .tenants
                .remove_custom_attribute(&tenant, &schema, &name)
                .await?;
            let said = format!("removed {schema}:{name} from tenant '{tenant}'");
            (tenant, attributes, json, Some(said))
        }
        SchemaCommand::List { tenant, json } => {
            let attributes = app
                .services
                .tenants
                .tenant(&tenant)
                .await?
                .custom_attributes;
            (tenant, attributes, json, None)
        }
    };
    let value = json!({"tenant": tenant, "attributes": attributes});
    say(json, &value, || {
        let mut text = said.map(|s| format!("{s}\n")).unwrap_or_default();
        text.push_str(&format!(
            "{:<6} {:<64} {:<9} {:<6} {:<10} DESCRIPTION",
            "ON", "ATTRIBUTE", "TYPE", "MULTI", "CASEEXACT"
        ));
        for a in &attributes {
            text.push_str(&format!(
                "\n{:<6} {:<64} {:<9} {:<6} {:<10} {}",
                a.resource_type,
                format!("{}:{}", a.schema, a.name),
                a.ty,
                a.multi_valued,
                a.case_exact,
                a.description
            ));
        }
        text
    });
    Ok(())
}
