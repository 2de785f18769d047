//! The seven pinned policies of `ExitStack` (DESIGN.md), one or more tests
//! each, named after the policy they prove.

mod common;

use std::cell::{Cell, RefCell};
use std::error::Error;
use std::fmt;

use common::{DropCounter, DropLog, panic_message, quiet_panics};
use exitstack::{CancelError, CleanupError, ExitContext, ExitStack, Outcome, SendExitStack};

/// A context whose exit logs the outcome it saw.
struct Tx<'l> {
    log: &'l RefCell<Vec<&'static str>>,
}

impl ExitContext for Tx<'_> {
    type Error = std::convert::Infallible;
    fn exit(self, outcome: Outcome) -> Result<(), Self::Error> {
        self.log.borrow_mut().push(match outcome {
            Outcome::Success => "tx commit",
            _ => "tx rollback",
        });
        Ok(())
    }
}

#[test]
fn policy1_lifo_across_every_kind_of_entry_on_close() {
    let log = RefCell::new(Vec::new());
    let mut stack = ExitStack::new();
    stack.callback(|| log.borrow_mut().push("callback"));
    stack.enter_context(DropLog {
        name: "context",
        log: &log,
    });
    stack.push(|_| log.borrow_mut().push("push"));
    stack.enter_exit_context(Tx { log: &log });
    stack.try_callback(|| {
        log.borrow_mut().push("try_callback");
        Ok::<(), std::io::Error>(())
    });
    stack.close().unwrap();
    assert_eq!(
        *log.borrow(),
        ["try_callback", "tx commit", "push", "context", "callback"]
    );
}

#[test]
fn policy1_lifo_on_drop_interleaved_with_contexts() {
    let log = RefCell::new(Vec::new());
    {
        let stack = ExitStack::new();
        for name in ["a", "b", "c"] {
            stack.enter_context(DropLog { name, log: &log });
            stack.callback(|| log.borrow_mut().push("after"));
        }
    }
    assert_eq!(*log.borrow(), ["after", "c", "after", "b", "after", "a"]);
}

/// 100,000 entries; fewer under Miri, which runs about a thousand times slower.
const DEEP: usize = if cfg!(miri) { 2_000 } else { 100_000 };

fn deep_stack(n: usize, close: bool) -> usize {
    let count = Cell::new(0);
    {
        let mut stack = ExitStack::new();
        for _ in 0..n {
            stack.callback(|| count.set(count.get() + 1));
        }
        if close {
            stack.close().unwrap();
        }
    }
    count.get()
}

#[test]
fn policy6_hundred_thousand_entries_close_without_stack_overflow() {
    // A small thread stack: any recursion per entry would overflow it.
    let ran = std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(|| (deep_stack(DEEP, true), deep_stack(DEEP, false)))
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(ran, (DEEP, DEEP));
}

#[test]
fn policy2_and_3_every_entry_runs_once_and_first_panic_resumes_with_its_payload() {
    quiet_panics();
    let runs = RefCell::new(Vec::new());
    let mut stack = ExitStack::new();
    stack.callback(|| runs.borrow_mut().push(1));
    stack.callback(|| {
        runs.borrow_mut().push(2);
        panic!("registered second, runs second");
    });
    stack.callback(|| runs.borrow_mut().push(3));
    stack.callback(|| {
        runs.borrow_mut().push(4);
        std::panic::panic_any(String::from("registered last, runs first"));
    });
    let message = panic_message(|| drop(stack.close()));
    assert_eq!(message, "registered last, runs first");
    assert_eq!(*runs.borrow(), [4, 3, 2, 1]);
    assert!(stack.is_empty());
}

#[test]
fn policy3_drop_resumes_first_panic_after_all_ran_when_not_unwinding() {
    quiet_panics();
    let ran = Cell::new(0);
    let message = panic_message(|| {
        let stack = ExitStack::new();
        stack.callback(|| ran.set(ran.get() + 1));
        stack.callback(|| panic!("cleanup failed"));
        stack.callback(|| ran.set(ran.get() + 1));
    });
    assert_eq!(message, "cleanup failed");
    assert_eq!(ran.get(), 2);
}

