//! [`AsyncExitStack`] and [`SendAsyncExitStack`]: the stacks for cleanups
//! that must be awaited, on the same core as the synchronous ones, so that
//! synchronous and asynchronous entries share one LIFO order.

use alloc::vec::Vec;
use core::future::Future;
use core::pin::{Pin, pin};
use core::task::{Context, Poll};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use crate::Outcome;
use crate::error::{BoxError, CleanupError};
use crate::raw::{EntryKey, ErasedFuture, RawStack, Run};
use crate::unwind::{Payload, discard};
#[allow(unused_imports, reason = "named by the docs that stack_api! generates")]
use crate::{CancelError, ExitContext};

/// A value whose exit must be awaited and depends on how the scope ended —
/// the analog of Python's `__aenter__` / `__aexit__`: open on enter, then
/// commit on success and roll back otherwise, over the network.
///
/// Enter it with [`AsyncExitStack::enter_async_context`]. Both futures must
/// be `Send`, so that contexts work on multi-threaded runtimes; for a
/// context that cannot be, register its exit with
/// [`push_async_exit`](AsyncExitStack::push_async_exit) instead.
///
/// ```
/// use std::sync::Mutex;
/// use exitstack::{AsyncExitContext, AsyncExitStack, Outcome};
///
/// struct Transaction<'l> { log: &'l Mutex<Vec<String>> }
///
/// impl AsyncExitContext for Transaction<'_> {
///     type Error = std::io::Error;
///     async fn enter(&mut self) -> Result<(), Self::Error> {
///         self.log.lock().unwrap().push("BEGIN".into());
///         Ok(())
///     }
///     async fn exit(self, outcome: Outcome) -> Result<(), Self::Error> {
///         let verb = if outcome == Outcome::Success { "COMMIT" } else { "ROLLBACK" };
///         self.log.lock().unwrap().push(verb.into());
///         Ok(())
///     }
/// }
///
/// # fn block_on<F: Future>(f: F) -> F::Output { let mut f = std::pin::pin!(f); let mut cx = std::task::Context::from_waker(std::task::Waker::noop()); loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } } }
/// let log = Mutex::new(Vec::new());
/// let result: Result<(), Box<dyn std::error::Error + Send + Sync>> = block_on(
///     AsyncExitStack::scope(async |stack| {
///         stack.enter_async_context(Transaction { log: &log }).await?;
///         Err("the transfer failed".into())
///     }),
/// );
/// assert!(result.is_err());
/// assert_eq!(*log.lock().unwrap(), ["BEGIN", "ROLLBACK"]);
/// ```
pub trait AsyncExitContext {
    /// What a failed enter or exit returns; an exit's error is collected
    /// like a [`try_callback`](AsyncExitStack::try_callback) error.
    type Error: Into<BoxError>;

    /// Enters the context. The default does nothing.
    ///
    /// # Errors
    ///
    /// Whatever entering failed with: `enter_async_context` returns it, and
    /// the context's `exit` will not run.
    fn enter(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        async { Ok(()) }
    }

    /// Leaves the context, knowing how the scope ended.
    ///
    /// # Errors
    ///
    /// Whatever leaving failed with; it is collected into the
    /// [`CleanupError`] of `aclose()`.
    fn exit(self, outcome: Outcome) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// The policy for an asynchronous entry whose stack is dropped without
/// `aclose().await`: a destructor cannot await, so the entry is dropped
/// without running — never run half-way, never blocked on. Debug builds say
/// so on standard error.
fn skipped_async_entry() {
    #[cfg(debug_assertions)]
    {
        use std::io::Write as _;
        // A failed write to stderr is ignored: this runs in a destructor.
        let _ = writeln!(
            std::io::stderr(),
            "exitstack: an async cleanup did not run: its AsyncExitStack was dropped without \
             aclose().await"
        );
    }
}

/// `push_async_exit`: an asynchronous exit callback that sees the outcome
/// (and `push_async_callback`, which ignores it).
struct AsyncExit<F>(F);

impl<F: FnOnce(Outcome) -> Fut, Fut: Future<Output = ()>> Run for AsyncExit<F> {
    const ASYNC: bool = true;

    fn run(self, _: Outcome) -> Result<(), BoxError> {
        skipped_async_entry();
        Ok(())
    }

