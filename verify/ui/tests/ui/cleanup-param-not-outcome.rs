use exitstack::cleanup;

fn main() {
    #[cleanup]
    fn release(file: String) {}
}
