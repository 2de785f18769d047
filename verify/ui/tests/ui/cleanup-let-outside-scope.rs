use exitstack::cleanup;

fn main() {
    #[cleanup]
    let release = || {};
}
