// An async cleanup is awaited after the body's locals are dropped: it can
// borrow the function's arguments, and must move anything else.
use exitstack::defer;

#[exitstack::scope]
async fn save(path: &str) {
    let name = format!("{path}.tmp");
    defer!(async {
        println!("removing {name} in {path}");
    });
}

fn main() {
    drop(save("db"));
}
