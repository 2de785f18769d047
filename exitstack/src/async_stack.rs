//! [`AsyncExitStack`] and [`SendAsyncExitStack`]: the stacks for cleanups
//! that must be awaited, on the same core as the synchronous ones, so that
//! synchronous and asynchronous entries share one LIFO order.

use alloc::vec::Vec;
use core::future::Future;
use core::pin::{Pin, pin};
use core::task::{Context, Poll};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use core::marker::PhantomData;

use crate::CancelError;
use crate::Outcome;
use crate::error::{BoxError, CleanupError};
use crate::raw::{EntryKey, FutureSlot, RawStack, Run};
use crate::threading::sealed::Token;
use crate::threading::{EntryFor, Local, Sendable, Threading};
use crate::unwind::{Payload, discard};
use crate::{ExitContext, Stack};

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
/// let result = block_on(AsyncExitStack::scope(
///     async |stack| -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
///         stack.enter_async_context(Transaction { log: &log }).await?;
///         Err("the transfer failed".into())
///     },
/// ));
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
/// `aclose().await` and without a spawner: a destructor cannot await, so
/// the entry is dropped without running — never blocked on — and the
/// report hook is told ([`crate::Report::AsyncCleanupDropped`]: by default a line
/// on standard error in debug builds). One whose future is dropped part-way
/// is reported as [`crate::Report::AsyncCleanupInterrupted`].
fn skipped_async_entry() {
    crate::report::report(&crate::Report::AsyncCleanupDropped);
}

/// The future a stack with a spawner hands to it when it is dropped without
/// `aclose().await` (see [`AsyncStack::set_spawner`]): it awaits the
/// stack's remaining cleanups, in LIFO order.
pub type HandOff = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A spawner, shared by a stack and the stacks `pop_all` makes from it.
type Spawner = alloc::sync::Arc<dyn Fn(HandOff) + Send + Sync>;

/// What a stack keeps beside its entries, boxed so that a stack that needs
/// none of it (almost every one) is no larger: what an interrupted `aclose`
/// had seen, and the spawner to hand the cleanups to on drop.
struct Side<'a, M: Threading> {
    /// What an `aclose` cut short had seen (see [`Progress`]).
    progress: Option<Progress>,
    hand_off: Option<HandOffTo<'a, M>>,
    /// Set by `fail_on_drop`: what the stack's drop is, in reports.
    cancelled: Option<&'static str>,
}

/// A spawner, and the stack's own type made nameable: a `HandOffTo` is
/// made only by [`AsyncStack::set_spawner`], which only a
/// `SendAsyncExitStack<'static>` has, so `into_static` is that type's
/// identity — generic code (the drop) reaches the entries as `'static` and
/// `Send` through it, without any `unsafe`.
struct HandOffTo<'a, M: Threading> {
    spawner: Spawner,
    into_static: fn(&mut AsyncStack<'a, M>) -> SendAsyncExitStack<'static>,
}

impl<M: Threading> Clone for HandOffTo<'_, M> {
    fn clone(&self) -> Self {
        HandOffTo {
            spawner: self.spawner.clone(),
            into_static: self.into_static,
        }
    }
}

/// The stacks that can hand their cleanups to a spawner: only
/// [`SendAsyncExitStack<'static>`](SendAsyncExitStack), whose entries are
/// all `Send` and own what they use, so that they can run on another task
/// after the scope that registered them is gone.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot hand its cleanups to a spawner",
    label = "only a `SendAsyncExitStack<'static>` can",
    note = "handed-off cleanups run on another task after the scope is gone: they must be `Send` \
            and own what they use (`'static`); make the stack a `SendAsyncExitStack<'static>` and \
            register `async move` cleanups that own (or `Arc`-share) their values"
)]
pub trait HandsOff: hands_off::Sealed {
    #[doc(hidden)]
    fn __into_static(&mut self) -> SendAsyncExitStack<'static>;
}

/// Keeps [`HandsOff`] to the one type it means something for.
mod hands_off {
    pub trait Sealed {}
    impl Sealed for super::SendAsyncExitStack<'static> {}
}

impl HandsOff for SendAsyncExitStack<'static> {
    fn __into_static(&mut self) -> SendAsyncExitStack<'static> {
        AsyncStack::from_raw(self.inner.raw.take_all())
    }
}

/// The future of an infallible asynchronous cleanup, its `()` as `Ok`: a
/// wrapper, not an `async` block (which would hold the future twice, as a
/// capture and as the future it awaits), so that small futures fit the
/// `aclose` future's slot.
struct Infallible<Fut>(Fut);

impl<Fut: Future<Output = ()>> Future for Infallible<Fut> {
    type Output = Result<(), BoxError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: structural pinning of the only field, never moved out.
        unsafe { self.map_unchecked_mut(|this| &mut this.0) }
            .poll(cx)
            .map(Ok)
    }
}

/// The future of a fallible asynchronous cleanup, its error boxed; a
/// wrapper, as [`Infallible`].
struct Fallible<Fut>(Fut);

impl<Fut: Future<Output = Result<(), E>>, E: Into<BoxError>> Future for Fallible<Fut> {
    type Output = Result<(), BoxError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: structural pinning of the only field, never moved out.
        unsafe { self.map_unchecked_mut(|this| &mut this.0) }
            .poll(cx)
            .map(|result| result.map_err(Into::into))
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

    #[inline]
    fn start(self, outcome: Outcome, slot: Pin<&mut FutureSlot>) {
        slot.set(Infallible((self.0)(outcome)));
    }
}

/// `try_push_async_callback`: a fallible asynchronous cleanup.
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

    #[inline]
    fn start(self, _: Outcome, slot: Pin<&mut FutureSlot>) {
        slot.set(Fallible((self.0)()));
    }
}

/// `try_push_async_exit`: a fallible asynchronous exit callback.
struct TryAsyncExit<F>(F);

