#[exitstack::scope]
fn save() {
    let _guard = cleanup!(on_eror: println!("rolled back"));
}

fn main() {
    save();
}
