-- Users and Groups. `data` is the JSON of the resource's attributes and the only source of
-- truth; the key columns are derived from it on every write so that the common filters and
-- sorts run in SQL: `user_name_key` and `display_name_key` hold the core's fold_key (NFC +
-- full case folding), `external_id` is case-exact. `seq` is the insertion order (the order
-- of an unsorted list) and never reused (AUTOINCREMENT).
CREATE TABLE resources (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('User', 'Group')),
    id TEXT NOT NULL,
    version BIGINT NOT NULL,
    created BIGINT NOT NULL,
    last_modified BIGINT NOT NULL,
    user_name_key TEXT,
    external_id TEXT,
    display_name_key TEXT,
    data TEXT NOT NULL,
    CONSTRAINT resources_id_unique UNIQUE (tenant_id, kind, id),
    CONSTRAINT resources_user_name_unique UNIQUE (tenant_id, kind, user_name_key)
);

CREATE INDEX resources_external_id ON resources (tenant_id, kind, external_id);
CREATE INDEX resources_display_name ON resources (tenant_id, kind, display_name_key);
CREATE INDEX resources_last_modified ON resources (tenant_id, kind, last_modified);
