use exitstack::cleanup;

fn main() {
    #[cleanup]
    const fn release() {}
}
