//! Which values `#[exitstack::scope]` counts as errors.

use core::task::Poll;

#[cfg(feature = "alloc")]
mod cleanup;
#[cfg(feature = "alloc")]
pub use self::cleanup::{HoldsCleanupError, ScopeResult};

/// A type whose values can be errors, as `#[exitstack::scope]` sees them.
///
/// A function under `#[exitstack::scope]` marks its scope as failed when the
/// value it returns (through `return`, `?` or its tail) `is_error()`, before
/// any of its cleanups runs; `on_error` and `on_failure` cleanups then see
/// [`Outcome::Error`](crate::Outcome::Error). The decision is made by the
/// type, so type aliases (`io::Result<T>`, `type Res<T> = Result<T, E>`)
/// count as what they stand for.
///
/// Implemented for `Result` (an error when `Err`) and for the two `Poll`
/// shapes a `?` can return an error through. Every other type is never an
/// error: in particular `Option`, whose `None` is absence, not failure. In a
/// function whose return type is never an error, an `on_error` cleanup
/// could never run, so it is a compile error.
///
/// A result-like type of your own opts in by implementing it:
///
/// ```
/// use std::cell::Cell;
/// use exitstack::{Fallible, defer};
///
/// #[derive(Debug, PartialEq)]
/// enum Status {
///     Done,
///     Failed(&'static str),
/// }
///
/// impl Fallible for Status {
///     fn is_error(&self) -> bool {
///         matches!(self, Status::Failed(_))
///     }
/// }
///
/// #[exitstack::scope]
/// fn run(rolled_back: &Cell<u32>, fail: bool) -> Status {
///     defer!(on_error: rolled_back.set(rolled_back.get() + 1));
///     if fail { Status::Failed("disk full") } else { Status::Done }
/// }
///
/// let rolled_back = Cell::new(0);
/// assert_eq!(run(&rolled_back, false), Status::Done);
/// assert_eq!(rolled_back.get(), 0);
/// assert_eq!(run(&rolled_back, true), Status::Failed("disk full"));
/// assert_eq!(rolled_back.get(), 1);
/// ```
///
/// A generic return type (`fn f<R>() -> R`, `Self::Output`) is observed
/// through this trait, so it needs the bound (`R: exitstack::Fallible`):
/// without it, `#[exitstack::scope]` cannot tell whether the value is an
/// error, and does not compile rather than guess.
#[diagnostic::on_unimplemented(
    message = "`#[exitstack::scope]` cannot treat `{Self}` as an error",
    label = "`{Self}` does not implement `exitstack::Fallible`",
    note = "an `on_error` or `on_failure` cleanup needs a return type that can be an error: \
            with `{Self}` it would never run (remove it, or for panics write `on_panic`)",
    note = "a generic return type is observed through `exitstack::Fallible`: add the bound \
            `{Self}: exitstack::Fallible`"
)]
pub trait Fallible {
    /// Whether this value is an error: on-error cleanups run when the
    /// function returns it.
    ///
    /// ```
    /// use exitstack::Fallible;
    /// assert!(Err::<(), _>("no").is_error());
    /// assert!(!Ok::<_, ()>(1).is_error());
    /// ```
    fn is_error(&self) -> bool;

    /// Not public API: what `#[exitstack::scope]` calls to require that its
    /// return type can be an error. A method of this trait (not a function
    /// with a bound), so that the error for a type that cannot be one names
    /// only `Fallible`.
    #[doc(hidden)]
    #[inline]
    fn __exitstack_can_fail(_: core::marker::PhantomData<fn() -> Self>)
    where
        Self: Sized,
    {
    }

    /// Not public API: marks `watch` if this value is an error (for a
    /// return type `#[exitstack::scope]` cannot see: a type parameter,
    /// `Self`, an associated type).
    #[doc(hidden)]
    #[inline]
    fn __exitstack_observe_generic(&self, watch: &crate::ErrorWatch) {
        if self.is_error() {
            watch.mark_error();
        }
    }
}

impl<T, E> Fallible for Result<T, E> {
    #[inline]
    fn is_error(&self) -> bool {
        self.is_err()
    }
}

impl<T, E> Fallible for Poll<Result<T, E>> {
    #[inline]
    fn is_error(&self) -> bool {
        matches!(self, Poll::Ready(Err(_)))
    }
}

impl<T, E> Fallible for Poll<Option<Result<T, E>>> {
    #[inline]
    fn is_error(&self) -> bool {
        matches!(self, Poll::Ready(Some(Err(_))))
    }
}
