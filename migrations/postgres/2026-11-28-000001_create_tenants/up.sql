-- Tenants and their bearer tokens (stored as SHA-256 hashes, never the secret).
-- Timestamps are microseconds since the Unix epoch (UTC), as on SQLite.
-- Every text key is COLLATE "C": ordering by code point, as Rust's str and SQLite's BINARY.
CREATE TABLE tenants (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    slug TEXT COLLATE "C" NOT NULL,
    name TEXT NOT NULL,
    created BIGINT NOT NULL,
    CONSTRAINT tenants_slug_unique UNIQUE (slug)
);

CREATE TABLE tokens (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    hash TEXT COLLATE "C" NOT NULL,
    hint TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT,
    CONSTRAINT tokens_hash_unique UNIQUE (hash)
);

CREATE INDEX tokens_tenant ON tokens (tenant_id, created);
