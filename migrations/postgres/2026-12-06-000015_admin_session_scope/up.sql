-- A dashboard login link, and the session it opens, see one tenant (`tenant_id`) or,
-- when the operator asked for it, every tenant (NULL). Sessions have an id (listed and
-- revoked with `admin sessions` / `admin revoke`) and a creation time. Links and
-- sessions made before saw every tenant: they are dropped, so everyone logs in again.
DELETE FROM admin_sessions;
ALTER TABLE admin_sessions ADD COLUMN id TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE admin_sessions
    ADD COLUMN tenant_id TEXT COLLATE "C" REFERENCES tenants (id) ON DELETE CASCADE;
ALTER TABLE admin_sessions ADD COLUMN created BIGINT NOT NULL DEFAULT 0;
CREATE INDEX admin_sessions_id ON admin_sessions (id);
