-- A license holds a seat ('active') or waits for one of a full 'pending' pool ('pending'),
-- first come first served: the oldest waiting (by `assigned`, the time it began to wait,
-- then the user's seq) gets the next seat freed. Waiting licenses are not counted in the
-- pool's stripes. Existing licenses all hold a seat.
ALTER TABLE license_assignments ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'pending'));
CREATE INDEX license_assignments_waiting ON license_assignments (tenant_id, sku_key, assigned, user_seq)
    WHERE status = 'pending';
-- The audit log tells when a license began to wait ('pending') and when a waiting one was
-- withdrawn before it had a seat ('withdrawn').
ALTER TABLE license_audit DROP CONSTRAINT license_audit_action_check;
ALTER TABLE license_audit ADD CONSTRAINT license_audit_action_check
    CHECK (action IN ('assigned', 'revoked', 'pending', 'withdrawn'));
