CREATE TABLE license_audit_next (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    user_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('assigned', 'revoked')),
    source TEXT,
    cause TEXT NOT NULL,
    actor TEXT NOT NULL
);
INSERT INTO license_audit_next (seq, tenant_id, at, user_id, sku, action, source, cause, actor)
    SELECT seq, tenant_id, at, user_id, sku, action, source, cause, actor FROM license_audit
    WHERE action IN ('assigned', 'revoked');
DROP TABLE license_audit;
ALTER TABLE license_audit_next RENAME TO license_audit;
CREATE INDEX license_audit_tenant ON license_audit (tenant_id, at);
CREATE INDEX license_audit_user ON license_audit (tenant_id, user_id, at);
DELETE FROM license_assignments WHERE status = 'pending';
DROP INDEX license_assignments_waiting;
ALTER TABLE license_assignments DROP COLUMN status;
