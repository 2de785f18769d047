// A handed-off cleanup runs after the function is gone: it must own what
// it uses.
use exitstack::defer;

#[exitstack::scope(spawn = drop)]
async fn close(name: String) {
    let log = vec![name];
    defer!(async { println!("{log:?}") });
}

fn main() {
    drop(close(String::new()));
}
