//! `#[cleanup]` on a block-local `fn` (the decorator form), outside any
//! `#[exitstack::scope]`: on the implicit stack, and on an explicit one.

mod common;

use std::cell::{Cell, RefCell};

use common::{DropLog, panic_message, quiet_panics};
use exitstack::{ExitStack, Outcome, SendExitStack, cleanup, defer};

type Log = RefCell<Vec<&'static str>>;

fn push(log: &Log, entry: &'static str) {
    log.borrow_mut().push(entry);
}

#[test]
fn reads_and_mutates_locals_declared_before_it() {
    let mut total = 0;
    {
        let step = 5;
        #[cleanup]
        fn add_step() {
            total += step;
        }
        // `total` is borrowed by the cleanup until the block ends.
    }
    assert_eq!(total, 5);
}

#[test]
fn runs_lifo_interleaved_with_locals_and_defer() {
    let log = Log::default();
    {
        let _a = DropLog {
            name: "local a",
            log: &log,
        };
        #[cleanup]
        fn first() {
            push(&log, "cleanup 1");
        }
        defer!(push(&log, "defer 2"));
        let _b = DropLog {
            name: "local b",
            log: &log,
        };
        #[cleanup]
        fn third() {
            push(&log, "cleanup 3");
        }
        push(&log, "body");
    }
    assert_eq!(
        *log.borrow(),
        [
            "body",
            "cleanup 3",
            "local b",
            "defer 2",
            "cleanup 1",
            "local a"
        ]
    );
}

#[test]
fn cancel_and_run() {
    let log = Log::default();
    {
        #[cleanup]
        fn cancelled() {
            push(&log, "cancelled");
        }
        #[cleanup]
        fn early() {
            push(&log, "run early");
        }
        early.run();
        push(&log, "after run");
        cancelled.cancel();
    }
    assert_eq!(*log.borrow(), ["run early", "after run"]);
}

#[test]
fn outcome_parameter_makes_an_exit_callback() {
    quiet_panics();
    let seen = Cell::new(None);
    {
        #[cleanup]
        fn observe(outcome: Outcome) {
            seen.set(Some(outcome));
        }
    }
    assert_eq!(seen.take(), Some(Outcome::Success));
    panic_message(|| {
        #[cleanup]
        fn observe(o @ (Outcome::Success | Outcome::Error | Outcome::Panic): Outcome) {
            seen.set(Some(o));
        }
        panic!("boom");
    });
    assert_eq!(seen.take(), Some(Outcome::Panic));
}

#[test]
fn conditions_without_a_scope() {
    quiet_panics();
    let log = Log::default();
    let run = |fail: bool| {
        #[cleanup(always)]
        fn always() {
            push(&log, "always");
        }
        #[cleanup(on_success)]
        fn on_success() {
            push(&log, "on success");
        }
        #[cleanup(on_panic)]
        fn on_panic(_: Outcome) {
            push(&log, "on panic");
        }
        assert!(!fail, "boom");
    };
    run(false);
    assert_eq!(
        std::mem::take(&mut *log.borrow_mut()),
        ["on success", "always"]
    );
    panic_message(|| run(true));
    assert_eq!(
        std::mem::take(&mut *log.borrow_mut()),
        ["on panic", "always"]
    );
}

/// Python's `@stack.callback`: the cleanup is an entry of an explicit
/// stack, and `name` is its key.
#[test]
fn on_an_explicit_stack() {
    let log = Log::default();
    let mut stack = ExitStack::new();
    #[cleanup(stack = stack)]
    fn release() {
        push(&log, "release");
    }
    #[cleanup(stack = &stack)]
    fn cancelled() {
        push(&log, "cancelled");
    }
    #[cleanup(on_error, stack = stack)]
    fn roll_back(outcome: Outcome) {
        assert_eq!(outcome, Outcome::Error);
        push(&log, "roll back");
    }
    #[cleanup(stack = stack, on_success)]
    fn commit() {
        push(&log, "commit");
    }
    stack.cancel(&cancelled).unwrap();
    let _ = release;
    assert_eq!(stack.len(), 3);
    stack.close_with(Outcome::Error).unwrap();
    assert_eq!(*log.borrow(), ["roll back", "release"]);
}

#[test]
fn on_a_send_stack_moved_to_another_thread() {
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stack = SendExitStack::new();
    let counter = std::sync::Arc::clone(&count);
    #[cleanup(move, stack = stack)]
    fn bump() {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    std::thread::spawn(move || drop(stack)).join().unwrap();
    assert_eq!(count.load(std::sync::atomic::Ordering::Relaxed), 1);
}

#[test]
fn exit_callback_on_an_explicit_stack() {
    let seen = Cell::new(None);
    {
        let stack = ExitStack::new();
        #[cleanup(stack = stack)]
        fn observe(outcome: Outcome) {
            seen.set(Some(outcome));
        }
    }
    assert_eq!(seen.get(), Some(Outcome::Success));
}

#[test]
fn other_attributes_apply_to_the_binding() {
    let ran = Cell::new(false);
    {
        /// Documentation is dropped: a local has no docs.
        #[cfg(test)]
        #[allow(unused_mut)]
        #[cleanup]
        fn documented() {
            ran.set(true);
        }
        #[cfg(not(test))]
        #[cleanup]
        fn configured_out() {
            compile_error!("not compiled");
        }
    }
    assert!(ran.get());
}
