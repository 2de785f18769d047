//! `#[exitstack::scope]`: on-error cleanups run exactly when the function
//! returns an `Err` (through `return`, `?` or its tail), `pop_all!()`, and
//! the forms that only exist inside it.

mod common;

use std::cell::RefCell;

use common::{panic_message, quiet_panics};
use exitstack::{Outcome, cleanup, defer};

type Log = RefCell<Vec<&'static str>>;

fn push(log: &Log, entry: &'static str) {
    log.borrow_mut().push(entry);
}

fn taken(log: &Log) -> Vec<&'static str> {
    std::mem::take(&mut *log.borrow_mut())
}

#[derive(Debug, PartialEq)]
struct Failed;

#[exitstack::scope]
fn by_return(log: &Log, fail: bool) -> Result<u32, Failed> {
    defer!(on_error: push(log, "on error"));
    defer!(on_success: push(log, "on success"));
    defer!(on_failure: push(log, "on failure"));
    if fail {
        return Err(Failed);
    }
    return Ok(1);
}

#[test]
fn on_error_runs_on_err_through_return() {
    let log = Log::default();
    assert_eq!(by_return(&log, true), Err(Failed));
    assert_eq!(taken(&log), ["on failure", "on error"]);
    assert_eq!(by_return(&log, false), Ok(1));
    assert_eq!(taken(&log), ["on success"]);
}

#[exitstack::scope]
fn by_question_mark(log: &Log, input: &str) -> Result<u32, std::num::ParseIntError> {
    defer!(on_error: push(log, "on error"));
    let n: u32 = input.parse()?;
    push(log, "parsed");
    Ok(n)
}

#[test]
fn on_error_runs_on_err_through_question_mark() {
    let log = Log::default();
    assert!(by_question_mark(&log, "x").is_err());
    assert_eq!(taken(&log), ["on error"]);
    assert_eq!(by_question_mark(&log, "3"), Ok(3));
    assert_eq!(taken(&log), ["parsed"]);
}

#[exitstack::scope]
fn by_tail(log: &Log, fail: bool) -> Result<(), Failed> {
    defer!(on_error: push(log, "on error"));
    if fail { Err(Failed) } else { Ok(()) }
}

#[test]
fn on_error_runs_on_err_through_the_tail() {
    let log = Log::default();
    assert_eq!(by_tail(&log, true), Err(Failed));
    assert_eq!(taken(&log), ["on error"]);
    assert_eq!(by_tail(&log, false), Ok(()));
    assert_eq!(taken(&log), Vec::<&str>::new());
}

/// A cleanup inside an inner block of the tail sees the error too: the
/// value is observed before that block's locals are dropped.
#[exitstack::scope]
fn by_inner_tail(log: &Log, choice: u8) -> Result<u8, Failed> {
    match choice {
        0 => {
            defer!(on_error: push(log, "arm 0 on error"));
            Err(Failed)
        }
        1 => 'block: {
            defer!(on_error: push(log, "block on error"));
            if log.borrow().is_empty() {
                break 'block Err(Failed);
            }
            Ok(1)
        }
        _ => {
            let mut tries = 0;
            loop {
                defer!(on_error: push(log, "loop on error"));
                tries += 1;
                if tries == 2 {
                    break Err(Failed);
                }
            }
        }
    }
}

#[test]
fn on_error_sees_values_flowing_into_the_tail() {
    let log = Log::default();
    assert_eq!(by_inner_tail(&log, 0), Err(Failed));
    assert_eq!(taken(&log), ["arm 0 on error"]);
    assert_eq!(by_inner_tail(&log, 1), Err(Failed));
    assert_eq!(taken(&log), ["block on error"]);
    assert_eq!(by_inner_tail(&log, 2), Err(Failed));
    assert_eq!(taken(&log), ["loop on error"]);
}

#[exitstack::scope]
fn panics(log: &Log) -> Result<(), Failed> {
    defer!(on_error: push(log, "on error"));
    defer!(on_panic: push(log, "on panic"));
    defer!(on_failure: push(log, "on failure"));
    defer!(on_success: push(log, "on success"));
    panic!("boom");
}

#[test]
fn on_error_does_not_run_on_panic() {
    quiet_panics();
    let log = Log::default();
    assert_eq!(panic_message(|| drop(panics(&log))), "boom");
    assert_eq!(taken(&log), ["on failure", "on panic"]);
}

#[exitstack::scope]
fn with_cleanup_macro(log: &Log, fail: bool, cancel: bool) -> Result<(), Failed> {
    let _always = cleanup!(push(log, "always"));
    let _explicit = cleanup!(always: push(log, "always, explicit"));
    let _on_success = cleanup!(on_success: push(log, "on success"));
    let _on_error = cleanup!(on_error: push(log, "on error"));
    let _on_panic = cleanup!(on_panic: push(log, "on panic"));
    let on_failure = cleanup!(on_failure: push(log, "on failure"));
    if cancel {
        on_failure.cancel();
    }
    if fail { Err(Failed) } else { Ok(()) }
}

