DROP TABLE deliveries;
DROP TABLE receivers;
