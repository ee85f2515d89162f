-- The tenants' provisioning activity: one row per SCIM request, for the customer's admin
-- (what happened, how it ended, why a refusal). No body, secret or attribute value beyond
-- the resource's userName or displayName. Read newest first per tenant; pruned by age.
-- Two indexes only (the key, and the tenant's entries): every SCIM request writes a row.
CREATE TABLE activity (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    client TEXT NOT NULL,
    credential TEXT NOT NULL,
    method TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT,
    resource_name TEXT,
    status INTEGER NOT NULL,
    scim_type TEXT,
    detail TEXT
);
CREATE INDEX activity_tenant ON activity (tenant_id, seq);
-- No index on `at`: entries are numbered as they are written, so the oldest are the
-- lowest seqs, and pruning walks the primary key from its start.
