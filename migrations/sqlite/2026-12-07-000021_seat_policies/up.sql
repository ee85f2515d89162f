-- What a pool does once its seats are all used (`license set --policy`): 'strict' (the
-- write is refused) or 'overage' (up to `overage` seats beyond `seats` are granted and
-- reported for a true-up). Existing pools stay strict.
ALTER TABLE license_pools ADD COLUMN policy TEXT NOT NULL DEFAULT 'strict';
ALTER TABLE license_pools ADD COLUMN overage BIGINT NOT NULL DEFAULT 0;
