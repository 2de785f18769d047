//! `exitstack` without `std`, in a program that catches panics (the test
//! harness does; so may any `no_std` program on a target that unwinds).
//! Without `std` the crate cannot detect unwinding, so nothing here may
//! rest on it: the drain's guard knows it was interrupted because its
//! `drop` ran at all, and keys are retired before any slot is freed.

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};

use exitstack::{CancelError, Defer, ExitStack, Outcome};

/// Runs `f`, which must panic; the default hook is silenced.
fn caught(f: impl FnOnce()) -> String {
    panic::set_hook(Box::new(|_| {}));
    let payload = panic::catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    payload
        .downcast_ref::<&str>()
        .map(ToString::to_string)
        .expect("a string payload")
}

/// The proof that this build is the one it claims to be: with `std`, a
/// stack dropped by a panic that started after it was made tells its exit
/// callbacks `Panic`; without it, the crate cannot see the panic.
#[test]
fn std_is_really_off() {
    let seen = RefCell::new(None);
    let message = caught(|| {
        let stack = ExitStack::new();
        stack.push(|outcome| *seen.borrow_mut() = Some(outcome));
        panic!("body");
    });
    assert_eq!(message, "body");
    assert_eq!(*seen.borrow(), Some(Outcome::Success), "std is on");
}

/// The caught-panic repro of issue 9: a panicking cleanup unwinds out of
/// `close()`; the entries below still run exactly once (seeing `Panic`,
/// which the interrupted drain knows without `std`); a new value reuses the
/// slot and the old keys must not cancel it.
#[test]
fn a_panic_caught_out_of_close_runs_the_rest_once_and_retires_every_key() {
    let log = &RefCell::new(Vec::new());
    let mut stack = ExitStack::new();
    let keys: Vec<_> = (0..12)
        .map(|n| stack.push(move |outcome| log.borrow_mut().push((n, outcome))))
        .collect();
    stack.callback(|| panic!("cleanup"));
    stack.push(|outcome| log.borrow_mut().push((99, outcome)));
    assert_eq!(caught(|| drop(stack.close())), "cleanup");
    let expected: Vec<_> = [(99, Outcome::Success)]
        .into_iter()
        .chain((0..12).rev().map(|n| (n, Outcome::Panic)))
        .collect();
    assert_eq!(*log.borrow(), expected);
    assert!(stack.is_empty());
    let values: Vec<_> = (0..14).map(|n| stack.enter_context(vec![n])).collect();
    for key in &keys {
        assert_eq!(stack.cancel(key), Err(CancelError::NotPending));
    }
    for (n, value) in values.into_iter().enumerate() {
        value.push(n);
        assert_eq!(*value, [n, n]);
    }
}

/// A captured value's `Drop` panics in `cancel_all()`: every other capture
/// is still dropped exactly once, and the old keys are refused.
#[test]
fn a_panic_caught_out_of_cancel_all_drops_the_rest_once_and_retires_every_key() {
    struct Token<'l>(usize, &'l RefCell<Vec<usize>>);
    impl Drop for Token<'_> {
        fn drop(&mut self) {
            self.1.borrow_mut().push(self.0);
            assert!(self.0 != 2, "drop");
        }
    }
    let dropped = RefCell::new(Vec::new());
    let mut stack = ExitStack::new();
    let keys: Vec<_> = (0..4)
        .map(|n| {
            let token = Token(n, &dropped);
            stack.callback(move || drop(token))
        })
        .collect();
    assert_eq!(caught(|| stack.cancel_all()), "drop");
    assert_eq!(*dropped.borrow(), [3, 2, 1, 0]);
    let value = stack.enter_context(vec![7]);
    for key in &keys {
        assert_eq!(stack.cancel(key), Err(CancelError::NotPending));
    }
    value.push(8);
    assert_eq!(*value, [7, 8]);
}

/// A stack dropped with a panicking entry, the panic caught: the entries
/// below it run during the unwinding (they used to leak, never running).
#[test]
fn a_stack_dropped_with_a_panicking_entry_runs_the_ones_below() {
    let log = &RefCell::new(Vec::new());
    assert_eq!(
        caught(|| {
            let stack = ExitStack::new();
            for n in 0..10 {
                stack.callback(move || log.borrow_mut().push(n));
            }
            stack.callback(|| panic!("cleanup"));
        }),
        "cleanup"
    );
    assert_eq!(*log.borrow(), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
}

/// A failed cleanup is an error for the ones after it (policy 8).
#[test]
fn a_failed_cleanup_is_an_error_for_the_later_ones() {
    let seen = RefCell::new(Vec::new());
    let mut stack = ExitStack::new();
    stack.push(|outcome| seen.borrow_mut().push(outcome));
    stack.try_callback(|| Err("commit failed"));
    assert!(stack.close().is_err());
    assert_eq!(*seen.borrow(), [Outcome::Error]);
}

/// A guard runs when a panic unwinds through it, also without `std`.
#[test]
fn guards_run_during_unwinding() {
    let ran = RefCell::new(false);
    assert_eq!(
        caught(|| {
            let _guard = Defer::new(|| *ran.borrow_mut() = true);
            panic!("body");
        }),
        "body"
    );
    assert!(*ran.borrow());
}
