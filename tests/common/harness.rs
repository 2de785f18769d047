//! One behaviour suite, every stack type: as Python's own test suite runs
//! its `ExitStack` tests against `AsyncExitStack`.
//!
//! A test is a generic function over [`AnyStack`], written once with the
//! synchronous API (`callback`, `push`, ..., `close`, `scope`), and
//! [`on_every_stack!`](on_every_stack) instantiates it for [`ExitStack`],
//! [`SendExitStack`], [`AsyncExitStack`] and [`SendAsyncExitStack`], one
//! module per type (`exit_stack::name`, `async_exit_stack::name`, ...). For
//! the asynchronous stacks, `close` is `aclose().await` and `scope` is the
//! async `scope`, driven to completion by [`block_on`].
//!
//! Entries must be `Send` so that one test body fits the `Send` stacks too:
//! the suite logs through [`Log`], [`SyncCell`], [`DropLog`] and
//! [`DropCounter`] (the `Sync` versions of `RefCell`, `Cell` and the helpers
//! of `common`).

use std::fmt;
use std::pin::pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use exitstack::{
    AsyncExitStack, BoxError, CancelError, CleanupError, EntryKey, ExitContext, ExitStack, Outcome,
    ScopeError, SendAsyncExitStack, SendExitStack,
};

/// A stack type under test: how to make one and how to run a scope. Its
/// instances implement [`StackOps`].
///
/// Implemented by each stack type at `'static`, which only names the type
/// (`policy::<ExitStack<'static>>()`): `Self::Stack<'a>` is the same type
/// with the lifetime of the entries a test registers.
pub trait AnyStack: 'static {
    /// The type's name, as its `Debug` output shows it.
    const NAME: &'static str;

    type Stack<'a>: StackOps<'a>;

    fn new<'a>() -> Self::Stack<'a>;

    /// `scope`: for the asynchronous stacks, the async `scope`, whose body
    /// is an async closure calling `body`.
    fn scope<'a, T, E>(
        body: impl FnOnce(&mut Self::Stack<'a>) -> Result<T, E>,
    ) -> Result<T, ScopeError<E>>;
}

/// What the behaviour tests do with a stack: the synchronous API every
/// stack type shares, with `close`/`close_with` standing for
/// `aclose`/`aclose_with` on the asynchronous ones.
pub trait StackOps<'a>: Sized + fmt::Debug {
    fn callback(&self, f: impl FnOnce() + Send + 'a) -> EntryKey;
    fn push(&self, f: impl FnOnce(Outcome) + Send + 'a) -> EntryKey;
    fn try_callback<E: Into<BoxError>>(
        &self,
        f: impl FnOnce() -> Result<(), E> + Send + 'a,
    ) -> EntryKey;
    fn try_push<E: Into<BoxError>>(
        &self,
        f: impl FnOnce(Outcome) -> Result<(), E> + Send + 'a,
    ) -> EntryKey;
    #[allow(clippy::mut_from_ref, reason = "forwards to the stack's own method")]
    fn enter_context<T: Send + 'a>(&self, value: T) -> &mut T;
    #[allow(clippy::mut_from_ref, reason = "forwards to the stack's own method")]
    fn enter_exit_context<C: ExitContext + Send + 'a>(&self, context: C) -> &mut C;
    fn cancel(&self, key: &EntryKey) -> Result<(), CancelError>;
    fn cancel_all(&mut self);
    #[must_use]
    fn pop_all(&mut self) -> Self;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool;
    fn close(&mut self) -> Result<(), CleanupError>;
    fn close_with(&mut self, outcome: Outcome) -> Result<(), CleanupError>;
}

/// Drives a future that never waits on anything to completion, on this
/// thread (the suite registers synchronous entries only, so `aclose` has
/// nothing to wait for). One still pending after a million polls is a bug,
/// reported instead of hanging.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000_000 {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
    panic!("still pending after a million polls: nothing here should wait");
}

