ALTER TABLE tenants DROP COLUMN custom_attributes;
