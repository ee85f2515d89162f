-- The store's ceiling (scripts/load.sh, docs/performance.md): a tenant `ceiling` in the
-- same tables and indexes the server uses, with 5,000 users named ceil1…ceil5000 and a
-- pool, so that pgbench measures what PostgreSQL alone does for the statements a request
-- needs at least.
INSERT INTO tenants (id, slug, name, created) VALUES ('ceiling', 'ceiling', 'ceiling', 0);
INSERT INTO license_pools (tenant_id, sku_key, sku, display_name, seats)
    VALUES ('ceiling', 'pro', 'pro', 'pro', 1000000000);
INSERT INTO seat_stripes (tenant_id, sku_key, stripe, used, free)
    VALUES ('ceiling', 'pro', 0, 0, 1000000000);
INSERT INTO resources (tenant_id, kind, id, id_key, created, version, last_modified,
                       user_name_key, display, data)
SELECT 'ceiling', 'User', 'ceil' || n, 'ceil' || n, 0, 1, 0, 'ceil' || n, 'ceil' || n,
       '{"userName":"ceil' || n || '","active":true,"name":{"givenName":"C","familyName":"'
       || n || '"},"emails":[{"value":"ceil' || n || '@example.com","type":"work"}]}'
FROM generate_series(1, 5000) AS n;
ANALYZE;
