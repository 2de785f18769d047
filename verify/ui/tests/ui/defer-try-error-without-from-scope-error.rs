// The function's error type must hold cleanup errors beside its own.
use std::fs::File;

use exitstack::defer;

#[derive(Debug)]
enum SaveError {
    Io(std::io::Error),
}

impl From<std::io::Error> for SaveError {
    fn from(error: std::io::Error) -> Self {
        SaveError::Io(error)
    }
}

#[exitstack::scope]
fn save(file: &File) -> Result<(), SaveError> {
    defer!(try: file.sync_all());
    Ok(())
}

fn main() {}
