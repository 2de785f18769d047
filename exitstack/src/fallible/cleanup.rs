//! What a fallible cleanup of an `#[exitstack::scope]` fn needs from the
//! function: a `Result` return type ([`ScopeResult`]) whose error type can
//! hold the cleanup's error ([`HoldsCleanupError`]).
//!
//! Both are implemented for every type they can be, and exist so that the
//! compiler can say, in words and on the cleanup, what is missing.

use crate::private::{Failed, Ret};
use crate::{BoxError, ErrorWatch, Guard, Outcome, ScopeError, When};

/// The return type of an `#[exitstack::scope]` fn with fallible cleanups:
/// `Result<T, E>`, however it is spelled (`io::Result<T>`,
/// `anyhow::Result<T>`, an alias of yours).
///
/// A fallible cleanup (`defer!(try: file.sync_all())`) makes its error the
/// function's `Err` when the body succeeded, so the function must return a
/// `Result`; its error type `E` must then hold the cleanup's error
/// ([`HoldsCleanupError`]). Implemented for `Result` only (sealed).
///
/// ```
/// use exitstack::ScopeResult;
///
/// fn error_type<R: ScopeResult>() -> &'static str {
///     std::any::type_name::<R::Err>()
/// }
/// assert_eq!(error_type::<std::io::Result<()>>(), "std::io::error::Error");
/// ```
#[diagnostic::on_unimplemented(
    message = "a fallible cleanup needs its function to return a `Result`, not `{Self}`",
    label = "its error would become the function's `Err`",
    note = "make the function return `Result<T, E>`, or handle the error in the cleanup \
            (`if let Err(error) = ... {{ ... }}`)"
)]
pub trait ScopeResult: sealed::Sealed + Sized {
    /// `T` of `Result<T, E>`.
    type Ok;
    /// `E` of `Result<T, E>`: what the cleanups' errors become.
    type Err;

    /// The errors of the function's fallible cleanups. Not public API.
    #[doc(hidden)]
    fn __failed(ret: &Ret<Self>) -> Failed<Self::Err>;

    /// The function's value: the body's, combined with the errors of its
    /// fallible cleanups. Not public API.
    #[doc(hidden)]
    fn __finish(failed: Failed<Self::Err>, value: Self) -> Self;
}

impl<T, E> ScopeResult for Result<T, E> {
    type Ok = T;
    type Err = E;

    #[inline]
    fn __failed(_: &Ret<Self>) -> Failed<E> {
        Failed::new()
    }

    #[inline]
    fn __finish(failed: Failed<E>, value: Self) -> Self {
        failed.finish(value)
    }
}

mod sealed {
    pub trait Sealed {}

    impl<T, E> Sealed for Result<T, E> {}
}

/// An error type `E` that can hold the error `C` of a fallible cleanup of
/// an `#[exitstack::scope]` fn returning `Result<T, E>`.
///
/// When the body succeeded, the first cleanup to fail makes the function
/// return `Err(E::from(c))`: `E: From<C>`. When the body failed, or several
/// cleanups did, the errors are kept side by side in a [`ScopeError<E>`]
/// converted into `E`: `E: From<ScopeError<E>>` (the function's error type
/// can hold cleanup errors beside its own), with each `C` boxed into the
/// [`CleanupError`](crate::CleanupError) there: `C: Into<BoxError> + Send +
/// 'static`.
///
/// Implemented for every type that can: `io::Error` for `io::Error`
/// cleanups, `Box<dyn Error + Send + Sync>` and `anyhow::Error` for any
/// error, an enum of yours with a `From` impl for each. Never implement it
/// yourself.
///
/// ```
/// use exitstack::{HoldsCleanupError, ScopeError};
///
/// fn holds<E: HoldsCleanupError<C>, C>() {}
/// holds::<std::io::Error, std::io::Error>();
/// holds::<Box<dyn std::error::Error + Send + Sync>, std::fmt::Error>();
///
/// #[derive(Debug)]
/// enum AppError {
///     Io(std::io::Error),
///     Scope(Box<ScopeError<AppError>>),
/// }
/// impl From<std::io::Error> for AppError {
///     fn from(error: std::io::Error) -> Self {
///         AppError::Io(error)
///     }
/// }
/// impl From<ScopeError<AppError>> for AppError {
///     fn from(error: ScopeError<AppError>) -> Self {
///         AppError::Scope(Box::new(error))
///     }
/// }
/// holds::<AppError, std::io::Error>();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot hold the error `{C}` of this fallible cleanup",
    label = "the function's error type must hold this cleanup's error",
    note = "a fallible cleanup's error becomes the function's `Err` when the body succeeded \
            (`{Self}: From<{C}>`), and is kept beside the body's error when it failed, with the \
            errors of the other cleanups (`{Self}: From<exitstack::ScopeError<{Self}>>`, and \
            `{C}: Into<exitstack::BoxError>`)",
    note = "error types that hold any cleanup's error: `Box<dyn Error + Send + Sync>`, \
            `anyhow::Error` (and `std::io::Error` those of `io` cleanups), or an enum of your \
            own with variants for `{C}` and `ScopeError<{Self}>`; \
            not a `String`. A cleanup error shown as `_` is one rustc could not infer: name its \
            type (`Ok::<(), E>(())`)"
)]
pub trait HoldsCleanupError<C>: Sized {
    /// `defer!(try: ..)`, `cleanup!(try: ..)`, `#[cleanup] fn name() ->
    /// Result<(), C>`: a guard whose error goes into `failed`. The cleanup
    /// comes first, so that its error type is known when the bounds are
    /// checked. Not public API.
    #[doc(hidden)]
    fn __guard<'s, F>(
        cleanup: F,
        failed: &'s Failed<Self>,
        watch: &'s ErrorWatch,
        when: When,
    ) -> Guard<'s, impl FnOnce(Outcome)>
    where
        F: FnOnce(Outcome) -> Result<(), C>;

    /// A fallible cleanup failed with `error`. Not public API.
    #[doc(hidden)]
    fn __record(failed: &Failed<Self>, watch: &ErrorWatch, error: C);
}

impl<E, C> HoldsCleanupError<C> for E
where
    E: From<C> + From<ScopeError<E>>,
    C: Into<BoxError> + Send + 'static,
{
    #[inline]
    fn __guard<'s, F>(
        cleanup: F,
        failed: &'s Failed<E>,
        watch: &'s ErrorWatch,
        when: When,
    ) -> Guard<'s, impl FnOnce(Outcome)>
    where
        F: FnOnce(Outcome) -> Result<(), C>,
    {
        Guard::watching(watch, when, move |outcome| {
            if let Err(error) = cleanup(outcome) {
                failed.record(watch, error);
            }
        })
    }

    #[inline]
    fn __record(failed: &Failed<E>, watch: &ErrorWatch, error: C) {
        failed.record(watch, error);
    }
}
