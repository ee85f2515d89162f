DELETE FROM license_audit WHERE action IN ('pending', 'withdrawn');
ALTER TABLE license_audit DROP CONSTRAINT license_audit_action_check;
ALTER TABLE license_audit ADD CONSTRAINT license_audit_action_check
    CHECK (action IN ('assigned', 'revoked'));
DELETE FROM license_assignments WHERE status = 'pending';
DROP INDEX license_assignments_waiting;
ALTER TABLE license_assignments DROP COLUMN status;
