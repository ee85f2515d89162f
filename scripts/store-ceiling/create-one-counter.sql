-- create.sql plus one shared counter row per pool updated in every transaction: what a
-- single `used` column costs (writers queue on its row lock until each commits).
BEGIN;
INSERT INTO resources (tenant_id, kind, id, id_key, created, version, last_modified,
                       user_name_key, display, data)
    SELECT 'ceiling', 'User', u, u, 0, 1, 0, u, u,
           '{"userName": "' || u || '", "active": true, "entitlements": [{"value": "pro"}]}'
    FROM (SELECT gen_random_uuid()::text AS u) AS fresh
    RETURNING seq \gset
UPDATE seat_stripes SET used = used + 1, free = free - 1
    WHERE tenant_id = 'ceiling' AND sku_key = 'pro' AND stripe = 0;
INSERT INTO license_assignments (user_seq, tenant_id, sku_key, source, assigned)
    VALUES (:seq, 'ceiling', 'pro', 'direct', 0);
INSERT INTO outbox (tenant_id, at, subject, events, actor, cause)
    VALUES ('ceiling', 0, '/Users/' || :seq,
            '{"prov-create-full": {"data": {}, "version": 1}}', 'pgbench', 'ceiling');
END;
