// A cleanup closure returns nothing, or `Result<(), E>` for a fallible one.
use exitstack::cleanup;

#[exitstack::scope]
fn save() -> std::io::Result<()> {
    #[cleanup]
    let release = || -> bool { true };
    Ok(())
}

fn main() {}
