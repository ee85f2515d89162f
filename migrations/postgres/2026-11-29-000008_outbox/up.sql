-- The transactional outbox: every committed write records its events here in the same
-- transaction. One row is one future Security Event Token: a subject (RFC 9967 `sub_id`:
-- the resource's path below the SCIM base and its externalId) and the events of one state
-- change of it (JSON object: event URI → payload). Delivery state lives elsewhere.
CREATE TABLE outbox (
    seq BIGSERIAL PRIMARY KEY,
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    subject TEXT NOT NULL,
    external_id TEXT,
    events TEXT NOT NULL,
    actor TEXT NOT NULL,
    cause TEXT NOT NULL
);
CREATE INDEX outbox_tenant ON outbox (tenant_id, seq);
