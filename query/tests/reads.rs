#![allow(clippy::unwrap_used, missing_docs)]
//! The read side of the generated API, case by case with exact expected JSON
//! (tests/cases/reads.txt; `QUIVER_BLESS=1` rewrites it for review).

mod common;

#[test]
fn reads() {
    let (_dir, db) = common::people();
    common::run_cases("reads.txt", &db);
}
