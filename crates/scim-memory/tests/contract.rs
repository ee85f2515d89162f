//! The storage contract, run on the reference store: what every store must do, with no
//! database in the way (the SQL stores run the same list, see `scim_testkit`).

scim_testkit::contract_tests!(scim_testkit::memory::factory());
