use exitstack::defer;

fn main() {
    defer!(on_failure: println!("rolling back"));
}
