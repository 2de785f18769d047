//! The nine pinned policies of `ExitStack` (its docs' "Policies"), one or more tests
//! each, named after the policy they prove.
//!
//! Each behaviour test is generic over the stack type and runs against
//! `ExitStack`, `SendExitStack`, `AsyncExitStack` and `SendAsyncExitStack`
//! (`exit_stack::policy1_...`, `async_exit_stack::policy1_...`, ...): the
//! asynchronous stacks close with `aclose().await`, driven to completion by
//! `common::harness`. The tests at the end are about one type each.

mod common;

use std::error::Error;
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::harness::{
    AnyStack, DropCounter, DropLog, Log, StackOps, SyncCell, block_on, on_every_stack,
};
use common::{panic_message, quiet_panics};
use exitstack::{
    AsyncExitStack, CancelError, CleanupError, ExitContext, ExitStack, Outcome, ScopeError,
    SendAsyncExitStack, SendExitStack,
};

on_every_stack! {
    policy1_lifo_across_every_kind_of_entry_on_close,
    policy1_lifo_on_drop_interleaved_with_contexts,
    policy6_hundred_thousand_entries_close_without_stack_overflow,
    policy2_and_3_every_entry_runs_once_and_first_panic_resumes_with_its_payload,
    policy3_drop_resumes_first_panic_after_all_ran_when_not_unwinding,
    policy3_stack_dropped_while_unwinding_keeps_the_original_panic,
    policy4_close_returns_every_error_in_execution_order_with_sources,
    policy4_single_error_is_reachable_as_itself,
    policy4_dropped_stack_discards_errors_and_does_not_panic,
    policy4_exit_context_error_is_collected,
    policy3_panic_wins_over_errors_in_close,
    outcome_baseline_stack_made_during_unwinding_sees_success_scopeguard_43,
    policy2_cancelled_entry_never_runs_and_its_captures_drop_once,
    policy2_entries_moved_by_pop_all_run_and_drop_exactly_once,
    cancel_rejects_used_and_foreign_keys_and_follows_pop_all,
    policy5_stack_is_reusable_after_close_and_after_pop_all,
    enter_context_reference_stays_usable_while_more_is_registered,
    scope_ok_is_success_and_err_is_error,
    policy4_scope_body_error_is_primary_and_cleanup_errors_are_kept_beside,
    scope_error_converts_with_question_mark_keeping_both,
    policy4_scope_cleanup_errors_do_not_vanish_when_body_succeeds,
    scope_body_panic_is_outcome_panic_and_keeps_unwinding,
    close_with_marks_the_outcome_by_hand,
    debug_shows_pending_count,
    policy2_cancel_all_runs_nothing_and_drops_every_capture_once_lifo,
    policy3_cancel_all_with_a_panicking_drop_drops_the_rest_then_resumes,
    scope_body_can_pop_all_on_success_and_on_error_entries_see_the_err,
    a_refused_key_stays_usable_on_the_right_stack,
    scope_body_may_return_io_result,
    policy8_a_failed_commit_rolls_back_the_transactions_entered_before_it,
    policy8_a_failure_never_turns_a_panic_or_an_error_into_something_else,
    policy9_a_key_issued_before_a_panicking_close_never_cancels_a_new_entry,
    policy9_a_key_issued_before_a_panicking_cancel_all_never_cancels_a_new_entry,
    try_push_sees_the_outcome_and_its_error_is_collected,
}

/// `try_push`: a fallible exit callback. It sees the outcome, its error is
/// collected, and the entries after it see `Error`.
fn try_push_sees_the_outcome_and_its_error_is_collected<S: AnyStack>() {
    let seen = Log::new();
    let mut stack = S::new();
    stack.push(|outcome| seen.push(("after", outcome)));
    let key = stack.try_push(|outcome| -> Result<(), String> {
        seen.push(("cancelled", outcome));
        Ok(())
    });
    stack.try_push(|outcome| {
        seen.push(("commit", outcome));
        Err(format!("commit failed ({outcome})"))
    });
    stack.cancel(&key).unwrap();
    let errors = stack.close().unwrap_err();
    assert_eq!(
        errors.to_string(),
        "cleanup failed: commit failed (success)"
    );
    assert_eq!(
        seen.entries(),
        [("commit", Outcome::Success), ("after", Outcome::Error)]
    );
    stack.try_push(|outcome| Err(format!("{outcome}")));
    assert_eq!(
        stack
            .close_with(Outcome::Panic)
            .unwrap_err()
            .first()
            .to_string(),
        "panic"
    );
}

