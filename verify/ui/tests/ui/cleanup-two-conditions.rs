use exitstack::cleanup;

fn main() {
    #[cleanup(on_success, on_panic)]
    fn release() {}
}
