//! The local guards behind the macros: `Defer`, `Guard`, `ErrorWatch`.

mod common;

use std::cell::{Cell, RefCell};

use common::{DropCounter, DropLog, panic_message, quiet_panics};
use exitstack::{Defer, ErrorWatch, Guard, Outcome, When};

#[test]
fn defer_runs_lifo_interleaved_with_locals() {
    let log = RefCell::new(Vec::new());
    {
        let _a = DropLog {
            name: "local a",
            log: &log,
        };
        let _g1 = Defer::new(|| log.borrow_mut().push("defer 1"));
        let _b = DropLog {
            name: "local b",
            log: &log,
        };
        let _g2 = Defer::new(|| log.borrow_mut().push("defer 2"));
    }
    assert_eq!(*log.borrow(), ["defer 2", "local b", "defer 1", "local a"]);
}

#[test]
fn defer_cancel_never_runs_and_drops_captures_once() {
    let drops = DropCounter::default();
    let ran = Cell::new(false);
    let token = drops.token();
    let guard = Defer::new(|| {
        let _token = token;
        ran.set(true);
    });
    guard.cancel();
    assert_eq!((ran.get(), drops.drops()), (false, 1));
}

#[test]
fn defer_run_runs_now_and_only_once() {
    let count = Cell::new(0);
    let guard = Defer::new(|| count.set(count.get() + 1));
    guard.run();
    assert_eq!(count.get(), 1);
}

/// Which `When`s run for which outcome: every cell of the table.
#[test]
fn guard_when_matrix_over_success_error_and_panic() {
    quiet_panics();
    let all = [
        When::Always,
        When::Success,
        When::Error,
        When::Panic,
        When::Failure,
    ];
    let expected = |when: When, outcome: Outcome| match when {
        When::Always => true,
        When::Success => outcome == Outcome::Success,
        When::Error => outcome == Outcome::Error,
        When::Panic => outcome == Outcome::Panic,
        When::Failure => outcome != Outcome::Success,
    };
    for outcome in [Outcome::Success, Outcome::Error, Outcome::Panic] {
        let seen = RefCell::new(Vec::new());
        let body = || {
            let watch = ErrorWatch::new();
            let _guards = all.map(|when| {
                let seen = &seen;
                Guard::watching(&watch, when, move |o| seen.borrow_mut().push((when, o)))
            });
            match outcome {
                Outcome::Success => {}
                Outcome::Error => watch.mark_error(),
                Outcome::Panic => panic!("boom"),
            }
        };
        if outcome == Outcome::Panic {
            panic_message(body);
        } else {
            body();
        }
        let ran: Vec<When> = seen.borrow().iter().map(|(w, _)| *w).collect();
        // The guards live in an array, whose elements drop first to last.
        let want: Vec<When> = all.into_iter().filter(|w| expected(*w, outcome)).collect();
        assert_eq!(ran, want, "outcome {outcome:?}");
        assert!(
            seen.borrow().iter().all(|(_, o)| *o == outcome),
            "every guard saw {outcome:?}: {:?}",
            seen.borrow()
        );
    }
}

#[test]
fn guard_that_does_not_run_still_drops_its_captures_once() {
    let drops = DropCounter::default();
    {
        let token = drops.token();
        let _g = Guard::new(When::Panic, move |_| drop(token));
    }
    assert_eq!(drops.drops(), 1);
}

struct GuardInDrop<'l>(&'l Cell<Option<Outcome>>);

impl Drop for GuardInDrop<'_> {
    fn drop(&mut self) {
        let _g = Guard::new(When::Always, |o| self.0.set(Some(o)));
    }
}

#[test]
fn guard_made_during_unwinding_sees_success_scopeguard_43() {
    quiet_panics();
    let seen = Cell::new(None);
    panic_message(|| {
        let _v = GuardInDrop(&seen);
        panic!("outer");
    });
    assert_eq!(seen.get(), Some(Outcome::Success));
}

#[test]
fn scope_check_marks_error_only_for_err() {
    let watch = ErrorWatch::new();
    assert_eq!(watch.check(Ok::<_, ()>(1)), Ok(1));
    assert!(!watch.is_error());
    assert_eq!(watch.check(Err::<(), _>("no")), Err("no"));
    assert!(watch.is_error());
}

#[test]
fn guard_outcome_follows_its_scope_and_run_ignores_when() {
    let watch = ErrorWatch::new();
    let seen = Cell::new(None);
    let guard = Guard::watching(&watch, When::Panic, |o| seen.set(Some(o)));
    assert_eq!(guard.outcome(), Outcome::Success);
    watch.mark_error();
    assert_eq!(guard.outcome(), Outcome::Error);
    guard.run();
    assert_eq!(seen.get(), Some(Outcome::Error));
}

#[test]
fn guard_cancel_never_runs() {
    let ran = Cell::new(false);
    Guard::new(When::Always, |_| ran.set(true)).cancel();
    assert!(!ran.get());
}

#[test]
fn guard_panic_when_not_unwinding_propagates_with_its_payload() {
    quiet_panics();
    let ran = Cell::new(false);
    let message = panic_message(|| {
        let _later = Defer::new(|| ran.set(true));
        let _g = Defer::new(|| panic!("cleanup failed"));
    });
    assert_eq!(message, "cleanup failed");
    assert!(ran.get(), "the guards dropped after it still ran");
}
