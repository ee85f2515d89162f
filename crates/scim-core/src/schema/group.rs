//! RFC 7643 §4.2 Group schema.

use super::attribute::{AttributeDef, Mutability};
use super::registry::Schema;

/// The URN of the Group schema (RFC 7643 §4.2).
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// The Group schema: `displayName` and `members`.
pub fn group_schema() -> Schema {
    Schema {
        id: GROUP_SCHEMA,
        name: "Group",
        description: "Group",
        attributes: vec![
            AttributeDef::string("displayName", "A human-readable name for the Group.").required(),
            AttributeDef::complex(
                "members",
                "A list of members of the Group.",
                vec![
                    AttributeDef::string("value", "Identifier of the member of this Group.")
                        .mutability(Mutability::Immutable),
                    AttributeDef::reference(
                        "$ref",
                        &["User", "Group"],
                        "The URI corresponding to a SCIM resource that is a member of this Group.",
                    )
                    .mutability(Mutability::Immutable),
                    AttributeDef::string(
                        "type",
                        "A label indicating the type of resource, e.g., 'User' or 'Group'.",
                    )
                    .canonical(&["User", "Group"])
                    .mutability(Mutability::Immutable),
                    AttributeDef::string(
                        "display",
                        "A human-readable name of the member, as the client labelled it.",
                    )
                    .mutability(Mutability::Immutable),
                ],
            )
            .multi(),
        ],
    }
}
