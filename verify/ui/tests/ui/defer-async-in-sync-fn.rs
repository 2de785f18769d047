use exitstack::defer;

#[exitstack::scope]
fn save() -> Result<(), String> {
    defer!(on_error: async {
        println!("rolled back");
    });
    let _undo = cleanup!(async {});
    Err("disk full".to_owned())
}

fn main() {
    let _ = save();
}