impl<F, Fut, E> Run for TryAsyncExit<F>
where
    F: FnOnce(Outcome) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Into<BoxError>,
{
    const ASYNC: bool = true;

    fn run(self, _: Outcome) -> Result<(), BoxError> {
        skipped_async_entry();
        Ok(())
    }

    #[inline]
    fn start(self, outcome: Outcome, slot: Pin<&mut FutureSlot>) {
        slot.set(Fallible((self.0)(outcome)));
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

    /// Not entered: nothing to await, the context is dropped here.
    fn start(self, outcome: Outcome, slot: Pin<&mut FutureSlot>) {
        let AsyncContext { context, entered } = self;
        if entered {
            slot.set(Fallible(context.exit(outcome)));
        }
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
pub struct AssertSend<F>(pub(crate) F);

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

/// What closing a stack has seen so far: the outcome the next entries see,
/// the errors in the order they happened, the first panic. When an `aclose`
/// is cut short (its future dropped part-way), the stack keeps it, and the
/// next `aclose` — or the stack's drop — carries on from it: nothing an
/// interrupted `aclose` saw is lost.
pub(crate) struct Progress {
    outcome: Outcome,
    errors: Vec<BoxError>,
    panic: Option<Payload>,
}

impl Progress {
    /// A new close with `outcome`, or the one an interrupted close left
    /// (its outcome made no better by the new one's: `Panic` over `Error`
    /// over `Success`).
    fn resume(carried: Option<Progress>, outcome: Outcome) -> Progress {
        match carried {
            None => Progress {
                outcome,
                errors: Vec::new(),
                panic: None,
            },
            Some(mut progress) => {
                progress.outcome = crate::ending::worst(progress.outcome, outcome);
                progress
            }
        }
    }

    /// An entry failed: the ones after it see `Error` (policy 8).
    fn failed(&mut self, error: BoxError) {
        self.errors.push(error);
        if self.outcome == Outcome::Success {
            self.outcome = Outcome::Error;
        }
    }

    /// What an entry's run, or its awaited future, gave: nothing, an
    /// error, or a panic.
    fn record(&mut self, ran: Result<Result<(), BoxError>, Payload>) {
        match ran {
            Ok(Ok(())) => {}
            Ok(Err(error)) => self.failed(error),
            Err(payload) => self.panicked(payload),
        }
    }

    /// An entry panicked: the ones after it see `Panic`; the first payload
    /// is kept (policy 3).
    fn panicked(&mut self, payload: Payload) {
        self.outcome = Outcome::Panic;
        if self.panic.is_none() {
            self.panic = Some(payload);
        } else {
            discard(payload);
        }
    }

    /// The end of a close: resumes the first panic — or, if the thread is
    /// unwinding now (the close was polled from a destructor during a
    /// panic), discards it, since a panic escaping there would abort — else
    /// returns the errors.
    fn finish(self) -> Result<(), CleanupError> {
        let Progress { errors, panic, .. } = self;
        if let Some(payload) = panic {
            if std::thread::panicking() {
                discard(payload);
            } else {
                // The errors have no caller any more: discarded safely (an
                // error's `Drop` may panic), not dropped by the unwinding.
                discard_unwound(errors);
                resume_unwind(payload);
            }
        }
        CleanupError::from_errors(errors).map_or(Ok(()), Err)
    }

    /// The errors and first panic, for a `scope` that decides what to
    /// return: if a panic will resume (the body's or this one), the errors
    /// are discarded safely first.
    fn into_parts(self, body_panicked: bool) -> (Vec<BoxError>, Option<Payload>) {
        let Progress { errors, panic, .. } = self;
        if body_panicked || panic.is_some() {
            discard_unwound(errors);
            return (Vec::new(), panic);
        }
        (errors, panic)
    }

    /// The end of a stack dropped after an interrupted close: the entries
    /// left run now (the synchronous ones; the asynchronous ones are dropped
    /// unrun, as on any drop), with the outcome reached (or `Panic`, if a
    /// panic that started after the stack was made unwinds); the errors are
    /// discarded by the dropped-stack policy, and the first panic resumes
    /// unless the thread is unwinding.
    fn finish_dropped(mut self, raw: &mut RawStack<'_>, context: &'static str) {
        let outcome = crate::ending::worst(raw.drop_outcome(), self.outcome);
        match catch_unwind(AssertUnwindSafe(|| raw.close_with(outcome))) {
            Ok(Ok(())) => {}
            Ok(Err(errors)) => self.errors.extend(errors),
            Err(payload) => self.panicked(payload),
        }
        let errors = core::mem::take(&mut self.errors);
        if !errors.is_empty() {
            crate::raw::discard_errors(errors, context);
        }
        if let Some(payload) = self.panic {
            resume_unless_unwinding(payload);
        }
    }
}

/// Leaves `progress` to the stack whose side is `side`, for its next
/// `aclose` or its drop.
#[cold]
fn keep_progress<M: Threading>(side: &mut Option<Box<Side<'_, M>>>, progress: Progress) {
    match side {
        Some(side) => side.progress = Some(progress),
        None => {
            *side = Some(Box::new(Side {
                progress: Some(progress),
                hand_off: None,
                cancelled: None,
            }));
        }
    }
}

/// A panic with no caller left to catch it: resumed, unless the thread is
/// already unwinding (the drop runs in a destructor during a panic), where
/// a second panic would abort; then it is discarded.
fn resume_unless_unwinding(payload: Payload) {
    if std::thread::panicking() {
        discard(payload);
    } else {
        resume_unwind(payload);
    }
}

/// Errors that have no caller because a panic is about to resume: each is
/// dropped under `catch_unwind` (`discard_errors`), so that one whose `Drop`
/// panics cannot abort the process during the unwinding.
fn discard_unwound(errors: Vec<BoxError>) {
    if !errors.is_empty() {
        crate::raw::discard_errors(errors, "a panic is unwinding");
    }
}

/// An `aclose` in progress, and its drop guard: if the `aclose` future is
/// dropped part-way, the entry being awaited is dropped (a panic there is
/// caught: the future may be dropped while a panic unwinds) and the
/// progress is left to the stack. If the future is leaked, so is all this:
/// nothing is freed, and the entries not reached stay registered.
struct Running<'c, 's, 'a, M: Threading> {
    side: &'c mut Option<Box<Side<'a, M>>>,
    progress: Option<Progress>,
    /// The future of the entry being awaited, in place when small.
    current: Pin<&'s mut FutureSlot>,
}

impl<M: Threading> Drop for Running<'_, '_, '_, M> {
    #[inline]
    fn drop(&mut self) {
        if self.progress.is_some() {
            self.cut_short();
        }
    }
}

impl<M: Threading> Running<'_, '_, '_, M> {
    /// The `aclose` future was dropped part-way.
    #[cold]
    #[inline(never)]
    fn cut_short(&mut self) {
        let Some(mut progress) = self.progress.take() else {
            return;
        };
        if self.current.is_set() {
            let current = self.current.as_mut();
            if let Err(payload) = catch_unwind(AssertUnwindSafe(move || current.clear())) {
                progress.panicked(payload);
            }
            // Stopped part-way: not silent either.
            crate::report::report(&crate::Report::AsyncCleanupInterrupted);
        }
        keep_progress(self.side, progress);
    }
}

