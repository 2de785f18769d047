// With `spawn = ..`, a cleanup cannot borrow an argument (without it, it
// may): the message should say that `spawn` is why.
use exitstack::defer;

#[exitstack::scope(spawn = drop)]
async fn close(name: &str) {
    defer!(async move { println!("{name}") });
}

fn main() {
    drop(close("db"));
}
