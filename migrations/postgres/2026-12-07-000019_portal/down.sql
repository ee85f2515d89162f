DROP TABLE portal_grants;
