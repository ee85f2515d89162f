ALTER TABLE tenants DROP COLUMN client_cert_sha256;
