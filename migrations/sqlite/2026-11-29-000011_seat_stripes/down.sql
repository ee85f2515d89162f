ALTER TABLE license_pools ADD COLUMN used BIGINT NOT NULL DEFAULT 0 CHECK (used >= 0);
UPDATE license_pools SET used = (
    SELECT COALESCE(SUM(s.used), 0) FROM seat_stripes s
    WHERE s.tenant_id = license_pools.tenant_id AND s.sku_key = license_pools.sku_key
);
DROP TABLE seat_stripes;
