DROP TABLE deliveries;
DROP TABLE receivers;
ALTER TABLE outbox DROP COLUMN txn;