#[test]
fn policy3_stack_dropped_while_unwinding_keeps_the_original_panic() {
    quiet_panics();
    let ran = Cell::new(0);
    let seen = Cell::new(None);
    let message = panic_message(|| {
        let stack = ExitStack::new();
        stack.push(|outcome| seen.set(Some(outcome)));
        stack.callback(|| {
            ran.set(ran.get() + 1);
            panic!("second panic, swallowed");
        });
        stack.callback(|| ran.set(ran.get() + 1));
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

#[test]
fn policy4_close_returns_every_error_in_execution_order_with_sources() {
    let ran = Cell::new(0);
    let mut stack = ExitStack::new();
    stack.try_callback(|| Err(Flush("a.log", Disk)));
    stack.callback(|| ran.set(ran.get() + 1));
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
    assert_eq!(error.source().unwrap().to_string(), "cannot flush b.log");
    assert_eq!(
        error.to_string(),
        "2 cleanups failed; the first: cannot flush b.log"
    );
    let owned = error.into_errors();
    assert!(owned[1].downcast_ref::<Flush>().is_some());
}

#[test]
fn policy4_single_error_is_reachable_as_itself() {
    let mut stack = ExitStack::new();
    stack.try_callback(|| Err(std::io::Error::new(std::io::ErrorKind::NotFound, "gone")));
    let error = stack.close().unwrap_err();
    assert_eq!(error.len(), 1);
    assert_eq!(error.to_string(), "cleanup failed: gone");
    let io = error.downcast_ref::<std::io::Error>().unwrap();
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(error.first().to_string(), "gone");
}

#[test]
fn policy4_dropped_stack_discards_errors_and_does_not_panic() {
    let ran = Cell::new(false);
    {
        let stack = ExitStack::new();
        stack.callback(|| ran.set(true));
        stack.try_callback(|| Err("lost: the stack was only dropped"));
    }
    assert!(ran.get());
}

#[test]
fn policy4_exit_context_error_is_collected() {
    struct Commit;
    impl ExitContext for Commit {
        type Error = Disk;
        fn exit(self, _: Outcome) -> Result<(), Disk> {
            Err(Disk)
        }
    }
    let mut stack = ExitStack::new();
    stack.enter_exit_context(Commit);
    assert!(stack.close().unwrap_err().downcast_ref::<Disk>().is_some());
}

#[test]
fn policy3_panic_wins_over_errors_in_close() {
    quiet_panics();
    let mut stack = ExitStack::new();
    stack.try_callback(|| Err("an error"));
    stack.callback(|| panic!("a panic"));
    assert_eq!(panic_message(|| drop(stack.close())), "a panic");
}

/// A value whose `Drop` makes a stack while the thread unwinds.
struct MakesStackInDrop<'l>(&'l Cell<Option<Outcome>>);

impl Drop for MakesStackInDrop<'_> {
    fn drop(&mut self) {
        let stack = ExitStack::new();
        stack.push(|outcome| self.0.set(Some(outcome)));
        // The stack's own scope ends normally here.
    }
}

#[test]
fn outcome_baseline_stack_made_during_unwinding_sees_success_scopeguard_43() {
    quiet_panics();
    let seen = Cell::new(None);
    let _ = panic_message(|| {
        let _value = MakesStackInDrop(&seen);
        panic!("outer");
    });
    assert_eq!(seen.get(), Some(Outcome::Success));
}

#[test]
fn policy2_cancelled_entry_never_runs_and_its_captures_drop_once() {
    let drops = DropCounter::default();
    let ran = Cell::new(false);
    let mut stack = ExitStack::new();
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

#[test]
fn policy2_entries_moved_by_pop_all_run_and_drop_exactly_once() {
    let drops = DropCounter::default();
    let ran = Cell::new(0);
    let mut stack = ExitStack::new();
    for _ in 0..3 {
        let token = drops.token();
        stack.callback(|| {
            let _token = token;
            ran.set(ran.get() + 1);
        });
    }
    let moved = stack.pop_all();
    drop(stack);
    assert_eq!((ran.get(), drops.drops()), (0, 0), "pop_all runs nothing");
    assert_eq!(moved.len(), 3);
    drop(moved);
    assert_eq!((ran.get(), drops.drops()), (3, 3));
}

#[test]
fn cancel_rejects_used_and_foreign_keys_and_follows_pop_all() {
    let ran = RefCell::new(Vec::new());
    let mut stack = ExitStack::new();
    let ran_key = stack.callback(|| ran.borrow_mut().push("ran"));
    stack.close().unwrap();
    assert_eq!(stack.cancel(&ran_key), Err(CancelError::NotPending));

    let other = ExitStack::new();
    let foreign = other.callback(|| ran.borrow_mut().push("other"));
    assert_eq!(stack.cancel(&foreign), Err(CancelError::ForeignKey));
    assert_eq!(other.len(), 1, "a refused cancel changes nothing");

    let moved_key = stack.callback(|| ran.borrow_mut().push("moved"));
    let kept_key = stack.callback(|| ran.borrow_mut().push("kept"));
    let mut moved = stack.pop_all();
    assert_eq!(
        stack.cancel(&kept_key),
        Err(CancelError::ForeignKey),
        "the key followed its entry"
    );
    moved.cancel(&moved_key).unwrap();
    moved.close().unwrap();
    drop(other);
    assert_eq!(*ran.borrow(), ["ran", "kept", "other"]);
}

#[test]
fn policy5_stack_is_reusable_after_close_and_after_pop_all() {
    let log = RefCell::new(Vec::new());
    let mut stack = ExitStack::new();
    stack.callback(|| log.borrow_mut().push(1));
    stack.close().unwrap();
    assert!(stack.is_empty());
    stack.callback(|| log.borrow_mut().push(2));
    stack.close().unwrap();
    stack.callback(|| log.borrow_mut().push(3));
    let moved = stack.pop_all();
    assert!(stack.is_empty());
    stack.callback(|| log.borrow_mut().push(4));
    stack.close().unwrap();
    drop(moved);
    assert_eq!(*log.borrow(), [1, 2, 4, 3]);
}

#[test]
fn enter_context_reference_stays_usable_while_more_is_registered() {
    let log = RefCell::new(Vec::new());
    let stack = ExitStack::new();
    let first = stack.enter_context(Vec::new());
    let second = stack.enter_context(String::new());
    stack.callback(|| log.borrow_mut().push("callback"));
    first.push(1);
    second.push_str("still mine");
    for _ in 0..100 {
        stack.callback(|| ()); // forces the entry storage to grow
    }
    first.push(2);
    assert_eq!(*first, [1, 2]);
    assert_eq!(second, "still mine");
}

#[test]
fn scope_ok_is_success_and_err_is_error() {
    let seen = RefCell::new(Vec::new());
    let ok: Result<u8, CleanupError> = ExitStack::scope(|stack| {
        stack.push(|outcome| seen.borrow_mut().push(outcome));
        Ok(7)
    });
    assert_eq!(ok.unwrap(), 7);
    let err: Result<u8, Box<dyn Error>> = ExitStack::scope(|stack| {
        stack.push(|outcome| seen.borrow_mut().push(outcome));
        Err("body failed".into())
    });
    assert_eq!(err.unwrap_err().to_string(), "body failed");
    assert_eq!(*seen.borrow(), [Outcome::Success, Outcome::Error]);
}

#[test]
fn policy4_scope_body_error_is_primary_over_cleanup_errors() {
    let result: Result<(), Box<dyn Error>> = ExitStack::scope(|stack| {
        stack.try_callback(|| Err("cleanup failed"));
        Err("body failed".into())
    });
    assert_eq!(result.unwrap_err().to_string(), "body failed");
}

#[test]
fn policy4_scope_cleanup_errors_do_not_vanish_when_body_succeeds() {
    let result: Result<u8, Box<dyn Error>> = ExitStack::scope(|stack| {
        stack.try_callback(|| Err("cleanup failed"));
        Ok(1)
    });
    let error = result.unwrap_err();
    let cleanup = error.downcast_ref::<CleanupError>().unwrap();
    assert_eq!(cleanup.first().to_string(), "cleanup failed");
}

#[test]
fn scope_body_panic_is_outcome_panic_and_keeps_unwinding() {
    quiet_panics();
    let seen = Cell::new(None);
    let message = panic_message(|| {
        let _: Result<(), CleanupError> = ExitStack::scope(|stack| {
            stack.push(|outcome| seen.set(Some(outcome)));
            stack.callback(|| panic!("cleanup panic, swallowed"));
            panic!("body panic");
        });
    });
    assert_eq!(message, "body panic");
    assert_eq!(seen.get(), Some(Outcome::Panic));
}

#[test]
fn close_with_marks_the_outcome_by_hand() {
    let seen = Cell::new(None);
    let mut stack = ExitStack::new();
    stack.push(|outcome| seen.set(Some(outcome)));
    stack.close_with(Outcome::Error).unwrap();
    assert_eq!(seen.get(), Some(Outcome::Error));
}

#[test]
fn send_stack_moves_into_a_spawned_thread_and_runs_there() {
    use std::sync::{Arc, Mutex};
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
fn send_stack_converts_into_exit_stack_keeping_keys() {
    let ran = std::sync::atomic::AtomicUsize::new(0);
    let send = SendExitStack::new();
    let key = send.callback(|| {
        ran.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
    let local: ExitStack<'_> = send.into();
    local.cancel(&key).unwrap();
    drop(local);
    assert_eq!(ran.load(std::sync::atomic::Ordering::Relaxed), 0);
}

#[test]
fn debug_shows_pending_count() {
    let stack = ExitStack::new();
    stack.callback(|| ());
    assert_eq!(format!("{stack:?}"), "ExitStack { pending: 1 }");
    assert_eq!(
        format!("{:?}", SendExitStack::new()),
        "SendExitStack { pending: 0 }"
    );
}

#[test]
fn policy2_cancel_all_runs_nothing_and_drops_every_capture_once_lifo() {
    let log = RefCell::new(Vec::new());
    let drops = DropCounter::default();
    let ran = Cell::new(false);
    let mut stack = ExitStack::new();
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
    stack.callback(|| log.borrow_mut().push("never"));
    stack.cancel_all();
    assert!(stack.is_empty());
    assert_eq!(drops.drops(), 3);
    assert_eq!(*log.borrow(), ["context dropped"]);
    stack.callback(|| log.borrow_mut().push("registered after"));
    drop(stack);
    assert!(!ran.get());
    assert_eq!(drops.drops(), 3);
    assert_eq!(*log.borrow(), ["context dropped", "registered after"]);
}

#[test]
fn policy3_cancel_all_with_a_panicking_drop_drops_the_rest_then_resumes() {
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("drop panicked");
        }
    }
    quiet_panics();
    let drops = DropCounter::default();
    let mut stack = ExitStack::new();
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

#[test]
fn scope_body_can_pop_all_on_success_and_on_error_entries_see_the_err() {
    fn open_all<'a>(
        names: &[&'static str],
        log: &'a RefCell<Vec<String>>,
    ) -> Result<ExitStack<'a>, Box<dyn Error>> {
        ExitStack::scope(|stack| {
            for &name in names {
                if name.is_empty() {
                    return Err("empty name".into());
                }
                stack.push(move |outcome| log.borrow_mut().push(format!("{name}: {outcome}")));
            }
            Ok(stack.pop_all())
        })
    }
    let log = RefCell::new(Vec::new());
    let handed_over = open_all(&["a", "b"], &log).unwrap();
    assert!(log.borrow().is_empty(), "nothing ran: the caller owns them");
    drop(handed_over);
    assert!(open_all(&["c", ""], &log).is_err());
    assert_eq!(*log.borrow(), ["b: success", "a: success", "c: error"]);
}

#[test]
fn a_refused_key_stays_usable_on_the_right_stack() {
    let ran = Cell::new(false);
    let mut first = ExitStack::new();
    let key = first.callback(|| ran.set(true));
    let second = first.pop_all();
    assert_eq!(first.cancel(&key), Err(CancelError::ForeignKey));
    assert_eq!(second.cancel(&key), Ok(()));
    assert_eq!(second.cancel(&key), Err(CancelError::NotPending));
    drop(second);
    assert!(!ran.get());
}

#[test]
fn scope_body_may_return_io_result() {
    let result: std::io::Result<u8> = ExitStack::scope(|stack| {
        stack.try_callback(|| Err("unlock failed"));
        Ok(1)
    });
    let error = result.unwrap_err();
    let cleanup = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<CleanupError>())
        .unwrap();
    assert_eq!(cleanup.first().to_string(), "unlock failed");
}
