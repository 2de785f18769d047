#[exitstack::scope(on_error)]
fn save() {}

fn main() {
    save();
}
