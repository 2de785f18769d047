// Labels are tracked by scope, not by name: the inner `'a` shadows the
// outer one, so only the outer `break 'a` returns (rustc warns about the
// shadowing itself, which is why this case lives here).
use std::cell::Cell;

use exitstack::defer;

#[exitstack::scope]
#[allow(unused_labels, clippy::never_loop)]
fn shadowed(errors: &Cell<u32>, successes: &Cell<u32>, ok: bool) -> Result<u32, String> {
    defer!(on_error: errors.set(errors.get() + 1));
    defer!(on_success: successes.set(successes.get() + 1));
    'a: loop {
        let _ = 'a: {
            break 'a Err::<u32, String>("inner".to_owned());
        };
        break 'a if ok { Ok(1) } else { Err("outer".to_owned()) };
    }
}

fn main() {
    let (errors, successes) = (Cell::new(0), Cell::new(0));
    assert_eq!(shadowed(&errors, &successes, true), Ok(1));
    assert_eq!((errors.get(), successes.get()), (0, 1));
    assert!(shadowed(&errors, &successes, false).is_err());
    assert_eq!((errors.get(), successes.get()), (1, 1));
}
