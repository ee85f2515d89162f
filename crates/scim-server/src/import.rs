//! `scim-server import`: users from a directory export (CSV or JSON files), provisioned
//! through the bulk engine exactly as `POST /Users?bulk=true` does: a user whose userName
//! exists is replaced, any other is created, licenses and events follow as for an IdP's
//! writes. Re-running an import therefore converges instead of failing.
//!
//! - JSON: a user object, a list of them, or a ListResponse (`Resources`).
//! - CSV: a header row naming SCIM attributes: `userName`, `name.givenName`,
//!   `active`, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`…;
//!   `emails`, `phoneNumbers`, `entitlements`, `roles` and `groups` take `;`-separated
//!   values (the first email is primary). Empty cells are left out.
//! - A directory: its `.json` and `.csv` files, by name.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use scim_core::Caller;
use scim_core::bulk::BulkLimits;
use scim_core::service::BulkService;
use serde_json::{Map, Value, json};

use crate::progress::progress_bar;
use crate::wiring::App;

/// Users per bulk run (one /Bulk request's worth).
const CHUNK: usize = 1_000;

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// Multi-valued attributes a CSV cell lists with `;`.
const MULTI_VALUED: [&str; 5] = ["emails", "phoneNumbers", "entitlements", "roles", "groups"];

/// One user read from the export, and where it was read.
struct Record {
    origin: String,
    user: Value,
}

/// What an import did.
#[derive(Debug, Default)]
pub(crate) struct Imported {
    pub(crate) created: u64,
    pub(crate) replaced: u64,
    pub(crate) failed: Vec<Value>,
}

pub(crate) async fn import(app: &App, slug: &str, path: &Path) -> anyhow::Result<Imported> {
    let tenant = app.services.tenants.tenant(slug).await?;
    let records = read_path(path)?;
    let caller = Caller::new(
        tenant.id.clone(),
        "cli",
        format!("import {}", path.display()),
    )
    .with_schema(app.services.schemas.of(&tenant.custom_attributes));
    let bulk = BulkService::new(
        app.services.resources.clone(),
        BulkLimits {
            max_operations: CHUNK,
        },
    );
    let bar = progress_bar(records.len() as u64, "importing users");
    let mut imported = Imported::default();
    for chunk in records.chunks(CHUNK) {
        let users: Vec<Value> = chunk.iter().map(|r| r.user.clone()).collect();
        let outcomes = bulk
            .upsert_users(&caller, &json!({"Resources": users}))
            .await
            .context("the store refused the import")?;
        for outcome in outcomes {
            match outcome.status {
                201 => imported.created += 1,
                200 => imported.replaced += 1,
                status => {
                    let record = chunk.get(outcome.index);
                    imported.failed.push(json!({
                        "origin": record.map(|r| r.origin.as_str()),
                        "userName": record.and_then(|r| r.user.get("userName")),
                        "status": status,
                        "detail": outcome.error.map(|e| e.detail),
                    }));
                }
            }
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(imported)
}

/// Every user of a file or of a directory's `.json` and `.csv` files.
fn read_path(path: &Path) -> anyhow::Result<Vec<Record>> {
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("reading {}", path.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| matches!(extension(p).as_deref(), Some("json" | "csv")))
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_owned()]
    };
    let mut records = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let name = file.display().to_string();
        match extension(&file).as_deref() {
            Some("json") => records.extend(json_users(&name, &text)?),
            Some("csv") => records.extend(csv_users(&name, &text)?),
            _ => bail!("{name}: only .json and .csv files can be imported"),
        }
    }
    Ok(records)
}

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

fn json_users(name: &str, text: &str) -> anyhow::Result<Vec<Record>> {
    let value: Value = serde_json::from_str(text).with_context(|| format!("{name}: not JSON"))?;
    let users = match value {
        Value::Array(users) => users,
        Value::Object(object) => match object.get("Resources") {
            Some(Value::Array(users)) => users.clone(),
            Some(_) => bail!("{name}: `Resources` must be a list of users"),
            None => vec![Value::Object(object)],
        },
        _ => bail!("{name}: expected a user, a list of users or a ListResponse"),
    };
    Ok(users
        .into_iter()
        .enumerate()
        .map(|(i, user)| Record {
            origin: format!("{name}#{}", i + 1),
            user,
        })
        .collect())
}

