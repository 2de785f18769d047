#[exitstack::scope]
fn save() {
    pop_all!(everything);
}

fn main() {
    save();
}
