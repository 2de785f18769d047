use exitstack::cleanup;

fn main() {
    #[cleanup]
    pub fn release() {}
}
