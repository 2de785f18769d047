use exitstack::cleanup;

#[exitstack::scope]
fn save() -> impl std::future::Future<Output = Result<(), String>> {
    async {
        #[cleanup(on_error)]
        fn roll_back() {}
        Err("disk full".to_owned())
    }
}

fn main() {
    drop(save());
}
