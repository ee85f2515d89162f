DROP INDEX admin_sessions_id;
ALTER TABLE admin_sessions DROP COLUMN created;
ALTER TABLE admin_sessions DROP COLUMN tenant_id;
ALTER TABLE admin_sessions DROP COLUMN id;
