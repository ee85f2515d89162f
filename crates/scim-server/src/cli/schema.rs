//! `schema …`: tenant attributes.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Define an attribute of the tenant's Users (or Groups), in an extension schema. The
    /// running server takes it on the tenant's next request (within
    /// --credential-cache-seconds).
    #[command(after_help = "Examples:\n  \
        scim-server schema add --tenant acme --name costCenter\n  \
        scim-server schema add --tenant acme --name level --type integer\n  \
        scim-server schema add --tenant acme --name badges --multi-valued \\\n    \
        --schema urn:ietf:params:scim:schemas:extension:acme:2.0:User")]
    Add {
        #[arg(long)]
        tenant: String,
        /// The attribute's name: a letter, then letters, digits, '-' or '_'.
        #[arg(long)]
        name: String,
        /// string, boolean, integer, decimal or dateTime.
        #[arg(long = "type", default_value = "string")]
        ty: String,
        /// User or Group.
        #[arg(long, default_value = "User")]
        resource: String,
        /// The extension schema's URN (default: urn:scim-license:schemas:extension:custom:2.0:<resource>).
        #[arg(long)]
        schema: Option<String>,
        /// The attribute holds a list of values.
        #[arg(long)]
        multi_valued: bool,
        /// Compare its values case-sensitively (filters, uniqueness of nothing: SCIM's caseExact).
        #[arg(long)]
        case_exact: bool,
        /// Writes must carry it (once the extension is in a resource's schemas).
        #[arg(long)]
        required: bool,
        /// What it means, as /Schemas shows.
        #[arg(long, default_value = "")]
        description: String,
        /// Print the tenant's attributes as one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List a tenant's own attributes.
    #[command(after_help = "Example:\n  scim-server schema list --tenant acme --json")]
    List {
        #[arg(long)]
        tenant: String,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove a tenant attribute. Values already stored stay in the resources, unshown and
    /// unchecked, until a write replaces them.
    #[command(after_help = "Example:\n  scim-server schema remove --tenant acme --name costCenter")]
    Remove {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        /// User or Group (for the default schema URN).
        #[arg(long, default_value = "User")]
        resource: String,
        /// The extension schema's URN (default: the custom extension of --resource).
        #[arg(long)]
        schema: Option<String>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}
