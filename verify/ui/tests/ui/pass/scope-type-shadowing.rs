// Expansions name everything by absolute path: user items named like the
// runtime's (or like `core`'s) do not disturb them.
#![allow(dead_code)]

use ::exitstack::defer;

struct Scope;
struct Guard;
struct Defer;
struct When;
struct Observe;
enum Outcome {
    Fine,
}
type Result<T> = ::core::result::Result<T, String>;
mod core {}
mod exitstack {}

#[::exitstack::scope]
fn save(fail: bool) -> Result<Scope> {
    defer!(on_error: println!("rolled back"));
    let _guard = cleanup!(on_failure: println!("failed"));
    if fail {
        return Err("failed".to_owned());
    }
    Ok(Scope)
}

fn main() {
    assert!(save(false).is_ok());
    assert!(save(true).is_err());
}
