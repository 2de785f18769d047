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

#[cfg(feature = "std")]
pub use self::async_scope::{AsyncCleanup, AsyncScope, output};

/// What `#[exitstack::scope]` adds to an `async fn` whose body has async
/// cleanups (`defer!(async ...)`, `cleanup!(async ...)`): an implicit
/// asynchronous stack, closed when the body ends.
///
/// ```text
/// async fn f(args) -> R {
///     let __exitstack_scope = Scope::new();
///     let __exitstack_async = AsyncScope::send(); // or `local()` with `?Send`
///     __exitstack_async
///         .run(&__exitstack_scope, async {
///             if false {
///                 return output::<R>();
///             }
///             <the user's block>
///         })
///         .await
/// }
/// ```
///
/// The user's block is an `async` block of its own, so that `return` and `?`
/// leave it (exactly once, with its value) and the cleanups are awaited
/// after it, on every path. The stack sits behind a `Mutex` so that the
/// body registers through a shared reference that is `Send` whenever the
/// stack is (a `&SendAsyncExitStack` would not be: the stack is `!Sync`),
/// and so that handles of `cleanup!(async ...)` can cancel their entry at
/// once. The lock is taken only to register, cancel, and once at the end;
/// never across an `.await`.
#[cfg(feature = "std")]
mod async_scope {
    use core::future::Future;
    use core::pin::pin;
    use std::sync::{Mutex, MutexGuard, PoisonError};

    use crate::async_stack::CatchUnwind;
    use crate::{AsyncExitStack, EntryKey, Scope, SendAsyncExitStack, When};

    /// The output type of the user's block, given up front: the block
    /// starts with `if false { return output::<R>(); }`, so that its
    /// `return`s and tail are coerced to the function's return type `R`
    /// (`&String` to `&str`), `?` converts into it, and the observation of
    /// returned values knows their type. Never called.
    ///
    /// # Panics
    ///
    /// Always: it is only ever written behind `if false`.
    #[must_use]
    pub fn output<T>() -> T {
        unreachable!("`output` is only written behind `if false`")
    }

    /// The implicit asynchronous stack of one `#[exitstack::scope] async fn`
    /// call: a [`SendAsyncExitStack`] ([`AsyncScope::send`]), or with
    /// `#[exitstack::scope(?Send)]` an [`AsyncExitStack`]
    /// ([`AsyncScope::local`]).
    pub struct AsyncScope<S> {
        stack: Mutex<S>,
    }

