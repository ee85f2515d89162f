-- One licensed user created: its row, its seat's assignment, its event; one transaction.
-- (JSON written with a space after each colon: pgbench reads `:name` as a variable.)
BEGIN;
INSERT INTO resources (tenant_id, kind, id, id_key, created, version, last_modified,
                       user_name_key, display, data)
    SELECT 'ceiling', 'User', u, u, 0, 1, 0, u, u,
           '{"userName": "' || u || '", "active": true, "entitlements": [{"value": "pro"}]}'
    FROM (SELECT gen_random_uuid()::text AS u) AS fresh
    RETURNING seq \gset
INSERT INTO license_assignments (user_seq, tenant_id, sku_key, source, assigned)
    VALUES (:seq, 'ceiling', 'pro', 'direct', 0);
INSERT INTO outbox (tenant_id, at, subject, events, actor, cause)
    VALUES ('ceiling', 0, '/Users/' || :seq,
            '{"prov-create-full": {"data": {}, "version": 1}}', 'pgbench', 'ceiling');
END;
