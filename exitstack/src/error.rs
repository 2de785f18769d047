//! The errors of closing a stack and of cancelling an entry.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::error::Error;
use core::fmt;

/// A boxed cleanup error, as [`CleanupError`] stores it. Any
/// `E: Error + Send + Sync + 'static` converts into it (and so do `String`,
/// `&str` and `anyhow::Error`).
///
/// ```
/// let error: exitstack::BoxError = "anything displayable".into();
/// assert_eq!(error.to_string(), "anything displayable");
/// ```
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// Every error the fallible cleanups of one close returned, in the order they
/// ran (the reverse of registration). Never empty.
///
/// Each error keeps its own type and `source()` chain: iterate them, or
/// [`downcast_ref`](CleanupError::downcast_ref) to reach one as itself. As an
/// [`Error`], a `CleanupError` displays every error's message, so that a
/// report (`anyhow`'s `{:#}`, a log line) shows them all; it has no
/// `source()` of its own, since it has several.
///
/// ```
/// use exitstack::ExitStack;
/// use std::io;
///
/// let mut stack = ExitStack::new();
/// stack.try_callback(|| Err(io::Error::other("flush failed")));
/// stack.try_callback(|| Err("unlock failed"));
/// let err = stack.close().unwrap_err();
///
/// assert_eq!(err.len(), 2);
/// assert_eq!(err.to_string(), "2 cleanups failed: unlock failed; flush failed");
/// let messages: Vec<String> = err.iter().map(|e| e.to_string()).collect();
/// assert_eq!(messages, ["unlock failed", "flush failed"]);
/// assert_eq!(err.downcast_ref::<io::Error>().unwrap().kind(), io::ErrorKind::Other);
/// ```
#[derive(Debug)]
pub struct CleanupError {
    errors: Vec<BoxError>,
}

impl CleanupError {
    /// `None` when there is nothing to report.
    #[inline]
    pub(crate) fn from_errors(errors: Vec<BoxError>) -> Option<Self> {
        (!errors.is_empty()).then_some(CleanupError { errors })
    }

    /// How many cleanups failed (at least one).
    ///
    /// ```
    /// let mut stack = exitstack::ExitStack::new();
    /// stack.try_callback(|| Err("no"));
    /// assert_eq!(stack.close().unwrap_err().len(), 1);
    /// ```
    #[allow(clippy::len_without_is_empty, reason = "a CleanupError is never empty")]
    #[must_use]
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// The error of the first cleanup that failed (the last registered).
    ///
    /// ```
    /// let mut stack = exitstack::ExitStack::new();
    /// stack.try_callback(|| Err("registered first"));
    /// stack.try_callback(|| Err("registered last"));
    /// assert_eq!(stack.close().unwrap_err().first().to_string(), "registered last");
    /// ```
    #[must_use]
    pub fn first(&self) -> &(dyn Error + Send + Sync + 'static) {
        &*self.errors[0]
    }

    /// The errors, in the order their cleanups ran.
    ///
    /// ```
    /// let mut stack = exitstack::ExitStack::new();
    /// stack.try_callback(|| Err("a"));
    /// stack.try_callback(|| Err("b"));
    /// let err = stack.close().unwrap_err();
    /// let all: Vec<String> = err.iter().map(|e| e.to_string()).collect();
    /// assert_eq!(all, ["b", "a"]);
    /// ```
    #[must_use]
    pub fn iter(&self) -> Errors<'_> {
        Errors {
            inner: self.errors.iter(),
        }
    }

    /// The first error that is an `E`, if any.
    ///
    /// ```
    /// use std::num::ParseIntError;
    /// let mut stack = exitstack::ExitStack::new();
    /// stack.try_callback(|| "x".parse::<u8>().map(drop));
    /// stack.try_callback(|| Err("not a number error"));
    /// let err = stack.close().unwrap_err();
    /// assert!(err.downcast_ref::<ParseIntError>().is_some());
    /// ```
    #[must_use]
    pub fn downcast_ref<E: Error + 'static>(&self) -> Option<&E> {
        self.errors.iter().find_map(|e| e.downcast_ref::<E>())
    }
}

impl fmt::Display for CleanupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errors.len() {
            1 => write!(f, "cleanup failed: {}", self.errors[0]),
            n => {
                write!(f, "{n} cleanups failed: {}", self.errors[0])?;
                for error in &self.errors[1..] {
                    write!(f, "; {error}")?;
                }
                Ok(())
            }
        }
    }
}

