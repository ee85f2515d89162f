DROP INDEX license_pools_term_due;
ALTER TABLE license_pools DROP COLUMN term_claimed_until;
ALTER TABLE license_pools DROP COLUMN term_due;
ALTER TABLE license_pools DROP COLUMN ends;
ALTER TABLE license_pools DROP COLUMN starts;
