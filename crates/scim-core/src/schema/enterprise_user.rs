//! RFC 7643 §4.3 Enterprise User extension.

use super::attribute::AttributeDef;
use super::registry::Schema;

/// The URN of the Enterprise User extension (RFC 7643 §4.3).
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The Enterprise User extension: employee number, cost center, organization, division,
/// department and manager.
pub fn enterprise_user_schema() -> Schema {
    let s = AttributeDef::string;
    Schema {
        id: ENTERPRISE_USER_SCHEMA,
        name: "EnterpriseUser",
        description: "Enterprise User",
        attributes: vec![
            s(
                "employeeNumber",
                "Numeric or alphanumeric identifier assigned to a person, typically based on order of hire or association with an organization.",
            ),
            s("costCenter", "Identifies the name of a cost center."),
            s("organization", "Identifies the name of an organization."),
            s("division", "Identifies the name of a division."),
            s("department", "Identifies the name of a department."),
            AttributeDef::complex(
                "manager",
                "The User's manager.",
                vec![
                    s(
                        "value",
                        "The id of the SCIM resource representing the User's manager.",
                    ),
                    AttributeDef::reference(
                        "$ref",
                        &["User"],
                        "The URI of the SCIM resource representing the User's manager.",
                    ),
                    s("displayName", "The displayName of the User's manager.").read_only(),
                ],
            ),
        ],
    }
}
