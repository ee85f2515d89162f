-- Asynchronous bulk jobs (`Prefer: respond-async` on /Bulk): the request as accepted, its
-- state, and the lease of the process running it (a process that dies leaves the lease to
-- expire, and another claim resumes the job after its last checkpoint).
CREATE TABLE bulk_jobs (
    id TEXT NOT NULL PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    done BIGINT NOT NULL,
    total BIGINT NOT NULL,
    request TEXT NOT NULL,
    actor TEXT NOT NULL,
    cause TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
-- Claims look for the oldest pending or running job.
CREATE INDEX bulk_jobs_open ON bulk_jobs (status, created);

-- The outcome of every processed operation, in processing order, stored at each checkpoint.
CREATE TABLE bulk_job_outcomes (
    job_id TEXT NOT NULL REFERENCES bulk_jobs (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    PRIMARY KEY (job_id, position)
);