/// A transaction whose commit may fail; logs what it did.
struct Transaction<'l> {
    name: &'static str,
    commit_fails: bool,
    log: &'l Log<String>,
}

impl ExitContext for Transaction<'_> {
    type Error = String;
    fn exit(self, outcome: Outcome) -> Result<(), String> {
        if outcome == Outcome::Success {
            self.log.push(format!("commit {}", self.name));
            if self.commit_fails {
                return Err(format!("commit {} failed", self.name));
            }
        } else {
            self.log
                .push(format!("roll back {} ({outcome})", self.name));
        }
        Ok(())
    }
}

/// Two transactions entered; the second one's commit fails. The first one
/// must then roll back, not commit: no partial commit. Later exit callbacks
/// see the error too.
fn policy8_a_failed_commit_rolls_back_the_transactions_entered_before_it<S: AnyStack>() {
    let log = Log::new();
    let mut stack = S::new();
    stack.push(|outcome| log.push(format!("exit callback ({outcome})")));
    stack.enter_exit_context(Transaction {
        name: "first",
        commit_fails: false,
        log: &log,
    });
    stack.enter_exit_context(Transaction {
        name: "second",
        commit_fails: true,
        log: &log,
    });
    let errors = stack.close().unwrap_err();
    assert_eq!(errors.to_string(), "cleanup failed: commit second failed");
    assert_eq!(
        log.entries(),
        [
            "commit second",
            "roll back first (error)",
            "exit callback (error)"
        ]
    );
}

/// After a failure, `Error` stays `Error` and `Panic` stays `Panic`.
fn policy8_a_failure_never_turns_a_panic_or_an_error_into_something_else<S: AnyStack>() {
    for outcome in [Outcome::Error, Outcome::Panic] {
        let seen = Log::new();
        let mut stack = S::new();
        stack.push(|o| seen.push(o));
        stack.try_callback(|| Err("failed"));
        assert!(stack.close_with(outcome).is_err());
        assert_eq!(seen.entries(), [outcome]);
    }
}

/// The caught-panic repro of issue 9: a panicking cleanup unwinds out of
/// `close()`, the panic is caught, a new value reuses the slot, and the old
/// key must not cancel it (it used to: a use-after-free).
fn policy9_a_key_issued_before_a_panicking_close_never_cancels_a_new_entry<S: AnyStack>() {
    quiet_panics();
    let log = Log::new();
    let mut stack = S::new();
    let old = stack.callback(|| log.push("old"));
    stack.callback(|| panic!("cleanup panicked"));
    let message = panic_message(|| drop(stack.close()));
    assert_eq!(message, "cleanup panicked");
    assert_eq!(log.entries(), ["old"], "the entry below the panic ran once");
    let value = stack.enter_context(vec![1, 2, 3]);
    assert_eq!(stack.cancel(&old), Err(CancelError::NotPending));
    value.push(4);
    assert_eq!(*value, [1, 2, 3, 4]);
}

/// The same through `cancel_all()`, with a captured value whose `Drop`
/// panics.
fn policy9_a_key_issued_before_a_panicking_cancel_all_never_cancels_a_new_entry<S: AnyStack>() {
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("drop panicked");
        }
    }
    quiet_panics();
    let drops = DropCounter::default();
    let mut stack = S::new();
    let token = drops.token();
    let old = stack.callback(move || drop(token));
    let bomb = PanicsOnDrop;
    stack.callback(move || drop(bomb));
    let message = panic_message(|| stack.cancel_all());
    assert_eq!(message, "drop panicked");
    assert_eq!(
        drops.drops(),
        1,
        "the entry below the panic was dropped once"
    );
    let value = stack.enter_context(vec![1]);
    assert_eq!(stack.cancel(&old), Err(CancelError::NotPending));
    value.push(2);
    assert_eq!(*value, [1, 2]);
}

/// A context whose exit logs the outcome it saw.
struct Tx<'l> {
    log: &'l Log<&'static str>,
}

