//! End-to-end tests: each starts the real `scim-server` binary on a random port, on the
//! embedded SQLite store or a fresh PostgreSQL database, and speaks HTTP to it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a broken fixture should fail the test loudly"
)]

mod helpers;

mod activity;
mod bench_tool;
mod bulk;
mod cli;
mod custom_schema;
mod dashboard;
mod discovery;
mod entra;
mod entra_roles;
mod errors;
mod events;
mod fairness;
mod faults;
mod federation;
mod hardening;
mod import;
mod isolation;
mod issuer;
mod jobs;
mod license_discovery;
mod licensing;
mod management;
mod management_guide;
mod msvalidator;
mod oauth;
mod okta;
mod okta_spec;
mod openapi;
mod operations;
mod outage;
mod poll;
mod portal;
mod portal_browser;
mod profiles;
mod protocol;
mod receiver;
mod replicas;
mod retention;
mod secrets;
mod security;
mod tls;
mod users;
mod webdriver;
mod webhooks;
