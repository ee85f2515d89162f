-- Every tenant-owned table carries tenant_id (ADR 0017): the four that reached their tenant
-- only through a parent get it, copied from that parent. (A later migration puts it in
-- their keys; the statements already name it.)
ALTER TABLE group_members ADD COLUMN tenant_id TEXT COLLATE "C";
UPDATE group_members m SET tenant_id = r.tenant_id FROM resources r WHERE r.seq = m.group_seq;
ALTER TABLE group_members ALTER COLUMN tenant_id SET NOT NULL;
ALTER TABLE poll_acks ADD COLUMN tenant_id TEXT COLLATE "C";
UPDATE poll_acks a SET tenant_id = o.tenant_id FROM outbox o WHERE o.seq = a.seq;
ALTER TABLE poll_acks ALTER COLUMN tenant_id SET NOT NULL;
ALTER TABLE deliveries ADD COLUMN tenant_id TEXT COLLATE "C";
UPDATE deliveries d SET tenant_id = r.tenant_id FROM receivers r WHERE r.id = d.receiver_id;
ALTER TABLE deliveries ALTER COLUMN tenant_id SET NOT NULL;
ALTER TABLE bulk_job_outcomes ADD COLUMN tenant_id TEXT COLLATE "C";
UPDATE bulk_job_outcomes o SET tenant_id = j.tenant_id FROM bulk_jobs j WHERE j.id = o.job_id;
ALTER TABLE bulk_job_outcomes ALTER COLUMN tenant_id SET NOT NULL;
