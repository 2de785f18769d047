//! Type erasure: what an entry does ([`Run`]), the per-type vtables that do
//! it through a pointer to the slot, and (for the asynchronous stacks) the
//! erased futures that asynchronous entries start.

use alloc::boxed::Box;
use core::marker::PhantomData;
use core::mem::{align_of, size_of};
#[cfg(feature = "std")]
use core::pin::Pin;
use core::ptr::NonNull;

use super::slots::WORDS;
use crate::Outcome;
use crate::error::BoxError;

/// What an entry does when it runs. Implemented by the small wrappers in
/// `stack.rs` (callback, exit callback, fallible callback, contexts) and
/// `async_stack.rs`.
pub(crate) trait Run: Sized {
    /// Runs the entry. For an asynchronous entry this is what happens when
    /// it cannot be awaited (its stack dropped without `aclose`).
    fn run(self, outcome: Outcome) -> Result<(), BoxError>;

    /// Drops the entry without running it (`cancel`, `cancel_all`). The
    /// default drops it; an `ExitContext` is told it was cancelled.
    #[inline]
    fn discard(self) {}

    /// Whether the entry is asynchronous: `aclose` starts it and awaits the
    /// future instead of running it.
    #[cfg(feature = "std")]
    const ASYNC: bool = false;

    /// Starts an asynchronous entry: puts the future to await in `slot`
    /// (or nothing, if there is nothing to await). Called only when `ASYNC`
    /// is true.
    #[cfg(feature = "std")]
    fn start(self, outcome: Outcome, slot: Pin<&mut FutureSlot>) {
        let _ = (self, outcome, slot);
        unreachable!("a synchronous entry is run, not started")
    }
}

pub(super) struct VTable {
    /// Moves the payload out of the slot and runs it. Returns its error:
    /// two words in registers, so that an infallible entry compiles to a
    /// plain call that returns `Ok` and the caller pushes an error to a
    /// list only when there is one (out of line).
    pub(super) run: unsafe fn(NonNull<u8>, Outcome) -> Result<(), BoxError>,
    /// Moves the payload out of the slot and discards it without running
    /// it (`Run::discard`: dropped, or for a context, cancelled).
    pub(super) drop: unsafe fn(NonNull<u8>),
    /// Moves the payload out and starts it: asynchronous entries only.
    #[cfg(feature = "std")]
    pub(super) start: Option<StartFn>,
    /// Whether this is [`CANCELLED`], the vtable of a slot whose entry was
    /// cancelled (no payload left).
    pub(super) cancelled: bool,
}

/// The vtable of a cancelled slot: nothing to run or drop, so that the
/// drain loop calls it like any other instead of testing every slot.
pub(super) const CANCELLED: &VTable = &VTable {
    run: run_cancelled,
    drop: drop_cancelled,
    #[cfg(feature = "std")]
    start: None,
    cancelled: true,
};

/// # Safety
/// None needed: a cancelled slot holds nothing, and nothing is read.
#[allow(clippy::unnecessary_wraps, reason = "the type of `VTable::run`")]
unsafe fn run_cancelled(_: NonNull<u8>, _: Outcome) -> Result<(), BoxError> {
    Ok(())
}

/// # Safety
/// As for [`run_cancelled`].
unsafe fn drop_cancelled(_: NonNull<u8>) {}

/// How an asynchronous entry is started: its payload, the outcome, the
/// slot its future goes to.
#[cfg(feature = "std")]
type StartFn = unsafe fn(NonNull<u8>, Outcome, Pin<&mut FutureSlot>);

/// Per-payload-type vtables; whether a `P` is stored in place or boxed is a
/// compile-time constant.
pub(super) struct Erased<P>(PhantomData<P>);

impl<P: Run> Erased<P> {
    pub(super) const FITS: bool =
        size_of::<P>() <= size_of::<[usize; WORDS]>() && align_of::<P>() <= align_of::<usize>();
    pub(super) const VTABLE: &'static VTable = if Self::FITS {
        &VTable {
            run: run_inline::<P>,
            drop: drop_inline::<P>,
            #[cfg(feature = "std")]
            start: if P::ASYNC {
                Some(start_inline::<P>)
            } else {
                None
            },
            cancelled: false,
        }
    } else {
        &VTable {
            run: run_boxed::<P>,
            drop: drop_boxed::<P>,
            #[cfg(feature = "std")]
            start: if P::ASYNC {
                Some(start_boxed::<P>)
            } else {
                None
            },
            cancelled: false,
        }
    };
}

