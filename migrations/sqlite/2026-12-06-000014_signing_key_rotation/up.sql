-- SET signing keys rotate (`scim-server signing-key rotate`): a key is published in the
-- JWKS from when it is stored, signs from `activates` (microseconds since the Unix epoch),
-- and stays published a day after the next key took over. Keys stored so far have
-- signed from the start: 0. The private key is sealed with the server's secret keys
-- (`sealed:v1:…`); rows stored before are sealed when the store opens.
ALTER TABLE signing_keys ADD COLUMN activates BIGINT NOT NULL DEFAULT 0;
