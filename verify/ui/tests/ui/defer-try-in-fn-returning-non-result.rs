// A return type that is no `Result`: by its name, and behind an alias (which
// the compiler decides about).
use std::fs::File;

use exitstack::defer;

#[exitstack::scope]
fn written(file: &File) -> usize {
    defer!(try: file.sync_all());
    0
}

type Count = usize;

#[exitstack::scope]
fn counted(file: &File) -> Count {
    defer!(try: file.sync_all());
    0
}

fn main() {}