impl ExitContext for Tx<'_> {
    type Error = std::convert::Infallible;
    fn exit(self, outcome: Outcome) -> Result<(), Self::Error> {
        self.log.push(match outcome {
            Outcome::Success => "tx commit",
            _ => "tx rollback",
        });
        Ok(())
    }
}

fn policy1_lifo_across_every_kind_of_entry_on_close<S: AnyStack>() {
    let log = Log::new();
    let mut stack = S::new();
    stack.callback(|| log.push("callback"));
    stack.enter_context(DropLog {
        name: "context",
        log: &log,
    });
    stack.push(|_| log.push("push"));
    stack.enter_exit_context(Tx { log: &log });
    stack.try_callback(|| {
        log.push("try_callback");
        Ok::<(), std::io::Error>(())
    });
    stack.close().unwrap();
    assert_eq!(
        log.entries(),
        ["try_callback", "tx commit", "push", "context", "callback"]
    );
}

fn policy1_lifo_on_drop_interleaved_with_contexts<S: AnyStack>() {
    let log = Log::new();
    {
        let stack = S::new();
        for name in ["a", "b", "c"] {
            stack.enter_context(DropLog { name, log: &log });
            stack.callback(|| log.push("after"));
        }
    }
    assert_eq!(log.entries(), ["after", "c", "after", "b", "after", "a"]);
}

/// 100,000 entries; fewer under Miri, which runs about a thousand times slower.
const DEEP: usize = if cfg!(miri) { 2_000 } else { 100_000 };

fn deep_stack<S: AnyStack>(n: usize, close: bool) -> usize {
    let count = SyncCell::new(0);
    {
        let mut stack = S::new();
        for _ in 0..n {
            stack.callback(|| count.add_one());
        }
        if close {
            stack.close().unwrap();
        }
    }
    count.get()
}

fn policy6_hundred_thousand_entries_close_without_stack_overflow<S: AnyStack>() {
    // A small thread stack: any recursion per entry would overflow it.
    let ran = std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(|| (deep_stack::<S>(DEEP, true), deep_stack::<S>(DEEP, false)))
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(ran, (DEEP, DEEP));
}

fn policy2_and_3_every_entry_runs_once_and_first_panic_resumes_with_its_payload<S: AnyStack>() {
    quiet_panics();
    let runs = Log::new();
    let mut stack = S::new();
    stack.callback(|| runs.push(1));
    stack.callback(|| {
        runs.push(2);
        panic!("registered second, runs second");
    });
    stack.callback(|| runs.push(3));
    stack.callback(|| {
        runs.push(4);
        std::panic::panic_any(String::from("registered last, runs first"));
    });
    let message = panic_message(|| drop(stack.close()));
    assert_eq!(message, "registered last, runs first");
    assert_eq!(runs.entries(), [4, 3, 2, 1]);
    assert!(stack.is_empty());
}

fn policy3_drop_resumes_first_panic_after_all_ran_when_not_unwinding<S: AnyStack>() {
    quiet_panics();
    let ran = SyncCell::new(0);
    let message = panic_message(|| {
        let stack = S::new();
        stack.callback(|| ran.add_one());
        stack.callback(|| panic!("cleanup failed"));
        stack.callback(|| ran.add_one());
    });
    assert_eq!(message, "cleanup failed");
    assert_eq!(ran.get(), 2);
}

fn policy3_stack_dropped_while_unwinding_keeps_the_original_panic<S: AnyStack>() {
    quiet_panics();
    let ran = SyncCell::new(0);
    let seen = SyncCell::new(None);
    let message = panic_message(|| {
        let stack = S::new();
        stack.push(|outcome| seen.set(Some(outcome)));
        stack.callback(|| {
            ran.add_one();
            panic!("second panic, swallowed");
        });
        stack.callback(|| ran.add_one());
        panic!("original");
    });
    assert_eq!(message, "original");
    assert_eq!(ran.get(), 2);
    assert_eq!(seen.get(), Some(Outcome::Panic));
}

#[derive(Debug)]
struct Disk;

impl fmt::Display for Disk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("disk full")
    }
}

impl Error for Disk {}

#[derive(Debug)]
struct Flush(&'static str, Disk);

impl fmt::Display for Flush {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot flush {}", self.0)
    }
}

impl Error for Flush {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.1)
    }
}

