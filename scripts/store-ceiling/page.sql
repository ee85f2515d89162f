-- A page of 100 users read on from a known position (keyset).
\set after random(0, 4900)
SELECT data FROM resources
    WHERE tenant_id = 'ceiling' AND kind = 'User'
      AND seq > (SELECT min(seq) FROM resources WHERE tenant_id = 'ceiling') + :after - 1
    ORDER BY seq LIMIT 100;