/// No `source()`: the messages of all the errors are in the `Display`; each
/// error's own chain is reached through [`iter`](CleanupError::iter).
impl Error for CleanupError {}

#[cfg(feature = "std")]
impl From<CleanupError> for std::io::Error {
    /// Lets a function that returns `io::Result` `?` a close: the cleanup
    /// errors become an [`std::io::ErrorKind::Other`] error whose inner error
    /// is the `CleanupError` (reach it with `get_ref` and `downcast_ref`).
    ///
    /// ```
    /// use exitstack::{CleanupError, ExitStack};
    ///
    /// fn work() -> std::io::Result<()> {
    ///     let mut stack = ExitStack::new();
    ///     stack.try_callback(|| Err("unlock failed"));
    ///     stack.close()?;
    ///     Ok(())
    /// }
    ///
    /// let error = work().unwrap_err();
    /// let cleanup = error.get_ref().unwrap().downcast_ref::<CleanupError>().unwrap();
    /// assert_eq!(cleanup.first().to_string(), "unlock failed");
    /// ```
    fn from(error: CleanupError) -> Self {
        std::io::Error::other(error)
    }
}

impl From<ScopeError<CleanupError>> for CleanupError {
    /// One `CleanupError` with every error: the body's (if it failed),
    /// then the cleanups', in the order they ran.
    fn from(error: ScopeError<CleanupError>) -> Self {
        match error {
            ScopeError::Body { error, cleanup } => {
                let mut errors = error.errors;
                errors.extend(cleanup.into_iter().flatten());
                CleanupError { errors }
            }
            ScopeError::Cleanup(cleanup) => cleanup,
        }
    }
}

/// How a scope failed: the error of [`ExitStack::scope`](crate::ExitStack::scope) and
/// `AsyncExitStack::scope`, for a body whose error is any `E`.
///
/// The body's error is primary: it is never replaced by a cleanup's, and the
/// cleanup errors are never lost — when the body failed they are kept
/// beside its error, in `cleanup`. (A panic is not an error: if the body or
/// a cleanup panics, the first panic resumes after every cleanup ran, and
/// the errors are dropped — see the `# Panics` of `scope`.)
///
/// ```
/// use exitstack::{ExitStack, ScopeError};
///
/// // A body error that knows nothing of exitstack: a `String`.
/// let result: Result<(), ScopeError<String>> = ExitStack::scope(|stack| {
///     stack.try_callback(|| Err("unlock failed"));
///     Err("disk full".to_string())
/// });
/// match result.unwrap_err() {
///     ScopeError::Body { error, cleanup } => {
///         assert_eq!(error, "disk full");
///         assert_eq!(cleanup.unwrap().first().to_string(), "unlock failed");
///     }
///     ScopeError::Cleanup(_) => unreachable!("the body failed"),
/// }
/// ```
///
/// # With `?`
///
/// It is an [`Error`] whenever `E` is `Debug + Display`, so `?` converts it
/// into `Box<dyn Error + Send + Sync>`, `anyhow::Error` or `eyre::Report`.
/// It displays the body's error (formatted with `{:#}`, so an
/// `anyhow::Error` shows its whole chain of context) followed by every
/// cleanup error, and has no `source()`: `E` need not be an [`Error`], so
/// the body's own chain is reached through [`body`](ScopeError::body) — or
/// match the `ScopeError` before converting it.
///
/// `?` converts it into an `io::Error` too: a failed body's `io::Error` is
/// returned as it is when no cleanup failed; when one did, the result keeps
/// the body's [`kind`](std::io::Error::kind) and holds this `ScopeError`
/// (so `raw_os_error()` and `get_ref()` of the body's error are then reached
/// through [`body`](ScopeError::body), after a `downcast_ref` of
/// `get_ref()`).
///
/// ```
/// use exitstack::ExitStack;
///
/// fn save() -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
///     let value = ExitStack::scope(|stack| {
///         stack.try_callback(|| Ok::<(), std::io::Error>(()));
///         Ok::<_, String>(7)
///     })?;
///     Ok(value)
/// }
/// assert_eq!(save().unwrap(), 7);
/// ```
///
/// For an error enum of your own, add a variant that holds it:
///
/// ```
/// use exitstack::{ExitStack, ScopeError};
///
/// #[derive(Debug)]
/// enum AppError {
///     NotFound(String),
///     Scope(Box<ScopeError<AppError>>),
/// }
///
/// impl From<ScopeError<AppError>> for AppError {
///     fn from(error: ScopeError<AppError>) -> Self {
///         match error {
///             // Nothing to add: the body's own error, unwrapped.
///             ScopeError::Body { error, cleanup: None } => error,
///             error => AppError::Scope(Box::new(error)),
///         }
///     }
/// }
///
/// fn load(name: &str) -> Result<(), AppError> {
///     ExitStack::scope(|stack| {
///         stack.try_callback(|| Err("unlock failed"));
///         Err(AppError::NotFound(name.to_owned()))
///     })?;
///     Ok(())
/// }
///
/// let AppError::Scope(scope) = load("config").unwrap_err() else { panic!() };
/// assert!(matches!(scope.body(), Some(AppError::NotFound(name)) if name == "config"));
/// assert_eq!(scope.cleanup().unwrap().len(), 1);
/// ```
///
/// # A body that cannot fail
///
/// The body's error type is inferred from what it returns; a body that
/// never returns `Err` names one, e.g. [`Infallible`](core::convert::Infallible):
///
/// ```
/// use std::convert::Infallible;
/// let sum = exitstack::ExitStack::scope(|stack| {
///     stack.callback(|| ());
///     Ok::<_, Infallible>(1 + 1)
/// });
/// assert_eq!(sum.unwrap(), 2);
/// ```
#[derive(Debug)]
pub enum ScopeError<E> {
    /// The body returned `Err(error)`. The cleanups still ran, seeing
    /// [`Outcome::Error`](crate::Outcome::Error); `cleanup` holds the errors
    /// of those that failed, if any did.
    Body {
        /// The body's error, as it returned it.
        error: E,
        /// The errors of the cleanups that failed after it.
        cleanup: Option<CleanupError>,
    },
    /// The body succeeded (its value is dropped), but cleanups failed.
    Cleanup(CleanupError),
}