fn policy4_close_returns_every_error_in_execution_order_with_sources<S: AnyStack>() {
    let ran = SyncCell::new(0);
    let mut stack = S::new();
    stack.try_callback(|| Err(Flush("a.log", Disk)));
    stack.callback(|| ran.add_one());
    stack.try_callback(|| Err(Flush("b.log", Disk)));
    stack.try_callback(|| Ok::<(), Flush>(()));
    let error: CleanupError = stack.close().unwrap_err();
    assert_eq!(ran.get(), 1, "a failing cleanup does not stop the others");
    let messages: Vec<String> = error.iter().map(ToString::to_string).collect();
    assert_eq!(messages, ["cannot flush b.log", "cannot flush a.log"]);
    for each in &error {
        assert_eq!(each.source().unwrap().to_string(), "disk full");
    }
    assert_eq!(error.downcast_ref::<Flush>().unwrap().0, "b.log");
    // Every message in one line, and no `source()` repeating one of them.
    assert!(error.source().is_none());
    assert_eq!(
        error.to_string(),
        "2 cleanups failed: cannot flush b.log; cannot flush a.log"
    );
    let owned: Vec<exitstack::BoxError> = error.into_iter().collect();
    assert!(owned[1].downcast_ref::<Flush>().is_some());
}

fn policy4_single_error_is_reachable_as_itself<S: AnyStack>() {
    let mut stack = S::new();
    stack.try_callback(|| Err(std::io::Error::new(std::io::ErrorKind::NotFound, "gone")));
    let error = stack.close().unwrap_err();
    assert_eq!(error.len(), 1);
    assert_eq!(error.to_string(), "cleanup failed: gone");
    let io = error.downcast_ref::<std::io::Error>().unwrap();
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(error.first().to_string(), "gone");
}

fn policy4_dropped_stack_discards_errors_and_does_not_panic<S: AnyStack>() {
    let ran = SyncCell::new(false);
    let ((), reports) = common::reports::capture(|| {
        let stack = S::new();
        stack.callback(|| ran.set(true));
        stack.try_callback(|| Err("lost: the stack was only dropped"));
    });
    assert!(ran.get());
    // Not silent: the error goes to the report hook.
    assert_eq!(
        reports,
        [
            "exitstack: cleanup error discarded (stack dropped without close()): lost: the stack \
          was only dropped"
        ]
    );
}

fn policy4_exit_context_error_is_collected<S: AnyStack>() {
    struct Commit;
    impl ExitContext for Commit {
        type Error = Disk;
        fn exit(self, _: Outcome) -> Result<(), Disk> {
            Err(Disk)
        }
    }
    let mut stack = S::new();
    stack.enter_exit_context(Commit);
    assert!(stack.close().unwrap_err().downcast_ref::<Disk>().is_some());
}

fn policy3_panic_wins_over_errors_in_close<S: AnyStack>() {
    quiet_panics();
    let mut stack = S::new();
    stack.try_callback(|| Err("an error"));
    stack.callback(|| panic!("a panic"));
    let (message, reports) = common::reports::capture(|| panic_message(|| drop(stack.close())));
    assert_eq!(message, "a panic");
    assert_eq!(
        reports,
        ["exitstack: cleanup error discarded (a panic is unwinding): an error"]
    );
}

/// A value whose `Drop` makes a stack of type `S` while the thread unwinds.
struct MakesStackInDrop<'l, S: AnyStack>(&'l SyncCell<Option<Outcome>>, PhantomData<S>);

impl<S: AnyStack> Drop for MakesStackInDrop<'_, S> {
    fn drop(&mut self) {
        let stack = S::new();
        stack.push(|outcome| self.0.set(Some(outcome)));
        // The stack's own scope ends normally here.
    }
}

fn outcome_baseline_stack_made_during_unwinding_sees_success_scopeguard_43<S: AnyStack>() {
    quiet_panics();
    let seen = SyncCell::new(None);
    let _ = panic_message(|| {
        let _value = MakesStackInDrop::<S>(&seen, PhantomData);
        panic!("outer");
    });
    assert_eq!(seen.get(), Some(Outcome::Success));
}

