//! Items that macro expansions name through `::exitstack::__private`.
//! Not public API.

use core::convert::Infallible;
use core::marker::PhantomData;
use core::ops::{ControlFlow, Deref};
use core::task::Poll;

pub use crate::{Defer, ErrorWatch, Fallible, Guard, Outcome, ScopeGuard, When, guard};
#[cfg(feature = "std")]
pub use crate::{guard_on_success, guard_on_unwind};

/// Adapts a plain cleanup (`FnOnce()`, or `FnOnce() -> Result<(), C>` for a
/// fallible one) to the exit-callback shape a [`Guard`] takes:
/// `#[cleanup] let name = expr;` where `expr` is not a closure literal.
#[inline]
pub fn ignore_outcome<T, F: FnOnce() -> T>(f: F) -> impl FnOnce(Outcome) -> T {
    move |_| f()
}

/// The value of an `#[exitstack::scope]` function's body, once observed.
///
/// The body runs as a closure passed to [`call_once`] (an `async` block in
/// an `async fn`) whose return type is `Returned<R>`: only the `return`s,
/// `?`s and tail values that the attribute rewrote produce one, each after
/// observing the value. A `return` or `?` it did not see (written inside a
/// macro's own definition) returns an `R` instead, which does not
/// type-check: every way out of the body is observed, or the build fails.
///
/// Its field is private (it is made by [`returned`]), so that rustc does not
/// suggest wrapping a hidden `return`'s value in it.
pub struct Returned<R>(R);

/// A `Returned`: what a rewritten `return`, `?` or tail produces.
#[inline]
pub fn returned<R>(value: R) -> Returned<R> {
    Returned(value)
}

/// The return type `R` of one `#[exitstack::scope]` function, as a value
/// its expansion can pass around: it ties the body's `Returned<R>` to the
/// function's return type where that cannot be named (`impl Trait`), and
/// lets an `on_error` cleanup require that `R` can be an error.
pub struct Ret<R>(PhantomData<fn() -> R>);

impl<R> Ret<R> {
    /// The return type, named or left for the compiler to infer.
    #[must_use]
    #[inline]
    pub const fn new() -> Self {
        Ret(PhantomData)
    }

    /// The return type, for `Fallible::__exitstack_can_fail`.
    #[must_use]
    #[inline]
    pub const fn ty(&self) -> PhantomData<fn() -> R> {
        PhantomData
    }
}

impl<R> Default for Ret<R> {
    #[inline]
    fn default() -> Self {
        Ret::new()
    }
}

/// Runs the body of a sync `#[exitstack::scope]` function.
#[inline]
pub fn call_once<R, F: FnOnce() -> Returned<R>>(_: &Ret<R>, body: F) -> R {
    body().0
}

/// The value an async body produced (see [`Returned`]).
#[inline]
pub fn finish<R>(_: &Ret<R>, returned: Returned<R>) -> R {
    returned.0
}

/// The fake return edge of an async body: its first statement is
/// `if false { return Returned(output(&ret)); }`, so that the block's output
/// type is known from the start, and a `return` the attribute did not
/// rewrite is the one reported. Never called.
///
/// # Panics
///
/// Always: it is only ever written behind `if false`.
#[must_use]
pub fn output<R>(_: &Ret<R>) -> R {
    unreachable!("`output` is only written behind `if false`")
}

/// How `#[exitstack::scope]` observes a value of a concrete return type:
/// autoderef specialization on that type.
///
/// `Observe(&value).__exitstack_observe(&scope)` finds, in order:
///
/// 1. the inherent method on `Observe<'_, T>` for `T: Fallible`, which marks
///    the scope when the value is an error;
/// 2. through `Deref`, the method of [`NotAnError`], which does nothing.
///
/// No trait is named, so expansions import nothing into the user's scope;
/// one candidate per step, so a value whose type has an error of its own
/// (an unresolved name) resolves without a second error.
pub struct Observe<'a, T>(pub &'a T);

impl<T: Fallible> Observe<'_, T> {
    /// Marks `scope` if the value is an error.
    #[inline]
    pub fn __exitstack_observe(self, scope: &ErrorWatch) {
        if self.0.is_error() {
            scope.mark_error();
        }
    }
}

