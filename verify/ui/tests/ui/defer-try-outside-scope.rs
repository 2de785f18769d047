// A fallible cleanup's error becomes the function's `Err`, which only an
// `#[exitstack::scope]` fn observes.
use std::fs::File;

fn save(file: &File) -> std::io::Result<()> {
    exitstack::defer!(try: file.sync_all());
    Ok(())
}

fn main() {}