fn policy2_cancelled_entry_never_runs_and_its_captures_drop_once<S: AnyStack>() {
    let drops = DropCounter::default();
    let ran = SyncCell::new(false);
    let mut stack = S::new();
    let token = drops.token();
    let key = stack.callback(|| {
        let _token = token;
        ran.set(true);
    });
    assert_eq!(stack.len(), 1);
    stack.cancel(&key).unwrap();
    assert_eq!(drops.drops(), 1, "dropped at cancel");
    assert_eq!(stack.len(), 0);
    stack.close().unwrap();
    drop(stack);
    assert!(!ran.get());
    assert_eq!(drops.drops(), 1, "and never again");
}

fn policy2_entries_moved_by_pop_all_run_and_drop_exactly_once<S: AnyStack>() {
    let drops = DropCounter::default();
    let ran = SyncCell::new(0);
    let mut stack = S::new();
    for _ in 0..3 {
        let token = drops.token();
        stack.callback(|| {
            let _token = token;
            ran.add_one();
        });
    }
    let moved = stack.pop_all();
    drop(stack);
    assert_eq!((ran.get(), drops.drops()), (0, 0), "pop_all runs nothing");
    assert_eq!(moved.len(), 3);
    drop(moved);
    assert_eq!((ran.get(), drops.drops()), (3, 3));
}

fn cancel_rejects_used_and_foreign_keys_and_follows_pop_all<S: AnyStack>() {
    let ran = Log::new();
    let mut stack = S::new();
    let ran_key = stack.callback(|| ran.push("ran"));
    stack.close().unwrap();
    assert_eq!(stack.cancel(&ran_key), Err(CancelError::NotPending));

    let other = S::new();
    let foreign = other.callback(|| ran.push("other"));
    assert_eq!(stack.cancel(&foreign), Err(CancelError::ForeignKey));
    assert_eq!(other.len(), 1, "a refused cancel changes nothing");

    let moved_key = stack.callback(|| ran.push("moved"));
    let kept_key = stack.callback(|| ran.push("kept"));
    let mut moved = stack.pop_all();
    assert_eq!(
        stack.cancel(&kept_key),
        Err(CancelError::ForeignKey),
        "the key followed its entry"
    );
    moved.cancel(&moved_key).unwrap();
    moved.close().unwrap();
    drop(other);
    assert_eq!(ran.entries(), ["ran", "kept", "other"]);
}

fn policy5_stack_is_reusable_after_close_and_after_pop_all<S: AnyStack>() {
    let log = Log::new();
    let mut stack = S::new();
    stack.callback(|| log.push(1));
    stack.close().unwrap();
    assert!(stack.is_empty());
    stack.callback(|| log.push(2));
    stack.close().unwrap();
    stack.callback(|| log.push(3));
    let moved = stack.pop_all();
    assert!(stack.is_empty());
    stack.callback(|| log.push(4));
    stack.close().unwrap();
    drop(moved);
    assert_eq!(log.entries(), [1, 2, 4, 3]);
}

fn enter_context_reference_stays_usable_while_more_is_registered<S: AnyStack>() {
    let log = Log::new();
    let stack = S::new();
    let first = stack.enter_context(Vec::new());
    let second = stack.enter_context(String::new());
    stack.callback(|| log.push("callback"));
    first.push(1);
    second.push_str("still mine");
    for _ in 0..100 {
        stack.callback(|| ()); // forces the entry storage to grow
    }
    first.push(2);
    assert_eq!(*first, [1, 2]);
    assert_eq!(second, "still mine");
}

fn scope_ok_is_success_and_err_is_error<S: AnyStack>() {
    let seen = Log::new();
    let ok = S::scope(|stack| {
        stack.push(|outcome| seen.push(outcome));
        Ok::<u8, String>(7)
    });
    assert_eq!(ok.unwrap(), 7);
    let err = S::scope(|stack| {
        stack.push(|outcome| seen.push(outcome));
        Err::<u8, _>("body failed")
    });
    let err = err.unwrap_err();
    assert_eq!(err.to_string(), "body failed");
    assert!(matches!(
        err,
        ScopeError::Body {
            error: "body failed",
            cleanup: None
        }
    ));
    assert_eq!(seen.entries(), [Outcome::Success, Outcome::Error]);
}

