use exitstack::defer;

async fn save() {
    defer!(async {
        println!("closed");
    });
    defer!(on_error: async {
        println!("rolled back");
    });
}

fn main() {
    drop(save());
}
