use exitstack::defer;

async fn close() {}

#[exitstack::scope]
async fn save() {
    defer!(async { close().await }.await);
    let _undo = cleanup!(on_error: async || close().await);
}

fn main() {
    drop(save());
}