/// The body's error comes back as it was returned — a type that knows
/// nothing of this crate — with the cleanup errors beside it, in the order
/// the cleanups ran.
fn policy4_scope_body_error_is_primary_and_cleanup_errors_are_kept_beside<S: AnyStack>() {
    #[derive(Debug, PartialEq)]
    enum Mine {
        BodyFailed,
    }
    let result: Result<(), ScopeError<Mine>> = S::scope(|stack| {
        stack.try_callback(|| Err("registered first"));
        stack.try_callback(|| Err("registered last"));
        Err(Mine::BodyFailed)
    });
    let (body, cleanup) = result.unwrap_err().into_parts();
    assert_eq!(body, Some(Mine::BodyFailed));
    let cleanup: Vec<String> = cleanup.unwrap().iter().map(ToString::to_string).collect();
    assert_eq!(cleanup, ["registered last", "registered first"]);
}

fn policy4_scope_cleanup_errors_do_not_vanish_when_body_succeeds<S: AnyStack>() {
    let result = S::scope(|stack| {
        stack.try_callback(|| Err("cleanup failed"));
        Ok::<u8, String>(1)
    });
    let error = result.unwrap_err();
    assert!(error.body().is_none());
    assert_eq!(
        error.cleanup().unwrap().first().to_string(),
        "cleanup failed"
    );
    assert_eq!(error.to_string(), "cleanup failed: cleanup failed");
}

/// `?` into `Box<dyn Error>`: the message starts with the body's, then
/// every cleanup error, each once (found by review: a second cleanup error
/// was in no report, the first was in it three times).
fn scope_error_converts_with_question_mark_keeping_both<S: AnyStack>() {
    fn run<S: AnyStack>() -> Result<(), Box<dyn Error>> {
        S::scope(|stack| {
            stack.try_callback(|| Err("flush failed"));
            stack.try_callback(|| Err("unlock failed"));
            Err::<(), _>(String::from("disk full"))
        })?;
        Ok(())
    }
    let error = run::<S>().unwrap_err();
    assert_eq!(
        error.to_string(),
        "disk full (and 2 cleanups failed: unlock failed; flush failed)"
    );
    assert!(error.source().is_none(), "a report must not repeat them");
    let scope = error.downcast_ref::<ScopeError<String>>().unwrap();
    assert_eq!(scope.body().unwrap(), "disk full");
    assert_eq!(scope.cleanup().unwrap().len(), 2);
}

fn scope_body_panic_is_outcome_panic_and_keeps_unwinding<S: AnyStack>() {
    quiet_panics();
    let seen = SyncCell::new(None);
    let message = panic_message(|| {
        let _: Result<(), ScopeError<String>> = S::scope(|stack| {
            stack.push(|outcome| seen.set(Some(outcome)));
            stack.callback(|| panic!("cleanup panic, swallowed"));
            panic!("body panic");
        });
    });
    assert_eq!(message, "body panic");
    assert_eq!(seen.get(), Some(Outcome::Panic));
}

fn close_with_marks_the_outcome_by_hand<S: AnyStack>() {
    let seen = SyncCell::new(None);
    let mut stack = S::new();
    stack.push(|outcome| seen.set(Some(outcome)));
    stack.close_with(Outcome::Error).unwrap();
    assert_eq!(seen.get(), Some(Outcome::Error));
}

fn debug_shows_pending_count<S: AnyStack>() {
    let stack = S::new();
    stack.callback(|| ());
    assert_eq!(
        format!("{stack:?}"),
        format!("{} {{ pending: 1 }}", S::NAME)
    );
    assert_eq!(
        format!("{:?}", S::new()),
        format!("{} {{ pending: 0 }}", S::NAME)
    );
}

fn policy2_cancel_all_runs_nothing_and_drops_every_capture_once_lifo<S: AnyStack>() {
    let log = Log::new();
    let drops = DropCounter::default();
    let ran = SyncCell::new(false);
    let mut stack = S::new();
    stack.enter_context(DropLog {
        name: "context dropped",
        log: &log,
    });
    for _ in 0..3 {
        let token = drops.token();
        stack.callback(|| {
            let _token = token;
            ran.set(true);
        });
    }
    stack.callback(|| log.push("never"));
    stack.cancel_all();
    assert!(stack.is_empty());
    assert_eq!(drops.drops(), 3);
    assert_eq!(log.entries(), ["context dropped"]);
    stack.callback(|| log.push("registered after"));
    drop(stack);
    assert!(!ran.get());
    assert_eq!(drops.drops(), 3);
    assert_eq!(log.entries(), ["context dropped", "registered after"]);
}

