//! How a scope ended, and which outcomes a cleanup runs on.

use core::fmt;

/// How a scope ended, as a cleanup sees it.
///
/// * `Panic` is decided against a baseline taken when the stack or guard was
///   created: a guard made inside a `Drop` that runs during unwinding still
///   sees `Success` when its own scope ends normally.
/// * `Error` is never guessed: it comes from an observed `Err` — the closure
///   of [`ExitStack::scope`](crate::ExitStack::scope) returning one, a function
///   under `#[exitstack::scope]` returning one, a caller saying so with
///   [`ExitStack::close_with`](crate::ExitStack::close_with) or
///   [`ErrorWatch::mark_error`](crate::ErrorWatch::mark_error) — or from a cleanup of
///   the same stack that ran before and failed (policy 8).
///
/// # Limits
///
/// * **Made during unwinding.** A guard or stack made inside a `Drop` that
///   runs while a panic unwinds takes "the thread was already unwinding" as
///   its baseline. If a *new* panic then starts inside its own scope and
///   unwinds through it (to a `catch_unwind` inside that `Drop`), it still
///   sees `Success`: stable Rust exposes no panic count, so the new panic
///   cannot be told from the old one. The same holds for such a stack kept
///   past that unwinding (in a value that lives on) and dropped by a later
///   panic. (Entries of a stack that run after one of its own entries
///   panicked do see `Panic`: the stack saw it.)
/// * **Moved to another thread.** The baseline is the thread's that made the
///   stack or guard: a `SendExitStack` made during unwinding and moved to
///   another thread sees `Success` even if a panic of that thread unwinds
///   it; one made normally and dropped by a destructor that runs during
///   another thread's unwinding sees `Panic`.
/// * **Without `std`** no panic can be detected: guards and stacks dropped
///   by a panic see `Success`; only the entries of a stack that run after
///   one of its own entries panicked see `Panic`.
/// * **With `panic = "abort"`** nothing runs after a panic, so `Panic` is
///   never seen.
///
/// ```
/// use exitstack::Outcome;
///
/// assert!(Outcome::Error.is_failure());
/// assert!(!Outcome::Success.is_failure());
/// assert_eq!(Outcome::Panic.to_string(), "panic");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The scope ended normally: fell off its end, `return`ed or `break`ed
    /// with anything but an observed `Err`.
    Success,
    /// The scope returned an `Err` (or was marked as failed by hand).
    Error,
    /// The scope is unwinding from a panic that started inside it.
    Panic,
}

impl Outcome {
    /// `true` for [`Outcome::Error`] and [`Outcome::Panic`].
    ///
    /// ```
    /// # use exitstack::Outcome;
    /// assert!(Outcome::Panic.is_failure());
    /// ```
    #[must_use]
    pub const fn is_failure(self) -> bool {
        !matches!(self, Outcome::Success)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Success => "success",
            Outcome::Error => "error",
            Outcome::Panic => "panic",
        })
    }
}

/// Which outcomes a conditional cleanup runs on: the `when` of
/// [`Guard`](crate::Guard) and of the macros' `on_success`, `on_error`, ...
/// variants.
///
/// | `When`    | runs on                       | like                       |
/// |-----------|-------------------------------|----------------------------|
/// | `Always`  | every outcome                 | `defer`, `finally`         |
/// | `Success` | [`Outcome::Success`]          | D's `scope(success)`       |
/// | `Error`   | [`Outcome::Error`]            | Zig's `errdefer`           |
/// | `Panic`   | [`Outcome::Panic`]            | a `catch_unwind` handler   |
/// | `Failure` | `Error` or `Panic`            | D's `scope(failure)`       |
///
/// ```
/// use exitstack::{Outcome, When};
///
/// assert!(When::Failure.matches(Outcome::Panic));
/// assert!(!When::Success.matches(Outcome::Error));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum When {
    /// Whatever the outcome.
    Always,
    /// Only when the scope ended normally.
    Success,
    /// Only when the scope returned an `Err`.
    Error,
    /// Only when the scope is unwinding from a panic.
    Panic,
    /// When the scope returned an `Err` or panicked.
    Failure,
}

impl When {
    /// Whether a cleanup with this condition runs for `outcome`.
    ///
    /// ```
    /// # use exitstack::{Outcome, When};
    /// assert!(When::Always.matches(Outcome::Success));
    /// ```
    #[must_use]
    #[inline]
    pub const fn matches(self, outcome: Outcome) -> bool {
        match self {
            When::Always => true,
            When::Success => matches!(outcome, Outcome::Success),
            When::Error => matches!(outcome, Outcome::Error),
            When::Panic => matches!(outcome, Outcome::Panic),
            When::Failure => outcome.is_failure(),
        }
    }
}
