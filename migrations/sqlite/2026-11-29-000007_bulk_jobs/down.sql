DROP TABLE bulk_job_outcomes;
DROP TABLE bulk_jobs;
