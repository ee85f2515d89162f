DROP TABLE signing_keys;
DROP TABLE poll_acks;
