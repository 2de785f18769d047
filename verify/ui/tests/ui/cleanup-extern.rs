use exitstack::cleanup;

fn main() {
    #[cleanup]
    extern "C" fn release() {}
}
