// Handed-off cleanups run on another task: they must be `Send`.
#[exitstack::scope(?Send, spawn = drop)]
async fn close() {}

fn main() {
    drop(close());
}
