//! The operator commands, one module per command group; what they share is here.

mod admin;
mod api_key;
mod client;
mod events;
mod import;
mod license;
mod schema;
mod tenant;
mod token;
mod webhook;

pub(crate) use admin::admin;
pub(crate) use api_key::api_key;
pub(crate) use client::client;
pub(crate) use events::events;
pub(crate) use import::import;
pub(crate) use license::license;
pub(crate) use schema::schema;
pub(crate) use tenant::tenant;
pub(crate) use token::token;
pub(crate) use webhook::webhook;

/// Prints `value` (with `--json`) or the sentence `human` makes.
pub(super) fn say(json: bool, value: &serde_json::Value, human: impl FnOnce() -> String) {
    if json {
        println!("{value}");
    } else {
        println!("{}", human());
    }
}
