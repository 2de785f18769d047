//! Type erasure: what an entry does ([`Run`]), the per-type vtables that do
//! it through a pointer to the slot, and (for the asynchronous stacks) the
//! erased futures that asynchronous entries start.

use alloc::boxed::Box;
use core::marker::PhantomData;
use core::mem::{align_of, size_of};
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

    /// Starts an asynchronous entry. Called only when `ASYNC` is true.
    #[cfg(feature = "std")]
    fn start(self, outcome: Outcome) -> ErasedFuture {
        let _ = (self, outcome);
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
    pub(super) start: Option<unsafe fn(NonNull<u8>, Outcome) -> ErasedFuture>,
}

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
pub(crate) use self::future::{ErasedFuture, Taken};

#[cfg(feature = "std")]
use self::future::{start_boxed, start_inline};

/// What only the asynchronous stacks (`std`) need: entries taken out one at
/// a time and started as type-erased futures.
#[cfg(feature = "std")]
mod future {
    use alloc::boxed::Box;
    use core::future::Future;
    use core::pin::Pin;
    use core::ptr::NonNull;
    use core::task::{Context, Poll};

    use super::{Run, VTable};
    use crate::Outcome;
    use crate::error::BoxError;

    /// # Safety
    /// As for [`run_inline`](super::run_inline).
    pub(super) unsafe fn start_inline<P: Run>(data: NonNull<u8>, outcome: Outcome) -> ErasedFuture {
        // SAFETY: as in `run_inline`.
        unsafe { data.cast::<P>().read() }.start(outcome)
    }

    /// # Safety
    /// As for [`run_boxed`](super::run_boxed).
    pub(super) unsafe fn start_boxed<P: Run>(data: NonNull<u8>, outcome: Outcome) -> ErasedFuture {
        // SAFETY: as in `run_boxed`.
        let payload = unsafe { Box::from_raw(data.cast::<*mut P>().read()) };
        (*payload).start(outcome)
    }

    /// How an [`ErasedFuture`] polls the future it owns.
    type PollFn = unsafe fn(NonNull<()>, &mut Context<'_>) -> Poll<Result<(), BoxError>>;

    /// A boxed future with its type (and the lifetimes it borrows for)
    /// erased, as an asynchronous entry's cleanup. Only the asynchronous
    /// stacks make and await these, inside `aclose`, which borrows the stack
    /// for less than the lifetime its entries may borrow for: the future
    /// never outlives what it borrows. If the `aclose` future is leaked, so
    /// is this one: nothing it borrows is freed by the leak.
    pub(crate) struct ErasedFuture {
        future: NonNull<()>,
        poll: PollFn,
        drop: unsafe fn(NonNull<()>),
    }

    impl ErasedFuture {
        pub(crate) fn new<F: Future<Output = Result<(), BoxError>>>(future: F) -> Self {
            /// # Safety
            /// `future` is the live, pinned `F` this `ErasedFuture` owns.
            unsafe fn poll<F: Future<Output = Result<(), BoxError>>>(
                future: NonNull<()>,
                cx: &mut Context<'_>,
            ) -> Poll<Result<(), BoxError>> {
                // SAFETY: the box is never moved out of (it is freed in
                // place), so the `F` stays pinned; the `ErasedFuture` is
                // polled through `&mut`, so this borrow is unique.
                unsafe { Pin::new_unchecked(future.cast::<F>().as_mut()) }.poll(cx)
            }
            /// # Safety
            /// As for `poll`; called once, from `Drop`.
            unsafe fn drop<F>(future: NonNull<()>) {
                // SAFETY: made by `Box::leak` in `new`, freed once.
                core::mem::drop(unsafe { Box::from_raw(future.cast::<F>().as_ptr()) });
            }
            ErasedFuture {
                future: NonNull::from(Box::leak(Box::new(future))).cast(),
                poll: poll::<F>,
                drop: drop::<F>,
            }
        }
    }

    impl Future for ErasedFuture {
        type Output = Result<(), BoxError>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            // SAFETY: `future` is the live `F` that `poll` was made for.
            unsafe { (self.poll)(self.future, cx) }
        }
    }

    impl Drop for ErasedFuture {
        fn drop(&mut self) {
            // SAFETY: the live `F` that `drop` was made for, dropped once.
            unsafe { (self.drop)(self.future) }
        }
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

        /// Starts an asynchronous entry.
        ///
        /// # Safety
        /// As for [`Taken::run`], and the entry [is asynchronous](Taken::is_async).
        pub(crate) unsafe fn start(self, outcome: Outcome) -> ErasedFuture {
            let start = self
                .vtable
                .start
                .expect("only asynchronous entries are started");
            // SAFETY: as in `run`.
            unsafe { start(self.data, outcome) }
        }
    }
}
