-- Group membership as rows: adding or removing k members costs O(k) whatever the group's
-- size, and reading a group without its members never touches them. A row links a group to
-- a member (a User or a Group of the same tenant); deleting either side removes it.
-- `display` is the label the client sent with the member, echoed on reads.
-- `members` of groups and `groups` of users are computed from these rows and never kept in
-- `data`.
CREATE TABLE group_members (
    group_seq BIGINT NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    member_seq BIGINT NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    display TEXT,
    PRIMARY KEY (group_seq, member_seq)
);

-- The groups a resource is a member of.
CREATE INDEX group_members_member ON group_members (member_seq);

-- `display`: how a group is shown in its members' `groups`: the
-- displayName as written, else the userName. `id_key`: the core's fold_key of the id, as
-- `members.value` (caseExact=false) compares in filters. Both are derived on every write;
-- the existing rows get them here (their ids are the server's ASCII UUIDs, whose fold key is
-- their lower case).
ALTER TABLE resources ADD COLUMN display TEXT, ADD COLUMN id_key TEXT COLLATE "C";
UPDATE resources SET
    id_key = lower(id),
    display = coalesce(data::json ->> 'displayName', data::json ->> 'userName');
CREATE INDEX resources_id_key ON resources (id_key);

-- Members kept inside a group's data so far become rows (those that name a resource of the
-- group's tenant other than the group itself), and leave the data. The data stays `json`
-- text with its keys in their order (`jsonb` would reorder them).
INSERT INTO group_members (group_seq, member_seq, display)
SELECT DISTINCT ON (g.seq, m.seq) g.seq, m.seq, e.member ->> 'display'
FROM resources AS g
CROSS JOIN LATERAL json_array_elements(g.data::json -> 'members') AS e (member)
JOIN resources AS m ON m.tenant_id = g.tenant_id AND m.id = e.member ->> 'value'
WHERE g.kind = 'Group' AND json_typeof(g.data::json -> 'members') = 'array'
    AND m.seq <> g.seq;
UPDATE resources SET data = coalesce((
    SELECT json_object_agg(f.key, f.value ORDER BY f.position)::text
    FROM json_each(resources.data::json) WITH ORDINALITY AS f (key, value, position)
    WHERE f.key <> CASE resources.kind WHEN 'Group' THEN 'members' ELSE 'groups' END
), '{}')
WHERE (kind = 'Group' AND data::json -> 'members' IS NOT NULL)
    OR (kind = 'User' AND data::json -> 'groups' IS NOT NULL);
