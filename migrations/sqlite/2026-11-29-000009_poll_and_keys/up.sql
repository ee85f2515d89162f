-- The poll feed's acknowledgements (RFC 8936): an outbox entry acknowledged by the
-- tenant's poller is not sent to it again.
CREATE TABLE poll_acks (
    seq BIGINT NOT NULL PRIMARY KEY REFERENCES outbox (seq) ON DELETE CASCADE,
    at BIGINT NOT NULL
);

-- The keys SETs are signed with, shared by every replica and published as JWKS. The
-- private key is a secret (PKCS#8, base64): protect the database as the keys it holds.
CREATE TABLE signing_keys (
    kid TEXT NOT NULL PRIMARY KEY,
    algorithm TEXT NOT NULL,
    private_key TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    created BIGINT NOT NULL
);