impl<E> ScopeError<E> {
    /// The body's error, if the body failed.
    ///
    /// ```
    /// let result = exitstack::ExitStack::scope(|_| Err::<(), _>(404));
    /// assert_eq!(result.unwrap_err().body(), Some(&404));
    /// ```
    #[must_use]
    pub fn body(&self) -> Option<&E> {
        match self {
            ScopeError::Body { error, .. } => Some(error),
            ScopeError::Cleanup(_) => None,
        }
    }

    /// The errors of the cleanups that failed, whether the body failed or
    /// not.
    ///
    /// ```
    /// let result = exitstack::ExitStack::scope(|stack| {
    ///     stack.try_callback(|| Err("unlock failed"));
    ///     Ok::<_, String>(())
    /// });
    /// assert_eq!(result.unwrap_err().cleanup().unwrap().len(), 1);
    /// ```
    #[must_use]
    pub fn cleanup(&self) -> Option<&CleanupError> {
        match self {
            ScopeError::Body { cleanup, .. } => cleanup.as_ref(),
            ScopeError::Cleanup(cleanup) => Some(cleanup),
        }
    }

    /// Both parts, owned: the body's error (if it failed) and the cleanup
    /// errors (if any failed). At least one is `Some`.
    ///
    /// ```
    /// let result = exitstack::ExitStack::scope(|_| Err::<(), _>("bad input"));
    /// let (body, cleanup) = result.unwrap_err().into_parts();
    /// assert_eq!(body, Some("bad input"));
    /// assert!(cleanup.is_none());
    /// ```
    #[must_use]
    pub fn into_parts(self) -> (Option<E>, Option<CleanupError>) {
        match self {
            ScopeError::Body { error, cleanup } => (Some(error), cleanup),
            ScopeError::Cleanup(cleanup) => (None, Some(cleanup)),
        }
    }
}

impl<E: fmt::Display> fmt::Display for ScopeError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScopeError::Body {
                error,
                cleanup: None,
            } => write!(f, "{error:#}"),
            ScopeError::Body {
                error,
                cleanup: Some(cleanup),
            } => write!(f, "{error:#} (and {cleanup})"),
            ScopeError::Cleanup(cleanup) => write!(f, "{cleanup}"),
        }
    }
}

/// No `source()`: the `Display` already shows the body's error and every
/// cleanup error, and `E` need not be an [`Error`] (so that
/// `Box<dyn Error>` and `anyhow::Error` bodies convert with `?`).
impl<E: fmt::Debug + fmt::Display> Error for ScopeError<E> {}

