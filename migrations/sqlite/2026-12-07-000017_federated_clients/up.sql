-- Federated OAuth clients (RFC 7523, workload identity federation): a client that proves
-- itself with a JWT its issuer signed, not with a secret. `federation` holds what it
-- trusts as JSON ({"issuer", "jwksUrl", "subject", "audience"}); such a client has no
-- secret, and its secret_hash is '' (which no SHA-256 in hex equals).
ALTER TABLE clients ADD COLUMN federation TEXT;