    fn start(self, outcome: Outcome) -> ErasedFuture {
        let future = (self.0)(outcome);
        ErasedFuture::new(async move {
            future.await;
            Ok(())
        })
    }
}

/// `try_async_callback`: a fallible asynchronous cleanup.
struct TryAsyncCallback<F>(F);

impl<F, Fut, E> Run for TryAsyncCallback<F>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Into<BoxError>,
{
    const ASYNC: bool = true;

    fn run(self, _: Outcome) -> Result<(), BoxError> {
        skipped_async_entry();
        Ok(())
    }

    fn start(self, _: Outcome) -> ErasedFuture {
        let future = (self.0)();
        ErasedFuture::new(async move { future.await.map_err(Into::into) })
    }
}

/// `enter_async_context`: the context, and whether its `enter` completed
/// (only then does its `exit` run).
struct AsyncContext<C> {
    context: C,
    entered: bool,
}

impl<C: AsyncExitContext> Run for AsyncContext<C> {
    const ASYNC: bool = true;

    fn run(self, _: Outcome) -> Result<(), BoxError> {
        if self.entered {
            skipped_async_entry();
        }
        Ok(())
    }

    fn start(self, outcome: Outcome) -> ErasedFuture {
        let AsyncContext { context, entered } = self;
        ErasedFuture::new(async move {
            if entered {
                context.exit(outcome).await.map_err(Into::into)
            } else {
                Ok(())
            }
        })
    }
}

/// Polls a future under `catch_unwind`, so that a panicking cleanup does not
/// stop the others (policy 3, across `.await`s). Also used by the implicit
/// stack of `#[exitstack::scope] async fn` (`__private`).
pub(crate) struct CatchUnwind<F>(pub(crate) F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Payload>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match catch_unwind(AssertUnwindSafe(|| Pin::new(inner).poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

/// Asserts that a future is `Send`. Used only by the `Send` stacks, whose
/// every entry (closure, value, context, and the future it starts) was
/// required to be `Send` when it was registered; see the `unsafe impl Send`
/// of [`SendAsyncExitStack`].
struct AssertSend<F>(F);

// SAFETY: see the type's doc: only wraps `aclose` futures of `Send` stacks,
// which hold the stack through `&mut` (so nothing else can touch it while the
// future moves between threads), erased futures made from `Send` futures,
// `Send` payloads and errors.
unsafe impl<F> Send for AssertSend<F> {}

impl<F: Future> Future for AssertSend<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: structural pinning of the only field, never moved out.
        unsafe { self.map_unchecked_mut(|this| &mut this.0) }.poll(cx)
    }
}

/// What running the entries produced.
struct Report {
    errors: Vec<BoxError>,
    panic: Option<Payload>,
}

/// Runs and awaits every pending entry, last registered first, each exactly
/// once, each under `catch_unwind`; entries after a panic see
/// [`Outcome::Panic`] — unless `discard_panics` (the caller runs while
/// another panic unwinds, and no second one may leave it): then every panic
/// is discarded at once and does not change the outcome. An entry is taken
/// out of the stack before it starts, so if this future is dropped part-way,
/// the entry in progress is dropped with it and the entries not reached stay
/// registered (their keys retired: see `RawStack::take`). Entries after one
/// that failed see [`Outcome::Error`] (policy 8).
async fn run_all(raw: &mut RawStack<'_>, mut outcome: Outcome, discard_panics: bool) -> Report {
    let raw = &*raw;
    let mut errors = Vec::new();
    let failed = |outcome: &mut Outcome| {
        if *outcome == Outcome::Success {
            *outcome = Outcome::Error;
        }
    };
    let mut panic = None;
    let mut record = |payload: Payload, outcome: &mut Outcome| {
        if discard_panics {
            discard(payload);
            return;
        }
        *outcome = Outcome::Panic;
        if panic.is_none() {
            panic = Some(payload);
        } else {
            discard(payload);
        }
    };
    while let Some(entry) = raw.take() {
        if !entry.is_async() {
            // SAFETY: `run_all` holds the stack exclusively: nothing is
            // registered between `take` and here.
            let ran = catch_unwind(AssertUnwindSafe(|| unsafe {
                entry.run(outcome, &mut errors)
            }));
            match ran {
                Ok(false) => {}
                Ok(true) => failed(&mut outcome),
                Err(payload) => record(payload, &mut outcome),
            }
            continue;
        }
        // SAFETY: as above; the entry is asynchronous.
        let mut future = match catch_unwind(AssertUnwindSafe(|| unsafe { entry.start(outcome) })) {
            Ok(future) => future,
            Err(payload) => {
                record(payload, &mut outcome);
                continue;
            }
        };
        match CatchUnwind(&mut future).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                errors.push(error);
                failed(&mut outcome);
            }
            Err(payload) => record(payload, &mut outcome),
        }
        // Dropping the future runs what it still holds, which may panic too.
        if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(future))) {
            record(payload, &mut outcome);
        }
    }
    Report { errors, panic }
}