/// # Safety
/// `data` holds a live `P` written by `RawStack::push`; it is moved out, so
/// the slot must not be used again.
unsafe fn run_inline<P: Run>(data: NonNull<u8>, outcome: Outcome) -> Result<(), BoxError> {
    // SAFETY: the caller guarantees a live, initialised `P` at `data`, which
    // `push` aligned for `P` (`FITS` checks the alignment).
    unsafe { data.cast::<P>().read() }.run(outcome)
}

/// # Safety
/// As for [`run_inline`].
unsafe fn drop_inline<P: Run>(data: NonNull<u8>) {
    // SAFETY: the caller guarantees a live `P` at `data`, moved out once.
    unsafe { data.cast::<P>().read() }.discard();
}

/// # Safety
/// `data` holds the pointer of a `Box<P>` leaked by `RawStack::push`; the box
/// is taken back, so the slot must not be used again.
unsafe fn run_boxed<P: Run>(data: NonNull<u8>, outcome: Outcome) -> Result<(), BoxError> {
    // SAFETY: the caller guarantees the slot holds a pointer from
    // `Box::leak`, not yet reclaimed.
    let payload = unsafe { Box::from_raw(data.cast::<*mut P>().read()) };
    (*payload).run(outcome)
}

/// # Safety
/// As for [`run_boxed`].
unsafe fn drop_boxed<P: Run>(data: NonNull<u8>) {
    // SAFETY: as in `run_boxed`.
    let payload = unsafe { Box::from_raw(data.cast::<*mut P>().read()) };
    (*payload).discard();
}

#[cfg(feature = "std")]
pub(crate) use self::future::{FutureSlot, Taken};

#[cfg(feature = "std")]
use self::future::{start_boxed, start_inline};

/// What only the asynchronous stacks (`std`) need: entries taken out one at
/// a time and started as type-erased futures.
#[cfg(feature = "std")]
mod future {
    use alloc::boxed::Box;
    use core::future::Future;
    use core::marker::{PhantomData, PhantomPinned};
    use core::mem::{MaybeUninit, align_of, size_of};
    use core::pin::Pin;
    use core::ptr::NonNull;
    use core::task::{Context, Poll};

    use super::{Erased, Run, VTable};
    use crate::Outcome;
    use crate::error::BoxError;

    /// # Safety
    /// As for [`run_inline`](super::run_inline).
    pub(super) unsafe fn start_inline<P: Run>(
        data: NonNull<u8>,
        outcome: Outcome,
        slot: Pin<&mut FutureSlot>,
    ) {
        // SAFETY: as in `run_inline`.
        unsafe { data.cast::<P>().read() }.start(outcome, slot);
    }

    /// # Safety
    /// As for [`run_boxed`](super::run_boxed).
    pub(super) unsafe fn start_boxed<P: Run>(
        data: NonNull<u8>,
        outcome: Outcome,
        slot: Pin<&mut FutureSlot>,
    ) {
        // SAFETY: as in `run_boxed`.
        let payload = unsafe { Box::from_raw(data.cast::<*mut P>().read()) };
        (*payload).start(outcome, slot);
    }

    /// Words of a [`FutureSlot`]'s buffer: futures of at most this many
    /// words (64 bytes on 64-bit targets), aligned to at most a word, are
    /// polled in place; larger ones are boxed.
    pub(crate) const FUTURE_WORDS: usize = 8;

