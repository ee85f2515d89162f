//! RFC 7643 §4.1 User schema, attribute for attribute as §8.7.1 defines it.

use super::attribute::{AttrType, AttributeDef, Mutability, Returned, Uniqueness};
use super::registry::Schema;

/// The URN of the User schema (RFC 7643 §4.1).
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// `value`, `display`, `type` and `primary`: the shape every plural User attribute shares.
fn plural(
    name: &'static str,
    description: &'static str,
    value: AttributeDef,
    types: &[&'static str],
) -> AttributeDef {
    AttributeDef::complex(
        name,
        description,
        vec![
            value,
            AttributeDef::string(
                "display",
                "A human-readable name, primarily used for display purposes.",
            ),
            AttributeDef::string("type", "A label indicating the attribute's function.")
                .canonical(types),
            AttributeDef::boolean(
                "primary",
                "A Boolean value indicating the 'primary' or preferred attribute value.",
            ),
        ],
    )
    .multi()
}

/// The User schema, attribute for attribute as RFC 7643 §8.7.1 defines it.
pub fn user_schema() -> Schema {
    let s = AttributeDef::string;
    Schema {
        id: USER_SCHEMA,
        name: "User",
        description: "User Account",
        attributes: vec![
            s("userName", "Unique identifier for the User, typically used by the user to directly authenticate to the service provider.")
                .required()
                .uniqueness(Uniqueness::Server),
            AttributeDef::complex(
                "name",
                "The components of the user's real name.",
                vec![
                    s("formatted", "The full name, including all middle names, titles, and suffixes as appropriate, formatted for display."),
                    s("familyName", "The family name of the User."),
                    s("givenName", "The given name of the User."),
                    s("middleName", "The middle name(s) of the User."),
                    s("honorificPrefix", "The honorific prefix(es) of the User."),
                    s("honorificSuffix", "The honorific suffix(es) of the User."),
                ],
            ),
            s("displayName", "The name of the User, suitable for display to end-users."),
            s("nickName", "The casual way to address the user in real life."),
            AttributeDef::reference("profileUrl", &["external"], "A fully qualified URL pointing to a page representing the User's online profile."),
            s("title", "The user's title, such as \"Vice President\"."),
            s("userType", "Used to identify the relationship between the organization and the user."),
            s("preferredLanguage", "Indicates the User's preferred written or spoken language."),
            s("locale", "Used to indicate the User's default location for purposes of localizing items."),
            s("timezone", "The User's time zone in the 'Olson' time zone database format."),
            AttributeDef::boolean("active", "A Boolean value indicating the User's administrative status."),
            s("password", "The User's cleartext password. Never returned and never stored by this server.")
                .mutability(Mutability::WriteOnly)
                .returned(Returned::Never),
            plural("emails", "Email addresses for the user.", s("value", "Email addresses for the user."), &["work", "home", "other"]),
            plural("phoneNumbers", "Phone numbers for the User.", s("value", "Phone number of the User."), &["work", "home", "mobile", "fax", "pager", "other"]),
            plural("ims", "Instant messaging addresses for the User.", s("value", "Instant messaging address for the User."), &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]),
            plural("photos", "URLs of photos of the User.", AttributeDef::reference("value", &["external"], "URL of a photo of the User."), &["photo", "thumbnail"]),
            AttributeDef::complex(
                "addresses",
                "A physical mailing address for this User.",
                vec![
                    s("formatted", "The full mailing address, formatted for display or use with a mailing label."),
                    s("streetAddress", "The full street address component."),
                    s("locality", "The city or locality component."),
                    s("region", "The state or region component."),
                    s("postalCode", "The zip code or postal code component."),
                    s("country", "The country name component."),
                    s("type", "A label indicating the attribute's function.").canonical(&["work", "home", "other"]),
                    AttributeDef::boolean("primary", "A Boolean value indicating the 'primary' or preferred address."),
                ],
            )
            .multi(),
            AttributeDef::complex(
                "groups",
                "A list of groups to which the user belongs, either through direct membership or through nested groups.",
                vec![
                    s("value", "The identifier of the User's group.").read_only(),
                    AttributeDef::reference("$ref", &["User", "Group"], "The URI of the corresponding 'Group' resource to which the user belongs.").read_only(),
                    s("display", "A human-readable name, primarily used for display purposes.").read_only(),
                    s("type", "A label indicating the attribute's function.").canonical(&["direct", "indirect"]).read_only(),
                ],
            )
            .multi()
            .read_only(),
            plural("entitlements", "A list of entitlements for the User that represent a thing the User has.", s("value", "The value of an entitlement."), &[]),
            plural("roles", "A list of roles for the User that collectively represent who the User is.", s("value", "The value of a role."), &[]),
            plural(
                "x509Certificates",
                "A list of certificates issued to the User.",
                AttributeDef::new("value", AttrType::Binary, "The value of an X.509 certificate."),
                &[],
            ),
        ],
    }
}
