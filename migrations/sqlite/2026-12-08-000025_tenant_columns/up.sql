-- Every tenant-owned table carries tenant_id (as on PostgreSQL, ADR 0017), copied from the
-- parent it reached its tenant through.
ALTER TABLE group_members ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
UPDATE group_members SET tenant_id = (SELECT r.tenant_id FROM resources r WHERE r.seq = group_members.group_seq);
ALTER TABLE poll_acks ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
UPDATE poll_acks SET tenant_id = (SELECT o.tenant_id FROM outbox o WHERE o.seq = poll_acks.seq);
ALTER TABLE deliveries ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
UPDATE deliveries SET tenant_id = (SELECT r.tenant_id FROM receivers r WHERE r.id = deliveries.receiver_id);
ALTER TABLE bulk_job_outcomes ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
UPDATE bulk_job_outcomes SET tenant_id = (SELECT j.tenant_id FROM bulk_jobs j WHERE j.id = bulk_job_outcomes.job_id);
