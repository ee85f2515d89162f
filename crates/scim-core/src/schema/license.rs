//! Our schemas: the read-only license extension of User and the License resource.

use super::attribute::{AttributeDef, Returned};
use super::registry::Schema;

/// The URN of the User extension that shows the licenses a user holds.
pub const LICENSE_USER_EXTENSION: &str = "urn:scim-license:schemas:extension:license:2.0:User";
/// The URN of the License resource's schema: one license pool.
pub const LICENSE_SCHEMA: &str = "urn:scim-license:schemas:core:2.0:License";

/// The User extension with the read-only `licenses` the server computes (sku, source,
/// assigned).
pub fn license_user_extension() -> Schema {
    Schema {
        id: LICENSE_USER_EXTENSION,
        name: "UserLicenses",
        description: "Licenses the User holds. Computed by the server; client-sent values are ignored.",
        attributes: vec![
            AttributeDef::complex(
                "licenses",
                "One element per license (sku) the User holds.",
                vec![
                    // Skus compare case-insensitively everywhere (pools, rules, filters).
                    AttributeDef::string("sku", "The sku of the license pool.").read_only(),
                    AttributeDef::string("source", "'direct' when the User's own entitlements or roles grant it, else 'group'.")
                        .canonical(&["direct", "group"])
                        .case_exact()
                        .read_only(),
                    AttributeDef::date_time(
                        "assigned",
                        "When the license was assigned; while it waits, since when it waits.",
                    )
                    .read_only(),
                    AttributeDef::string(
                        "status",
                        "'active' when the license holds a seat, 'pending' while it waits for one of a full pool.",
                    )
                    .canonical(&["active", "pending"])
                    .case_exact()
                    .read_only(),
                ],
            )
            .multi()
            .read_only(),
        ],
    }
}

/// The License schema: a pool's sku, display name, seats (bought, used, available) and
/// seat policy (with its overage allowance and use), all read-only.
pub fn license_schema() -> Schema {
    let ro = |a: AttributeDef| a.read_only().returned(Returned::Default);
    Schema {
        id: LICENSE_SCHEMA,
        name: "License",
        description: "A license pool of the tenant: its seats and their use.",
        attributes: vec![
            ro(AttributeDef::string(
                "sku",
                "The stock keeping unit that names the pool (case-insensitive).",
            )),
            ro(AttributeDef::string(
                "displayName",
                "Human-readable name of the pool; defaults to the sku.",
            )),
            ro(AttributeDef::integer("seats", "Seats bought.")),
            ro(AttributeDef::integer("used", "Seats assigned.")),
            ro(AttributeDef::integer("available", "Seats still free.")),
            ro(AttributeDef::string(
                "policy",
                "What the pool does once its seats are used: 'strict' refuses, 'pending' makes the write and lets the license wait for a seat, 'overage' grants up to 'overage' more.",
            )
            .canonical(&["strict", "pending", "overage"])
            .case_exact()),
            ro(AttributeDef::integer(
                "overage",
                "Seats that may be granted beyond those bought (0 when strict).",
            )),
            ro(AttributeDef::integer(
                "pending",
                "Licenses waiting for a seat (policy 'pending'), not counted in 'used'.",
            )),
            ro(AttributeDef::integer(
                "overageUsed",
                "Seats granted beyond those bought now (under overage, or after seats were lowered below their use), for a true-up.",
            )),
            ro(AttributeDef::date_time(
                "starts",
                "When the pool starts granting seats; absent: no start.",
            )),
            ro(AttributeDef::date_time(
                "ends",
                "When the pool stops granting seats; absent: never.",
            )),
            ro(AttributeDef::string(
                "type",
                "'License': the entitlement type identity providers assign it as (Okta Identity Governance).",
            )
            .case_exact()),
            ro(AttributeDef::string("description", "What the license gives.")),
        ],
    }
}
