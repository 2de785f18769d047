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
/// [`Error`], a `CleanupError` displays a summary and reports the first error
/// as its `source()`.
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
/// assert_eq!(err.to_string(), "2 cleanups failed; the first: unlock failed");
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
    pub fn iter(&self) -> Iter<'_> {
        Iter {
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

    /// The errors, in the order their cleanups ran, as owned boxes.
    ///
    /// ```
    /// let mut stack = exitstack::ExitStack::new();
    /// stack.try_callback(|| Err(std::io::Error::other("flush")));
    /// let errors = stack.close().unwrap_err().into_errors();
    /// let io: Box<std::io::Error> = errors.into_iter().next().unwrap().downcast().unwrap();
    /// assert_eq!(io.to_string(), "flush");
    /// ```
    #[must_use]
    pub fn into_errors(self) -> Vec<BoxError> {
        self.errors
    }
}

impl fmt::Display for CleanupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errors.len() {
            1 => write!(f, "cleanup failed: {}", self.errors[0]),
            n => write!(f, "{n} cleanups failed; the first: {}", self.errors[0]),
        }
    }
}

impl Error for CleanupError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.errors[0])
    }
}

#[cfg(feature = "std")]
impl From<CleanupError> for std::io::Error {
    /// Lets `ExitStack::scope` bodies return `io::Result`: the cleanup
    /// errors become an [`std::io::ErrorKind::Other`] error whose inner error
    /// is the `CleanupError` (reach it with `get_ref` and `downcast_ref`).
    ///
    /// ```
    /// use exitstack::{CleanupError, ExitStack};
    /// let result: std::io::Result<()> = ExitStack::scope(|stack| {
    ///     stack.try_callback(|| Err("unlock failed"));
    ///     Ok(())
    /// });
    /// let error = result.unwrap_err();
    /// let cleanup = error.get_ref().unwrap().downcast_ref::<CleanupError>().unwrap();
    /// assert_eq!(cleanup.first().to_string(), "unlock failed");
    /// ```
    fn from(error: CleanupError) -> Self {
        std::io::Error::other(error)
    }
}

/// Iterator over the errors of a [`CleanupError`], from [`CleanupError::iter`]
/// or `for error in &cleanup_error`.
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
pub struct Iter<'e> {
    inner: core::slice::Iter<'e, BoxError>,
}

impl<'e> Iterator for Iter<'e> {
    type Item = &'e (dyn Error + Send + Sync + 'static);

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|e| &**e)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'e> IntoIterator for &'e CleanupError {
    type Item = &'e (dyn Error + Send + Sync + 'static);
    type IntoIter = Iter<'e>;

    fn into_iter(self) -> Iter<'e> {
        self.iter()
    }
}

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
