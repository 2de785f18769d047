use exitstack::cleanup;

#[exitstack::scope]
fn save() {
    #[cleanup]
    let release = |name: &str, code: i32| {};
}

fn main() {
    save();
}
