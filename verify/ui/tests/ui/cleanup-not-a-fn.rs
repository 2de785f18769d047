use exitstack::cleanup;

fn main() {
    #[cleanup]
    struct Release;
}