#[test]
fn cleanup_macro_conditions_and_cancel() {
    let log = Log::default();
    with_cleanup_macro(&log, false, false).unwrap();
    assert_eq!(taken(&log), ["on success", "always, explicit", "always"]);
    with_cleanup_macro(&log, true, false).unwrap_err();
    assert_eq!(
        taken(&log),
        ["on failure", "on error", "always, explicit", "always"]
    );
    with_cleanup_macro(&log, true, true).unwrap_err();
    assert_eq!(taken(&log), ["on error", "always, explicit", "always"]);
}

#[exitstack::scope]
fn run_now(log: &Log) {
    let guard = cleanup!(on_panic: push(log, "ran early"));
    push(log, "before");
    guard.run();
    push(log, "after");
}

#[test]
fn cleanup_macro_run_runs_now_whatever_the_condition() {
    let log = Log::default();
    run_now(&log);
    assert_eq!(taken(&log), ["before", "ran early", "after"]);
}

/// Python's `if result: stack.pop_all()`.
#[exitstack::scope]
fn pop_all_on_success(log: &Log, succeed: bool) -> Result<(), Failed> {
    defer!(push(log, "defer before"));
    let _guard = cleanup!(push(log, "cleanup! before"));
    #[cleanup]
    fn decorated() {
        push(log, "#[cleanup] before");
    }
    #[cleanup]
    let closure = || push(log, "#[cleanup] let before");
    if succeed {
        pop_all!();
    }
    defer!(push(log, "defer after"));
    Ok(())
}

#[test]
fn pop_all_cancels_every_cleanup_registered_so_far() {
    let log = Log::default();
    pop_all_on_success(&log, true).unwrap();
    assert_eq!(taken(&log), ["defer after"]);
    pop_all_on_success(&log, false).unwrap();
    assert_eq!(
        taken(&log),
        [
            "defer after",
            "#[cleanup] let before",
            "#[cleanup] before",
            "cleanup! before",
            "defer before",
        ]
    );
}

#[exitstack::scope]
fn decorators(log: &Log, fail: bool) -> Result<(), Failed> {
    #[cleanup(on_error)]
    fn roll_back() {
        push(log, "fn on error");
    }
    #[cleanup(on_success)]
    let commit = || push(log, "let on success");
    #[cleanup]
    let see = |outcome: Outcome| {
        push(
            log,
            if outcome == Outcome::Error {
                "let saw error"
            } else {
                "let saw success"
            },
        );
    };
    #[cleanup(on_failure)]
    fn report(outcome: Outcome) {
        assert_eq!(outcome, Outcome::Error);
        push(log, "fn on failure");
    }
    if fail { Err(Failed) } else { Ok(()) }
}

#[test]
fn cleanup_fn_and_let_in_a_scope() {
    let log = Log::default();
    decorators(&log, false).unwrap();
    assert_eq!(taken(&log), ["let saw success", "let on success"]);
    decorators(&log, true).unwrap_err();
    assert_eq!(
        taken(&log),
        ["fn on failure", "let saw error", "fn on error"]
    );
}

#[exitstack::scope]
fn cleanup_let_with_a_fn_path(log: &Log) {
    fn release() {
        LOG.with(|log| log.borrow_mut().push("released"));
    }
    #[cleanup]
    let named = release;
    let _ = log;
}

thread_local! {
    static LOG: Log = const { RefCell::new(Vec::new()) };
}

#[test]
fn cleanup_let_takes_any_fn_once() {
    cleanup_let_with_a_fn_path(&Log::default());
    LOG.with(|log| assert_eq!(*log.borrow(), ["released"]));
}

/// Closures are scopes of their own: their `Err` is not the function's, and
/// cleanups in them run when the closure's body ends.
#[exitstack::scope]
fn closure_keeps_its_own_scope(log: &Log) -> Result<(), Failed> {
    defer!(on_error: push(log, "function on error"));
    let inner = || -> Result<(), Failed> {
        defer!(push(log, "closure defer"));
        #[cleanup(on_success)]
        fn closure_success() {
            push(log, "closure on success (no panic)");
        }
        Err(Failed)
    };
    let result = inner();
    push(log, "closure returned");
    assert!(result.is_err());
    Ok(())
}

#[test]
fn closures_are_not_observed() {
    let log = Log::default();
    closure_keeps_its_own_scope(&log).unwrap();
    assert_eq!(
        taken(&log),
        [
            "closure on success (no panic)",
            "closure defer",
            "closure returned"
        ]
    );
}