#[cfg(feature = "std")]
impl From<ScopeError<std::io::Error>> for std::io::Error {
    /// Lets a function that returns `io::Result` `?` a scope whose body
    /// does too: the body's error as it is when no cleanup failed; with
    /// cleanup errors beside it, an error of the same
    /// [`kind`](std::io::Error::kind) holding the `ScopeError`; when only
    /// cleanups failed, the `CleanupError` as an `Other` error.
    ///
    /// ```
    /// use std::io;
    /// use exitstack::{ExitStack, ScopeError};
    ///
    /// fn read() -> io::Result<()> {
    ///     ExitStack::scope(|stack| {
    ///         stack.try_callback(|| Err("unlock failed"));
    ///         Err(io::Error::new(io::ErrorKind::NotFound, "no config"))
    ///     })?;
    ///     Ok(())
    /// }
    ///
    /// let error = read().unwrap_err();
    /// assert_eq!(error.kind(), io::ErrorKind::NotFound);
    /// let scope = error.get_ref().unwrap().downcast_ref::<ScopeError<io::Error>>().unwrap();
    /// assert_eq!(scope.body().unwrap().to_string(), "no config");
    /// assert_eq!(scope.cleanup().unwrap().first().to_string(), "unlock failed");
    /// ```
    fn from(error: ScopeError<std::io::Error>) -> Self {
        match error {
            ScopeError::Body {
                error,
                cleanup: None,
            } => error,
            error @ ScopeError::Body { .. } => {
                let kind = error
                    .body()
                    .map_or(std::io::ErrorKind::Other, std::io::Error::kind);
                std::io::Error::new(kind, error)
            }
            ScopeError::Cleanup(cleanup) => cleanup.into(),
        }
    }
}

/// Iterator over the errors of a [`CleanupError`] by reference, from
/// [`CleanupError::iter`] or `for error in &cleanup_error`. Iterating a
/// `CleanupError` by value (`for error in cleanup_error`) yields the owned
/// [`BoxError`]s instead.
///
/// ```
/// let mut stack = exitstack::ExitStack::new();
/// stack.try_callback(|| Err("a"));
/// let err = stack.close().unwrap_err();
/// for error in &err {
///     assert_eq!(error.to_string(), "a");
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Errors<'e> {
    inner: core::slice::Iter<'e, BoxError>,
}

impl<'e> Iterator for Errors<'e> {
    type Item = &'e (dyn Error + Send + Sync + 'static);

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|e| &**e)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl ExactSizeIterator for Errors<'_> {}

impl<'e> IntoIterator for &'e CleanupError {
    type Item = &'e (dyn Error + Send + Sync + 'static);
    type IntoIter = Errors<'e>;

    fn into_iter(self) -> Errors<'e> {
        self.iter()
    }
}

/// The owned errors, in the order their cleanups ran: each a [`BoxError`]
/// that `downcast`s to its own type.
///
/// ```
/// let mut stack = exitstack::ExitStack::new();
/// stack.try_callback(|| Err(std::io::Error::other("flush")));
/// let error = stack.close().unwrap_err();
/// let owned: Vec<exitstack::BoxError> = error.into_iter().collect();
/// let io: Box<std::io::Error> = owned.into_iter().next().unwrap().downcast().unwrap();
/// assert_eq!(io.to_string(), "flush");
/// ```
impl IntoIterator for CleanupError {
    type Item = BoxError;
    type IntoIter = alloc::vec::IntoIter<BoxError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

/// Why [`ExitStack::cancel`](crate::ExitStack::cancel) refused a key. Nothing
/// was cancelled and nothing ran.
///
/// ```
/// use exitstack::{CancelError, ExitStack};
///
/// let mut stack = ExitStack::new();
/// let key = stack.callback(|| ());
/// stack.close().unwrap();
/// assert_eq!(stack.cancel(&key), Err(CancelError::NotPending));
///
/// let other = ExitStack::new();
/// let key = other.callback(|| ());
/// assert_eq!(stack.cancel(&key), Err(CancelError::ForeignKey));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CancelError {
    /// The entry belongs to this stack but is no longer pending: it already
    /// ran (the stack was closed) or was already cancelled.
    NotPending,
    /// The key was not issued by this stack — or its entry was moved to
    /// another stack by [`pop_all`](crate::ExitStack::pop_all), which keeps
    /// the key valid there.
    ForeignKey,
}

impl fmt::Display for CancelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CancelError::NotPending => "the entry already ran or was already cancelled",
            CancelError::ForeignKey => {
                "the key belongs to another stack (or its entry was moved away by pop_all)"
            }
        })
    }
}

impl Error for CancelError {}