impl<T> Deref for Observe<'_, T> {
    type Target = NotAnError<T>;

    #[inline]
    fn deref(&self) -> &NotAnError<T> {
        &NotAnError(PhantomData)
    }
}

/// The fallback of [`Observe`]: a value of any other type is not an error.
///
/// Chosen where the type is not known to be [`Fallible`] when the function
/// is type-checked — a concrete type that is not, or a type parameter the
/// attribute could not see (one of the enclosing `impl`'s, without an
/// `R: Fallible` bound). In that second case the value may be a `Result`
/// after all: checked when it is returned, loudly (a panic, before any
/// cleanup runs), never counted as a success.
pub struct NotAnError<T>(PhantomData<fn(&T)>);

impl<T> NotAnError<T> {
    /// Does nothing, unless the value is of a result type that was hidden
    /// behind a type parameter: then panics, saying what to write.
    ///
    /// # Panics
    ///
    /// If `T` is a `Result` (or a `Poll` of one).
    #[inline]
    #[allow(
        clippy::unused_self,
        reason = "method syntax is what selects this fallback"
    )]
    pub fn __exitstack_observe(&self, _scope: &ErrorWatch) {
        let name = core::any::type_name::<T>();
        if name.starts_with("core::result::Result<")
            || name.starts_with("core::task::poll::Poll<core::result::Result<")
            || name.starts_with("core::task::poll::Poll<core::option::Option<core::result::Result<")
        {
            hidden_result(name);
        }
    }
}

#[cold]
#[inline(never)]
fn hidden_result(name: &str) -> ! {
    panic!(
        "#[exitstack::scope] cannot tell whether this `{name}` is an error: the function's \
         return type is a type parameter it could not see (the enclosing impl's or trait's, or \
         `Self` in a trait's default method). Add the bound `exitstack::Fallible` to that \
         parameter (`impl<R: exitstack::Fallible>`, `where Self: exitstack::Fallible`), or \
         name the return type"
    )
}

/// `?` as `#[exitstack::scope]` rewrites it: `Try::branch` (unstable) for
/// the types a stable `?` applies to.
///
/// `expr?` becomes
///
/// ```text
/// match branch(expr) {
///     ControlFlow::Continue(value) => value,
///     ControlFlow::Break(residual) => return <observed>(residual::<R>(move || match residual? {})),
/// }
/// ```
///
/// so that the error is converted into the return type by the real `?`
/// (with rustc's own messages when it cannot be) and observed as any
/// returned value.
#[diagnostic::on_unimplemented(
    message = "the `?` operator can only be applied to values that implement `Try`",
    label = "the `?` operator cannot be applied to type `{Self}`"
)]
pub trait Branch {
    /// The value `?` evaluates to.
    type Output;
    /// What `?` returns from the function, converted.
    type Residual;
    /// Splits the value as `?` does.
    fn branch(self) -> ControlFlow<Self::Residual, Self::Output>;
}

impl<T, E> Branch for Result<T, E> {
    type Output = T;
    type Residual = Result<Infallible, E>;

    #[inline]
    fn branch(self) -> ControlFlow<Self::Residual, T> {
        match self {
            Ok(value) => ControlFlow::Continue(value),
            Err(error) => ControlFlow::Break(Err(error)),
        }
    }
}

impl<T> Branch for Option<T> {
    type Output = T;
    type Residual = Option<Infallible>;

    #[inline]
    fn branch(self) -> ControlFlow<Self::Residual, T> {
        match self {
            Some(value) => ControlFlow::Continue(value),
            None => ControlFlow::Break(None),
        }
    }
}

impl<T, E> Branch for Poll<Result<T, E>> {
    type Output = Poll<T>;
    type Residual = Result<Infallible, E>;

    #[inline]
    fn branch(self) -> ControlFlow<Self::Residual, Poll<T>> {
        match self {
            Poll::Ready(Ok(value)) => ControlFlow::Continue(Poll::Ready(value)),
            Poll::Ready(Err(error)) => ControlFlow::Break(Err(error)),
            Poll::Pending => ControlFlow::Continue(Poll::Pending),
        }
    }
}

impl<T, E> Branch for Poll<Option<Result<T, E>>> {
    type Output = Poll<Option<T>>;
    type Residual = Result<Infallible, E>;

