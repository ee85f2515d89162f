DROP TABLE activity_hours;
