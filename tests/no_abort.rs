//! "Never aborts" can only be checked from outside the process: each test
//! re-runs this binary on one scenario and asserts on its exit status.

mod common;

use std::panic::{self, AssertUnwindSafe};

use common::{PendingOnce, child, poll_once};
use exitstack::{Defer, ExitStack, Guard, When};

fn panicking_cleanup(n: u32) {
    println!("ran {n}");
    panic!("cleanup {n} panicked");
}

/// Scenario: three panicking cleanups on a stack dropped while a panic
/// unwinds. The original payload must come out; nothing may abort.
#[test]
#[ignore = "a child process: its parent test runs it"]
fn child_stack_dropped_during_unwinding_with_panicking_cleanups() {
    child::enter("child_stack_dropped_during_unwinding_with_panicking_cleanups");
    let payload = panic::catch_unwind(AssertUnwindSafe(|| {
        let stack = ExitStack::new();
        for n in 1..=3 {
            stack.callback(move || panicking_cleanup(n));
        }
        panic!("original");
    }))
    .unwrap_err();
    println!("payload: {}", payload.downcast_ref::<&str>().unwrap());
}

#[test]
fn stack_dropped_during_unwinding_with_panicking_cleanups_does_not_abort() {
    let out = child::run(
        "child_stack_dropped_during_unwinding_with_panicking_cleanups",
        "",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "status {:?}\n{stdout}", out.status);
    for line in ["ran 3", "ran 2", "ran 1", "payload: original"] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
}

/// Scenario: the same with local guards, which unwind one by one.
#[test]
#[ignore = "a child process: its parent test runs it"]
fn child_guards_dropped_during_unwinding_with_panicking_cleanups() {
    child::enter("child_guards_dropped_during_unwinding_with_panicking_cleanups");
    let payload = panic::catch_unwind(|| {
        let _a = Defer::new(|| panicking_cleanup(1));
        let _b = Guard::new(When::Panic, |_| panicking_cleanup(2));
        let _c = Guard::new(When::Always, |_| panicking_cleanup(3));
        panic!("original");
    })
    .unwrap_err();
    println!("payload: {}", payload.downcast_ref::<&str>().unwrap());
}

#[test]
fn guards_dropped_during_unwinding_with_panicking_cleanups_do_not_abort() {
    let out = child::run(
        "child_guards_dropped_during_unwinding_with_panicking_cleanups",
        "",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "status {:?}\n{stdout}", out.status);
    for line in ["ran 3", "ran 2", "ran 1", "payload: original"] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
}

/// Scenario: the original panic is not caught at all; the process must end
/// the way any Rust panic ends a test (exit code 101), not by an abort signal.
#[test]
#[ignore = "a child process: its parent test runs it"]
fn child_uncaught_panic_through_a_panicking_stack() {
    child::enter("child_uncaught_panic_through_a_panicking_stack");
    let stack = ExitStack::new();
    stack.callback(|| panicking_cleanup(1));
    panic!("original");
}

#[test]
fn uncaught_panic_through_a_panicking_stack_fails_normally_not_by_abort() {
    let out = child::run("child_uncaught_panic_through_a_panicking_stack", "");
    assert_eq!(out.status.code(), Some(101), "status {:?}", out.status);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("original"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("ran 1"));
}

/// Scenario: a stack with a failing `try_callback` is dropped, not closed.
#[test]
#[ignore = "a child process: its parent test runs it"]
fn child_dropped_stack_with_cleanup_error() {
    child::enter("child_dropped_stack_with_cleanup_error");
    let stack = ExitStack::new();
    stack.try_callback(|| Err("the disk is full"));
    drop(stack);
    println!("dropped");
}

