-- The customer's portal: setup links (`kind` link) the vendor makes for one tenant, and
-- the browser sessions (`kind` session) they open; only the SHA-256 of each secret is
-- kept. A session names its link: revoking the link ends it.
CREATE TABLE portal_grants (
    hash TEXT NOT NULL PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('link', 'session')),
    id TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    link_id TEXT,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX portal_grants_tenant ON portal_grants (tenant_id, kind, created);
CREATE INDEX portal_grants_link ON portal_grants (link_id);
