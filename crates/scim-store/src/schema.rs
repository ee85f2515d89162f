//! The diesel schema shared by both backends (see `migrations/{sqlite,postgres}`). Only the
//! portable SQL types the multi-backend connection supports: JSON is `Text`, timestamps are
//! `BigInt` microseconds since the Unix epoch.

diesel::table! {
    tenants (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        created -> BigInt,
        client_cert_sha256 -> Nullable<Text>,
        custom_attributes -> Text,
        compatibility -> Text,
        deleting -> Nullable<BigInt>,
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
        client_id -> Nullable<Text>,
    }
}

diesel::table! {
    /// OAuth 2.0 clients; `id` is the client_id.
    clients (id) {
        id -> Text,
        tenant_id -> Text,
        secret_hash -> Text,
        created -> BigInt,
        expires -> Nullable<BigInt>,
        federation -> Nullable<Text>,
    }
}

diesel::table! {
    /// Each tenant's provisioning activity counted per hour.
    activity_hours (tenant_id, hour) {
        tenant_id -> Text,
        hour -> BigInt,
        requests -> BigInt,
        failures -> BigInt,
        last_at -> BigInt,
    }
}

diesel::table! {
    /// The customer's portal: setup links and the sessions they open, by secret hash.
    portal_grants (hash) {
        hash -> Text,
        kind -> Text,
        id -> Text,
        tenant_id -> Text,
        link_id -> Nullable<Text>,
        created -> BigInt,
        expires -> BigInt,
    }
}

