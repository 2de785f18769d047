//! Shared test helpers: a drop-logging value, a drop counter, a quiet panic
//! hook, and child-process scenarios.
#![allow(dead_code, reason = "each test file uses a subset")]

pub mod harness;
pub mod reports;

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

/// Logs its name when dropped: a context whose exit is visible.
pub struct DropLog<'l> {
    pub name: &'static str,
    pub log: &'l RefCell<Vec<&'static str>>,
}

impl Drop for DropLog<'_> {
    fn drop(&mut self) {
        self.log.borrow_mut().push(self.name);
    }
}

/// Counts how many times values holding it were dropped.
#[derive(Clone, Default)]
pub struct DropCounter(Rc<RefCell<usize>>);

impl DropCounter {
    pub fn token(&self) -> DropToken {
        DropToken(Rc::clone(&self.0))
    }
    pub fn drops(&self) -> usize {
        *self.0.borrow()
    }
}

pub struct DropToken(Rc<RefCell<usize>>);

impl Drop for DropToken {
    fn drop(&mut self) {
        *self.0.borrow_mut() += 1;
    }
}

/// A future that is `Pending` the first time it is polled: an async cleanup
/// that an `aclose()` polled once is in the middle of.
pub struct PendingOnce(pub bool);

impl Future for PendingOnce {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            std::task::Poll::Ready(())
        } else {
            self.0 = true;
            std::task::Poll::Pending
        }
    }
}

/// Polls `future` once, with a waker that does nothing.
pub fn poll_once<F: Future + ?Sized>(future: std::pin::Pin<&mut F>) -> std::task::Poll<F::Output> {
    future.poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
}

/// Runs `f`, expecting it to panic, and returns the payload as a string.
/// The default hook is silenced so expected panics do not clutter output.
pub fn panic_message(f: impl FnOnce()) -> String {
    let payload = panic::catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    payload
        .downcast_ref::<&str>()
        .map(ToString::to_string)
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .expect("payload is a string")
}

/// Silences the panic hook for this process: expected panics stay quiet.
pub fn quiet_panics() {
    panic::set_hook(Box::new(|_| {}));
}

/// Child-process scenarios, for what can only be seen from outside a
/// process (an abort, what it prints on standard error).
///
/// A child is an `#[ignore]`d test whose body starts with
/// [`child::enter`]; its parent test re-runs this test binary on it with
/// [`child::run`]. A child run any other way (`--include-ignored`, by name)
/// fails instead of passing vacuously, and a parent whose child was not
/// found fails too.
pub mod child {
    use std::process::{Command, Output};

    /// The child's own name, set by its parent.
    const NAME: &str = "EXITSTACK_CHILD";
    /// The parent's argument for the child (a cell of a matrix, ...).
    const ARG: &str = "EXITSTACK_CHILD_ARG";

    /// The first statement of a child test `name` (its path in the test
    /// binary, e.g. `"in_child_processes::child_process_edges"`). Returns
    /// the argument its parent gave.
    ///
    /// # Panics
    ///
    /// If the test was not started by its parent.
    #[track_caller]
    pub fn enter(name: &str) -> String {
        match std::env::var(NAME) {
            Ok(started) if started == name => std::env::var(ARG).unwrap_or_default(),
            _ => panic!(
                "`{name}` is a child process of another test, which runs it with \
                 its own environment: it does not run on its own"
            ),
        }
    }

    /// Runs the child test `name` of this test binary, giving it `arg`, and
    /// returns what it printed and how it exited.
    ///
    /// # Panics
    ///
    /// If the child could not be started, or the binary has no such test.
    pub fn run(name: &str, arg: &str) -> Output {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                name,
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(NAME, name)
            .env(ARG, arg)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("running 1 test"),
            "no child test `{name}` in this binary:\n{stdout}"
        );
        out
    }
}
