-- The vendor's API keys: what its product presents to the Management API (/api/v1). They
-- belong to no tenant. The key is kept as its SHA-256, as tokens are; `scopes` is the
-- space-separated list of scope names; times are microseconds since the Unix epoch.
CREATE TABLE api_keys (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT,
    last_used BIGINT
);
