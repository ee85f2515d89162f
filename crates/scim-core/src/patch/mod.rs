//! The PATCH engine (RFC 7644 §3.5.2): one engine for Users and Groups, with the shapes real
//! identity providers send normalised on the way in (the `dialect` module).
//!
//! [`parse_patch`] reads the PatchOp body; [`apply_patch`] applies it to a resource's
//! attributes and returns the new attributes plus the changes to a Group's `members`, which
//! are stored apart (as membership rows) and so never expanded into the attributes.
//!
//! Decisions, where the RFC leaves room or IdPs stray from it:
//! - Op names, attribute names and URNs compare case-insensitively; results use canonical
//!   names.
//! - `add` of a multi-valued attribute appends, skipping values already present (exactly
//!   equal after type coercion); `add` and `replace` of a single-valued complex attribute set
//!   the sub-attributes the value names and keep the others (RFC 7644 §3.5.2.3).
//! - Path-less `add`/`replace` apply each key of the value as its own path, so Entra ID's
//!   `"name.givenName"` and `"urn:…:User:department"` keys work. ReadOnly attributes in such
//!   a value (`id`, `meta`, `groups`) are ignored, as a PUT ignores them; a path naming one is
//!   400 `mutability`.
//! - Writes through `attr[filter]` and `attr[filter].sub` change every matching element.
//!   When none matches, an `add` (or a write of a sub-attribute) creates the element the
//!   filter's `eq` comparisons describe (`emails[type eq "work"].value` → a new work email);
//!   any other filter, and `replace` of whole elements, is 400 `noTarget`.
//! - `remove` through a filter that matches nothing changes nothing (removal is idempotent,
//!   and IdPs retry). `remove` with a `value` list and no filter removes the elements whose
//!   `value` is listed (Entra ID's member removal), for every multi-valued attribute.
//! - Removing a required attribute is 400 `mutability` (RFC 7644 §3.5.2.2); an immutable
//!   attribute or sub-attribute may be given a value, not changed or removed.
//! - Setting `"primary": true` on one element clears it on the others.
//! - The result passes the validation of a PUT body, so types, required attributes and the
//!   one-primary rule hold whatever the operations were.

mod apply;
mod dialect;
mod path;
mod request;

#[cfg(test)]
mod tests;

pub use apply::{Member, MemberChange, PatchOutcome, apply_patch};
pub use path::PatchPath;
pub use request::{
    MAX_PATCH_OPERATIONS, PATCH_OP_SCHEMA, PatchOp, PatchOperation, PatchRequest, parse_patch,
};