/// Runs and awaits every pending entry, last registered first, each exactly
/// once, each under `catch_unwind`; entries after a panic see
/// [`Outcome::Panic`], after a failure [`Outcome::Error`]. Starts from
/// what an interrupted close left in `carried`. An entry is taken out of
/// the stack before it starts, so if this future is dropped part-way, the
/// entry in progress is dropped with it, the entries not reached stay
/// registered (their keys retired: see `RawStack::take`), and the progress
/// goes back to `carried`. The future awaited is kept in a slot of this
/// future (in place when small: no allocation).
async fn run_all<'a, M: Threading>(
    raw: &RawStack<'a>,
    side: &mut Option<Box<Side<'a, M>>>,
    outcome: Outcome,
) -> Progress {
    let carried = side.as_mut().and_then(|side| side.progress.take());
    let progress = Progress::resume(carried, outcome);
    let slot = pin!(FutureSlot::new());
    let mut run = Running {
        side,
        progress: Some(progress),
        current: slot,
    };
    while let Some(entry) = raw.take() {
        let progress = run.progress.as_mut().expect("taken only at the end");
        let outcome = progress.outcome;
        if !entry.is_async() {
            // SAFETY: `run_all` holds the stack exclusively: nothing is
            // registered between `take` and here.
            progress.record(catch_unwind(AssertUnwindSafe(|| unsafe {
                entry.run(outcome)
            })));
            continue;
        }
        let current = run.current.as_mut();
        // SAFETY: as above; the entry is asynchronous.
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| unsafe {
            entry.start(outcome, current);
        })) {
            progress.panicked(payload);
            continue;
        }
        if !run.current.is_set() {
            continue;
        }
        let polled = CatchUnwind(run.current.as_mut()).await;
        let progress = run.progress.as_mut().expect("taken only at the end");
        progress.record(polled);
        // Dropping the future runs what it still holds, which may panic too.
        let current = run.current.as_mut();
        if let Err(payload) = catch_unwind(AssertUnwindSafe(move || current.clear())) {
            progress.panicked(payload);
        }
    }
    run.progress.take().expect("taken only here")
}

impl<'a, M: Threading> AsyncStack<'a, M> {
    #[inline]
    fn from_raw(raw: RawStack<'a>) -> Self {
        AsyncStack {
            inner: Stack::from_raw(raw),
            side: None,
            marker: PhantomData,
        }
    }
}

/// The stack of an async `scope`, owned by the scope's future: if the
/// future is dropped while the body runs (cancelled), the stack is dropped
/// as a failure, [`Outcome::Error`] — the body neither returned `Ok` nor
/// finished — instead of the `Success` a plain drop would report.
struct BodyRunning<'a, M: Threading> {
    stack: AsyncStack<'a, M>,
    running: bool,
}

impl<M: Threading> Drop for BodyRunning<'_, M> {
    fn drop(&mut self) {
        if self.running {
            self.stack
                .dropped(Outcome::Error, Some("AsyncExitStack::scope cancelled"));
        }
    }
}

impl<M: Threading> Drop for AsyncStack<'_, M> {
    /// Runs the synchronous entries (the asynchronous ones are dropped
    /// unrun — or, with a spawner, handed to it); after an interrupted
    /// `aclose`, with the outcome it had reached, reporting its errors
    /// and resuming its first panic (unless the thread is unwinding).
    #[inline]
    fn drop(&mut self) {
        // Without a side, the stack's own drop runs its synchronous
        // entries and reports the asynchronous ones.
        if self.side.is_some() {
            self.dropped(Outcome::Success, None);
        }
    }
}

impl<M: Threading> AsyncStack<'_, M> {
    /// The end of a stack dropped without (or part-way through) `aclose`:
    /// its entries see `outcome`, made no better than what an interrupted
    /// `aclose` reached, and `Panic` if a panic that started after the
    /// stack was made unwinds.
    #[cold]
    #[inline(never)]
    fn dropped(&mut self, outcome: Outcome, context: Option<&'static str>) {
        let (progress, to, cancelled) = match self.side.take() {
            Some(side) => (side.progress, side.hand_off, side.cancelled),
            None => (None, None, None),
        };
        // What the report of an error that has no caller says.
        let context = context.or(cancelled).unwrap_or(if progress.is_some() {
            "AsyncExitStack dropped after an interrupted aclose()"
        } else {
            "AsyncExitStack dropped without aclose()"
        });
        let progress = Progress::resume(progress, outcome);
        match to {
            None => progress.finish_dropped(&mut self.inner.raw, context),
            Some(to) => {
                // A stack with a spawner is closed by `aclose` on the ways
                // out that succeed: dropped, it was cut short (a `?`, a
                // cancelled task, a panic), which is a failure.
                let failed = crate::ending::worst(self.inner.raw.drop_outcome(), Outcome::Error);
                let progress = Progress::resume(Some(progress), failed);
                hand_off((to.into_static)(self), &to.spawner, progress, context);
            }
        }
    }
}

