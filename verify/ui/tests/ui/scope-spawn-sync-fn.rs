// `spawn = ..` hands async cleanups over when the future is dropped: a
// sync fn has neither.
use exitstack::defer;

#[exitstack::scope(spawn = drop)]
fn close() {
    defer!(println!("closed"));
}

fn main() {
    close();
}
