//! Compile-fail and compile-pass cases. Regenerate the `.stderr` files with
//! `TRYBUILD=overwrite cargo test -p exitstack-ui` and read every diff. A
//! package of its own (`verify/ui`), so that trybuild builds the cases
//! against the few dependencies they use.
//!
//! Two test cases, so that the compile-fail ones are only checked (`cargo
//! check`: no code generation, no linking of a binary per case) and only
//! the pass cases are built; one `TestCases` holding both would build
//! every case. trybuild runs them one after the other.

#[test]
fn ui() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}

#[test]
fn ui_pass() {
    trybuild::TestCases::new().pass("tests/ui/pass/*.rs");
}
