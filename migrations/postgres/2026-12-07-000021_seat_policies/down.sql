ALTER TABLE license_pools DROP COLUMN overage;
ALTER TABLE license_pools DROP COLUMN policy;
