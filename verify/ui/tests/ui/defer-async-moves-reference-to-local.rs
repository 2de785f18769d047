// `async move` moves a reference, not what it points to: the local it
// borrows is still dropped before the cleanup is awaited.
use exitstack::defer;

#[exitstack::scope]
async fn save(path: &str) {
    let name = format!("{path}.tmp");
    let name_ref = &name;
    defer!(async move {
        println!("removing {name_ref}");
    });
}

fn main() {
    drop(save("db"));
}
