-- Each tenant's provisioning activity counted per hour, in the transaction that writes
-- the entries: what the portal's health figures (requests, failures, last request over
-- the last 24 hours) read, 24 rows instead of every entry.
CREATE TABLE activity_hours (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    hour BIGINT NOT NULL,
    requests BIGINT NOT NULL,
    failures BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, hour)
);
