ALTER TABLE tenants DROP COLUMN deleting;
ALTER TABLE clients DROP COLUMN expires;
DROP TABLE idempotency_keys;
DROP TABLE api_keys;