/// The drop of a stack with a spawner: the synchronous entries above the
/// newest asynchronous one run now, as a drop runs them; that entry's
/// future is made (with the outcome reached), and it and every entry below
/// it — synchronous ones too, so that the LIFO order holds — go to the
/// spawner as one future ([`HandOff`]) that awaits them in order, as
/// `aclose` would. Errors of the entries run here have no caller: they are
/// reported, and a panic among them resumes after the hand-off (unless the
/// thread is unwinding). A spawner that panics drops the future it was
/// given, which then runs as a stack dropped without spawner does.
#[cold]
#[inline(never)]
fn hand_off(
    mut rest: SendAsyncExitStack<'static>,
    spawner: &Spawner,
    mut progress: Progress,
    context: &'static str,
) {
    while let Some(entry) = rest.inner.raw.take() {
        let outcome = progress.outcome;
        if !entry.is_async() {
            // SAFETY: `rest` is owned here: nothing is registered between
            // `take` and here.
            progress.record(catch_unwind(AssertUnwindSafe(|| unsafe {
                entry.run(outcome)
            })));
            continue;
        }
        let mut first = Box::pin(FutureSlot::new());
        // SAFETY: as above; the entry is asynchronous.
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| unsafe {
            entry.start(outcome, first.as_mut());
        })) {
            progress.panicked(payload);
            continue;
        }
        if !first.is_set() {
            continue;
        }
        // The entries below see the outcome reached; the errors and panic
        // so far stay here.
        keep_progress(
            &mut rest.side,
            Progress {
                outcome: progress.outcome,
                errors: Vec::new(),
                panic: None,
            },
        );
        // `AssertSend`: the future holds `first`, made by an entry of a
        // `SendAsyncExitStack`, so from a `Send` future (see the `Send`
        // impl of `AsyncStack<'_, Sendable>`), and `rest`, which is `Send`.
        let future: HandOff = Box::pin(AssertSend(handed_off(
            Unfinished {
                first: Some(first),
                polled: false,
            },
            rest,
        )));
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| spawner(future))) {
            progress.panicked(payload);
        }
        break;
    }
    let Progress { errors, panic, .. } = progress;
    if !errors.is_empty() {
        crate::raw::discard_errors(errors, context);
    }
    if let Some(payload) = panic {
        resume_unless_unwinding(payload);
    }
}

/// The first entry of a hand-off, reported if the handed-off future is
/// dropped before it finished (never polled: a spawner that dropped it;
/// part-way: a runtime shut down).
struct Unfinished {
    first: Option<Pin<Box<FutureSlot>>>,
    polled: bool,
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        if let Some(first) = self.first.take() {
            // Reported first: the drop below is user code (the future's
            // captures), which may panic.
            crate::report::report(if self.polled {
                &crate::Report::AsyncCleanupInterrupted
            } else {
                &crate::Report::AsyncCleanupDropped
            });
            crate::unwind::run_in_drop(move || drop(first));
        }
    }
}

/// The future a spawner is given: awaits `first` (the newest asynchronous
/// entry, already made), then closes `rest`, each under `catch_unwind`.
/// Errors have no caller: they are reported. A panic resumes at the end,
/// in the spawner's task (a runtime reports it as that task's panic).
/// Dropped part-way (a runtime shut down), it drops `first` and `rest`,
/// which then runs as a stack dropped without a spawner.
async fn handed_off(mut first: Unfinished, mut rest: SendAsyncExitStack<'static>) {
    first.polled = true;
    let polled = CatchUnwind(first.first.as_mut().expect("taken only below").as_mut()).await;
    let first = first.first.take();
    let mut progress = rest
        .side
        .as_mut()
        .and_then(|side| side.progress.take())
        .expect("the hand-off leaves its progress to `rest`");
    progress.record(polled);
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(first))) {
        progress.panicked(payload);
    }
    keep_progress(&mut rest.side, progress);
    if let Err(errors) = rest.aclose().await {
        crate::raw::discard_errors(
            errors.into_iter().collect(),
            "async cleanups handed to a spawner",
        );
    }
}

impl<'a, M: Threading> AsyncStack<'a, M> {
    /// Registers a closure that returns a future, awaited at
    /// [`aclose`](Self::aclose) whatever the outcome (Python's
    /// `push_async_callback`).
    ///
    /// The closure is called, and the future made, when the entry's
    /// turn comes. If the stack is dropped without `aclose().await`,
    /// the closure is dropped without being called (a destructor
    /// cannot await) and reported ([`crate::set_report_hook`]) — or,
    /// with a [spawner](Self::set_spawner), handed to it.
    ///
    /// ```
    /// # fn block_on<F: Future>(f: F) -> F::Output { let mut f = std::pin::pin!(f); let mut cx = std::task::Context::from_waker(std::task::Waker::noop()); loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } } }
    /// let log = std::sync::Mutex::new(Vec::new());
    #[doc = concat!("let mut stack = exitstack::", "AsyncExitStack", "::new();")]
    /// stack.callback(|| log.lock().unwrap().push("sync, registered first"));
    /// stack.push_async_callback(async || log.lock().unwrap().push("async, registered last"));
    /// block_on(stack.aclose()).unwrap();
    /// assert_eq!(*log.lock().unwrap(), ["async, registered last", "sync, registered first"]);
    /// ```
    pub fn push_async_callback<F, Fut>(&self, f: F) -> EntryKey
    where
        F: FnOnce() -> Fut + EntryFor<M> + 'a,
        Fut: Future<Output = ()> + EntryFor<M> + 'a,
    {
        self.inner.raw.push(AsyncExit(move |_: Outcome| f())).0
    }

    /// Registers an asynchronous exit callback that receives the
    /// [`Outcome`] (Python's `push_async_exit`).
    ///
    /// ```
    /// use exitstack::Outcome;
    /// # fn block_on<F: Future>(f: F) -> F::Output { let mut f = std::pin::pin!(f); let mut cx = std::task::Context::from_waker(std::task::Waker::noop()); loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } } }
    /// let seen = std::sync::Mutex::new(None);
    #[doc = concat!("let mut stack = exitstack::", "AsyncExitStack", "::new();")]
    /// stack.push_async_exit(async |outcome| *seen.lock().unwrap() = Some(outcome));
    /// block_on(stack.aclose_with(Outcome::Error)).unwrap();
    /// assert_eq!(*seen.lock().unwrap(), Some(Outcome::Error));
    /// ```
    pub fn push_async_exit<F, Fut>(&self, f: F) -> EntryKey
    where
        F: FnOnce(Outcome) -> Fut + EntryFor<M> + 'a,
        Fut: Future<Output = ()> + EntryFor<M> + 'a,
    {
        self.inner.raw.push(AsyncExit(f)).0
    }

