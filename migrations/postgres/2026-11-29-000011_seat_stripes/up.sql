-- A pool's seats are split over 16 stripes (see docs/licensing.md, "Seat accounting"), so
-- that concurrent writers taking seats of one pool lock different rows instead of queueing
-- on the pool's. Per pool: the stripes' `used` add up to its assignments (one stripe's may
-- be negative: a seat taken on one stripe may be given back on another), and their `free`
-- add up to `seats - used`; when an admin lowered `seats` below `used` every stripe's
-- `free` is -1 (closed) until enough seats are freed. A writer takes seats from
-- one stripe that keeps at least one free seat afterwards, or locks all 16 in order; so a
-- pool's last seats, and any change of `seats`, are decided with every stripe locked.
CREATE TABLE seat_stripes (
    tenant_id TEXT COLLATE "C" NOT NULL,
    sku_key TEXT COLLATE "C" NOT NULL,
    stripe INTEGER NOT NULL CHECK (stripe >= 0),
    used BIGINT NOT NULL,
    free BIGINT NOT NULL CHECK (free >= -1),
    PRIMARY KEY (tenant_id, sku_key, stripe),
    FOREIGN KEY (tenant_id, sku_key) REFERENCES license_pools (tenant_id, sku_key)
        ON DELETE CASCADE
);

WITH stripes (stripe) AS (
    VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9), (10), (11), (12), (13), (14), (15)
)
INSERT INTO seat_stripes (tenant_id, sku_key, stripe, used, free)
SELECT p.tenant_id, p.sku_key, s.stripe,
    CASE WHEN s.stripe = 0 THEN p.used ELSE 0 END,
    CASE
        WHEN p.used > p.seats THEN -1
        ELSE (p.seats - p.used) / 16
            + CASE WHEN s.stripe < (p.seats - p.used) % 16 THEN 1 ELSE 0 END
    END
FROM license_pools p CROSS JOIN stripes s;

ALTER TABLE license_pools DROP COLUMN used;
