use exitstack::cleanup;

fn main() {
    #[cleanup]
    fn release() -> bool {
        true
    }
}
