use exitstack::defer;

fn main() {
    defer!(on_sucess: println!("committed"));
}
