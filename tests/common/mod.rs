//! Shared test helpers: a drop-logging value, a drop counter, a quiet panic
//! hook, and child-process scenarios.
#![allow(dead_code, reason = "each test file uses a subset")]

pub mod harness;

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::process::{Command, Output};
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

/// Child-process scenarios: the parent re-runs this test binary, selecting
/// one `#[test]` by name, with `EXITSTACK_CHILD` set so that the test body
/// runs the scenario instead of returning at once.
pub const CHILD_ENV: &str = "EXITSTACK_CHILD";

pub fn in_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

pub fn run_child(test_name: &str) -> Output {
    Command::new(std::env::current_exe().unwrap())
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap()
}
