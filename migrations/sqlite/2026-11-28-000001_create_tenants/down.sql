DROP TABLE tokens;
DROP TABLE tenants;