    #[inline]
    fn branch(self) -> ControlFlow<Self::Residual, Poll<Option<T>>> {
        match self {
            Poll::Ready(Some(Ok(value))) => ControlFlow::Continue(Poll::Ready(Some(value))),
            Poll::Ready(Some(Err(error))) => ControlFlow::Break(Err(error)),
            Poll::Ready(None) => ControlFlow::Continue(Poll::Ready(None)),
            Poll::Pending => ControlFlow::Continue(Poll::Pending),
        }
    }
}

impl<B, C> Branch for ControlFlow<B, C> {
    type Output = C;
    type Residual = ControlFlow<B, Infallible>;

    #[inline]
    fn branch(self) -> ControlFlow<Self::Residual, C> {
        match self {
            ControlFlow::Continue(value) => ControlFlow::Continue(value),
            ControlFlow::Break(value) => ControlFlow::Break(ControlFlow::Break(value)),
        }
    }
}

/// [`Branch::branch`], as a function.
#[inline]
pub fn branch<T: Branch>(value: T) -> ControlFlow<T::Residual, T::Output> {
    value.branch()
}

/// Runs `f`, whose type is the function's return type: where a rewritten
/// `?` applies the real `?` to its residual.
#[inline]
pub fn residual<R>(_: &Ret<R>, f: impl FnOnce() -> R) -> R {
    f()
}

/// Runs `f` where a `bail!` or `ensure!` is caught.
#[inline]
pub fn catch<T>(f: impl FnOnce() -> T) -> T {
    f()
}

/// A returned value, typed as the function's return type without naming
/// it: for a body that declares an item named like a part of the return
/// type, which would shadow it there.
#[inline]
pub fn typed<R>(_: &Ret<R>, value: R) -> R {
    value
}

#[cfg(feature = "std")]
pub(crate) use self::failed::recording;
#[cfg(feature = "alloc")]
pub use self::failed::{Failed, Recorded};

/// The fallible cleanups of an `#[exitstack::scope]` function
/// (`defer!(try: ..)`, `cleanup!(try: ..)`, `#[cleanup] fn name() ->
/// Result<(), C>`): their errors, and how they become the function's.
///
/// ```text
/// fn f(args) -> Result<T, E> {
///     let __exitstack_scope = ErrorWatch::new();
///     let __exitstack_ret = Ret::<Result<T, E>>::new();
///     let __exitstack_failed = exitstack::ScopeResult::__failed(&__exitstack_ret); // a Failed<E>
///     let __exitstack_value = call_once(&__exitstack_ret, || {
///         // defer!(try: file.sync_all()):
///         let __exitstack_guard = exitstack::HoldsCleanupError::__guard(
///             &__exitstack_failed, &__exitstack_scope, When::Always, |_| { file.sync_all() },
///         );
///         <the user's block, rewritten>
///     });
///     exitstack::ScopeResult::__finish(__exitstack_failed, __exitstack_value)
/// }
/// ```
///
/// The slot is declared outside the body, so the guards, which are locals
/// of the body dropped after its value is computed, write into it; the value
/// is combined with it once the body returned. The bounds a cleanup needs
/// (`E: From<C> + From<ScopeError<E>>`) are the public
/// [`HoldsCleanupError`](crate::HoldsCleanupError)'s, checked where the
/// cleanup is written; the return type is read through the public
/// [`ScopeResult`](crate::ScopeResult), so that aliases (`io::Result<()>`)
/// work and a wrong one is reported in words.
/// Marks the function's watch as failed when dropped: the body of a
/// cancelled `async fn` did not finish, so its cleanups must not see
/// `Success` (an `on_success` commit would commit unfinished work).
pub(crate) struct CancelledIsError<'s>(pub(crate) &'s ErrorWatch);

impl Drop for CancelledIsError<'_> {
    fn drop(&mut self) {
        self.0.mark_error();
    }
}

/// Awaits the body of an `#[exitstack::scope] async fn` that has no async
/// cleanups: if this future is dropped before the body finished (a
/// timeout, a `select!`), `watch` is marked first, so the body's guards —
/// dropped after it — see `Error`, never `Success`.
pub async fn until_done<F: Future>(watch: &ErrorWatch, body: F) -> F::Output {
    let body = core::pin::pin!(body);
    // Declared after `body`, so dropped before it.
    let cancelled = CancelledIsError(watch);
    let output = body.await;
    core::mem::forget(cancelled);
    output
}