diesel::table! {
    /// The tenants' provisioning activity: one row per SCIM request.
    activity (seq) {
        seq -> BigInt,
        tenant_id -> Text,
        at -> BigInt,
        client -> Text,
        credential -> Text,
        method -> Text,
        resource_type -> Text,
        resource_id -> Nullable<Text>,
        resource_name -> Nullable<Text>,
        status -> Integer,
        scim_type -> Nullable<Text>,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    /// The vendor's API keys (the Management API's credentials).
    api_keys (id) {
        id -> Text,
        name -> Text,
        scopes -> Text,
        hash -> Text,
        hint -> Text,
        created -> BigInt,
        expires -> Nullable<BigInt>,
        last_used -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// The Management API's Idempotency-Keys; `response` sealed.
    idempotency_keys (owner, key) {
        owner -> Text,
        key -> Text,
        fingerprint -> Text,
        created -> BigInt,
        response -> Nullable<Text>,
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
    /// Group membership: `group_seq` has the member `member_seq` (both `resources.seq`),
    /// labelled `display` by the client that added it.
    group_members (group_seq, member_seq) {
        group_seq -> BigInt,
        member_seq -> BigInt,
        display -> Nullable<Text>,
        tenant_id -> Text,
    }
}

diesel::table! {
    /// A tenant's seats for one sku; their use is counted in its [`seat_stripes`].
    license_pools (tenant_id, sku_key) {
        tenant_id -> Text,
        sku_key -> Text,
        sku -> Text,
        display_name -> Text,
        seats -> BigInt,
        policy -> Text,
        overage -> BigInt,
        starts -> Nullable<BigInt>,
        ends -> Nullable<BigInt>,
        term_due -> Nullable<BigInt>,
        term_claimed_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// One of a pool's 16 stripes: the assignments charged to it and the seats it may still
    /// hand out (-1: the pool is over its seats).
    seat_stripes (tenant_id, sku_key, stripe) {
        tenant_id -> Text,
        sku_key -> Text,
        stripe -> Integer,
        used -> BigInt,
        free -> BigInt,
    }
}

diesel::table! {
    /// `source` value `value` grants `sku`.
    license_rules (tenant_id, source, value_key, sku_key) {
        tenant_id -> Text,
        source -> Text,
        value_key -> Text,
        value -> Text,
        sku_key -> Text,
        sku -> Text,
    }
}

diesel::table! {
    /// A license a user (`resources.seq`) holds.
    license_assignments (user_seq, sku_key) {
        user_seq -> BigInt,
        tenant_id -> Text,
        sku_key -> Text,
        source -> Text,
        assigned -> BigInt,
        status -> Text,
    }
}

diesel::table! {
    /// Every assignment and revocation.
    license_audit (seq) {
        seq -> BigInt,
        tenant_id -> Text,
        at -> BigInt,
        user_id -> Text,
        sku -> Text,
        action -> Text,
        source -> Nullable<Text>,
        cause -> Text,
        actor -> Text,
    }
}

diesel::table! {
    /// Asynchronous bulk jobs; `lease_owner` runs the job until `lease_until`.
    bulk_jobs (id) {
        id -> Text,
        tenant_id -> Text,
        status -> Text,
        done -> BigInt,
        total -> BigInt,
        request -> Text,
        actor -> Text,
        cause -> Text,
        attempts -> Integer,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<BigInt>,
        created -> BigInt,
        updated -> BigInt,
    }
}

diesel::table! {
    /// A job's outcomes (`BulkOutcome` as JSON), in processing order.
    bulk_job_outcomes (job_id, position) {
        job_id -> Text,
        position -> BigInt,
        outcome -> Text,
        tenant_id -> Text,
    }
}

diesel::table! {
    /// The outbox: one row per future SET (`events` is the JSON object of event URI →
    /// payload).
    outbox (seq) {
        seq -> BigInt,
        tenant_id -> Text,
        at -> BigInt,
        subject -> Text,
        external_id -> Nullable<Text>,
        events -> Text,
        actor -> Text,
        cause -> Text,
        txn -> Nullable<Text>,
    }
}

diesel::table! {
    /// Outbox entries the tenant's poller acknowledged.
    poll_acks (seq) {
        seq -> BigInt,
        at -> BigInt,
        tenant_id -> Text,
    }
}

diesel::table! {
    /// The keys SETs are signed with (`private_key` is a secret).
    signing_keys (kid) {
        kid -> Text,
        algorithm -> Text,
        private_key -> Text,
        public_jwk -> Text,
        created -> BigInt,
        activates -> BigInt,
    }
}

diesel::table! {
    /// Push receivers (`secret` and `client_secret` are secrets) and their figures.
    receivers (id) {
        id -> Text,
        tenant_id -> Text,
        url -> Text,
        secret -> Text,
        token_url -> Nullable<Text>,
        client_id -> Nullable<Text>,
        client_secret -> Nullable<Text>,
        scope -> Nullable<Text>,
        created -> BigInt,
        delivered -> BigInt,
        retried -> BigInt,
        dead_lettered -> BigInt,
    }
}

diesel::table! {
    /// The push queue: one row per outbox entry and receiver until delivered.
    deliveries (receiver_id, seq) {
        receiver_id -> Text,
        seq -> BigInt,
        subject -> Text,
        state -> Text,
        attempts -> Integer,
        due -> BigInt,
        last_error -> Nullable<Text>,
        tenant_id -> Text,
    }
}

diesel::table! {
    /// Hashes of the dashboard's login links and sessions.
    admin_sessions (hash) {
        hash -> Text,
        kind -> Text,
        expires -> BigInt,
        id -> Text,
        tenant_id -> Nullable<Text>,
        created -> BigInt,
    }
}

diesel::table! {
    /// A pool's seats and use on a day (`YYYY-MM-DD`, UTC).
    license_usage_daily (tenant_id, sku_key, day) {
        tenant_id -> Text,
        sku_key -> Text,
        day -> Text,
        seats -> BigInt,
        used -> BigInt,
    }
}

diesel::table! {
    /// What retention removed of a tenant's events (see the migration).
    event_horizons (tenant_id) {
        tenant_id -> Text,
        pruned_through -> BigInt,
        polled -> BigInt,
        lost -> BigInt,
        told -> BigInt,
    }
}

diesel::joinable!(tokens -> tenants (tenant_id));
diesel::joinable!(clients -> tenants (tenant_id));
diesel::joinable!(resources -> tenants (tenant_id));
diesel::joinable!(receivers -> tenants (tenant_id));
diesel::joinable!(deliveries -> receivers (receiver_id));
diesel::joinable!(deliveries -> outbox (seq));
diesel::allow_tables_to_appear_in_same_query!(
    activity,
    activity_hours,
    portal_grants,
    tenants,
    tokens,
    clients,
    api_keys,
    idempotency_keys,
    resources,
    group_members,
    license_pools,
    seat_stripes,
    license_rules,
    license_assignments,
    license_audit,
    bulk_jobs,
    bulk_job_outcomes,
    outbox,
    poll_acks,
    signing_keys,
    receivers,
    deliveries,
    admin_sessions,
    license_usage_daily,
    event_horizons,
);
