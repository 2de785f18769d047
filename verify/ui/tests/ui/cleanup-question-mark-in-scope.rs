// A `?` in a cleanup of an `#[exitstack::scope]` fn: give it a return type.
use std::fs::File;

use exitstack::cleanup;

#[exitstack::scope]
fn save(file: &File) -> std::io::Result<()> {
    #[cleanup]
    fn sync() {
        file.sync_all()?;
        println!("synced");
    }
    Ok(())
}

fn main() {}