#[cfg(feature = "alloc")]
mod failed {
    use alloc::boxed::Box;
    use alloc::vec::Vec;
    use core::fmt;

    use crate::{BoxError, CleanupError, ErrorWatch, ScopeError};

    /// The errors of the fallible cleanups of one call of a function whose
    /// error type is `E`, in the order they failed.
    ///
    /// `Sync` (a `Mutex` with `std`), so that a future holding a fallible
    /// guard across `.await` stays `Send`; locked only when a cleanup fails.
    pub struct Failed<E> {
        errors: Lock<Errors<E>>,
    }

    struct Errors<E> {
        /// The first error, as its own type until the function's value says
        /// what it becomes: the function's `Err` (the body succeeded), or
        /// the first of the cleanup errors beside the body's (it failed).
        first: Option<Box<dyn First<E> + Send>>,
        /// The errors of the cleanups that failed after it.
        rest: Vec<BoxError>,
    }

    /// The first error of a [`Failed`], whatever the cleanup's error type
    /// `C` is: both conversions it may need, decided at the end.
    trait First<E> {
        /// The function's error: `E::from(c)` when the body succeeded
        /// (`body` is `None`) and no other cleanup failed; else a
        /// [`ScopeError::Body`] converted into `E`, holding the body's error
        /// (or `E::from(c)`) and the other cleanup errors.
        fn finish(self: Box<Self>, body: Option<E>, rest: Vec<BoxError>) -> E;
        /// For errors that have no caller to go to.
        fn into_box(self: Box<Self>) -> BoxError;
    }

    struct FirstError<C>(C);

    impl<E, C> First<E> for FirstError<C>
    where
        E: From<C> + From<ScopeError<E>>,
        C: Into<BoxError>,
    {
        fn finish(self: Box<Self>, body: Option<E>, rest: Vec<BoxError>) -> E {
            let (error, cleanup) = match body {
                None => (E::from(self.0), CleanupError::from_errors(rest)),
                Some(error) => {
                    let mut all = Vec::with_capacity(rest.len() + 1);
                    all.push(self.0.into());
                    all.extend(rest);
                    (error, CleanupError::from_errors(all))
                }
            };
            match cleanup {
                None => error,
                cleanup => E::from(ScopeError::Body { error, cleanup }),
            }
        }

        fn into_box(self: Box<Self>) -> BoxError {
            self.0.into()
        }
    }

    impl<E> Failed<E> {
        /// No cleanup failed yet.
        #[must_use]
        #[inline]
        pub(crate) const fn new() -> Self {
            Failed {
                errors: Lock::new(Errors {
                    first: None,
                    rest: Vec::new(),
                }),
            }
        }

        /// A fallible cleanup returned `Err(error)`: the cleanups that run
        /// after it see [`Outcome::Error`](crate::Outcome::Error) (policy
        /// 8), and the error is kept.
        #[cold]
        pub(crate) fn record<C>(&self, watch: &ErrorWatch, error: C)
        where
            E: From<C> + From<ScopeError<E>>,
            C: Into<BoxError> + Send + 'static,
        {
            watch.mark_error();
            if self.errors.with(|errors| errors.first.is_none()) {
                let first: Box<dyn First<E> + Send> = Box::new(FirstError(error));
                self.errors.with(|errors| errors.first = Some(first));
            } else {
                // User code (`Into`), run outside the lock.
                let error = error.into();
                self.errors.with(|errors| errors.rest.push(error));
            }
        }

        /// The function's value, once its body returned `value`: as it is
        /// when no fallible cleanup failed; else the first cleanup error as
        /// the function's `Err` if the body succeeded, with the others
        /// beside it in a [`ScopeError::Body`]; or, if the body failed, its
        /// error with every cleanup error beside it.
        ///
        /// # Errors
        ///
        /// As described.
        #[inline]
        pub(crate) fn finish<T>(mut self, value: Result<T, E>) -> Result<T, E> {
            let errors = self.errors.get_mut();
            match errors.first.take() {
                None => value,
                Some(first) => {
                    let rest = core::mem::take(&mut errors.rest);
                    Err(first.finish(value.err(), rest))
                }
            }
        }
    }

