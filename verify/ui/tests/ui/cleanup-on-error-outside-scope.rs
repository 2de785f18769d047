use exitstack::cleanup;

fn save() -> Result<(), String> {
    #[cleanup(on_error)]
    fn roll_back() {}
    Err("disk full".to_owned())
}

fn main() {
    let _ = save();
}
