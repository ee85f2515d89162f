ALTER TABLE clients DROP COLUMN expires;
DROP TABLE idempotency_keys;
DROP TABLE api_keys;
