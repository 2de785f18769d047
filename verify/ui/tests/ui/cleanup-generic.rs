use exitstack::cleanup;

fn main() {
    #[cleanup]
    fn release<T: Default>() {}
}