/// Generates the asynchronous half of the API of an asynchronous stack.
/// `$($Send)*` is nothing or `Send +`; `$($wrap)*` is nothing or
/// `AssertSend`, applied to the `aclose` future.
macro_rules! async_stack_api {
    ($Stack:ident, [$($Send:tt)*], [$($wrap:tt)*]) => {
        impl<'a> $Stack<'a> {
            /// Registers a closure that returns a future, awaited at
            /// [`aclose`](Self::aclose) whatever the outcome (Python's
            /// `push_async_callback`).
            ///
            /// The closure is called, and the future made, when the entry's
            /// turn comes. If the stack is dropped without `aclose().await`,
            /// the closure is dropped without being called (a destructor
            /// cannot await); debug builds say so on standard error.
            ///
            /// ```
            /// # fn block_on<F: Future>(f: F) -> F::Output { let mut f = std::pin::pin!(f); let mut cx = std::task::Context::from_waker(std::task::Waker::noop()); loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } } }
            /// let log = std::sync::Mutex::new(Vec::new());
            #[doc = concat!("let mut stack = exitstack::", stringify!($Stack), "::new();")]
            /// stack.callback(|| log.lock().unwrap().push("sync, registered first"));
            /// stack.push_async_callback(async || log.lock().unwrap().push("async, registered last"));
            /// block_on(stack.aclose()).unwrap();
            /// assert_eq!(*log.lock().unwrap(), ["async, registered last", "sync, registered first"]);
            /// ```
            pub fn push_async_callback<F, Fut>(&self, f: F) -> EntryKey
            where
                F: FnOnce() -> Fut + $($Send)* 'a,
                Fut: Future<Output = ()> + $($Send)* 'a,
            {
                self.raw.push(AsyncExit(move |_: Outcome| f())).0
            }

            /// Registers an asynchronous exit callback that receives the
            /// [`Outcome`] (Python's `push_async_exit`).
            ///
            /// ```
            /// use exitstack::Outcome;
            /// # fn block_on<F: Future>(f: F) -> F::Output { let mut f = std::pin::pin!(f); let mut cx = std::task::Context::from_waker(std::task::Waker::noop()); loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } } }
            /// let seen = std::sync::Mutex::new(None);
            #[doc = concat!("let mut stack = exitstack::", stringify!($Stack), "::new();")]
            /// stack.push_async_exit(async |outcome| *seen.lock().unwrap() = Some(outcome));
            /// block_on(stack.aclose_with(Outcome::Error)).unwrap();
            /// assert_eq!(*seen.lock().unwrap(), Some(Outcome::Error));
            /// ```
            pub fn push_async_exit<F, Fut>(&self, f: F) -> EntryKey
            where
                F: FnOnce(Outcome) -> Fut + $($Send)* 'a,
                Fut: Future<Output = ()> + $($Send)* 'a,
            {
                self.raw.push(AsyncExit(f)).0
            }

            /// Registers a fallible asynchronous cleanup; its error is
            /// collected by [`aclose`](Self::aclose) like a
            /// [`try_callback`](Self::try_callback) error.
            ///
            /// ```
            /// # fn block_on<F: Future>(f: F) -> F::Output { let mut f = std::pin::pin!(f); let mut cx = std::task::Context::from_waker(std::task::Waker::noop()); loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } } }
            #[doc = concat!("let mut stack = exitstack::", stringify!($Stack), "::new();")]
            /// stack.try_async_callback(async || Err("the socket was already closed"));
            /// let error = block_on(stack.aclose()).unwrap_err();
            /// assert_eq!(error.first().to_string(), "the socket was already closed");
            /// ```
            pub fn try_async_callback<F, Fut, E>(&self, f: F) -> EntryKey
            where
                F: FnOnce() -> Fut + $($Send)* 'a,
                Fut: Future<Output = Result<(), E>> + $($Send)* 'a,
                E: Into<BoxError>,
            {
                self.raw.push(TryAsyncCallback(f)).0
            }

            /// Registers an [`AsyncExitContext`] and enters it: await the
            /// result for `&mut` access to the context (Python's
            /// `await stack.enter_async_context(cm)`).
            ///
            /// The context is registered at once, before the returned future
            /// runs, so that the future borrows only the context, not the
            /// stack: it stays `Send` for a `Send` context. Its `exit` runs
            /// at `aclose` only if its `enter` completed; if `enter` fails
            /// (or the future is dropped first), the context is dropped at
            /// `aclose` without its `exit`.
            ///
            /// # Errors
            ///
            /// The error of the context's `enter`.
            ///
            /// ```
            /// use exitstack::{AsyncExitContext, Outcome};
            /// # fn block_on<F: Future>(f: F) -> F::Output { let mut f = std::pin::pin!(f); let mut cx = std::task::Context::from_waker(std::task::Waker::noop()); loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } } }
            /// struct Connection { open: bool }
            /// impl AsyncExitContext for Connection {
            ///     type Error = std::io::Error;
            ///     async fn enter(&mut self) -> std::io::Result<()> { self.open = true; Ok(()) }
            ///     async fn exit(self, _: Outcome) -> std::io::Result<()> { Ok(()) }
            /// }
            #[doc = concat!("let mut stack = exitstack::", stringify!($Stack), "::new();")]
            /// let connection = block_on(stack.enter_async_context(Connection { open: false })).unwrap();
            /// assert!(connection.open);
            /// block_on(stack.aclose()).unwrap();
            /// ```
            pub fn enter_async_context<C>(
                &self,
                context: C,
            ) -> impl Future<Output = Result<&mut C, C::Error>> + use<'_, 'a, C>
            where
                C: AsyncExitContext + $($Send)* 'a,
            {
                let (_, at) = self.raw.push(AsyncContext {
                    context,
                    entered: false,
                });
                // SAFETY: as in `enter_context`: the entry stays where it is,
                // untouched by the stack, for as long as `&self` is borrowed,
                // which the returned future (and the `&mut C` it yields)
                // holds — no key that passes `cancel`'s checks can name a
                // context's slot (contexts get none, and the keys of
                // `raw/keys.rs` never name another entry), and `aclose`,
                // which takes entries out, needs `&mut self`. If the future
                // is leaked, the borrow ends with nothing freed. Each call
                // stores a new entry, so the borrows never alias.
                let entry = unsafe { &mut *at.as_ptr() };
                async move {
                    entry.context.enter().await?;
                    entry.entered = true;
                    Ok(&mut entry.context)
                }
            }

            /// Runs every pending entry, last registered first, each exactly
            /// once, awaiting the asynchronous ones, with
            /// [`Outcome::Success`]. The stack is then empty and can be used
            /// again.
            ///
            /// **Cancellation.** If this future is dropped part-way (a
            /// timeout, `select!`), the entry being awaited is dropped with
            /// it, and the entries not reached stay registered: a later
            /// `aclose` resumes with them. No entry ever runs twice. Keys
            /// issued before the interrupted `aclose` are then refused by
            /// [`cancel`](Self::cancel) (`NotPending`).
            ///
            /// # Errors
            ///
            /// Every error of the fallible entries, in the order they ran.
            ///
            /// # Panics
            ///
            /// If entries panicked (also inside an awaited future), after all
            /// of them ran (those after the first panic see
            /// [`Outcome::Panic`]), with the payload of the first panic —
            /// except when polled while the thread is already unwinding (from
            /// a destructor during a panic): then the panics are discarded,
            /// as by `close`.
            pub async fn aclose(&mut self) -> Result<(), CleanupError> {
                self.aclose_with(Outcome::Success).await
            }

            /// Like [`aclose`](Self::aclose), telling the entries how the
            /// scope ended.
            ///
            /// # Errors
            ///
            /// Every error of the fallible entries, in the order they ran.
            ///
            /// # Panics
            ///
            /// As [`aclose`](Self::aclose).
            pub async fn aclose_with(&mut self, outcome: Outcome) -> Result<(), CleanupError> {
                let unwinding = std::thread::panicking();
                let report = $($wrap)*(run_all(&mut self.raw, outcome, unwinding)).await;
                if let Some(payload) = report.panic {
                    resume_unwind(payload);
                }
                CleanupError::from_errors(report.errors).map_or(Ok(()), Err)
            }

            /// Runs the async closure `body` with a fresh stack, then closes
            /// it with `aclose`: the body's `Result` decides the outcome; a
            /// panic in the body is [`Outcome::Panic`] — the cleanups are
            /// still awaited, then the panic continues.
            ///
            /// # Errors
            ///
            /// As [`ExitStack::scope`](crate::ExitStack::scope): the body's
            /// error is primary; when the body succeeded, cleanup errors are
            /// returned, converted with `E: From<CleanupError>`.
            ///
            /// # Panics
            ///
            /// With the body's panic, after the cleanups ran; if only
            /// cleanups panicked, with the first of those.
            ///
            /// # In a spawned task
            ///
            /// rustc cannot yet prove `Send` a future that awaits `scope`
            /// with an async closure written inline (rust-lang/rust#126350:
            /// "implementation of `AsyncFnOnce` is not general enough"), so
            /// `tokio::spawn` rejects it. Bind the closure first, with its
            /// parameter type written out; it then works for any stack
            /// lifetime (its entries cannot borrow locals, which a spawned
            /// task's cannot anyway):
            ///
            /// ```text
            /// let body = async |stack: &mut SendAsyncExitStack<'_>| { ... };
            /// tokio::spawn(async move { SendAsyncExitStack::scope(body).await });
            /// ```
            ///
            /// ```
            /// use exitstack::Outcome;
            /// # fn block_on<F: Future>(f: F) -> F::Output { let mut f = std::pin::pin!(f); let mut cx = std::task::Context::from_waker(std::task::Waker::noop()); loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } } }
            /// let seen = std::sync::Mutex::new(None);
            #[doc = concat!("let result: Result<u8, exitstack::CleanupError> = block_on(exitstack::", stringify!($Stack), "::scope(async |stack| {")]
            ///     stack.push_async_exit(async |outcome| *seen.lock().unwrap() = Some(outcome));
            ///     Ok(7)
            /// }));
            /// assert_eq!(result.unwrap(), 7);
            /// assert_eq!(*seen.lock().unwrap(), Some(Outcome::Success));
            /// ```
            pub async fn scope<T, E, F>(body: F) -> Result<T, E>
            where
                F: AsyncFnOnce(&mut $Stack<'a>) -> Result<T, E>,
                E: From<CleanupError>,
            {
                let mut stack = $Stack::new();
                let result = {
                    let future = pin!(body(&mut stack));
                    CatchUnwind(future).await
                };
                let outcome = crate::ending::outcome(
                    result.is_err(),
                    matches!(result, Ok(Err(_))),
                );
                let report =
                    $($wrap)*(run_all(&mut stack.raw, outcome, std::thread::panicking())).await;
                let result = crate::ending::first_panic_wins(result, report.panic);
                let errors = CleanupError::from_errors(report.errors);
                crate::ending::body_error_first(result, errors, E::from)
            }
        }
    };
}

/// A stack of cleanups that may be awaited: Python's
/// `contextlib.AsyncExitStack`. Everything [`ExitStack`](crate::ExitStack)
/// has — synchronous entries included, in one LIFO order with the
/// asynchronous ones — plus asynchronous callbacks, asynchronous exit
/// callbacks that see the [`Outcome`], [`AsyncExitContext`]s, and
/// [`aclose`](AsyncExitStack::aclose).
///
/// Runtime-agnostic: it depends on no executor, and works on any.
///
/// # Policies
///
/// The policies of [`ExitStack`](crate::ExitStack) hold, across `.await`s:
/// strict LIFO; every entry runs exactly once; a panicking entry (or a panic
/// while polling its future) does not stop the others, which see
/// [`Outcome::Panic`], and the first panic resumes after all ran; errors are
/// collected in execution order. And:
///
/// * **Cancellation**: an `aclose()` future dropped part-way leaves the
///   entries it had not reached registered; a later `aclose()` resumes.
/// * **Dropped without `aclose()`**: the synchronous entries run, in order;
///   the asynchronous ones cannot be awaited by a destructor, so they are
///   dropped without running (debug builds say so on standard error). Never
///   a block, never a hang. Close with `aclose().await`, or use
///   [`AsyncExitStack::scope`].
///
/// Each asynchronous entry allocates its future when its turn comes (a
/// boxed, type-erased future); registration stores small closures in place,
/// as `ExitStack` does. Needs the `std` feature.
///
/// ```
/// # fn block_on<F: Future>(f: F) -> F::Output { let mut f = std::pin::pin!(f); let mut cx = std::task::Context::from_waker(std::task::Waker::noop()); loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } } }
/// use std::sync::Mutex;
/// use exitstack::AsyncExitStack;
///
/// let log = Mutex::new(Vec::new());
/// block_on(async {
///     let mut stack = AsyncExitStack::new();
///     stack.push_async_callback(async || log.lock().unwrap().push("flush and close the socket"));
///     stack.callback(|| log.lock().unwrap().push("release the lock"));
///     // ... work ...
///     stack.aclose().await.unwrap();
/// });
/// assert_eq!(*log.lock().unwrap(), ["release the lock", "flush and close the socket"]);
/// ```
pub struct AsyncExitStack<'a> {
    raw: RawStack<'a>,
}

