//! How a scope ends: the one rule that [`ExitStack::scope`],
//! [`AsyncExitStack::scope`], and `#[exitstack::scope]` (its guards' outcome,
//! and the implicit async stack of an `async fn`, through `__private`)
//! follow. In order:
//!
//! 1. **The outcome follows the body**: [`Outcome::Panic`] if it panicked,
//!    [`Outcome::Error`] if it returned an error (an `Err`, or one the
//!    attribute observed), else [`Outcome::Success`]. The cleanups run
//!    with it.
//! 2. **The first panic wins**: the body's panic resumes after the cleanups
//!    ran, and a cleanup's panic is then discarded; if only cleanups
//!    panicked, the first of them resumes.
//! 3. **The body's error is primary**: it is returned as it is, and cleanup
//!    errors never replace it (they are kept beside it, in
//!    [`ScopeError::Body`]); when the body succeeded, cleanup errors never
//!    vanish: they are returned instead of its value
//!    ([`ScopeError::Cleanup`]).
//!
//! The synchronous `scope` does not catch the body's panic: the stack is
//! dropped while the panic unwinds, which is rule 2 by policy 3.
//!
//! [`ExitStack::scope`]: crate::ExitStack::scope
//! [`AsyncExitStack::scope`]: crate::AsyncExitStack::scope

use crate::Outcome;
#[cfg(feature = "alloc")]
use crate::error::{CleanupError, ScopeError};

/// Rule 1: the outcome the cleanups of a scope see.
#[inline]
pub(crate) const fn outcome(panicked: bool, error: bool) -> Outcome {
    if panicked {
        Outcome::Panic
    } else if error {
        Outcome::Error
    } else {
        Outcome::Success
    }
}

/// The outcome of two that reports the worse ending: `Panic` over `Error`
/// over `Success` (an interrupted close carried on, a drop during
/// unwinding).
#[cfg(feature = "std")]
pub(crate) const fn worst(a: Outcome, b: Outcome) -> Outcome {
    match (a, b) {
        (Outcome::Panic, _) | (_, Outcome::Panic) => Outcome::Panic,
        (Outcome::Error, _) | (_, Outcome::Error) => Outcome::Error,
        _ => Outcome::Success,
    }
}

/// Rule 3: what a scope whose body returned `result` returns, given the
/// errors of its cleanups: the body's error first, the cleanup errors beside
/// it; when the body succeeded, the cleanup errors instead of its value.
#[cfg(feature = "alloc")]
#[inline]
pub(crate) fn body_error_first<T, E>(
    result: Result<T, E>,
    cleanup: Option<CleanupError>,
) -> Result<T, ScopeError<E>> {
    match (result, cleanup) {
        (Err(error), cleanup) => Err(ScopeError::Body { error, cleanup }),
        (Ok(value), None) => Ok(value),
        (Ok(_), Some(errors)) => Err(ScopeError::Cleanup(errors)),
    }
}

/// Rule 2: after the cleanups ran, resumes the body's panic (discarding a
/// cleanup's), or else a cleanup's panic; or returns the body's value.
#[cfg(feature = "std")]
pub(crate) fn first_panic_wins<T>(
    body: Result<T, crate::unwind::Payload>,
    cleanup_panic: Option<crate::unwind::Payload>,
) -> T {
    match (body, cleanup_panic) {
        (Ok(value), None) => value,
        (Ok(_), Some(cleanup_panic)) => std::panic::resume_unwind(cleanup_panic),
        (Err(body_panic), cleanup_panic) => {
            if let Some(cleanup_panic) = cleanup_panic {
                crate::unwind::discard(cleanup_panic);
            }
            std::panic::resume_unwind(body_panic)
        }
    }
}
