// A function whose return type is never an error: its on-error cleanups
// could never run.
use exitstack::{cleanup, defer};

#[exitstack::scope]
fn count(items: &[u8]) -> usize {
    defer!(on_error: println!("never"));
    items.len()
}

#[exitstack::scope]
fn find(items: &[u8]) -> Option<u8> {
    #[cleanup(on_failure)]
    fn never() {}
    items.first().copied()
}

enum Answer {
    Yes,
}

#[exitstack::scope]
fn ask() -> Answer {
    let _guard = cleanup!(on_error: println!("never"));
    Answer::Yes
}

#[exitstack::scope]
fn nothing() {
    defer!(on_error: println!("never"));
}

fn main() {
    count(&[]);
    find(&[]);
    ask();
    nothing();
}