crate::stack::stack_api!(
    AsyncExitStack,
    [],
    close: "block_on(stack.aclose())",
    prelude: "# fn block_on<F: Future>(f: F) -> F::Output { let mut f = std::pin::pin!(f); let mut cx = std::task::Context::from_waker(std::task::Waker::noop()); loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } } }"
);
async_stack_api!(AsyncExitStack, [], []);

/// An [`AsyncExitStack`] whose entries, and the futures they make, are all
/// `Send`: the stack is `Send`, and so are its `aclose` and
/// `enter_async_context` futures, as a multi-threaded runtime's `spawn`
/// requires (for `scope` in a spawned task, see
/// [`scope`](SendAsyncExitStack::scope)).
///
/// ```
/// # fn block_on<F: Future>(f: F) -> F::Output { let mut f = std::pin::pin!(f); let mut cx = std::task::Context::from_waker(std::task::Waker::noop()); loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } } }
/// fn assert_send<T: Send>(value: T) -> T { value }
///
/// let mut stack = exitstack::SendAsyncExitStack::new();
/// stack.push_async_callback(async || println!("closed"));
/// let stack = std::thread::spawn(move || assert_send(stack)).join().unwrap();
/// # let mut stack = stack;
/// block_on(assert_send(stack.aclose())).unwrap();
/// ```
pub struct SendAsyncExitStack<'a> {
    raw: RawStack<'a>,
}