fn policy3_cancel_all_with_a_panicking_drop_drops_the_rest_then_resumes<S: AnyStack>() {
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("drop panicked");
        }
    }
    quiet_panics();
    let drops = DropCounter::default();
    let mut stack = S::new();
    let token = drops.token();
    stack.callback(move || drop(token));
    let bomb = PanicsOnDrop;
    stack.callback(move || drop(bomb));
    let token = drops.token();
    stack.callback(move || drop(token));
    assert_eq!(panic_message(|| stack.cancel_all()), "drop panicked");
    assert_eq!(drops.drops(), 2);
    assert!(stack.is_empty());
}

fn scope_body_can_pop_all_on_success_and_on_error_entries_see_the_err<S: AnyStack>() {
    fn open_all<'a, S: AnyStack>(
        names: &[&'static str],
        log: &'a Log<String>,
    ) -> Result<S::Stack<'a>, ScopeError<&'static str>> {
        S::scope(|stack| {
            for &name in names {
                if name.is_empty() {
                    return Err("empty name");
                }
                stack.push(move |outcome| log.push(format!("{name}: {outcome}")));
            }
            Ok(stack.pop_all())
        })
    }
    let log = Log::new();
    let handed_over = open_all::<S>(&["a", "b"], &log).unwrap();
    assert!(log.is_empty(), "nothing ran: the caller owns them");
    drop(handed_over);
    assert!(open_all::<S>(&["c", ""], &log).is_err());
    assert_eq!(log.entries(), ["b: success", "a: success", "c: error"]);
}

fn a_refused_key_stays_usable_on_the_right_stack<S: AnyStack>() {
    let ran = SyncCell::new(false);
    let mut first = S::new();
    let key = first.callback(|| ran.set(true));
    let second = first.pop_all();
    assert_eq!(first.cancel(&key), Err(CancelError::ForeignKey));
    assert_eq!(second.cancel(&key), Ok(()));
    assert_eq!(second.cancel(&key), Err(CancelError::NotPending));
    drop(second);
    assert!(!ran.get());
}

fn scope_body_may_return_io_result<S: AnyStack>() {
    use std::io;
    fn body_only<S: AnyStack>() -> io::Result<u8> {
        Ok(S::scope(|_| {
            Err(io::Error::new(io::ErrorKind::NotFound, "no config"))
        })?)
    }
    fn run<S: AnyStack>(body: io::Result<u8>) -> io::Result<u8> {
        Ok(S::scope(|stack| {
            stack.try_callback(|| Err("unlock failed"));
            body
        })?)
    }
    // Only the cleanup failed: an `Other` error holding the `CleanupError`.
    let error = run::<S>(Ok(1)).unwrap_err();
    let cleanup = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<CleanupError>())
        .unwrap();
    assert_eq!(cleanup.first().to_string(), "unlock failed");
    // Both failed: the body's kind, with both inside.
    let error = run::<S>(Err(io::ErrorKind::NotFound.into())).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::NotFound);
    let scope = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ScopeError<io::Error>>())
        .unwrap();
    assert_eq!(scope.body().unwrap().kind(), io::ErrorKind::NotFound);
    assert_eq!(scope.cleanup().unwrap().len(), 1);
    // A body error alone comes back as it was: no wrapping.
    let error = body_only::<S>().unwrap_err();
    assert!(
        error
            .get_ref()
            .unwrap()
            .downcast_ref::<ScopeError<io::Error>>()
            .is_none()
    );
    assert_eq!(error.to_string(), "no config");
}

// About one type each: moving a `Send` stack to another thread, and the
// conversions between stack types.

#[test]
fn send_stack_moves_into_a_spawned_thread_and_runs_there() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let stack = SendExitStack::new();
    for i in 0..3 {
        let log = Arc::clone(&log);
        stack.callback(move || log.lock().unwrap().push((i, std::thread::current().id())));
    }
    let worker = std::thread::spawn(move || {
        let mut stack = stack;
        stack.close().unwrap();
        std::thread::current().id()
    })
    .join()
    .unwrap();
    let log = log.lock().unwrap();
    assert_eq!(log.iter().map(|e| e.0).collect::<Vec<_>>(), [2, 1, 0]);
    assert!(log.iter().all(|e| e.1 == worker));
}

