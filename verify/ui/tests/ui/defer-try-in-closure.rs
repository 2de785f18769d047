// A closure is a scope of its own: its cleanups cannot return the function's
// `Err`.
use std::fs::File;

use exitstack::defer;

#[exitstack::scope]
fn save_all(files: &[File]) -> std::io::Result<()> {
    files.iter().try_for_each(|file| {
        defer!(try: file.sync_all());
        Ok(())
    })
}

fn main() {}
