-- A tenant's own attributes (`scim-server schema add`) and its compatibility profile
-- (`scim-server tenant set --profile`), as JSON. Both are read with the tenant on every
-- authentication, so a change reaches every replica within the credential cache's delay.
ALTER TABLE tenants ADD COLUMN custom_attributes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE tenants ADD COLUMN compatibility TEXT NOT NULL DEFAULT '{}';
