use exitstack::defer;

#[exitstack::scope]
fn save(items: &[u8]) {
    defer!(println!("released"));
    items.iter().for_each(|_| pop_all!());
}

fn main() {
    save(&[1]);
}