    impl<E> Drop for Failed<E> {
        /// Not finished: a panic is unwinding (the function returns
        /// nothing), or its future was dropped part-way. The errors are
        /// discarded as a dropped stack's are.
        fn drop(&mut self) {
            let errors = self.errors.get_mut();
            let Some(first) = errors.first.take() else {
                return;
            };
            let why = if crate::unwind::is_unwinding() {
                "a panic is unwinding"
            } else {
                "the function's future was dropped"
            };
            let mut all = Vec::with_capacity(errors.rest.len() + 1);
            // User code (`Into`); a panic in it is discarded, as one in the
            // errors' `Drop` is.
            #[cfg(feature = "std")]
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| first.into_box())) {
                Ok(first) => all.push(first),
                Err(payload) => crate::unwind::discard(payload),
            }
            #[cfg(not(feature = "std"))]
            all.push(first.into_box());
            all.append(&mut errors.rest);
            #[cfg(feature = "std")]
            crate::raw::discard_errors(all, why);
            // Without `std` that is dropping them (nothing to report to).
            #[cfg(not(feature = "std"))]
            {
                let _ = why;
                drop(all);
            }
        }
    }

    impl<E> fmt::Debug for Failed<E> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("Failed").finish_non_exhaustive()
        }
    }

    /// `defer!(try: async { .. })`: the cleanup's future, its error going
    /// into `failed` (through the public `HoldsCleanupError`, whose bounds
    /// the caller states).
    #[cfg(feature = "std")]
    pub(crate) async fn recording<E, C, F>(
        failed: &Failed<E>,
        watch: &ErrorWatch,
        cleanup: F,
    ) -> Result<(), Recorded>
    where
        E: crate::HoldsCleanupError<C>,
        F: Future<Output = Result<(), C>>,
    {
        cleanup.await.map_err(|error| {
            E::__record(failed, watch, error);
            Recorded
        })
    }

    /// What an async fallible cleanup returns to the implicit asynchronous
    /// stack when it failed. Its error is in the [`Failed`] slot; this only
    /// makes the stack treat the entries that run after it as after a
    /// failure (policy 8). A zero-sized type: boxing it does not allocate.
    #[derive(Debug)]
    pub struct Recorded;

    impl fmt::Display for Recorded {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a fallible cleanup failed (its error is the function's)")
        }
    }

    impl core::error::Error for Recorded {}

    /// A `Mutex` with `std` (so that [`Failed`] is `Sync`), a `RefCell`
    /// without. Never contended: the cleanups of one call run one at a time.
    #[cfg(feature = "std")]
    struct Lock<T>(std::sync::Mutex<T>);

    #[cfg(feature = "std")]
    impl<T> Lock<T> {
        const fn new(value: T) -> Self {
            Lock(std::sync::Mutex::new(value))
        }

        fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
            f(&mut self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner))
        }

        fn get_mut(&mut self) -> &mut T {
            self.0
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        }
    }

    #[cfg(not(feature = "std"))]
    struct Lock<T>(core::cell::RefCell<T>);

    #[cfg(not(feature = "std"))]
    impl<T> Lock<T> {
        const fn new(value: T) -> Self {
            Lock(core::cell::RefCell::new(value))
        }

        fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
            f(&mut self.0.borrow_mut())
        }

        fn get_mut(&mut self) -> &mut T {
            self.0.get_mut()
        }
    }
}

#[cfg(feature = "std")]
pub use self::async_scope::{
    AsyncCleanup, AsyncScope, spawner_may_run_it_after_the_function_returned,
};

