use exitstack::cleanup;

fn main() {
    #[cleanup]
    fn release(name: &str, code: i32) {}
}
