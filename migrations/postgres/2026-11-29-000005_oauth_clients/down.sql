ALTER TABLE tokens DROP COLUMN client_id;
DROP TABLE clients;
