//! `defer!`: runs at the end of its block on every way out, LIFO, in the
//! block's drop order.

mod common;

use std::cell::RefCell;

use common::{DropLog, panic_message, quiet_panics};
use exitstack::defer;

type Log = RefCell<Vec<&'static str>>;

fn push(log: &Log, entry: &'static str) {
    log.borrow_mut().push(entry);
}

#[test]
fn runs_at_block_end_lifo_interleaved_with_locals() {
    let log = Log::default();
    {
        let _a = DropLog {
            name: "local a",
            log: &log,
        };
        defer!(push(&log, "defer 1"));
        let _b = DropLog {
            name: "local b",
            log: &log,
        };
        defer! { push(&log, "defer 2") }
        push(&log, "body");
    }
    assert_eq!(
        *log.borrow(),
        ["body", "defer 2", "local b", "defer 1", "local a"]
    );
}

#[test]
fn runs_on_return() {
    fn early(log: &Log, stop: bool) {
        defer!(push(log, "deferred"));
        if stop {
            push(log, "returning");
            return;
        }
        push(log, "end of body");
    }
    let log = Log::default();
    early(&log, true);
    assert_eq!(*log.borrow(), ["returning", "deferred"]);
    log.borrow_mut().clear();
    early(&log, false);
    assert_eq!(*log.borrow(), ["end of body", "deferred"]);
}

#[test]
fn runs_on_break_out_of_a_labeled_block() {
    let log = Log::default();
    let value = 'block: {
        defer!(push(&log, "deferred"));
        push(&log, "breaking");
        break 'block 7;
    };
    push(&log, "after the block");
    assert_eq!(value, 7);
    assert_eq!(*log.borrow(), ["breaking", "deferred", "after the block"]);
}

#[test]
fn runs_once_per_loop_iteration() {
    let log = RefCell::new(Vec::new());
    for i in 0..3 {
        defer!(log.borrow_mut().push(i));
        if i == 1 {
            continue;
        }
        log.borrow_mut().push(i * 10);
    }
    assert_eq!(*log.borrow(), [0, 0, 1, 20, 2]);
}

#[test]
fn runs_on_question_mark() {
    fn parse(log: &Log, input: &str) -> Result<i32, std::num::ParseIntError> {
        defer!(push(log, "deferred"));
        let n: i32 = input.parse()?;
        push(log, "parsed");
        Ok(n)
    }
    let log = Log::default();
    assert!(parse(&log, "x").is_err());
    assert_eq!(*log.borrow(), ["deferred"]);
    log.borrow_mut().clear();
    assert_eq!(parse(&log, "4"), Ok(4));
    assert_eq!(*log.borrow(), ["parsed", "deferred"]);
}

#[test]
fn runs_on_panic() {
    quiet_panics();
    let log = Log::default();
    let message = panic_message(|| {
        defer!(push(&log, "deferred"));
        panic!("boom");
    });
    assert_eq!(message, "boom");
    assert_eq!(*log.borrow(), ["deferred"]);
}

#[test]
fn conditions_without_a_scope() {
    quiet_panics();
    let log = Log::default();
    {
        defer!(always: push(&log, "always"));
        defer!(on_success: push(&log, "on success"));
        defer!(on_panic: push(&log, "on panic"));
    }
    assert_eq!(*log.borrow(), ["on success", "always"]);

    log.borrow_mut().clear();
    panic_message(|| {
        defer!(always: push(&log, "always"));
        defer!(on_success: push(&log, "on success"));
        defer!(on_panic: push(&log, "on panic"));
        panic!("boom");
    });
    assert_eq!(*log.borrow(), ["on panic", "always"]);
}

/// Outside `#[exitstack::scope]` an `Err` return cannot be seen: it counts
/// as success (documented on `defer!`).
#[test]
fn without_a_scope_an_err_return_is_success() {
    fn fails(log: &Log) -> Result<(), ()> {
        defer!(on_success: push(log, "on success"));
        Err(())
    }
    let log = Log::default();
    assert!(fails(&log).is_err());
    assert_eq!(*log.borrow(), ["on success"]);
}

#[test]
fn body_is_statements_and_may_return_early() {
    let log = Log::default();
    {
        defer! {
            push(&log, "first statement");
            if log.borrow().len() == 1 {
                return;
            }
            push(&log, "not reached");
        }
    }
    assert_eq!(*log.borrow(), ["first statement"]);
}

#[test]
fn qualified_path_works() {
    let log = Log::default();
    {
        exitstack::defer!(push(&log, "qualified"));
    }
    assert_eq!(*log.borrow(), ["qualified"]);
}
