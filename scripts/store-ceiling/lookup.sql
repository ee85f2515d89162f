-- A userName lookup: one indexed point read of a user's row.
\set n random(1, 5000)
SELECT data FROM resources
    WHERE tenant_id = 'ceiling' AND kind = 'User' AND user_name_key = 'ceil' || :n;
