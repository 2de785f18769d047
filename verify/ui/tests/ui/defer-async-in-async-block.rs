use exitstack::defer;

#[exitstack::scope]
async fn save(items: Vec<u8>) {
    defer!(async {});
    let task = async move {
        defer!(async move {
            println!("{items:?}");
        });
    };
    task.await;
    let _in_closure = || {
        let _undo = cleanup!(on_error: async {});
    };
}

fn main() {
    drop(save(Vec::new()));
}
