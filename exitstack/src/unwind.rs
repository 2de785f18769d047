//! The few places that touch panics, with a `std` and a `no_std` version each.

use crate::Outcome;

/// Whether the thread was already panicking when a stack or guard was made,
/// so that its own `Outcome` is not confused by an older panic (scopeguard#43).
#[derive(Clone, Copy, Debug)]
pub(crate) struct PanicBaseline {
    #[cfg(feature = "std")]
    was_panicking: bool,
}

impl PanicBaseline {
    #[inline]
    pub(crate) fn now() -> Self {
        PanicBaseline {
            #[cfg(feature = "std")]
            was_panicking: std::thread::panicking(),
        }
    }

    /// `Panic` if a panic started since the baseline and is unwinding now.
    #[inline]
    #[cfg_attr(
        not(feature = "std"),
        allow(clippy::unused_self, reason = "no panics to observe without std")
    )]
    pub(crate) fn outcome(self) -> Outcome {
        #[cfg(feature = "std")]
        if !self.was_panicking && std::thread::panicking() {
            return Outcome::Panic;
        }
        Outcome::Success
    }
}

/// Whether this thread is unwinding (always `false` without `std`).
#[cfg(feature = "alloc")]
#[inline]
pub(crate) fn is_unwinding() -> bool {
    #[cfg(feature = "std")]
    {
        std::thread::panicking()
    }
    #[cfg(not(feature = "std"))]
    {
        false
    }
}

/// Runs a cleanup from a destructor. While the thread is already unwinding, a
/// panic escaping a destructor would abort the process, so it is caught and
/// discarded: the original panic keeps going (policy 3). Otherwise the panic
/// continues with its payload.
///
/// The closure always runs under `catch_unwind`, and whether the thread was
/// unwinding is asked only once something was caught: the happy path costs
/// what a plain call costs (no `panicking()` check), and a cleanup that
/// cannot unwind loses its landing pad altogether.
#[inline]
pub(crate) fn run_in_drop<F: FnOnce()>(f: F) {
    #[cfg(feature = "std")]
    if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        caught_in_drop(payload);
    }
    #[cfg(not(feature = "std"))]
    f();
}

/// A cleanup run from a destructor panicked: discard the payload while an
/// older panic unwinds (the caught one no longer counts), else resume it.
#[cfg(feature = "std")]
#[cold]
#[inline(never)]
fn caught_in_drop(payload: Payload) {
    if std::thread::panicking() {
        discard(payload);
    } else {
        std::panic::resume_unwind(payload);
    }
}

/// A caught panic payload that will not be resumed.
#[cfg(feature = "std")]
pub(crate) type Payload = Box<dyn core::any::Any + Send + 'static>;

/// Drops a payload that will not be resumed. A payload's own `Drop` may panic
/// too; that panic is caught and its payload leaked rather than risk an abort.
#[cfg(feature = "std")]
pub(crate) fn discard(payload: Payload) {
    if let Err(inner) =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(payload)))
    {
        core::mem::forget(inner);
    }
}
