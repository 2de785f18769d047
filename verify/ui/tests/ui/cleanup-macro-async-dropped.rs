#[exitstack::scope]
async fn save() {
    cleanup!(async {
        println!("closed");
    });
}

fn main() {
    drop(save());
}
