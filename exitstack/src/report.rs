//! What the crate says when something has no caller to go to: a cleanup
//! error of a stack that was dropped without `close()`, an async cleanup
//! that could not run. Such a thing is never silent: it goes to the
//! *report hook*, which by default writes one line on standard error in
//! debug builds (and nothing in release builds); a program routes the
//! reports elsewhere with [`set_report_hook`].

use alloc::sync::Arc;
use core::fmt;
use std::sync::{PoisonError, RwLock};

use crate::error::BoxError;

/// Something the crate could not hand to a caller, given to the report
/// hook ([`set_report_hook`]). Its `Display` is the line the default hook
/// prints.
///
/// More variants may come: match with a `_` arm.
#[derive(Debug)]
#[non_exhaustive]
pub enum Report<'r> {
    /// A cleanup failed and no caller receives its error: its stack was
    /// dropped without `close()` / `aclose()`, a panic was unwinding (the
    /// panic wins), a cancelled `#[exitstack::scope]` function has no
    /// return value to carry it, or a spawner's hand-off finished with
    /// errors. `context` says which, in words.
    ErrorDiscarded {
        /// The cleanup's error.
        error: &'r (dyn core::error::Error + Send + Sync + 'static),
        /// Why it has no caller, e.g. `"stack dropped without close()"`.
        context: &'static str,
    },
    /// An async cleanup was dropped without running: its stack was dropped
    /// without `aclose().await` (a `?`, a cancelled task, a panic) and had
    /// no spawner to hand it to (see
    /// [`SendAsyncExitStack::set_spawner`](crate::SendAsyncExitStack::set_spawner)),
    /// or its spawner dropped it unpolled (a spawner that panicked, say).
    AsyncCleanupDropped,
    /// An async cleanup was stopped part-way: its future was dropped before
    /// it finished — an `aclose()` cut short (a timeout, a `select!`), or
    /// the task a spawner was given dropped by a runtime shutting down.
    AsyncCleanupInterrupted,
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Report::ErrorDiscarded { error, context } => {
                write!(f, "exitstack: cleanup error discarded ({context}): {error}")
            }
            Report::AsyncCleanupDropped => f.write_str(
                "exitstack: an async cleanup did not run: its AsyncExitStack was dropped \
                 without aclose().await, and no spawner ran it",
            ),
            Report::AsyncCleanupInterrupted => f.write_str(
                "exitstack: an async cleanup was stopped part-way: its future was dropped before \
                 it finished (an aclose() cut short, or a runtime shutting down)",
            ),
        }
    }
}

type Hook = Arc<dyn Fn(&Report<'_>) + Send + Sync>;

/// `None`: the default hook.
static HOOK: RwLock<Option<Hook>> = RwLock::new(None);

/// Sends every [`Report`] of this process to `hook`, instead of the default
/// ([`default_report`]: a line on standard error in debug builds). Replaces
/// the hook set before; [`reset_report_hook`] restores the default.
///
/// The hook is one for the whole process. It is called on the thread where
/// the report happens — where the stack was dropped, or, for cleanups
/// handed to a spawner, the thread that runs (or drops) the spawned task —
/// often inside a destructor and sometimes while a panic unwinds: a panic
/// out of it is caught and discarded (it could otherwise abort the
/// process), and it should not block. Route the reports to a logger:
///
/// ```
/// // e.g. `tracing::warn!(%report)` or `log::warn!("{report}")`
/// exitstack::set_report_hook(|report| eprintln!("[warn] {report}"));
///
/// let stack = exitstack::ExitStack::new();
/// stack.try_callback(|| Err::<(), _>("disk full"));
/// drop(stack); // [warn] exitstack: cleanup error discarded (stack dropped without close()): disk full
/// # exitstack::reset_report_hook();
/// ```
///
/// A test can assert on the reports of its own thread (tests run in
/// parallel: install one hook, once, that sorts the reports by thread —
/// reports of a runtime's worker threads need a process-wide list instead):
///
/// ```
/// use std::cell::RefCell;
///
/// thread_local!(static SEEN: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) });
/// exitstack::set_report_hook(|report| SEEN.with(|seen| seen.borrow_mut().push(report.to_string())));
///
/// drop({
///     let stack = exitstack::ExitStack::new();
///     stack.try_callback(|| Err::<(), _>("disk full"));
///     stack
/// });
/// SEEN.with(|seen| assert!(seen.borrow()[0].ends_with("disk full")));
/// # exitstack::reset_report_hook();
/// ```
pub fn set_report_hook(hook: impl Fn(&Report<'_>) + Send + Sync + 'static) {
    *HOOK.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(hook));
}

/// Restores the default report hook, [`default_report`].
pub fn reset_report_hook() {
    *HOOK.write().unwrap_or_else(PoisonError::into_inner) = None;
}

/// The default report hook: in debug builds, writes the report's line on
/// standard error (a failed write is ignored); in release builds, nothing.
/// A hook can call it to keep that behaviour beside its own.
pub fn default_report(report: &Report<'_>) {
    #[cfg(debug_assertions)]
    {
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "{report}");
    }
    #[cfg(not(debug_assertions))]
    let _ = report;
}

/// Gives `report` to the hook. A panic out of the hook (or out of a
/// `Display` it calls: user code) is discarded: this runs in destructors,
/// also while a panic unwinds.
#[cold]
pub(crate) fn report(report: &Report<'_>) {
    let hook = HOOK.read().unwrap_or_else(PoisonError::into_inner).clone();
    let call = || match &hook {
        Some(hook) => hook(report),
        None => default_report(report),
    };
    if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)) {
        crate::unwind::discard(payload);
    }
}

/// Reports each of `errors` as discarded for `context`.
#[cold]
pub(crate) fn discarded(errors: &[BoxError], context: &'static str) {
    for error in errors {
        report(&Report::ErrorDiscarded {
            error: &**error,
            context,
        });
    }
}
