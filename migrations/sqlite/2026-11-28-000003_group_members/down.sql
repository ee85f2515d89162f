-- Members go back into their groups' data (as the previous schema kept them), then the
-- rows and the derived columns go.
UPDATE resources SET data = json_set(data, '$.members', (
    SELECT json_group_array(json_object('value', m.id, 'type', m.kind, 'display', m.display))
    FROM group_members AS gm JOIN resources AS m ON m.seq = gm.member_seq
    WHERE gm.group_seq = resources.seq
))
WHERE kind = 'Group' AND EXISTS (SELECT 1 FROM group_members WHERE group_seq = resources.seq);
DROP TABLE group_members;
DROP INDEX resources_id_key;
ALTER TABLE resources DROP COLUMN id_key;
ALTER TABLE resources DROP COLUMN display;
