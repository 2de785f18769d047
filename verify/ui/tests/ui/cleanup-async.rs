use exitstack::cleanup;

fn main() {
    #[cleanup]
    async fn release() {}
}
