#![allow(clippy::unwrap_used, missing_docs)]
//! Every rule of the GraphQL specification's Validation section, with the exact errors
//! (tests/cases/validation.txt; `QUIVER_BLESS=1` rewrites it for review).

mod common;

#[test]
fn validation_rules() {
    let (_dir, db) = common::people();
    common::run_cases("validation.txt", &db);
}
