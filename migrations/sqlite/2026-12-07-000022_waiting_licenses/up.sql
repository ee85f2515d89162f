-- A license holds a seat ('active') or waits for one of a full 'pending' pool ('pending'),
-- first come first served: the oldest waiting (by `assigned`, the time it began to wait,
-- then the user's seq) gets the next seat freed. Waiting licenses are not counted in the
-- pool's stripes. Existing licenses all hold a seat.
ALTER TABLE license_assignments ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'pending'));
CREATE INDEX license_assignments_waiting ON license_assignments (tenant_id, sku_key, assigned, user_seq)
    WHERE status = 'pending';
-- The audit log tells when a license began to wait ('pending') and when a waiting one was
-- withdrawn before it had a seat ('withdrawn'). SQLite cannot change a CHECK: the table is
-- rebuilt (nothing refers to it).
CREATE TABLE license_audit_next (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    user_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('assigned', 'revoked', 'pending', 'withdrawn')),
    source TEXT,
    cause TEXT NOT NULL,
    actor TEXT NOT NULL
);
INSERT INTO license_audit_next (seq, tenant_id, at, user_id, sku, action, source, cause, actor)
    SELECT seq, tenant_id, at, user_id, sku, action, source, cause, actor FROM license_audit;
DROP TABLE license_audit;
ALTER TABLE license_audit_next RENAME TO license_audit;
CREATE INDEX license_audit_tenant ON license_audit (tenant_id, at);
CREATE INDEX license_audit_user ON license_audit (tenant_id, user_id, at);
