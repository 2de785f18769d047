// Its error would become the function's `Err`, and the function has none.
use std::fs::File;

use exitstack::defer;

#[exitstack::scope]
fn save(file: &File) {
    defer!(try: file.sync_all());
}

fn main() {}
