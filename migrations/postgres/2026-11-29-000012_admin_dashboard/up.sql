-- The dashboard's credentials: one-time login links made by `admin login-link`, and the
-- browser sessions they open. Only the SHA-256 of each secret is kept.
CREATE TABLE admin_sessions (
    hash TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('link', 'session')),
    expires BIGINT NOT NULL
);

-- Each pool's seats and use, one row per day: the day's last snapshot.
CREATE TABLE license_usage_daily (
    tenant_id TEXT COLLATE "C" NOT NULL,
    sku_key TEXT COLLATE "C" NOT NULL,
    day TEXT COLLATE "C" NOT NULL,
    seats BIGINT NOT NULL,
    used BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, sku_key, day),
    FOREIGN KEY (tenant_id, sku_key) REFERENCES license_pools (tenant_id, sku_key)
        ON DELETE CASCADE
);
