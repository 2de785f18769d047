//! Whether a stack's entries must be `Send`: the marker parameter `M` of
//! [`Stack`](crate::Stack) and [`AsyncStack`](crate::AsyncStack), so that
//! one type (and one set of documented methods) serves both jobs.

#[cfg(feature = "std")]
use crate::private::{AsyncCleanup, AsyncScope, Failed};
#[cfg(feature = "std")]
use crate::{AsyncStack, ErrorWatch, HoldsCleanupError, When};

/// Whether the entries of a stack must be `Send`: [`Local`] (anything; the
/// stack stays on its thread) or [`Sendable`] (`Send` entries; the stack is
/// `Send`). Sealed: these are the only two.
///
/// Users write the aliases: [`ExitStack`](crate::ExitStack) and
/// [`SendExitStack`](crate::SendExitStack) are `Stack<'a, Local>` and
/// `Stack<'a, Sendable>`; [`AsyncExitStack`](crate::AsyncExitStack) and
/// [`SendAsyncExitStack`](crate::SendAsyncExitStack) the same for
/// [`AsyncStack`](crate::AsyncStack). Generic code names the marker:
///
/// ```
/// use exitstack::{EntryFor, Stack, Threading};
///
/// // An entry of a stack of either kind is bounded by `EntryFor<M>`.
/// fn release_later<'a, M: Threading>(
///     stack: &Stack<'a, M>,
///     release: impl FnOnce() + EntryFor<M> + 'a,
/// ) {
///     stack.callback(release);
/// }
/// let local = exitstack::ExitStack::new();
/// let shared = std::rc::Rc::new(()); // not `Send`: fine on the local stack
/// release_later(&local, move || drop(shared));
/// let send = exitstack::SendExitStack::new();
/// release_later(&send, || println!("released"));
/// assert_eq!((local.len(), send.len()), (1, 1));
/// ```
pub trait Threading: sealed::Sealed + 'static {}

/// The marker of stacks whose entries need not be `Send`
/// ([`ExitStack`](crate::ExitStack), [`AsyncExitStack`](crate::AsyncExitStack)):
/// the stack is not `Send` either.
#[derive(Debug)]
pub enum Local {}

/// The marker of stacks whose entries must be `Send`
/// ([`SendExitStack`](crate::SendExitStack),
/// [`SendAsyncExitStack`](crate::SendAsyncExitStack)): the stack is `Send`.
#[derive(Debug)]
pub enum Sendable {}

impl Threading for Local {}
impl Threading for Sendable {}

/// What an entry (a closure, a value, a context, the future it makes) of a
/// stack with marker `M` must be: anything for [`Local`], `Send` for
/// [`Sendable`]. Implemented for every type it can be; sealed.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an entry of a `Send` stack: it is not `Send`",
    label = "not `Send`",
    note = "`SendExitStack` and `SendAsyncExitStack` can move to another thread, so everything \
            they hold must be `Send`; use `ExitStack` or `AsyncExitStack` for entries that are not"
)]
#[rustfmt::skip]
pub trait EntryFor<M: Threading>: sealed::Entry<M> {
    /// `defer!(async ..)` and `cleanup!(async ..)` of an `#[exitstack::scope]
    /// async fn`: registers the future on the function's implicit stack. A
    /// method of this trait, so that a future that is not `Send` is reported
    /// where it is written. Not public API.
    #[doc(hidden)]
    #[cfg(feature = "std")]
    fn __async_cleanup<'s, 'a>(
        self,
        scope: &'s AsyncScope<AsyncStack<'a, M>>,
        when: When,
    ) -> AsyncCleanup<'s, AsyncStack<'a, M>>
    where
        Self: Future<Output = ()> + Sized
            + 'a; // an async cleanup outlives the body: it may borrow the function's arguments, and must own the rest (`async move`)

