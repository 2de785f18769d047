use exitstack::cleanup;

fn main() {
    #[cleanup]
    unsafe fn release() {}
}
