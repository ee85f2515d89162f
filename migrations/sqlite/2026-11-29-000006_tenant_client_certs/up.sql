-- Client-certificate (mTLS) authentication per tenant: the SHA-256 fingerprints (lowercase
-- hex, comma-separated) of the certificates the tenant's identity provider presents. When
-- set, every SCIM request of the tenant must come over TLS with one of them; NULL: no
-- client certificate is required.
ALTER TABLE tenants ADD COLUMN client_cert_sha256 TEXT;
