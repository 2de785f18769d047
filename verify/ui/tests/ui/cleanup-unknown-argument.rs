use exitstack::cleanup;

fn main() {
    #[cleanup(on_eror)]
    fn release() {}
}
