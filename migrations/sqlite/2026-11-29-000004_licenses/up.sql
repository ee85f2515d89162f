-- License pools, mapping rules, assignments and their audit log (see docs/licensing.md).
-- `*_key` columns hold the core's fold_key, so skus, values and displayNames compare
-- case-insensitively on both stores. Timestamps are microseconds since the Unix epoch.

-- A pool's `used` is the number of its assignments, kept as a counter so that taking a
-- seat is one conditional update of the pool's row inside the write's transaction: the
-- row lock (PostgreSQL) or the write lock (SQLite) makes over-assignment impossible.
-- `used` may exceed `seats` after an admin lowered them: holders keep their seats.
CREATE TABLE license_pools (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    sku_key TEXT NOT NULL,
    sku TEXT NOT NULL,
    display_name TEXT NOT NULL,
    seats BIGINT NOT NULL CHECK (seats >= 0),
    used BIGINT NOT NULL DEFAULT 0 CHECK (used >= 0),
    PRIMARY KEY (tenant_id, sku_key)
);

-- `source` ('entitlement', 'role' or 'group') value `value` grants `sku`.
CREATE TABLE license_rules (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    source TEXT NOT NULL CHECK (source IN ('entitlement', 'role', 'group')),
    value_key TEXT NOT NULL,
    value TEXT NOT NULL,
    sku_key TEXT NOT NULL,
    sku TEXT NOT NULL,
    PRIMARY KEY (tenant_id, source, value_key, sku_key)
);

-- The licenses users hold. Deleting a user revokes them first (freeing the seats); the
-- cascade only guards against leftovers.
CREATE TABLE license_assignments (
    user_seq BIGINT NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    sku_key TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('direct', 'group')),
    assigned BIGINT NOT NULL,
    PRIMARY KEY (user_seq, sku_key),
    FOREIGN KEY (tenant_id, sku_key) REFERENCES license_pools (tenant_id, sku_key)
);
CREATE INDEX license_assignments_pool ON license_assignments (tenant_id, sku_key);

-- Every assignment and revocation: when, whose, which sku, why (`cause`: the request or
-- the admin command) and by whom (`actor`: the credential's id, or the CLI).
CREATE TABLE license_audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    user_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('assigned', 'revoked')),
    source TEXT,
    cause TEXT NOT NULL,
    actor TEXT NOT NULL
);
CREATE INDEX license_audit_tenant ON license_audit (tenant_id, at);
CREATE INDEX license_audit_user ON license_audit (tenant_id, user_id, at);
