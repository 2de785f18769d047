// A fallible cleanup has no value form.
use exitstack::defer;

#[exitstack::scope]
fn save() -> std::io::Result<()> {
    let file = std::fs::File::open("Cargo.toml")?;
    defer!(try: file => file.sync_all());
    Ok(())
}

fn main() {}