    /// Registers a fallible asynchronous cleanup; its error is
    /// collected by [`aclose`](Self::aclose) like a
    /// [`try_callback`](Self::try_callback) error.
    ///
    /// ```
    /// # fn block_on<F: Future>(f: F) -> F::Output { let mut f = std::pin::pin!(f); let mut cx = std::task::Context::from_waker(std::task::Waker::noop()); loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } } }
    #[doc = concat!("let mut stack = exitstack::", "AsyncExitStack", "::new();")]
    /// stack.try_push_async_callback(async || Err("the socket was already closed"));
    /// let error = block_on(stack.aclose()).unwrap_err();
    /// assert_eq!(error.first().to_string(), "the socket was already closed");
    /// ```
    pub fn try_push_async_callback<F, Fut, E>(&self, f: F) -> EntryKey
    where
        F: FnOnce() -> Fut + EntryFor<M> + 'a,
        Fut: Future<Output = Result<(), E>> + EntryFor<M> + 'a,
        E: Into<BoxError>,
    {
        self.inner.raw.push(TryAsyncCallback(f)).0
    }

    /// Registers a fallible asynchronous exit callback that
    /// receives the [`Outcome`]: an asynchronous commit that can
    /// fail. Its error is collected by [`aclose`](Self::aclose), and
    /// the entries that run after it see [`Outcome::Error`].
    ///
    /// ```
    /// use exitstack::Outcome;
    /// # fn block_on<F: Future>(f: F) -> F::Output { let mut f = std::pin::pin!(f); let mut cx = std::task::Context::from_waker(std::task::Waker::noop()); loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } } }
    #[doc = concat!("let mut stack = exitstack::", "AsyncExitStack", "::new();")]
    /// stack.try_push_async_exit(async |outcome| match outcome {
    ///     Outcome::Success => Err("the remote commit failed"),
    ///     _ => Ok(()),
    /// });
    /// let error = block_on(stack.aclose()).unwrap_err();
    /// assert_eq!(error.first().to_string(), "the remote commit failed");
    /// ```
    pub fn try_push_async_exit<F, Fut, E>(&self, f: F) -> EntryKey
    where
        F: FnOnce(Outcome) -> Fut + EntryFor<M> + 'a,
        Fut: Future<Output = Result<(), E>> + EntryFor<M> + 'a,
        E: Into<BoxError>,
    {
        self.inner.raw.push(TryAsyncExit(f)).0
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
    #[doc = concat!("let mut stack = exitstack::", "AsyncExitStack", "::new();")]
    /// let connection = block_on(stack.enter_async_context(Connection { open: false })).unwrap();
    /// assert!(connection.open);
    /// block_on(stack.aclose()).unwrap();
    /// ```
    pub fn enter_async_context<C>(
        &self,
        context: C,
    ) -> impl Future<Output = Result<&mut C, C::Error>> + use<'_, 'a, C, M>
    where
        C: AsyncExitContext + EntryFor<M> + 'a,
    {
        let (_, at) = self.inner.raw.push(AsyncContext {
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
    /// `aclose` resumes with them, from where the interrupted one
    /// was — its entries see the outcome reached (`Error` after a
    /// failure, `Panic` after a panic), it returns the errors seen
    /// before the interruption too, and resumes the first panic. A
    /// stack dropped instead runs its synchronous entries with that
    /// outcome and reports the errors like any dropped stack. No
    /// entry ever runs twice. Keys issued before the interrupted
    /// `aclose` are refused by [`cancel`](Self::cancel)
    /// (`NotPending`). A leaked (`mem::forget`) `aclose` future
    /// leaks the entry it was awaiting and what it had seen.
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
        M::wrap(run_all(&self.inner.raw, &mut self.side, outcome), Token(()))
            .await
            .finish()
    }

    /// Runs the async closure `body` with a fresh stack, then closes
    /// it with `aclose`: the body's `Result` decides the outcome; a
    /// panic in the body is [`Outcome::Panic`] — the cleanups are
    /// still awaited, then the panic continues.
    ///
    /// # Errors
    ///
    /// As [`ExitStack::scope`](crate::ExitStack::scope): a
    /// [`ScopeError`](crate::ScopeError) — the body's error as it
    /// returned it, with the errors of the cleanups that failed beside
    /// it ([`ScopeError::Body`](crate::ScopeError::Body)), or, when the
    /// body succeeded, the cleanup errors
    /// ([`ScopeError::Cleanup`](crate::ScopeError::Cleanup)).
    ///
    /// # Panics
    ///
    /// With the body's panic, after the cleanups ran; if only
    /// cleanups panicked, with the first of those. A panic wins over
    /// errors: when one resumes, the errors are dropped.
    ///
    /// # Cancelled
    ///
    /// If the future is dropped before the body finished (a timeout, a
    /// `select!` that picked another branch), the scope failed: its
    /// synchronous entries run at once seeing [`Outcome::Error`] (or
    /// `Panic`, if a panic is unwinding) — never `Success`, so a commit
    /// on success does not commit work that never finished — and its
    /// asynchronous entries are dropped unrun, as on any drop (a
    /// destructor cannot await) — unless the body gave the stack a
    /// [spawner](Self::set_spawner) (a `SendAsyncExitStack<'static>`:
    /// `stack.set_spawner(..)` first thing in the body), which then
    /// runs them, seeing `Error` too. Dropped during the cleanups, the
    /// entries left see the outcome the scope had reached.
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
    /// let result = block_on(exitstack::AsyncExitStack::scope(async |stack| {
    ///     stack.push_async_exit(async |outcome| *seen.lock().unwrap() = Some(outcome));
    ///     Ok::<u8, String>(7)
    /// }));
    /// assert_eq!(result.unwrap(), 7);
    /// assert_eq!(*seen.lock().unwrap(), Some(Outcome::Success));
    /// ```
    pub async fn scope<T, E, F>(body: F) -> Result<T, crate::ScopeError<E>>
    where
        F: AsyncFnOnce(&mut Self) -> Result<T, E>,
    {
        // Until the body finished, a drop of this future (a timeout, a
        // `select!` that lost) is a failure: the entries see `Error`.
        let mut guard = BodyRunning {
            stack: Self::new(),
            running: true,
        };
        let result = {
            let future = pin!(body(&mut guard.stack));
            CatchUnwind(future).await
        };
        guard.running = false;
        let stack = &mut guard.stack;
        let outcome = crate::ending::outcome(result.is_err(), matches!(result, Ok(Err(_))));
        let progress = M::wrap(
            run_all(&stack.inner.raw, &mut stack.side, outcome),
            Token(()),
        )
        .await;
        let (errors, panic) = progress.into_parts(result.is_err());
        let result = crate::ending::first_panic_wins(result, panic);
        let errors = CleanupError::from_errors(errors);
        crate::ending::body_error_first(result, errors)
    }
}
/// Surviving cancellation: a stack that hands its async cleanups to a
/// spawner when it is dropped without `aclose().await`.
impl<M: Threading> AsyncStack<'_, M> {
    /// An empty stack with a spawner: see
    /// [`set_spawner`](Self::set_spawner).
    #[must_use]
    pub fn with_spawner(spawner: impl Fn(HandOff) + Send + Sync + 'static) -> Self
    where
        Self: HandsOff,
    {
        let mut stack = Self::new();
        stack.set_spawner(spawner);
        stack
    }

    /// Gives the stack a spawner: if it is dropped without
    /// `aclose().await` — a `?` on the way to `aclose`, a task cancelled
    /// by a timeout or a `select!`, a panic, a server dropping a
    /// disconnected client's future — its async cleanups are handed to
    /// `spawner` instead of being dropped unrun. Any runtime's spawn
    /// works: `|cleanups| { tokio::spawn(cleanups); }`. Replaces a
    /// spawner set before; the stacks [`pop_all`](Self::pop_all) makes
    /// share it.
    ///
    /// Only a [`SendAsyncExitStack<'static>`](SendAsyncExitStack) has this
    /// method (the bound [`HandsOff`]): its entries are `Send` and own what
    /// they use, so they can run on another task after the scope that
    /// registered them is gone. A stack whose entries borrow from the
    /// scope cannot be handed off, and does not compile.
    ///
    /// **What runs where.** On the drop, the synchronous entries newer
    /// than the newest asynchronous one run at once, as a drop runs them.
    /// The rest — that asynchronous entry and every entry older than it,
    /// synchronous ones too, so that the LIFO order holds — goes to the
    /// spawner as one future, [`HandOff`], which runs and awaits them in
    /// order, as `aclose` would, every entry exactly once. Nothing is
    /// spawned when no asynchronous entry is left.
    ///
    /// **Outcome.** A stack with a spawner is closed by `aclose` on the
    /// ways out that succeed; dropped without it, it was cut short — a
    /// `?`, a cancelled task, a panic — and that is a failure: the entries
    /// run at the drop and the handed-off ones see [`Outcome::Error`]
    /// (`Panic` if a panic is unwinding), so a rollback runs and a commit
    /// of unfinished work does not. (A stack without a spawner, dropped,
    /// tells its synchronous entries `Success` unless a panic unwinds, as
    /// an [`ExitStack`](crate::ExitStack) does.) The same holds for a
    /// cancelled [`scope`](Self::scope) whose body set a spawner, and a
    /// cancelled `#[exitstack::scope(spawn = ..)] async fn`.
    ///
    /// **Errors and panics** of the handed-off entries have no caller:
    /// the errors go to the report hook ([`crate::set_report_hook`]); a
    /// panic resumes at the end of the handed-off future, in the
    /// spawner's task (a runtime reports it as that task's panic).
    /// Entries that ran at the drop report their errors the same way, and
    /// their first panic resumes after the hand-off.
    ///
    /// **When the handed-off future never finishes.** If it is dropped
    /// part-way — a runtime shut down with the task pending, or a
    /// spawner that panics or drops it — the entries it had not reached
    /// run as on a drop without a spawner: the synchronous ones run, the
    /// asynchronous ones are dropped unrun and reported
    /// ([`Report::AsyncCleanupDropped`](crate::Report::AsyncCleanupDropped),
    /// and [`Report::AsyncCleanupInterrupted`](crate::Report::AsyncCleanupInterrupted)
    /// for the one it was awaiting). A runtime drops its pending tasks
    /// when it shuts down (tokio does, `shutdown_timeout` included), so a
    /// program that must see its handed-off cleanups finish waits for
    /// them before it shuts the runtime down: spawn them into a tokio
    /// `JoinSet` or a tokio-util `TaskTracker` that `main` awaits, or
    /// have the last cleanup send on a channel `main` reads.
    ///
    /// **A spawner that panics** (`tokio::spawn` outside a runtime does)
    /// panics out of the stack's drop, after the rest of the drop ran
    /// (the cleanups it was given run as described above). To hand off
    /// from code that may run outside the runtime, spawn through a
    /// `Handle` taken while inside it, or fall back when there is none:
    /// `|cleanups| match tokio::runtime::Handle::try_current() { Ok(rt)
    /// => drop(rt.spawn(cleanups)), Err(_) => drop(cleanups) }` (dropping
    /// them runs the synchronous ones and reports the rest).
    ///
    /// ```
    /// use std::sync::{Arc, Mutex, mpsc};
    /// use exitstack::SendAsyncExitStack;
    /// # fn block_on<F: Future>(f: F) -> F::Output { let mut f = std::pin::pin!(f); let mut cx = std::task::Context::from_waker(std::task::Waker::noop()); loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } } }
    ///
    /// // Here a thread stands for a runtime: `|cleanups| { tokio::spawn(cleanups); }`.
    /// let (done, finished) = mpsc::channel();
    /// let stack = SendAsyncExitStack::with_spawner(move |cleanups| {
    ///     let done = done.clone();
    ///     std::thread::spawn(move || { block_on(cleanups); done.send(()).unwrap(); });
    /// });
    /// let log = Arc::new(Mutex::new(Vec::new()));
    /// let closed = log.clone();
    /// stack.push_async_callback(async move || closed.lock().unwrap().push("connection closed"));
    /// drop(stack); // no `aclose().await`: a `?`, a cancelled task, a panic ...
    ///
    /// finished.recv().unwrap();
    /// assert_eq!(*log.lock().unwrap(), ["connection closed"]);
    /// ```
    ///
    /// A stack whose entries borrow cannot have a spawner:
    ///
    /// ```compile_fail
    /// let name = String::from("db");
    /// let mut stack = exitstack::SendAsyncExitStack::new();
    /// stack.push_async_callback(async || println!("close {name}"));
    /// stack.set_spawner(|cleanups| drop(cleanups)); // `name` does not live long enough
    /// ```
    pub fn set_spawner(&mut self, spawner: impl Fn(HandOff) + Send + Sync + 'static)
    where
        Self: HandsOff,
    {
        let to = HandOffTo {
            spawner: alloc::sync::Arc::new(spawner),
            into_static: <Self as HandsOff>::__into_static,
        };
        match &mut self.side {
            Some(side) => side.hand_off = Some(to),
            None => {
                self.side = Some(Box::new(Side {
                    progress: None,
                    hand_off: Some(to),
                    cancelled: None,
                }));
            }
        }
    }

    /// Whether the stack has a spawner ([`set_spawner`](Self::set_spawner)).
    #[must_use]
    pub fn has_spawner(&self) -> bool {
        self.side
            .as_ref()
            .is_some_and(|side| side.hand_off.is_some())
    }

    /// Takes the spawner away: the stack, dropped without `aclose`, drops
    /// its async cleanups unrun again. Does nothing without one.
    pub fn clear_spawner(&mut self) {
        if let Some(side) = &mut self.side {
            side.hand_off = None;
        }
    }

    /// Marks the stack as dropped by a failure: if it is dropped before
    /// its `aclose`, its entries see [`Outcome::Error`]. For the implicit
    /// stack of a cancelled `#[exitstack::scope] async fn`.
    pub(crate) fn fail_on_drop(&mut self) {
        let progress = self.side.as_mut().and_then(|side| side.progress.take());
        keep_progress(&mut self.side, Progress::resume(progress, Outcome::Error));
        if let Some(side) = &mut self.side {
            side.cancelled = Some("#[exitstack::scope] async fn cancelled");
        }
    }
}

/// A stack of cleanups that may be awaited: Python's
/// `contextlib.AsyncExitStack`. Everything [`ExitStack`](crate::ExitStack)
/// has — synchronous entries included, in one LIFO order with the
/// asynchronous ones — plus asynchronous callbacks, asynchronous exit
/// callbacks that see the [`Outcome`], [`AsyncExitContext`]s, and
/// [`aclose`](AsyncExitStack::aclose).
///
/// Written [`AsyncExitStack`] (the marker [`Local`]) or
/// [`SendAsyncExitStack`] (the marker [`Sendable`]: `Send` entries and
/// futures, and the stack and its `aclose` future are `Send`): one type,
/// whose methods are documented here once.
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
///   entries it had not reached registered; a later `aclose()` resumes, and
///   reports what the interrupted one saw (errors, panic, outcome).
/// * **Dropped without `aclose()`**: the synchronous entries run, in order;
///   the asynchronous ones cannot be awaited by a destructor, so they are
///   dropped without running, each reported through the report hook
///   ([`crate::set_report_hook`]; by default a line on standard error in
///   debug builds). Never a block, never a hang. Close with
///   `aclose().await`, or use [`AsyncExitStack::scope`] — or give a
///   `SendAsyncExitStack<'static>` a spawner
///   ([`set_spawner`](AsyncStack::set_spawner)): it then hands its async
///   cleanups to it, and they run, on a `?`, a timeout, a `select!`, a
///   panic.
///
/// Each asynchronous entry makes its future when its turn comes; `aclose`
/// awaits it in place when it is small (at most eight words, aligned to at
/// most a word), else boxed; registration stores small closures in place,
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
pub struct AsyncStack<'a, M: Threading> {
    /// The entries, synchronous and asynchronous; its registration methods
    /// are forwarded.
    inner: Stack<'a, M>,
    /// What an `aclose` cut short had seen, and the spawner, if any.
    side: Option<Box<Side<'a, M>>>,
    marker: PhantomData<M>,
}

/// The synchronous half, as [`Stack`] has it (each method forwards to it):
/// in one LIFO order with the asynchronous entries.
impl<'a, M: Threading> AsyncStack<'a, M> {
    /// An empty stack. As [`Stack::new`].
    #[must_use]
    #[inline]
    pub fn new() -> Self {
        Self::from_raw(RawStack::new())
    }

    /// Registers `f` to run at exit, whatever the outcome. As
    /// [`Stack::callback`].
    #[inline]
    pub fn callback(&self, f: impl FnOnce() + EntryFor<M> + 'a) -> EntryKey {
        self.inner.callback(f)
    }

    /// Registers an exit callback that receives the [`Outcome`]. As
    /// [`Stack::push`].
    #[inline]
    pub fn push(&self, f: impl FnOnce(Outcome) + EntryFor<M> + 'a) -> EntryKey {
        self.inner.push(f)
    }

    /// Registers a fallible cleanup; its error is collected by
    /// [`aclose`](Self::aclose). As [`Stack::try_callback`].
    #[inline]
    pub fn try_callback<E: Into<BoxError>>(
        &self,
        f: impl FnOnce() -> Result<(), E> + EntryFor<M> + 'a,
    ) -> EntryKey {
        self.inner.try_callback(f)
    }

    /// Registers a fallible exit callback that receives the [`Outcome`]. As
    /// [`Stack::try_push`].
    #[inline]
    pub fn try_push<E: Into<BoxError>>(
        &self,
        f: impl FnOnce(Outcome) -> Result<(), E> + EntryFor<M> + 'a,
    ) -> EntryKey {
        self.inner.try_push(f)
    }

    /// Holds `value` until exit, then drops it. As [`Stack::enter_context`].
    #[allow(clippy::mut_from_ref, reason = "forwarded: see Stack::enter_context")]
    #[inline]
    pub fn enter_context<T: EntryFor<M> + 'a>(&self, value: T) -> &mut T {
        self.inner.enter_context(value)
    }

    /// Holds an [`ExitContext`] until exit, then calls its `exit`. As
    /// [`Stack::enter_exit_context`].
    #[allow(clippy::mut_from_ref, reason = "forwarded: see Stack::enter_context")]
    #[inline]
    pub fn enter_exit_context<C: ExitContext + EntryFor<M> + 'a>(&self, context: C) -> &mut C {
        self.inner.enter_exit_context(context)
    }

    /// Cancels one entry. As [`Stack::cancel`].
    ///
    /// # Errors
    ///
    /// As [`Stack::cancel`]: [`CancelError::NotPending`] or
    /// [`CancelError::ForeignKey`].
    #[inline]
    pub fn cancel(&self, key: &EntryKey) -> Result<(), CancelError> {
        self.inner.cancel(key)
    }

    /// Cancels every pending entry, synchronous and asynchronous. As
    /// [`Stack::cancel_all`].
    #[inline]
    pub fn cancel_all(&mut self) {
        self.inner.cancel_all();
    }

    /// Moves every pending entry, in order, into a new stack. As
    /// [`Stack::pop_all`]; what an interrupted `aclose` had seen stays
    /// with this stack, and a spawner is shared by both.
    #[must_use = "dropping the returned stack runs its synchronous cleanups at once and drops \
                  its asynchronous ones unrun; to skip them instead, call `cancel_all()`"]
    #[inline]
    pub fn pop_all(&mut self) -> Self {
        let mut popped = Self::from_raw(self.inner.raw.take_all());
        if let Some(to) = self.side.as_ref().and_then(|side| side.hand_off.clone()) {
            popped.side = Some(Box::new(Side {
                progress: None,
                hand_off: Some(to),
                cancelled: None,
            }));
        }
        popped
    }

    /// How many entries are pending. As [`Stack::len`].
    #[must_use]
    #[inline]
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether no entry is pending. As [`Stack::is_empty`].
    #[must_use]
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }
}