crate::stack::stack_api!(
    SendAsyncExitStack,
    [Send+],
    close: "block_on(stack.aclose())",
    prelude: "# fn block_on<F: Future>(f: F) -> F::Output { let mut f = std::pin::pin!(f); let mut cx = std::task::Context::from_waker(std::task::Waker::noop()); loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } } }"
);
async_stack_api!(SendAsyncExitStack, [Send+], [AssertSend]);

// SAFETY: as for `SendExitStack`: every entry of a `SendAsyncExitStack` was
// registered through methods that require it — and, for asynchronous
// entries, the closure and the future it makes, or the context and its
// futures — to be `Send`; entries only move between `SendAsyncExitStack`s
// or into an `AsyncExitStack`. The stack stays `!Sync`.
unsafe impl Send for SendAsyncExitStack<'_> {}

impl<'a> From<SendAsyncExitStack<'a>> for AsyncExitStack<'a> {
    /// Forgets that the entries are `Send`; keys stay valid.
    ///
    /// ```
    /// let send = exitstack::SendAsyncExitStack::new();
    /// send.push_async_callback(async || ());
    /// let local: exitstack::AsyncExitStack<'_> = send.into();
    /// assert_eq!(local.len(), 1);
    /// # std::mem::forget(local);
    /// ```
    fn from(mut stack: SendAsyncExitStack<'a>) -> Self {
        AsyncExitStack {
            raw: stack.raw.take_all(),
        }
    }
}

impl<'a> From<crate::ExitStack<'a>> for AsyncExitStack<'a> {
    /// Synchronous entries are valid entries of an asynchronous stack, in
    /// the same order; keys stay valid.
    ///
    /// ```
    /// let sync = exitstack::ExitStack::new();
    /// sync.callback(|| ());
    /// let stack: exitstack::AsyncExitStack<'_> = sync.into();
    /// assert_eq!(stack.len(), 1);
    /// ```
    fn from(mut stack: crate::ExitStack<'a>) -> Self {
        AsyncExitStack {
            raw: stack.raw.take_all(),
        }
    }
}
