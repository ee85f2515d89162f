//! The storage contract (`scim-testkit`) on SQLite: a temporary database file per test.

scim_testkit::contract_tests!(scim_testkit::sqlite::factory());
scim_testkit::sql_contract_tests!(scim_testkit::sqlite::factory());