#[test]
fn send_async_stack_moves_into_a_spawned_thread_and_runs_there() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let stack = SendAsyncExitStack::new();
    for i in 0..3 {
        let log = Arc::clone(&log);
        stack.callback(move || log.lock().unwrap().push((i, std::thread::current().id())));
    }
    let log_async = Arc::clone(&log);
    stack.push_async_callback(async move || {
        log_async
            .lock()
            .unwrap()
            .push((3, std::thread::current().id()));
    });
    let worker = std::thread::spawn(move || {
        let mut stack = stack;
        block_on(stack.aclose()).unwrap();
        std::thread::current().id()
    })
    .join()
    .unwrap();
    let log = log.lock().unwrap();
    assert_eq!(log.iter().map(|e| e.0).collect::<Vec<_>>(), [3, 2, 1, 0]);
    assert!(log.iter().all(|e| e.1 == worker));
}

#[test]
fn send_stack_converts_into_exit_stack_keeping_keys() {
    let ran = AtomicUsize::new(0);
    let send = SendExitStack::new();
    let key = send.callback(|| {
        ran.fetch_add(1, Ordering::Relaxed);
    });
    let local: ExitStack<'_> = send.into();
    local.cancel(&key).unwrap();
    drop(local);
    assert_eq!(ran.load(Ordering::Relaxed), 0);
}

#[test]
fn send_async_stack_and_exit_stack_convert_into_async_exit_stack_keeping_keys() {
    let ran = AtomicUsize::new(0);
    let count = || {
        ran.fetch_add(1, Ordering::Relaxed);
    };

    let send = SendAsyncExitStack::new();
    let key = send.callback(count);
    send.callback(count);
    let mut local: AsyncExitStack<'_> = send.into();
    local.cancel(&key).unwrap();
    assert_eq!(local.len(), 1);
    block_on(local.aclose()).unwrap();
    assert_eq!(ran.load(Ordering::Relaxed), 1);

    let sync = ExitStack::new();
    let key = sync.callback(count);
    sync.callback(count);
    let mut local: AsyncExitStack<'_> = sync.into();
    local.cancel(&key).unwrap();
    assert_eq!(local.len(), 1);
    block_on(local.aclose()).unwrap();
    assert_eq!(ran.load(Ordering::Relaxed), 2);
}

/// The two conversions out of a `SendExitStack` into an async stack: into
/// `SendAsyncExitStack` (which stays `Send`: closed on another thread) and
/// into `AsyncExitStack`. Keys and order survive both.
#[test]
fn send_exit_stack_converts_into_both_async_stacks_keeping_keys_and_order() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let push = |entry: &'static str| {
        let log = Arc::clone(&log);
        move || log.lock().unwrap().push(entry)
    };

    let sync = SendExitStack::new();
    sync.callback(push("first registered"));
    let key = sync.callback(push("cancelled"));
    sync.callback(push("last registered"));
    let mut send_async: SendAsyncExitStack<'static> = sync.into();
    send_async.cancel(&key).unwrap();
    std::thread::spawn(move || block_on(send_async.aclose()).unwrap())
        .join()
        .unwrap();
    assert_eq!(
        *log.lock().unwrap(),
        ["last registered", "first registered"]
    );

    log.lock().unwrap().clear();
    let sync = SendExitStack::new();
    let key = sync.callback(push("cancelled"));
    sync.callback(push("ran"));
    let mut local: AsyncExitStack<'static> = sync.into();
    local.cancel(&key).unwrap();
    block_on(local.aclose()).unwrap();
    assert_eq!(*log.lock().unwrap(), ["ran"]);
}

/// `?` from a scope whose body is an `anyhow::Error` into `anyhow::Result`:
/// the report keeps the body's context chain and every cleanup error,
/// each once (found by review: the chain below the context was lost).
#[test]
fn anyhow_body_keeps_its_context_chain_and_every_cleanup_error_through_question_mark() {
    use anyhow::Context as _;
    fn load() -> anyhow::Result<()> {
        ExitStack::scope(|stack| {
            stack.try_callback(|| Err("flush failed"));
            stack.try_callback(|| Err("unlock failed"));
            Err(anyhow::anyhow!("root cause")).context("loading config")
        })?;
        Ok(())
    }
    let report = format!("{:#}", load().unwrap_err());
    assert_eq!(
        report,
        "loading config: root cause (and 2 cleanups failed: unlock failed; flush failed)"
    );
}
