ALTER TABLE tenants DROP COLUMN compatibility;
ALTER TABLE tenants DROP COLUMN custom_attributes;