#[test]
fn dropped_stack_errors_are_reported_on_stderr_in_debug_builds_and_never_panic() {
    let out = child::run("child_dropped_stack_with_cleanup_error", "");
    assert!(out.status.success(), "status {:?}", out.status);
    assert!(String::from_utf8_lossy(&out.stdout).contains("dropped"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warned = stderr.contains(
        "exitstack: cleanup error discarded (stack dropped without close()): the disk is full",
    );
    assert_eq!(warned, cfg!(debug_assertions), "{stderr}");
}

/// Holds a stack and closes it explicitly in its destructor.
struct ClosesInDrop(ExitStack<'static>);

impl Drop for ClosesInDrop {
    fn drop(&mut self) {
        let result = self.0.close();
        println!("close in drop returned errors: {}", result.is_err());
    }
}

/// Scenario: `close()` called from a destructor that runs during a panic,
/// with an entry that panics and one that fails.
#[test]
#[ignore = "a child process: its parent test runs it"]
fn child_close_in_a_destructor_during_unwinding() {
    child::enter("child_close_in_a_destructor_during_unwinding");
    let payload = panic::catch_unwind(|| {
        let stack = ExitStack::new();
        stack.try_callback(|| Err("unlock failed"));
        stack.callback(|| panicking_cleanup(1));
        let _holder = ClosesInDrop(stack);
        panic!("original");
    })
    .unwrap_err();
    println!("payload: {}", payload.downcast_ref::<&str>().unwrap());
}

#[test]
fn close_in_a_destructor_during_unwinding_returns_errors_and_does_not_abort() {
    let out = child::run("child_close_in_a_destructor_during_unwinding", "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "status {:?}\n{stdout}", out.status);
    for line in [
        "ran 1",
        "close in drop returned errors: true",
        "payload: original",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
}

/// A captured value whose `Drop` panics.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        println!("capture dropped");
        panic!("capture's drop panicked");
    }
}

/// Cancels one entry, or all of them, from its destructor.
struct CancelsInDrop {
    stack: ExitStack<'static>,
    key: Option<exitstack::EntryKey>,
}

impl Drop for CancelsInDrop {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            println!("cancel in drop returned {:?}", self.stack.cancel(&key));
        } else {
            self.stack.cancel_all();
            println!("cancel_all in drop returned");
        }
    }
}

/// Scenario: `cancel(&key)` or `cancel_all()` called from a destructor that
/// runs during a panic, dropping a capture whose `Drop` panics (it used to
/// abort: "thread caused non-unwinding panic").
#[test]
#[ignore = "a child process: its parent test runs it"]
fn child_cancel_in_a_destructor_during_unwinding() {
    let which = child::enter("child_cancel_in_a_destructor_during_unwinding");
    let payload = panic::catch_unwind(|| {
        let stack = ExitStack::new();
        let bomb = PanicsOnDrop;
        let key = stack.callback(move || drop(bomb));
        let bomb = PanicsOnDrop;
        stack.callback(move || drop(bomb));
        let key = (which == "cancel").then_some(key);
        let _holder = CancelsInDrop { stack, key };
        panic!("original");
    })
    .unwrap_err();
    println!("payload: {}", payload.downcast_ref::<&str>().unwrap());
}

#[test]
fn cancel_in_a_destructor_during_unwinding_does_not_abort() {
    let out = child::run("child_cancel_in_a_destructor_during_unwinding", "cancel");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "status {:?}\n{stdout}", out.status);
    assert_eq!(stdout.matches("capture dropped").count(), 2, "{stdout}");
    for line in ["cancel in drop returned Ok(())", "payload: original"] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
}

#[test]
fn cancel_all_in_a_destructor_during_unwinding_does_not_abort() {
    let out = child::run(
        "child_cancel_in_a_destructor_during_unwinding",
        "cancel_all",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "status {:?}\n{stdout}", out.status);
    assert_eq!(stdout.matches("capture dropped").count(), 2, "{stdout}");
    for line in ["cancel_all in drop returned", "payload: original"] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
}

/// Scenario (found by review): an `aclose()` future dropped part-way while
/// a panic unwinds, the future it awaits panicking when dropped, after an
/// entry failed with an error whose `Drop` panics too.
#[test]
#[ignore = "a child process: its parent test runs it"]
fn child_aclose_dropped_during_unwinding() {
    #[derive(Debug)]
    struct PanicsOnDrop(&'static str);
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            println!("dropped {}", self.0);
            panic!("{} panicked when dropped", self.0);
        }
    }
    #[derive(Debug)]
    struct HostileError(#[allow(dead_code, reason = "dropped, not read")] PanicsOnDrop);
    impl std::fmt::Display for HostileError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("hostile")
        }
    }
    impl std::error::Error for HostileError {}
    child::enter("child_aclose_dropped_during_unwinding");
    let mut stack = exitstack::AsyncExitStack::new();
    stack.push_async_callback(async || {
        let in_progress = PanicsOnDrop("the future in progress");
        PendingOnce(false).await;
        std::mem::forget(in_progress);
    });
    stack.try_callback(|| Err(HostileError(PanicsOnDrop("the error"))));
    let payload = panic::catch_unwind(AssertUnwindSafe(|| {
        let mut close = Box::pin(stack.aclose());
        assert!(poll_once(close.as_mut()).is_pending());
        panic!("original"); // `close` is dropped while unwinding
    }))
    .unwrap_err();
    println!("payload: {}", payload.downcast_ref::<&str>().unwrap());
    let dropped = panic::catch_unwind(AssertUnwindSafe(move || drop(stack)));
    println!("stack dropped, panic resumed: {}", dropped.is_err());
}