/// Nested `fn` items keep their own scopes (and attributes).
#[exitstack::scope]
fn nested_fn_item(log: &Log) -> Result<(), Failed> {
    #[exitstack::scope]
    fn inner(log: &Log) -> Result<(), Failed> {
        defer!(on_error: push(log, "inner on error"));
        Err(Failed)
    }
    defer!(on_error: push(log, "outer on error"));
    let _ = inner(log);
    Ok(())
}

#[test]
fn nested_fns_have_their_own_scope() {
    let log = Log::default();
    nested_fn_item(&log).unwrap();
    assert_eq!(taken(&log), ["inner on error"]);
}

/// `Option::None` is not an error (and an `on_error` cleanup in a function
/// returning an `Option` is a compile error: see verify/ui/tests/ui).
#[exitstack::scope]
fn option(log: &Log, value: Option<u8>) -> Option<u8> {
    defer!(on_success: push(log, "on success"));
    defer!(on_panic: push(log, "on panic"));
    let v = value?;
    Some(v)
}

#[test]
fn none_is_not_an_error() {
    let log = Log::default();
    assert_eq!(option(&log, None), None);
    assert_eq!(taken(&log), ["on success"]);
}

/// Types other than `Result` pass through untouched, whatever the inference.
#[exitstack::scope]
fn inferred_tail(log: &Log) -> String {
    defer!(on_success: push(log, "on success"));
    "inferred".into()
}

#[exitstack::scope]
fn inferred_error(log: &Log) -> Result<u8, String> {
    defer!(on_error: push(log, "on error"));
    if log.borrow().is_empty() {
        return Err("from &str".into());
    }
    "7".parse().map_err(|_| String::new())
}

#[test]
fn observing_works_with_inferred_types() {
    let log = Log::default();
    assert_eq!(inferred_tail(&log), "inferred");
    assert_eq!(taken(&log), ["on success"]);
    assert_eq!(inferred_error(&log), Err("from &str".to_owned()));
    assert_eq!(taken(&log), ["on error"]);
}

struct Counter {
    log: Log,
    count: u32,
}

impl Counter {
    #[exitstack::scope]
    fn bump(&mut self, by: u32) -> Result<u32, Failed> {
        defer!(on_error: self.log.borrow_mut().push("bump failed"));
        self.count = self.count.checked_add(by).ok_or(Failed)?;
        Ok(self.count)
    }

    #[exitstack::scope]
    fn total(self) -> u32 {
        defer!(self.log.borrow_mut().push("total"));
        self.count
    }
}

#[test]
fn methods_with_self() {
    let mut counter = Counter {
        log: Log::default(),
        count: 0,
    };
    assert_eq!(counter.bump(u32::MAX), Ok(u32::MAX));
    assert_eq!(counter.bump(1), Err(Failed));
    assert_eq!(taken(&counter.log), ["bump failed"]);
    assert_eq!(counter.total(), u32::MAX);
}

#[exitstack::scope]
fn generic<T: std::str::FromStr>(log: &Log, input: &str) -> Result<T, T::Err> {
    defer!(on_error: push(log, "on error"));
    input.parse()
}

#[exitstack::scope]
fn impl_trait(log: &Log, fail: bool) -> Result<impl std::fmt::Display, Failed> {
    defer!(on_error: push(log, "on error"));
    if fail {
        return Err(Failed);
    }
    Ok(42)
}

#[test]
fn generic_and_impl_trait_returns() {
    let log = Log::default();
    assert!(generic::<u8>(&log, "300").is_err());
    assert_eq!(taken(&log), ["on error"]);
    assert_eq!(impl_trait(&log, false).unwrap().to_string(), "42");
    assert!(impl_trait(&log, true).is_err());
    assert_eq!(taken(&log), ["on error"]);
}

/// `poll`-style functions: an error inside `Poll` is an error too.
#[exitstack::scope]
fn poll_once(log: &Log, fail: bool) -> std::task::Poll<Result<u8, Failed>> {
    defer!(on_error: push(log, "on error"));
    if fail {
        std::task::Poll::Ready(Err(Failed))
    } else {
        std::task::Poll::Pending
    }
}

#[test]
fn poll_of_result_is_observed() {
    let log = Log::default();
    assert!(poll_once(&log, false).is_pending());
    assert_eq!(taken(&log), Vec::<&str>::new());
    assert!(poll_once(&log, true).is_ready());
    assert_eq!(taken(&log), ["on error"]);
}

/// `pop_all!()` disarms; an explicit `run()` is still obeyed.
#[exitstack::scope]
fn run_after_pop_all(log: &Log) {
    let guard = cleanup!(push(log, "ran"));
    pop_all!();
    guard.run();
    push(log, "after");
}

#[test]
fn run_works_after_pop_all() {
    let log = Log::default();
    run_after_pop_all(&log);
    assert_eq!(taken(&log), ["ran", "after"]);
}
