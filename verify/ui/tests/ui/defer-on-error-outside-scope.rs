use exitstack::defer;

fn save() -> Result<(), String> {
    defer!(on_error: println!("rolling back"));
    Err("disk full".to_owned())
}

fn main() {
    let _ = save();
}
