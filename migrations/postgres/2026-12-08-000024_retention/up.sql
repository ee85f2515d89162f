-- What retention removed of each tenant's events: the newest seq pruned (a cursor before it
-- reads past a gap: refused), whether the tenant's poll feed (RFC 8936) has ever been
-- acknowledged (`polled`, 0/1), and how many events it lost, pruned before they were
-- acknowledged, against how many a poll was told of.
CREATE TABLE event_horizons (
    tenant_id TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    pruned_through BIGINT NOT NULL DEFAULT 0,
    polled BIGINT NOT NULL DEFAULT 0,
    lost BIGINT NOT NULL DEFAULT 0,
    told BIGINT NOT NULL DEFAULT 0
);
