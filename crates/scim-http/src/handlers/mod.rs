//! Request handlers, grouped by what they serve.

pub(crate) mod bulk;
pub(crate) mod discovery;
pub(crate) mod events;
pub(crate) mod health;
pub(crate) mod licenses;
pub(crate) mod oauth;
pub(crate) mod resources;
pub(crate) mod search;
