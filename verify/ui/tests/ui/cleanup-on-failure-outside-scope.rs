use exitstack::cleanup;

fn main() {
    #[cleanup(on_failure)]
    fn roll_back() {}
}