/// What `#[exitstack::scope]` adds to an `async fn` whose body has async
/// cleanups (`defer!(async ...)`, `cleanup!(async ...)`): an implicit
/// asynchronous stack, closed when the body ends.
///
/// ```text
/// async fn f(args) -> R {
///     let __exitstack_scope = ErrorWatch::new();
///     let __exitstack_ret = Ret::<R>::new();
///     let __exitstack_async = AsyncScope::send(); // or `local()` with `?Send`
///     finish(&__exitstack_ret, __exitstack_async
///         .run(&__exitstack_scope, async {
///             if false {
///                 return returned(output(&__exitstack_ret));
///             }
///             <the user's block, every way out an observed `Returned<R>`>
///         })
///         .await)
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

    use super::Recorded;
    use crate::async_stack::CatchUnwind;
    use crate::{
        AsyncExitStack, AsyncStack, EntryKey, ErrorWatch, SendAsyncExitStack, Threading, When,
    };

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
                /// outcome matches `when` (else dropped unpolled):
                /// `defer!(when: async ...)` and `cleanup!(when: async
                /// ...)`, called through `exitstack::EntryFor`, whose impls
                /// know whether the future is `Send` (so that one that is
                /// not is reported on the user's tokens, and not at a bound
                /// of this private method).
                pub(crate) fn register<Fut>(&self, when: When, future: Fut) -> AsyncCleanup<'_, $Stack<'a>>
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

                /// [`register`](Self::register) for a fallible cleanup,
                /// whose error went into the function's `Failed` slot: the
                /// `Recorded` it returns makes the entries after it see
                /// `Error`.
                pub(crate) fn try_register<Fut>(&self, when: When, future: Fut) -> AsyncCleanup<'_, $Stack<'a>>
                where
                    Fut: Future<Output = Result<(), Recorded>> + $($Send)* 'a,
                {
                    let key = self.lock().try_push_async_exit(move |outcome| async move {
                        if when.matches(outcome) {
                            future.await
                        } else {
                            Ok(())
                        }
                    });
                    AsyncCleanup { scope: self, key }
                }

                /// `pop_all!()`: cancels every cleanup registered so far,
                /// the synchronous ones (guards tied to `scope`) and the
                /// async ones.
                pub fn cancel_all(&self, scope: &ErrorWatch) {
                    scope.cancel_all();
                    self.lock().cancel_all();
                }

                /// Runs the body under `catch_unwind`, then awaits the
                /// cleanups with the outcome: `Panic` if it panicked, `Error`
                /// if `scope` saw an `Err` leave it, else `Success`. Then
                /// returns its value, or resumes its panic (a cleanup's
                /// panic is then discarded); if only a cleanup panicked,
                /// resumes that one.
                pub async fn run<T, F>(&self, scope: &ErrorWatch, body: F) -> T
                where
                    F: Future<Output = T>,
                {
                    let result = {
                        let body = pin!(body);
                        // Declared after `body`, so dropped before it: if
                        // this future is dropped while the body runs (a
                        // timeout, a `select!`), the body's guards see
                        // `Error`, never `Success`.
                        let cancelled = super::CancelledIsError(scope);
                        // And so do its async cleanups, if a spawner
                        // runs them.
                        let stack_cancelled = StackCancelled(self);
                        let result = CatchUnwind(body).await;
                        core::mem::forget(stack_cancelled);
                        core::mem::forget(cancelled);
                        result
                    };
                    let outcome = crate::ending::outcome(result.is_err(), scope.is_error());
                    let mut stack = self.lock().pop_all();
                    // The errors of fallible entries are `Recorded`s, dropped
                    // here: theirs are in the function's `Failed` slot.
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

    /// Marks the implicit stack of a cancelled function as failed when
    /// dropped: its async cleanups, if a spawner runs them, see `Error`.
    struct StackCancelled<'s, 'a, M: Threading>(&'s AsyncScope<AsyncStack<'a, M>>);

    impl<M: Threading> Drop for StackCancelled<'_, '_, M> {
        fn drop(&mut self) {
            self.0
                .stack
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .fail_on_drop();
        }
    }

    impl AsyncScope<SendAsyncExitStack<'static>> {
        /// The implicit stack of `#[exitstack::scope(spawn = spawner)]`,
        /// written `spawning(SendAsyncExitStack::with_spawner(spawner))`
        /// so that a spawner of the wrong type is reported against the
        /// public `with_spawner`: if the function is cancelled, its async
        /// cleanups go to the spawner, and see `Error`.
        #[must_use]
        pub fn spawning(stack: SendAsyncExitStack<'static>) -> Self {
            AsyncScope {
                stack: Mutex::new(stack),
            }
        }
    }

    /// An async cleanup of an `#[exitstack::scope(spawn = ..)] async fn`:
    /// the spawner may run it after the function is gone, so it must own
    /// what it uses. Checked here, on the cleanup's tokens.
    pub fn spawner_may_run_it_after_the_function_returned<F: Future + 'static>(cleanup: F) -> F {
        cleanup
    }

    async_scope!(SendAsyncExitStack, send, [Send+]);
    async_scope!(AsyncExitStack, local, []);
}
