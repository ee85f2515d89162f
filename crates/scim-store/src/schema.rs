//! The diesel schema shared by both backends (see `migrations/{sqlite,postgres}`). Only the
//! portable SQL types the multi-backend connection supports: JSON is `Text`, timestamps are
//! `BigInt` microseconds since the Unix epoch.

diesel::table! {
    tenants (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        created -> BigInt,
    }
}

diesel::table! {
    tokens (id) {
        id -> Text,
        tenant_id -> Text,
        hash -> Text,
        hint -> Text,
        created -> BigInt,
        expires -> Nullable<BigInt>,
    }
}

diesel::table! {
    resources (seq) {
        seq -> BigInt,
        tenant_id -> Text,
        kind -> Text,
        id -> Text,
        version -> BigInt,
        created -> BigInt,
        last_modified -> BigInt,
        user_name_key -> Nullable<Text>,
        external_id -> Nullable<Text>,
        display_name_key -> Nullable<Text>,
        data -> Text,
        display -> Nullable<Text>,
        id_key -> Nullable<Text>,
    }
}

diesel::table! {
    /// Group membership: `group_seq` has the member `member_seq` (both `resources.seq`).
    group_members (group_seq, member_seq) {
        group_seq -> BigInt,
        member_seq -> BigInt,
    }
}

diesel::joinable!(tokens -> tenants (tenant_id));
diesel::joinable!(resources -> tenants (tenant_id));
diesel::allow_tables_to_appear_in_same_query!(tenants, tokens, resources, group_members);
