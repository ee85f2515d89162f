ALTER TABLE bulk_job_outcomes DROP COLUMN tenant_id;
ALTER TABLE deliveries DROP COLUMN tenant_id;
ALTER TABLE poll_acks DROP COLUMN tenant_id;
ALTER TABLE group_members DROP COLUMN tenant_id;
