//! Compile-fail and compile-pass cases. Regenerate the `.stderr` files with
//! `TRYBUILD=overwrite cargo test --test ui` and read every diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