fn csv_users(name: &str, text: &str) -> anyhow::Result<Vec<Record>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .with_context(|| format!("{name}: no header row"))?
        .clone();
    if !headers.iter().any(|h| h == "userName") {
        bail!("{name}: the header row has no `userName` column");
    }
    let mut records = Vec::new();
    for row in reader.records() {
        let row = row.with_context(|| format!("{name}: unreadable row"))?;
        let line = row.position().map_or(0, csv::Position::line);
        let mut user = Map::new();
        user.insert("schemas".into(), json!([USER_SCHEMA]));
        for (header, cell) in headers.iter().zip(row.iter()) {
            if !cell.is_empty() {
                set_cell(&mut user, header, cell);
            }
        }
        records.push(Record {
            origin: format!("{name}:{line}"),
            user: Value::Object(user),
        });
    }
    Ok(records)
}

/// Puts one CSV cell into the user: `a.b` nests, a URN prefix names an extension,
/// multi-valued attributes split on `;`, `active` is a boolean.
fn set_cell(user: &mut Map<String, Value>, header: &str, cell: &str) {
    let (target, path) = match header.rsplit_once(':') {
        Some((urn, path)) if header.starts_with("urn:") => {
            let extension = user
                .entry(urn.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(extension) = extension else {
                return;
            };
            (extension, path)
        }
        _ => (user, header),
    };
    let value = if MULTI_VALUED.contains(&path) {
        let values: Vec<Value> = cell
            .split(';')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .enumerate()
            .map(|(i, v)| {
                if path == "emails" {
                    json!({"value": v, "primary": i == 0})
                } else {
                    json!({"value": v})
                }
            })
            .collect();
        Value::Array(values)
    } else if path == "active" {
        match cell.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Value::Bool(true),
            "false" | "0" | "no" => Value::Bool(false),
            // Left for the validation to refuse, naming the value.
            _ => Value::String(cell.to_owned()),
        }
    } else {
        Value::String(cell.to_owned())
    };
    let mut parts: Vec<&str> = path.split('.').collect();
    let Some(last) = parts.pop() else {
        return;
    };
    let mut object = target;
    for part in parts {
        let next = object
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(next) = next else {
            return;
        };
        object = next;
    }
    object.insert(last.to_owned(), value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_become_scim_users() {
        let csv = "userName,name.givenName,name.familyName,emails,active,entitlements,\
                   urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department\n\
                   ann@example.com,Ann,Lee,ann@example.com;ann@home.example,false,pro; gold,Sales\n\
                   \"bob, jr\",,,,,,\n";
        let records = csv_users("users.csv", csv).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].origin, "users.csv:2");
        assert_eq!(
            records[0].user,
            json!({
                "schemas": [USER_SCHEMA],
                "userName": "ann@example.com",
                "name": {"givenName": "Ann", "familyName": "Lee"},
                "emails": [{"value": "ann@example.com", "primary": true},
                           {"value": "ann@home.example", "primary": false}],
                "active": false,
                "entitlements": [{"value": "pro"}, {"value": "gold"}],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"},
            })
        );
        assert_eq!(
            records[1].user,
            json!({"schemas": [USER_SCHEMA], "userName": "bob, jr"})
        );
    }

    #[test]
    fn json_exports_come_as_a_user_a_list_or_a_list_response() {
        let one = json_users("a.json", r#"{"userName": "a"}"#).unwrap();
        let list = json_users("b.json", r#"[{"userName": "a"}, {"userName": "b"}]"#).unwrap();
        let page = json_users("c.json", r#"{"Resources": [{"userName": "a"}]}"#).unwrap();
        assert_eq!((one.len(), list.len(), page.len()), (1, 2, 1));
        assert_eq!(list[1].origin, "b.json#2");
        assert!(json_users("d.json", "42").is_err());
        assert!(
            csv_users("e.csv", "name\nx\n").is_err(),
            "userName is required"
        );
    }
}
