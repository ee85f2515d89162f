DROP TABLE license_usage_daily;
DROP TABLE admin_sessions;