    /// How a [`FutureSlot`] polls the future it holds.
    type PollFn = unsafe fn(NonNull<u8>, &mut Context<'_>) -> Poll<Result<(), BoxError>>;

    /// What a [`FutureSlot`] does with the future it holds.
    struct FutureVTable {
        /// Polls the future at the pointer (pinned: never moved).
        poll: PollFn,
        /// Drops it (and frees its box, if it is boxed).
        drop: unsafe fn(NonNull<u8>),
    }

    /// Where `aclose` keeps the future of the asynchronous entry it awaits,
    /// with the future's type (and the lifetimes it borrows for) erased: in
    /// place when it is small (at most [`FUTURE_WORDS`] words, aligned to
    /// at most a word), else boxed — so that awaiting small futures
    /// allocates nothing. Only the asynchronous stacks fill and await one,
    /// inside `aclose`, which borrows the stack for less than the lifetime
    /// its entries may borrow for: the future never outlives what it
    /// borrows. Pinned for its whole life (it is `!Unpin`), so a future in
    /// place never moves; its `Drop` drops the future it holds. If the
    /// `aclose` future is leaked, so is the slot with it: nothing it
    /// borrows is freed by the leak.
    pub(crate) struct FutureSlot {
        /// The future, or (boxed) the pointer to it; initialised exactly
        /// while `vtable` is `Some`.
        buf: MaybeUninit<[usize; FUTURE_WORDS]>,
        vtable: Option<&'static FutureVTable>,
        /// Futures in place must not move; and the futures held need not be
        /// `Send` or `Sync`, so neither is the slot (the `Send` stacks
        /// assert `Send` for their `aclose` futures, see `AssertSend`).
        _pinned: PhantomData<(PhantomPinned, *mut ())>,
    }

    impl FutureSlot {
        pub(crate) const fn new() -> Self {
            FutureSlot {
                buf: MaybeUninit::uninit(),
                vtable: None,
                _pinned: PhantomData,
            }
        }

        /// The buffer, through a raw pointer: never a `&mut` to it, which
        /// (its type being `Unpin`) would claim it unique and invalidate the
        /// pointers a self-referential future in it holds into itself.
        fn buf(this: &mut Self) -> NonNull<u8> {
            // SAFETY: a pointer to a field is never null.
            unsafe { NonNull::new_unchecked((&raw mut this.buf).cast::<u8>()) }
        }

        /// Whether a future is held (to be awaited).
        pub(crate) fn is_set(&self) -> bool {
            self.vtable.is_some()
        }

        /// Holds `future`, dropping the one held before, if any.
        pub(crate) fn set<F: Future<Output = Result<(), BoxError>>>(
            mut self: Pin<&mut Self>,
            future: F,
        ) {
            self.as_mut().clear();
            // SAFETY: nothing is moved out of the slot; its buffer is only
            // written, and nothing is held (cleared above).
            let this = unsafe { self.get_unchecked_mut() };
            let at = Self::buf(this);
            if Erased::<F>::FUTURE_FITS {
                // SAFETY: the buffer is big and aligned enough for `F`
                // (`FUTURE_FITS`), and holds nothing.
                unsafe { at.cast::<F>().write(future) };
                this.vtable = Some(Erased::<F>::FUTURE_IN_PLACE);
            } else {
                let boxed = NonNull::from(Box::leak(Box::new(future)));
                // SAFETY: a pointer fits in the buffer, which holds nothing.
                unsafe { at.cast::<NonNull<F>>().write(boxed) };
                this.vtable = Some(Erased::<F>::FUTURE_BOXED);
            }
        }

        /// Drops the future held, if any. The slot is empty before the
        /// future's `Drop` runs, so a panic there leaves nothing to drop
        /// twice.
        pub(crate) fn clear(self: Pin<&mut Self>) {
            // SAFETY: the future is dropped in place (or its box freed),
            // never moved.
            let this = unsafe { self.get_unchecked_mut() };
            if let Some(vtable) = this.vtable.take() {
                // SAFETY: `vtable` was the live future's, set by `set`;
                // taking it out makes this the one drop.
                unsafe { (vtable.drop)(Self::buf(this)) }
            }
        }
    }

    impl Future for FutureSlot {
        type Output = Result<(), BoxError>;

        /// Polls the future held.
        ///
        /// # Panics
        /// If nothing is held (a bug: callers check [`FutureSlot::is_set`]).
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            // SAFETY: the future is polled where it is, never moved.
            let this = unsafe { self.get_unchecked_mut() };
            let vtable = this.vtable.expect("a future is held");
            // SAFETY: `vtable` is the held future's; the slot is pinned, so
            // a future in place stays where it was written, and a boxed one
            // is never moved out of its box.
            unsafe { (vtable.poll)(FutureSlot::buf(this), cx) }
        }
    }

