DROP TABLE license_audit;
DROP TABLE license_assignments;
DROP TABLE license_rules;
DROP TABLE license_pools;
