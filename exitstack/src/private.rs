//! Items that macro expansions name through `::exitstack::__private`.
//! Not public API.

use core::ops::Deref;
use core::task::Poll;

pub use crate::{Defer, Guard, Outcome, Scope, When};

/// Adapts a plain cleanup (`FnOnce()`) to the exit-callback shape a [`Guard`]
/// takes: `#[cleanup] let name = expr;` where `expr` is not a closure literal.
#[inline]
pub fn ignore_outcome<F: FnOnce()>(f: F) -> impl FnOnce(Outcome) {
    move |_| f()
}

/// How `#[exitstack::scope]` observes a value that leaves the function
/// (`return`, `?`, tail expression) without knowing its type: autoderef
/// specialization on the concrete type at the call site.
///
/// `Observe(&value).__exitstack_observe(&scope)` finds, in order:
///
/// 1. an inherent method on `Observe<'_, Result<T, E>>` (and the two `Poll`
///    shapes a `?` can return an error through), which marks the scope when
///    the value is an error;
/// 2. through `Deref`, the method of [`NotAnError`], which does nothing.
///
/// No trait is involved, so expansions import nothing into the user's scope.
/// `Option::None` is deliberately not an error: `None` is absence, and a
/// function that wants on-error cleanups to run for it returns a `Result`.
pub struct Observe<'a, T>(pub &'a T);

impl<T, E> Observe<'_, Result<T, E>> {
    /// Marks `scope` if the value is an `Err`.
    #[inline]
    pub fn __exitstack_observe(self, scope: &Scope) {
        if self.0.is_err() {
            scope.mark_error();
        }
    }
}

impl<T, E> Observe<'_, Poll<Result<T, E>>> {
    /// Marks `scope` if the value is `Ready(Err(_))`.
    #[inline]
    pub fn __exitstack_observe(self, scope: &Scope) {
        if let Poll::Ready(Err(_)) = self.0 {
            scope.mark_error();
        }
    }
}

impl<T, E> Observe<'_, Poll<Option<Result<T, E>>>> {
    /// Marks `scope` if the value is `Ready(Some(Err(_)))`.
    #[inline]
    pub fn __exitstack_observe(self, scope: &Scope) {
        if let Poll::Ready(Some(Err(_))) = self.0 {
            scope.mark_error();
        }
    }
}

impl<T> Deref for Observe<'_, T> {
    type Target = NotAnError;

    #[inline]
    fn deref(&self) -> &NotAnError {
        &NotAnError
    }
}

/// The fallback of [`Observe`]: a value of any other type is not an error.
pub struct NotAnError;

impl NotAnError {
    /// Does nothing.
    #[inline]
    #[allow(
        clippy::unused_self,
        reason = "method syntax is what selects this fallback"
    )]
    pub fn __exitstack_observe(&self, _scope: &Scope) {}
}
