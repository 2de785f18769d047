use exitstack::cleanup;

fn main() {
    let _guard = cleanup!(println!("released"));
}
