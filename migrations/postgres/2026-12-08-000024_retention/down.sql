DROP TABLE event_horizons;
