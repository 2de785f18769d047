// The implicit asynchronous stack is hygienic too: user code cannot name it.
use exitstack::defer;

#[exitstack::scope]
async fn save() {
    defer!(async {});
    __exitstack_async.cancel_all();
}

fn main() {
    drop(save());
}
