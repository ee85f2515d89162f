-- Members go back into their groups' data (as the previous schema kept them), then the
-- rows and the derived columns go.
UPDATE resources SET data = (data::jsonb || jsonb_build_object('members', (
    SELECT jsonb_agg(jsonb_build_object('value', m.id, 'type', m.kind, 'display', m.display)
        ORDER BY m.seq)
    FROM group_members AS gm JOIN resources AS m ON m.seq = gm.member_seq
    WHERE gm.group_seq = resources.seq
)))::text
WHERE kind = 'Group' AND EXISTS (SELECT 1 FROM group_members WHERE group_seq = resources.seq);
DROP TABLE group_members;
ALTER TABLE resources DROP COLUMN id_key, DROP COLUMN display;
