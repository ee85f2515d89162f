-- OAuth 2.0 clients (RFC 6749 §4.4 client credentials, and HTTP Basic with the same id
-- and secret): one tenant each, the secret kept as its SHA-256 like tokens are. The access
-- tokens a client obtains are rows of `tokens` naming it, so revoking the client revokes
-- them.
CREATE TABLE clients (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL,
    created BIGINT NOT NULL
);
CREATE INDEX clients_tenant ON clients (tenant_id, created);

ALTER TABLE tokens ADD COLUMN client_id TEXT COLLATE "C" REFERENCES clients (id) ON DELETE CASCADE;
CREATE INDEX tokens_client ON tokens (client_id);