impl<M: Threading> Default for AsyncStack<'_, M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: Threading> core::fmt::Debug for AsyncStack<'_, M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let name = <M as crate::threading::sealed::Sealed>::ASYNC_NAME;
        let mut debug = f.debug_struct(name);
        debug.field("pending", &self.len());
        if self.has_spawner() {
            debug.field("spawner", &true);
        }
        debug.finish()
    }
}

/// The stack of cleanups that may be awaited, for entries that need not be
/// `Send`: an [`AsyncStack`] with the [`Local`] marker, where every method
/// is documented.
pub type AsyncExitStack<'a> = AsyncStack<'a, Local>;

/// An [`AsyncExitStack`] whose entries, and the futures they make, are all
/// `Send`: the stack is `Send`, and so are its `aclose` and
/// `enter_async_context` futures, as a multi-threaded runtime's `spawn`
/// requires (for `scope` in a spawned task, see
/// [`scope`](AsyncStack::scope)). An [`AsyncStack`] with the [`Sendable`]
/// marker, where every method is documented.
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
pub type SendAsyncExitStack<'a> = AsyncStack<'a, Sendable>;

// SAFETY: as for `Stack<'_, Sendable>`: every entry of an
// `AsyncStack<'_, Sendable>` was registered through methods that require it
// — and, for asynchronous entries, the closure and the future it makes, or
// the context and its futures — to be `EntryFor<Sendable>`, so `Send`;
// entries only move between `Sendable` stacks or into `Local` ones. The
// carried progress holds `Send` errors and panic payloads. The stack stays
// `!Sync`.
unsafe impl Send for AsyncStack<'_, Sendable> {}

