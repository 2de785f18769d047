#[exitstack::scope]
fn save() {
    cleanup!(println!("released"));
    println!("saving");
}

fn main() {
    save();
}