/// Implements both traits for one stack type. The four types differ only in
/// how a scope and a close are driven (`sync`: called; `async`: awaited by
/// [`block_on`]); every other method has one name on all of them. (One
/// generic impl per kind, over the `Threading` marker, cannot be written:
/// the suite's `Send` closures are not provably `EntryFor<M>` for every
/// `M`.)
macro_rules! stack_impl {
    ($Stack:ident, $kind:ident) => {
        impl AnyStack for $Stack<'static> {
            const NAME: &'static str = stringify!($Stack);
            type Stack<'a> = $Stack<'a>;

            fn new<'a>() -> $Stack<'a> {
                $Stack::new()
            }

            fn scope<'a, T, E>(
                body: impl FnOnce(&mut $Stack<'a>) -> Result<T, E>,
            ) -> Result<T, ScopeError<E>> {
                stack_impl!(@drive $kind, $Stack::scope(stack_impl!(@body $kind, body)))
            }
        }

        impl<'a> StackOps<'a> for $Stack<'a> {
            fn callback(&self, f: impl FnOnce() + Send + 'a) -> EntryKey {
                $Stack::callback(self, f)
            }
            fn push(&self, f: impl FnOnce(Outcome) + Send + 'a) -> EntryKey {
                $Stack::push(self, f)
            }
            fn try_callback<E: Into<BoxError>>(
                &self,
                f: impl FnOnce() -> Result<(), E> + Send + 'a,
            ) -> EntryKey {
                $Stack::try_callback(self, f)
            }
            fn try_push<E: Into<BoxError>>(
                &self,
                f: impl FnOnce(Outcome) -> Result<(), E> + Send + 'a,
            ) -> EntryKey {
                $Stack::try_push(self, f)
            }
            fn enter_context<T: Send + 'a>(&self, value: T) -> &mut T {
                $Stack::enter_context(self, value)
            }
            fn enter_exit_context<C: ExitContext + Send + 'a>(&self, context: C) -> &mut C {
                $Stack::enter_exit_context(self, context)
            }
            fn cancel(&self, key: &EntryKey) -> Result<(), CancelError> {
                $Stack::cancel(self, key)
            }
            fn cancel_all(&mut self) {
                $Stack::cancel_all(self);
            }
            fn pop_all(&mut self) -> Self {
                $Stack::pop_all(self)
            }
            fn len(&self) -> usize {
                $Stack::len(self)
            }
            fn is_empty(&self) -> bool {
                $Stack::is_empty(self)
            }
            fn close(&mut self) -> Result<(), CleanupError> {
                stack_impl!(@drive $kind, stack_impl!(@close $kind, self))
            }
            fn close_with(&mut self, outcome: Outcome) -> Result<(), CleanupError> {
                stack_impl!(@drive $kind, stack_impl!(@close_with $kind, self, outcome))
            }
        }
    };
    (@drive sync, $e:expr) => { $e };
    (@drive async, $e:expr) => { block_on($e) };
    (@body sync, $body:ident) => { $body };
    (@body async, $body:ident) => { async move |stack| $body(stack) };
    (@close sync, $s:ident) => { $s.close() };
    (@close async, $s:ident) => { $s.aclose() };
    (@close_with sync, $s:ident, $o:ident) => { $s.close_with($o) };
    (@close_with async, $s:ident, $o:ident) => { $s.aclose_with($o) };
}

stack_impl!(ExitStack, sync);
stack_impl!(SendExitStack, sync);
stack_impl!(AsyncExitStack, async);
stack_impl!(SendAsyncExitStack, async);

/// Instantiates each generic test `fn name<S: AnyStack>()` of the file for
/// every stack type, as `#[test]`s named `exit_stack::name`,
/// `send_exit_stack::name`, `async_exit_stack::name` and
/// `send_async_exit_stack::name`. A test left out of the list is dead code,
/// which the lints reject.
#[allow(unused_macros, reason = "only the behaviour suites use it")]
macro_rules! on_every_stack {
    ($($test:ident),* $(,)?) => {
        $crate::common::harness::on_every_stack!(@module exit_stack, ExitStack, $($test),*);
        $crate::common::harness::on_every_stack!(@module send_exit_stack, SendExitStack, $($test),*);
        $crate::common::harness::on_every_stack!(@module async_exit_stack, AsyncExitStack, $($test),*);
        $crate::common::harness::on_every_stack!(
            @module send_async_exit_stack, SendAsyncExitStack, $($test),*
        );
    };
    (@module $module:ident, $Stack:ident, $($test:ident),*) => {
        mod $module {
            $(
                #[test]
                fn $test() {
                    super::$test::<::exitstack::$Stack<'static>>();
                }
            )*
        }
    };
}

#[allow(unused_imports, reason = "only the behaviour suites use it")]
pub(crate) use on_every_stack;

/// A log that entries of a `Send` stack can write to: `RefCell<Vec<T>>`,
/// made `Sync`.
pub struct Log<T>(Mutex<Vec<T>>);

impl<T: Clone> Log<T> {
    pub const fn new() -> Self {
        Log(Mutex::new(Vec::new()))
    }
    pub fn push(&self, entry: T) {
        self.0.lock().unwrap().push(entry);
    }
    /// A copy of the entries so far.
    pub fn entries(&self) -> Vec<T> {
        self.0.lock().unwrap().clone()
    }
    pub fn is_empty(&self) -> bool {
        self.0.lock().unwrap().is_empty()
    }
}

impl<T: Clone> Default for Log<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// `Cell<T>`, made `Sync`.
pub struct SyncCell<T>(Mutex<T>);

impl<T: Copy> SyncCell<T> {
    pub const fn new(value: T) -> Self {
        SyncCell(Mutex::new(value))
    }
    pub fn get(&self) -> T {
        *self.0.lock().unwrap()
    }
    pub fn set(&self, value: T) {
        *self.0.lock().unwrap() = value;
    }
}

impl SyncCell<usize> {
    pub fn add_one(&self) {
        *self.0.lock().unwrap() += 1;
    }
}

/// Logs its name when dropped: a context whose exit is visible.
pub struct DropLog<'l> {
    pub name: &'static str,
    pub log: &'l Log<&'static str>,
}

impl Drop for DropLog<'_> {
    fn drop(&mut self) {
        self.log.push(self.name);
    }
}

/// Counts how many times values holding one of its tokens were dropped.
#[derive(Default)]
pub struct DropCounter(AtomicUsize);

impl DropCounter {
    pub fn token(&self) -> DropToken<'_> {
        DropToken(&self.0)
    }
    pub fn drops(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

pub struct DropToken<'c>(&'c AtomicUsize);

impl Drop for DropToken<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}
