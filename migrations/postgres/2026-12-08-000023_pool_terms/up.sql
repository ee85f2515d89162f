-- A pool's term (`license set --starts/--ends`, microseconds since the epoch): it grants
-- seats from `starts` (included) to `ends` (excluded); NULL: no bound. `term_due` is the
-- next bound whose re-evaluation of the tenant has not run yet (NULL: none), claimed by one
-- process at a time until `term_claimed_until` (a process that dies leaves it to another).
ALTER TABLE license_pools ADD COLUMN starts BIGINT;
ALTER TABLE license_pools ADD COLUMN ends BIGINT;
ALTER TABLE license_pools ADD COLUMN term_due BIGINT;
ALTER TABLE license_pools ADD COLUMN term_claimed_until BIGINT;
-- What every process asks each second: the few pools with a bound to settle.
CREATE INDEX license_pools_term_due ON license_pools (term_due) WHERE term_due IS NOT NULL;
