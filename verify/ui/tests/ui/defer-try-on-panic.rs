// On a panic the function returns nothing: no `Err` for the error to go into.
use std::fs::File;

use exitstack::defer;

#[exitstack::scope]
fn save(file: &File) -> std::io::Result<()> {
    defer!(try on_panic: file.sync_all());
    Ok(())
}

fn main() {}
