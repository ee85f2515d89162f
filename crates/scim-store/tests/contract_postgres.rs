//! The storage contract (`scim-testkit`) on PostgreSQL: a fresh database per test, cloned
//! from a migrated template. See `scim_testkit::postgres` for the server it uses and what
//! happens when it is unreachable.

scim_testkit::contract_tests!(scim_testkit::postgres::factory(
    "scim-store postgres contract"
));
scim_testkit::sql_contract_tests!(scim_testkit::postgres::factory(
    "scim-store postgres contract"
));