    /// What `cleanup!(async ...)` returns: cancels its entry.
    #[must_use = "an async cleanup stays registered when its handle is dropped; \
                  `defer!(async ...)` needs no handle"]
    pub struct AsyncCleanup<'s, S> {
        scope: &'s AsyncScope<S>,
        key: EntryKey,
    }

    impl<S> core::fmt::Debug for AsyncCleanup<'_, S> {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.debug_struct("AsyncCleanup").finish_non_exhaustive()
        }
    }

    macro_rules! async_scope {
        ($Stack:ident, $new:ident, [$($Send:tt)*]) => {
            impl<'a> AsyncScope<$Stack<'a>> {
                /// An empty implicit stack.
                #[must_use]
                pub fn $new() -> Self {
                    AsyncScope {
                        stack: Mutex::new($Stack::new()),
                    }
                }

                /// Nothing the stack runs while locked can reach it (the
                /// user cannot name it), so the lock is never contended;
                /// a panic while it was held (a captured value's `Drop`
                /// in `cancel`) leaves the stack consistent.
                fn lock(&self) -> MutexGuard<'_, $Stack<'a>> {
                    self.stack.lock().unwrap_or_else(PoisonError::into_inner)
                }

                /// Registers `future`, to be awaited at the end if the
                /// outcome matches `when` (else dropped unpolled).
                fn register<Fut>(&self, when: When, future: Fut) -> AsyncCleanup<'_, $Stack<'a>>
                where
                    Fut: Future<Output = ()> + $($Send)* 'a,
                {
                    let key = self.lock().push_async_exit(move |outcome| async move {
                        if when.matches(outcome) {
                            future.await;
                        }
                    });
                    AsyncCleanup { scope: self, key }
                }

                /// `pop_all!()`: cancels every cleanup registered so far,
                /// the synchronous ones (guards tied to `scope`) and the
                /// async ones.
                pub fn cancel_all(&self, scope: &Scope) {
                    scope.cancel_all();
                    self.lock().cancel_all();
                }

                /// Runs the body under `catch_unwind`, then awaits the
                /// cleanups with the outcome: `Panic` if it panicked, `Error`
                /// if `scope` saw an `Err` leave it, else `Success`. Then
                /// returns its value, or resumes its panic (a cleanup's
                /// panic is then discarded); if only a cleanup panicked,
                /// resumes that one.
                pub async fn run<T, F>(&self, scope: &Scope, body: F) -> T
                where
                    F: Future<Output = T>,
                {
                    let result = {
                        let body = pin!(body);
                        CatchUnwind(body).await
                    };
                    let outcome = crate::ending::outcome(result.is_err(), scope.is_error());
                    let mut stack = self.lock().pop_all();
                    // No entry is fallible: there are never errors to report.
                    let closed = CatchUnwind(pin!(stack.aclose_with(outcome))).await;
                    crate::ending::first_panic_wins(result, closed.err())
                }
            }

            impl AsyncCleanup<'_, $Stack<'_>> {
                /// Cancels the cleanup: it will not run, and its future is
                /// dropped now. Does nothing if `pop_all!()` cancelled it
                /// already.
                pub fn cancel(self) {
                    let _ = self.scope.lock().cancel(&self.key);
                }
            }
        };
    }

    async_scope!(SendAsyncExitStack, send, [Send+]);
    async_scope!(AsyncExitStack, local, []);

    // `defer` and `cleanup` are written out for each stack, so that their
    // bounds, which the compiler shows when a cleanup breaks them, say what
    // to do (hence the comments at the ends of their lines, and `skip`).
    #[rustfmt::skip]
    impl<'a> AsyncScope<SendAsyncExitStack<'a>> {
        /// `defer!(when: async ...)`.
        pub fn defer<Fut>(&self, when: When, future: Fut)
        where
            Fut: Future<Output = ()>
                + 'a // an async cleanup outlives the body: it may borrow the function's arguments, and must own the rest (`async move`)
                + Send, // not `Send`? write `#[exitstack::scope(?Send)]` on the function
        {
            let _ = self.register(when, future);
        }

        /// `cleanup!(when: async ...)`.
        pub fn cleanup<Fut>(&self, when: When, future: Fut) -> AsyncCleanup<'_, SendAsyncExitStack<'a>>
        where
            Fut: Future<Output = ()>
                + 'a // an async cleanup outlives the body: it may borrow the function's arguments, and must own the rest (`async move`)
                + Send, // not `Send`? write `#[exitstack::scope(?Send)]` on the function
        {
            self.register(when, future)
        }
    }

    #[rustfmt::skip]
    impl<'a> AsyncScope<AsyncExitStack<'a>> {
        /// `defer!(when: async ...)`.
        pub fn defer<Fut>(&self, when: When, future: Fut)
        where
            Fut: Future<Output = ()>
                + 'a, // an async cleanup outlives the body: it may borrow the function's arguments, and must own the rest (`async move`)
        {
            let _ = self.register(when, future);
        }

        /// `cleanup!(when: async ...)`.
        pub fn cleanup<Fut>(&self, when: When, future: Fut) -> AsyncCleanup<'_, AsyncExitStack<'a>>
        where
            Fut: Future<Output = ()>
                + 'a, // an async cleanup outlives the body: it may borrow the function's arguments, and must own the rest (`async move`)
        {
            self.register(when, future)
        }
    }
}
