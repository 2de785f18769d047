use exitstack::defer;

fn main() {
    defer!(println!("released"));
    pop_all!();
}
