// The function's error type must hold the cleanup's error.
use std::fs::File;

use exitstack::{ScopeError, defer};

#[derive(Debug)]
enum SaveError {
    Scope(Box<ScopeError<SaveError>>),
}

impl From<ScopeError<SaveError>> for SaveError {
    fn from(error: ScopeError<SaveError>) -> Self {
        SaveError::Scope(Box::new(error))
    }
}

#[exitstack::scope]
fn save(file: &File) -> Result<(), SaveError> {
    defer!(try: file.sync_all());
    Ok(())
}

fn main() {}
