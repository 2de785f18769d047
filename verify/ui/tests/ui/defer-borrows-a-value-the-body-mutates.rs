// Before: a plain `defer!` borrows `v` until the end of the block, so the
// body cannot change it (scopeguard#22). After: tests/ui/pass/defer-value-forms.rs.
use exitstack::defer;

fn main() {
    let mut v = Vec::new();
    defer!(println!("{v:?}"));
    v.push(1);
}