#[test]
fn aclose_dropped_during_unwinding_does_not_abort() {
    let out = child::run("child_aclose_dropped_during_unwinding", "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "status {:?}\n{stdout}", out.status);
    for line in [
        "dropped the future in progress",
        "payload: original",
        "dropped the error",
        // The in-progress future's panic was carried to the stack, which
        // resumes it after the rest ran (nothing unwinds by then).
        "stack dropped, panic resumed: true",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
}

/// Scenario (found by review): an `aclose()` started normally and finished
/// from a destructor during unwinding, after an entry panicked.
#[test]
#[ignore = "a child process: its parent test runs it"]
fn child_aclose_finished_during_unwinding() {
    struct FinishInDrop<F: Future>(std::pin::Pin<Box<F>>);
    impl<F: Future> Drop for FinishInDrop<F> {
        fn drop(&mut self) {
            while poll_once(self.0.as_mut()).is_pending() {}
            println!("finished in drop");
        }
    }
    child::enter("child_aclose_finished_during_unwinding");
    let mut stack = exitstack::AsyncExitStack::new();
    stack.callback(|| panic!("cleanup panicked"));
    stack.push_async_callback(async || PendingOnce(false).await);
    let mut close = Box::pin(stack.aclose());
    assert!(poll_once(close.as_mut()).is_pending());
    let payload = panic::catch_unwind(AssertUnwindSafe(|| {
        let _finish = FinishInDrop(close);
        panic!("original");
    }))
    .unwrap_err();
    println!("payload: {}", payload.downcast_ref::<&str>().unwrap());
}

#[test]
fn aclose_finished_during_unwinding_does_not_abort() {
    let out = child::run("child_aclose_finished_during_unwinding", "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "status {:?}\n{stdout}", out.status);
    for line in ["finished in drop", "payload: original"] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
}

/// Scenario (found by review): a value guard entered with
/// `enter_exit_context`, whose strategy does not fire, with a closure
/// capture and a value that both panic when dropped, in a stack dropped by
/// a panic: each is dropped on its own, nothing aborts.
#[test]
#[ignore = "a child process: its parent test runs it"]
fn child_value_guard_exit_during_unwinding() {
    struct PanicsOnDrop(&'static str);
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            println!("dropped {}", self.0);
            panic!("{} panicked when dropped", self.0);
        }
    }
    child::enter("child_value_guard_exit_during_unwinding");
    let payload = panic::catch_unwind(|| {
        let stack = ExitStack::new();
        let capture = PanicsOnDrop("the capture");
        stack.enter_exit_context(exitstack::guard_on_success(
            PanicsOnDrop("the value"),
            move |_| drop(capture),
        ));
        panic!("original");
    })
    .unwrap_err();
    println!("payload: {}", payload.downcast_ref::<&str>().unwrap());
}

#[test]
fn value_guard_exit_during_unwinding_does_not_abort() {
    let out = child::run("child_value_guard_exit_during_unwinding", "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "status {:?}\n{stdout}", out.status);
    for line in [
        "dropped the capture",
        "dropped the value",
        "payload: original",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
}

/// An error whose `Drop` panics, and a fallible entry that returned it.
#[derive(Debug)]
struct ErrorPanickingOnDrop;

impl Drop for ErrorPanickingOnDrop {
    fn drop(&mut self) {
        println!("error dropped");
        panic!("the error's drop panicked");
    }
}

impl std::fmt::Display for ErrorPanickingOnDrop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("hostile error")
    }
}

impl std::error::Error for ErrorPanickingOnDrop {}

/// Scenario (found in the last read of the code): `aclose()` and the async
/// `scope` resume a cleanup's panic after an earlier cleanup failed with an
/// error whose `Drop` panics. The errors used to be dropped by the
/// unwinding itself, an abort.
#[test]
#[ignore = "a child process: its parent test runs it"]
fn child_aclose_resumes_a_panic_over_a_hostile_error() {
    let which = child::enter("child_aclose_resumes_a_panic_over_a_hostile_error");
    let payload = panic::catch_unwind(|| {
        let mut stack = exitstack::AsyncExitStack::new();
        stack.callback(|| panic!("cleanup panicked"));
        stack.try_callback(|| Err(ErrorPanickingOnDrop));
        if which == "scope" {
            let scope = exitstack::AsyncExitStack::scope(async move |inner| {
                std::mem::swap(inner, &mut stack);
                Ok::<(), String>(())
            });
            let _ = poll_once(std::pin::pin!(scope));
        } else {
            let _ = poll_once(std::pin::pin!(stack.aclose()));
        }
    })
    .unwrap_err();
    println!("payload: {}", payload.downcast_ref::<&str>().unwrap());
}

#[test]
fn aclose_resuming_a_panic_over_a_hostile_error_does_not_abort() {
    for which in ["aclose", "scope"] {
        let out = child::run("child_aclose_resumes_a_panic_over_a_hostile_error", which);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{which}: status {:?}\n{stdout}",
            out.status
        );
        for line in ["error dropped", "payload: cleanup panicked"] {
            assert!(
                stdout.contains(line),
                "{which}: missing {line:?} in\n{stdout}"
            );
        }
    }
}
