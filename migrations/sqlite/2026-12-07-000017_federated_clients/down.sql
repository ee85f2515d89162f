ALTER TABLE clients DROP COLUMN federation;
