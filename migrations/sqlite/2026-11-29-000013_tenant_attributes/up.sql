-- A tenant's own attributes (`scim-server schema add`): a JSON array of definitions, read
-- with the tenant on every authentication, so a change reaches every replica with the
-- credential cache's delay at most.
ALTER TABLE tenants ADD COLUMN custom_attributes TEXT NOT NULL DEFAULT '[]';