    /// The same for `defer!(try: async ..)`, whose error goes into
    /// `failed`. Not public API.
    #[doc(hidden)]
    #[cfg(feature = "std")]
    fn __try_async_cleanup<'s, 'a, E, C>(
        self,
        failed: &'a Failed<E>,
        watch: &'a ErrorWatch,
        scope: &'s AsyncScope<AsyncStack<'a, M>>,
        when: When,
    ) -> AsyncCleanup<'s, AsyncStack<'a, M>>
    where
        Self: Future<Output = Result<(), C>> + Sized
            + 'a, // an async cleanup outlives the body: it may borrow the function's arguments, and must own the rest (`async move`)
        E: HoldsCleanupError<C>,
        C: 'a;
}

macro_rules! entry_for {
    ($M:ident, [$($Send:tt)*]) => {
        impl<T: ?Sized $($Send)*> EntryFor<$M> for T {
            #[cfg(feature = "std")]
            #[inline]
            fn __async_cleanup<'s, 'a>(
                self,
                scope: &'s AsyncScope<AsyncStack<'a, $M>>,
                when: When,
            ) -> AsyncCleanup<'s, AsyncStack<'a, $M>>
            where
                Self: Future<Output = ()> + Sized + 'a,
            {
                scope.register(when, self)
            }

            #[cfg(feature = "std")]
            #[inline]
            fn __try_async_cleanup<'s, 'a, E, C>(
                self,
                failed: &'a Failed<E>,
                watch: &'a ErrorWatch,
                scope: &'s AsyncScope<AsyncStack<'a, $M>>,
                when: When,
            ) -> AsyncCleanup<'s, AsyncStack<'a, $M>>
            where
                Self: Future<Output = Result<(), C>> + Sized + 'a,
                E: HoldsCleanupError<C>,
                C: 'a,
            {
                scope.try_register(when, crate::private::recording(failed, watch, self))
            }
        }
    };
}

entry_for!(Local, []);
entry_for!(Sendable, [+ Send]);

pub(crate) mod sealed {
    use super::{Local, Sendable};

    /// The markers, and what differs between them inside the crate.
    pub trait Sealed {
        /// The `Debug` name of a synchronous stack with this marker.
        const SYNC_NAME: &'static str;
        /// The `Debug` name of an asynchronous stack with this marker.
        const ASYNC_NAME: &'static str;

        /// The `aclose` future of an asynchronous stack with this marker:
        /// as it is for `Local`; asserted `Send` for `Sendable`, whose
        /// entries were all required to be `Send` (see `AssertSend`).
        #[cfg(feature = "std")]
        type Wrap<F: Future>: Future<Output = F::Output>;

        /// Takes a [`Token`], which only this crate can make: a sealed
        /// trait's methods are callable through any `M: Threading` bound.
        #[cfg(feature = "std")]
        fn wrap<F: Future>(future: F, token: Token) -> Self::Wrap<F>;
    }

    /// Proof that the caller is this crate.
    #[derive(Clone, Copy)]
    #[cfg(feature = "std")]
    pub struct Token(pub(crate) ());

    impl Sealed for Local {
        const SYNC_NAME: &'static str = "ExitStack";
        const ASYNC_NAME: &'static str = "AsyncExitStack";

        #[cfg(feature = "std")]
        type Wrap<F: Future> = F;

        #[cfg(feature = "std")]
        #[inline]
        fn wrap<F: Future>(future: F, _: Token) -> F {
            future
        }
    }

    impl Sealed for Sendable {
        const SYNC_NAME: &'static str = "SendExitStack";
        const ASYNC_NAME: &'static str = "SendAsyncExitStack";

        #[cfg(feature = "std")]
        type Wrap<F: Future> = crate::async_stack::AssertSend<F>;

        #[cfg(feature = "std")]
        #[inline]
        fn wrap<F: Future>(future: F, _: Token) -> Self::Wrap<F> {
            crate::async_stack::AssertSend(future)
        }
    }

    /// The supertrait that keeps `EntryFor` sealed: same impls.
    pub trait Entry<M> {}

    impl<T: ?Sized> Entry<Local> for T {}
    impl<T: ?Sized + Send> Entry<Sendable> for T {}
}