impl<'a> From<SendAsyncExitStack<'a>> for AsyncExitStack<'a> {
    /// Forgets that the entries are `Send`; keys stay valid. A spawner
    /// stays behind (a local stack can never hand off): the new stack,
    /// dropped without `aclose`, drops its async cleanups unrun.
    ///
    /// ```
    /// let send = exitstack::SendAsyncExitStack::new();
    /// send.push_async_callback(async || ());
    /// let local: exitstack::AsyncExitStack<'_> = send.into();
    /// assert_eq!(local.len(), 1);
    /// # std::mem::forget(local);
    /// ```
    fn from(mut stack: SendAsyncExitStack<'a>) -> Self {
        AsyncStack {
            inner: Stack::from_raw(stack.inner.raw.take_all()),
            // The spawner stays behind: a local stack's entries need not
            // be `Send`, so they can never be handed off.
            side: stack
                .side
                .as_mut()
                .and_then(|side| side.progress.take())
                .map(|progress| {
                    Box::new(Side {
                        progress: Some(progress),
                        hand_off: None,
                        cancelled: None,
                    })
                }),
            marker: PhantomData,
        }
    }
}

impl<'a, M: Threading> From<Stack<'a, M>> for AsyncStack<'a, M> {
    /// Synchronous entries are valid entries of an asynchronous stack, in
    /// the same order, with the same marker; keys stay valid.
    ///
    /// ```
    /// let sync = exitstack::ExitStack::new();
    /// sync.callback(|| ());
    /// let stack: exitstack::AsyncExitStack<'_> = sync.into();
    /// assert_eq!(stack.len(), 1);
    ///
    /// let send = exitstack::SendExitStack::new();
    /// send.callback(|| ());
    /// let stack: exitstack::SendAsyncExitStack<'_> = send.into();
    /// assert_eq!(stack.len(), 1);
    /// ```
    fn from(mut stack: Stack<'a, M>) -> Self {
        AsyncStack::from_raw(stack.raw.take_all())
    }
}

impl<'a> From<crate::SendExitStack<'a>> for AsyncExitStack<'a> {
    /// A `Send` stack's entries, as entries of a local asynchronous one.
    ///
    /// ```
    /// let send = exitstack::SendExitStack::new();
    /// send.callback(|| ());
    /// let stack: exitstack::AsyncExitStack<'_> = send.into();
    /// assert_eq!(stack.len(), 1);
    /// ```
    fn from(mut stack: crate::SendExitStack<'a>) -> Self {
        AsyncStack::from_raw(stack.raw.take_all())
    }
}
