// Everything `#[exitstack::scope]` adds: `cleanup!`, `pop_all!()` (neither
// needs an import), `#[cleanup] let`, on-error cleanups.
use exitstack::{Outcome, cleanup};

#[exitstack::scope]
fn save(fail: bool) -> Result<u8, String> {
    let guard = cleanup!(println!("always"));
    let _commit = cleanup!(on_success: println!("committed"));
    let _undo = cleanup!(on_error: println!("rolled back"));
    let _report = cleanup!(on_failure: println!("failed"));
    #[cleanup(on_error)]
    fn roll_back(outcome: Outcome) {
        assert_eq!(outcome, Outcome::Error);
    }
    #[cleanup]
    let close = || println!("closed");
    #[cleanup(on_panic)]
    let _panicked = |_: Outcome| {};
    guard.cancel();
    if fail {
        return Err("failed".to_owned());
    }
    let n: u8 = "7".parse().map_err(|_| String::new())?;
    pop_all!();
    Ok(n)
}

fn main() {
    assert_eq!(save(false), Ok(7));
    assert!(save(true).is_err());
}
