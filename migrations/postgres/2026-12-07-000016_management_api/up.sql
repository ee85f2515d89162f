-- The vendor's API keys: what its product presents to the Management API (/api/v1). They
-- belong to no tenant. The key is kept as its SHA-256, as tokens are; `scopes` is the
-- space-separated list of scope names; times are microseconds since the Unix epoch.
CREATE TABLE api_keys (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    hash TEXT COLLATE "C" NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT,
    last_used BIGINT
);

-- The Management API's Idempotency-Keys (per API key: `owner` is its id): the request's
-- fingerprint, and its response once it finished (sealed with the server's secret keys:
-- it may hold a token the request created). Kept 24 hours.
CREATE TABLE idempotency_keys (
    owner TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    fingerprint TEXT NOT NULL,
    created BIGINT NOT NULL,
    response TEXT,
    PRIMARY KEY (owner, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created);

-- OAuth clients' secrets expire (a year unless asked otherwise, as IdP galleries require
-- of a client secret); clients made before never do.
ALTER TABLE clients ADD COLUMN expires BIGINT;

-- A tenant being deleted (when its deletion began; NULL: it is not): it is no longer
-- found, listed or authenticated while its rows go, a batch at a time.
ALTER TABLE tenants ADD COLUMN deleting BIGINT;
