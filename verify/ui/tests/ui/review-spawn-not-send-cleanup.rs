// A non-`Send` async cleanup with `spawn = ..`: the error should be on the
// cleanup.
use exitstack::defer;

#[exitstack::scope(spawn = drop)]
async fn close() {
    let shared = std::rc::Rc::new(1);
    defer!(async move { println!("{shared}") });
}

fn main() {
    drop(close());
}
