//! Capturing what the crate reports (a discarded cleanup error, an async
//! cleanup dropped unrun) through its documented hook, so that a test
//! asserts on it and a passing run prints nothing.
//!
//! The hook is process-wide and tests run in parallel: a report made on a
//! thread that is capturing goes to that thread's list; one made while a
//! [`capture_all`] runs (reports of other threads: a runtime's workers)
//! goes to its list; any other is printed, as by default.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, MutexGuard, Once, PoisonError};

thread_local!(static THREAD: RefCell<Option<Vec<String>>> = const { RefCell::new(None) });

/// The list of the running `capture_all`, if any.
static ALL: Mutex<Option<Vec<String>>> = Mutex::new(None);
/// Held by a `capture_all` while it runs: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        exitstack::set_report_hook(|report| {
            let mut line = Some(report.to_string());
            // `try_with`: a report may come while the thread's locals are
            // being destroyed.
            let _ = THREAD.try_with(|seen| {
                if let Some(seen) = &mut *seen.borrow_mut() {
                    seen.extend(line.take());
                }
            });
            let Some(line) = line else { return };
            let mut all = ALL.lock().unwrap_or_else(PoisonError::into_inner);
            match &mut *all {
                Some(all) => all.push(line),
                None => exitstack::default_report(report),
            }
        });
    });
}

/// Ends a `capture` (also when its closure panics).
struct EndThread;

impl Drop for EndThread {
    fn drop(&mut self) {
        THREAD.with(|seen| *seen.borrow_mut() = None);
    }
}

/// Ends a `capture_all` (also when its closure panics).
struct EndAll;

impl Drop for EndAll {
    fn drop(&mut self) {
        *ALL.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// Runs `f`, returning what it reported on this thread.
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Vec<String>) {
    install();
    THREAD.with(|seen| *seen.borrow_mut() = Some(Vec::new()));
    let end = EndThread;
    let value = f();
    let seen = THREAD
        .with(|seen| seen.borrow_mut().take())
        .unwrap_or_default();
    drop(end);
    (value, seen)
}

/// Runs `f`, returning every report of the process made meanwhile that no
/// `capture` took (one `capture_all` at a time).
pub fn capture_all<R>(f: impl FnOnce() -> R) -> (R, Vec<String>) {
    install();
    let _one: MutexGuard<'_, ()> = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    *ALL.lock().unwrap_or_else(PoisonError::into_inner) = Some(Vec::new());
    let end = EndAll;
    let value = f();
    let seen = ALL
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
        .unwrap_or_default();
    drop(end);
    (value, seen)
}

/// The line the crate reports for an async cleanup dropped unrun.
pub const ASYNC_DROPPED: &str = "exitstack: an async cleanup did not run: its AsyncExitStack was \
                                 dropped without aclose().await, and no spawner ran it";

/// The line the crate reports for an async cleanup stopped part-way.
pub const ASYNC_INTERRUPTED: &str = "exitstack: an async cleanup was stopped part-way: its future \
                                     was dropped before it finished (an aclose() cut short, or a \
                                     runtime shutting down)";

/// Held by a `Capture` while it lives: one at a time.
static HOOK: Mutex<()> = Mutex::new(());

/// For suites that set hooks of their own (and so cannot use the hook
/// [`capture`] and [`capture_all`] install once): sets a hook that collects
/// every report's line, for as long as the guard lives, then restores the
/// default. One at a time in a test binary.
pub struct Capture {
    seen: Arc<Mutex<Vec<String>>>,
    _one: MutexGuard<'static, ()>,
}

impl Capture {
    pub fn start() -> Capture {
        let one = HOOK.lock().unwrap_or_else(PoisonError::into_inner);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        exitstack::set_report_hook(move |report| sink.lock().unwrap().push(report.to_string()));
        Capture { seen, _one: one }
    }

    /// The lines reported so far.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    /// The list itself, for a hook of the test's own that adds to it.
    pub fn list(&self) -> Arc<Mutex<Vec<String>>> {
        self.seen.clone()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        exitstack::reset_report_hook();
    }
}