    impl Drop for FutureSlot {
        fn drop(&mut self) {
            // SAFETY: a future is only ever put in a pinned slot (`set`
            // takes `Pin<&mut Self>`), so a slot that holds one is pinned,
            // and this is its drop: dropping the future in place is what
            // `Pin` requires before the memory goes away. A slot never
            // pinned holds nothing, and `clear` does nothing.
            unsafe { Pin::new_unchecked(self) }.clear();
        }
    }

    impl<F: Future<Output = Result<(), BoxError>>> Erased<F> {
        const FUTURE_FITS: bool = size_of::<F>() <= size_of::<[usize; FUTURE_WORDS]>()
            && align_of::<F>() <= align_of::<usize>();
        const FUTURE_IN_PLACE: &'static FutureVTable = &FutureVTable {
            poll: poll_in_place::<F>,
            drop: drop_in_place::<F>,
        };
        const FUTURE_BOXED: &'static FutureVTable = &FutureVTable {
            poll: poll_boxed::<F>,
            drop: drop_boxed::<F>,
        };
    }

    /// # Safety
    /// `at` holds a live `F`, pinned, polled through a unique borrow.
    unsafe fn poll_in_place<F: Future<Output = Result<(), BoxError>>>(
        at: NonNull<u8>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), BoxError>> {
        // SAFETY: the slot is pinned, so the `F` in it never moves; the
        // caller's borrow of the slot is unique.
        unsafe { Pin::new_unchecked(at.cast::<F>().as_mut()) }.poll(cx)
    }

    /// # Safety
    /// `at` holds a live `F`, dropped once here.
    unsafe fn drop_in_place<F>(at: NonNull<u8>) {
        // SAFETY: forwarded from the caller; dropped where it is.
        unsafe { at.cast::<F>().drop_in_place() }
    }

    /// # Safety
    /// `at` holds the pointer of a live, leaked `Box<F>`, polled through a
    /// unique borrow.
    unsafe fn poll_boxed<F: Future<Output = Result<(), BoxError>>>(
        at: NonNull<u8>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), BoxError>> {
        // SAFETY: the box is never moved out of (it is freed in place), so
        // the `F` stays pinned; the borrow is unique.
        unsafe { Pin::new_unchecked(at.cast::<NonNull<F>>().read().as_mut()) }.poll(cx)
    }

    /// # Safety
    /// `at` holds the pointer of a live, leaked `Box<F>`, freed once here.
    unsafe fn drop_boxed<F>(at: NonNull<u8>) {
        // SAFETY: made by `Box::leak` in `FutureSlot::set`, freed once.
        drop(unsafe { Box::from_raw(at.cast::<*mut F>().read()) });
    }

    /// An entry taken out of its stack by [`RawStack::take`]: its payload
    /// is live, and must be run, started or dropped exactly once, before the
    /// next registration on the stack (which may reuse the slot). Taking it
    /// retired every key of the stack, so no key can reach the slot.
    ///
    /// [`RawStack::take`]: super::super::RawStack::take
    pub(crate) struct Taken {
        pub(in crate::raw) vtable: &'static VTable,
        pub(in crate::raw) data: NonNull<u8>,
    }

    impl Taken {
        /// Whether the entry is asynchronous (to be [started](Taken::start)).
        pub(crate) fn is_async(&self) -> bool {
            self.vtable.start.is_some()
        }

        /// Runs a synchronous entry (or an asynchronous one that cannot be
        /// awaited, which applies its dropped-stack policy). Returns its
        /// error, if it failed.
        ///
        /// # Safety
        /// No registration on the stack since it was taken.
        pub(crate) unsafe fn run(self, outcome: Outcome) -> Result<(), BoxError> {
            // SAFETY: the payload is live and used once; its slot was not
            // reused.
            unsafe { (self.vtable.run)(self.data, outcome) }
        }

        /// Starts an asynchronous entry: its future (if it has one to
        /// await) goes to `slot`.
        ///
        /// # Safety
        /// As for [`Taken::run`], and the entry [is asynchronous](Taken::is_async).
        pub(crate) unsafe fn start(self, outcome: Outcome, slot: Pin<&mut FutureSlot>) {
            let start = self
                .vtable
                .start
                .expect("only asynchronous entries are started");
            // SAFETY: as in `run`.
            unsafe { start(self.data, outcome, slot) }
        }
    }
}
