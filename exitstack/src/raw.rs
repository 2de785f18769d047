//! The untyped core shared by [`ExitStack`](crate::ExitStack) and
//! [`SendExitStack`](crate::SendExitStack): storage of type-erased entries,
//! cancel keys, and the LIFO run loop with the panic and error policies.
//!
//! # Storage
//!
//! An entry is a vtable pointer and three words of payload. A payload that
//! fits (at most three words, aligned to at most a word: most closures that
//! capture a few references) is stored in place; a larger one is boxed and
//! the slot holds the box. The first [`INLINE`] slots live inside the stack
//! value, so small stacks never allocate; after them come chunks that double
//! in size (8, 16, 32, ... slots) and never move, so a `&mut T` handed out by
//! `enter_context` stays valid while more entries are registered, and 1,000
//! entries take 7 chunk allocations.
//!
//! # Running
//!
//! The happy path is a plain loop of indirect calls, with no `catch_unwind`.
//! If an entry panics, a drop guard runs the remaining entries during the
//! unwinding, each under `catch_unwind` (their panics are discarded), and the
//! first panic keeps unwinding with its own payload: policy 3 at no cost
//! when nothing panics.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::{Cell, UnsafeCell};
use core::future::Future;
use core::marker::PhantomData;
use core::mem::{MaybeUninit, align_of, size_of};
use core::pin::Pin;
use core::ptr::NonNull;
use core::task::{Context, Poll};

use crate::Outcome;
use crate::error::{BoxError, CancelError, CleanupError};
use crate::unwind::PanicBaseline;

/// Slots stored inside the stack value itself.
pub(crate) const INLINE: usize = 8;
/// Payload words per slot.
const WORDS: usize = 3;

/// What an entry does when it runs. Implemented by the small wrappers in
/// `stack.rs` (callback, exit callback, fallible callback, contexts).
pub(crate) trait Run: Sized {
    /// Runs the entry. For an asynchronous entry this is what happens when
    /// it cannot be awaited (its stack dropped without `aclose`).
    fn run(self, outcome: Outcome) -> Result<(), BoxError>;

    /// Whether the entry is asynchronous: `aclose` starts it and awaits the
    /// future instead of running it.
    const ASYNC: bool = false;

    /// Starts an asynchronous entry. Called only when `ASYNC` is true.
    fn start(self, outcome: Outcome) -> ErasedFuture {
        let _ = (self, outcome);
        unreachable!("a synchronous entry is run, not started")
    }
}

#[cfg_attr(
    not(feature = "std"),
    allow(dead_code, reason = "only the asynchronous stacks (std) start entries")
)]
struct VTable {
    /// Moves the payload out of the slot and runs it; an error is pushed to
    /// the list (infallible entries compile to a plain call).
    run: unsafe fn(NonNull<u8>, Outcome, &mut Vec<BoxError>),
    /// Drops the payload in the slot without running it.
    drop: unsafe fn(NonNull<u8>),
    /// Moves the payload out and starts it: asynchronous entries only.
    start: Option<unsafe fn(NonNull<u8>, Outcome) -> ErasedFuture>,
}

/// Per-payload-type vtables; whether a `P` is stored in place or boxed is a
/// compile-time constant.
struct Erased<P>(PhantomData<P>);

impl<P: Run> Erased<P> {
    const FITS: bool =
        size_of::<P>() <= size_of::<[usize; WORDS]>() && align_of::<P>() <= align_of::<usize>();
    const VTABLE: &'static VTable = if Self::FITS {
        &VTable {
            run: run_inline::<P>,
            drop: drop_inline::<P>,
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
unsafe fn run_inline<P: Run>(data: NonNull<u8>, outcome: Outcome, errors: &mut Vec<BoxError>) {
    // SAFETY: the caller guarantees a live, initialised `P` at `data`, which
    // `push` aligned for `P` (`FITS` checks the alignment).
    let payload = unsafe { data.cast::<P>().read() };
    if let Err(error) = payload.run(outcome) {
        errors.push(error);
    }
}

/// # Safety
/// As for [`run_inline`].
unsafe fn drop_inline<P>(data: NonNull<u8>) {
    // SAFETY: the caller guarantees a live `P` at `data`, dropped once.
    unsafe { data.cast::<P>().drop_in_place() }
}

/// # Safety
/// `data` holds the pointer of a `Box<P>` leaked by `RawStack::push`; the box
/// is taken back, so the slot must not be used again.
unsafe fn run_boxed<P: Run>(data: NonNull<u8>, outcome: Outcome, errors: &mut Vec<BoxError>) {
    // SAFETY: the caller guarantees the slot holds a pointer from
    // `Box::leak`, not yet reclaimed.
    let payload = unsafe { Box::from_raw(data.cast::<*mut P>().read()) };
    if let Err(error) = (*payload).run(outcome) {
        errors.push(error);
    }
}

/// # Safety
/// As for [`run_boxed`].
unsafe fn drop_boxed<P>(data: NonNull<u8>) {
    // SAFETY: as in `run_boxed`.
    drop(unsafe { Box::from_raw(data.cast::<*mut P>().read()) });
}

/// # Safety
/// As for [`run_inline`].
unsafe fn start_inline<P: Run>(data: NonNull<u8>, outcome: Outcome) -> ErasedFuture {
    // SAFETY: as in `run_inline`.
    unsafe { data.cast::<P>().read() }.start(outcome)
}

/// # Safety
/// As for [`run_boxed`].
unsafe fn start_boxed<P: Run>(data: NonNull<u8>, outcome: Outcome) -> ErasedFuture {
    // SAFETY: as in `run_boxed`.
    let payload = unsafe { Box::from_raw(data.cast::<*mut P>().read()) };
    (*payload).start(outcome)
}

/// How an [`ErasedFuture`] polls the future it owns.
type PollFn = unsafe fn(NonNull<()>, &mut Context<'_>) -> Poll<Result<(), BoxError>>;

/// A boxed future with its type (and the lifetimes it borrows for) erased,
/// as an asynchronous entry's cleanup. Only the asynchronous stacks make and
/// await these, inside `aclose`, which borrows the stack for less than the
/// lifetime its entries may borrow for: the future never outlives what it
/// borrows.
#[cfg_attr(
    not(feature = "std"),
    allow(dead_code, reason = "only the asynchronous stacks (std) start entries")
)]
pub(crate) struct ErasedFuture {
    future: NonNull<()>,
    poll: PollFn,
    drop: unsafe fn(NonNull<()>),
}

#[cfg_attr(
    not(feature = "std"),
    allow(dead_code, reason = "only the asynchronous stacks (std) start entries")
)]
impl ErasedFuture {
    pub(crate) fn new<F: Future<Output = Result<(), BoxError>>>(future: F) -> Self {
        /// # Safety
        /// `future` is the live, pinned `F` this `ErasedFuture` owns.
        unsafe fn poll<F: Future<Output = Result<(), BoxError>>>(
            future: NonNull<()>,
            cx: &mut Context<'_>,
        ) -> Poll<Result<(), BoxError>> {
            // SAFETY: the box is never moved out of (it is freed in place),
            // so the `F` stays pinned; the `ErasedFuture` is polled through
            // `&mut`, so this borrow is unique.
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

/// An entry taken out of its stack by [`RawStack::take`]: its payload is
/// live, and must be run, started or dropped exactly once, before the next
/// registration on the stack (which may reuse the slot).
#[cfg_attr(
    not(feature = "std"),
    allow(dead_code, reason = "only the asynchronous stacks (std) start entries")
)]
pub(crate) struct Taken {
    vtable: &'static VTable,
    data: NonNull<u8>,
}

#[cfg_attr(
    not(feature = "std"),
    allow(dead_code, reason = "only the asynchronous stacks (std) start entries")
)]
impl Taken {
    /// Whether the entry is asynchronous (to be [started](Taken::start)).
    pub(crate) fn is_async(&self) -> bool {
        self.vtable.start.is_some()
    }

    /// Runs a synchronous entry (or an asynchronous one that cannot be
    /// awaited, which applies its dropped-stack policy).
    ///
    /// # Safety
    /// No registration on the stack since it was taken.
    pub(crate) unsafe fn run(self, outcome: Outcome, errors: &mut Vec<BoxError>) {
        // SAFETY: the payload is live and used once; its slot was not reused.
        unsafe { (self.vtable.run)(self.data, outcome, errors) }
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

/// One entry: `vtable` is `Some` exactly while the payload is live. Slots
/// at and above the stack's `len` are uninitialised memory; a slot is
/// written whole when an entry is pushed into it.
struct Slot {
    vtable: Cell<Option<&'static VTable>>,
    data: UnsafeCell<MaybeUninit<[usize; WORDS]>>,
}

impl Slot {
    #[inline]
    fn data(&self) -> NonNull<u8> {
        // SAFETY: `UnsafeCell::get` never returns null.
        unsafe { NonNull::new_unchecked(self.data.get().cast::<u8>()) }
    }

    /// Takes the entry out of the slot, if it is still pending.
    #[inline]
    fn take(&self) -> Option<(&'static VTable, NonNull<u8>)> {
        self.vtable.take().map(|vtable| (vtable, self.data()))
    }
}

/// Identifies one registered entry so that it can be
/// [cancelled](crate::ExitStack::cancel). Returned by every registration.
///
/// Keys stay valid for the stack their entries are on, also after those
/// entries were moved by [`pop_all`](crate::ExitStack::pop_all). A key whose
/// entry already ran or was cancelled is refused with
/// [`CancelError::NotPending`](crate::CancelError::NotPending) — never
/// confused with a newer entry that reuses its place.
///
/// ```
/// use exitstack::{CancelError, ExitStack};
///
/// let stack = ExitStack::new();
/// let key = stack.callback(|| unreachable!("cancelled"));
/// assert_eq!(stack.cancel(&key), Ok(()));
/// assert_eq!(stack.cancel(&key), Err(CancelError::NotPending));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntryKey {
    stack: u64,
    epoch: u64,
    index: usize,
}

/// Process-wide unique stack identities, so that a key from another stack is
/// recognised as such. Taken lazily, on a stack's first registration.
///
/// With `std`, each thread takes blocks of [`ID_BLOCK`] identities from the
/// global counter and hands them out from a thread-local one, so that a
/// stack's first registration costs no atomic read-modify-write (about a
/// third of the cost of a one-entry stack otherwise).
#[inline]
fn fresh_stack_id() -> u64 {
    #[cfg(feature = "std")]
    {
        std::thread_local! {
            /// The next identity of this thread's block, and the block's end.
            static BLOCK: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
        }
        if let Ok(id) = BLOCK.try_with(|block| {
            let (next, end) = block.get();
            let (id, end) = if next < end {
                (next, end)
            } else {
                take_block()
            };
            block.set((id + 1, end));
            id
        }) {
            return id;
        }
    }
    // No thread-local storage (no `std`, or a thread being torn down).
    take_ids(1)
}

/// Identities per thread-local block.
#[cfg(feature = "std")]
const ID_BLOCK: u64 = 1024;

/// A block of identities: its first one and its end.
#[cfg(feature = "std")]
#[cold]
fn take_block() -> (u64, u64) {
    let start = take_ids(ID_BLOCK);
    (start, start + ID_BLOCK)
}

/// Reserves `n` identities from the global counter; returns the first. Never
/// 0, which marks a stack without an identity yet.
fn take_ids(n: u64) -> u64 {
    #[cfg(target_has_atomic = "64")]
    {
        use core::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(1);
        NEXT.fetch_add(n, Ordering::Relaxed)
    }
    #[cfg(not(target_has_atomic = "64"))]
    {
        use core::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        #[allow(
            clippy::cast_possible_truncation,
            reason = "blocks are small; identities wrap only after usize::MAX stacks"
        )]
        let n = n as usize;
        NEXT.fetch_add(n, Ordering::Relaxed) as u64
    }
}

/// Where slot `index` lives: `None` for the inline slots, else the chunk and
/// the offset in it. Chunk `k` holds `INLINE << k` slots and starts at index
/// `INLINE << k`.
#[inline]
fn locate(index: usize) -> Option<(usize, usize)> {
    if index < INLINE {
        return None;
    }
    let chunk = (index / INLINE).ilog2() as usize;
    Some((chunk, index - (INLINE << chunk)))
}

/// The chunks after the inline slots. Freed on drop, also when the stack's
/// own `Drop` unwinds.
struct Chunks(UnsafeCell<Vec<NonNull<Slot>>>);

impl Chunks {
    /// The slot at `offset` of chunk `chunk`, allocating the chunk (which is
    /// always the next one) if needed.
    #[inline]
    fn get_or_alloc(&self, chunk: usize, offset: usize) -> NonNull<Slot> {
        // SAFETY: the stack is `!Sync`; the vector is only mutated in
        // `alloc` and `drop`, never while this shared borrow lives.
        let chunks = unsafe { &*self.0.get() };
        let base = match chunks.get(chunk) {
            Some(base) => *base,
            None => self.alloc(chunk),
        };
        // SAFETY: chunk `chunk` holds `INLINE << chunk` slots, and
        // `offset < INLINE << chunk` by `locate`.
        unsafe { base.add(offset) }
    }

    /// Allocates chunk `chunk`, which is always the next one: indices grow
    /// one at a time.
    #[cold]
    #[inline(never)]
    fn alloc(&self, chunk: usize) -> NonNull<Slot> {
        // SAFETY: the stack is `!Sync` and no other borrow of the vector is
        // live (`get_or_alloc` released its own); no user code runs while
        // this one lives (allocation aside), so it is unique.
        let chunks = unsafe { &mut *self.0.get() };
        debug_assert_eq!(chunk, chunks.len());
        let slots: Box<[MaybeUninit<Slot>]> = Box::new_uninit_slice(INLINE << chunk);
        let base = NonNull::from(Box::leak(slots)).cast::<Slot>();
        chunks.push(base);
        base
    }

    /// The first slot of chunk `chunk`, as the pointer its allocation gave.
    ///
    /// # Panics
    /// If the chunk does not exist (a bug: callers look up indices below
    /// `len`).
    #[inline]
    fn base(&self, chunk: usize) -> NonNull<Slot> {
        // SAFETY: as in `get_or_alloc`; a shared borrow of the vector.
        let chunks = unsafe { &*self.0.get() };
        chunks[chunk]
    }

    /// # Safety
    /// The slot must be initialised: below the stack's `len`.
    unsafe fn get(&self, chunk: usize, offset: usize) -> &Slot {
        // SAFETY: as in `get_or_alloc`; a shared borrow of the vector.
        let chunks = unsafe { &*self.0.get() };
        // SAFETY: the caller looks up an index below `len`, whose chunk was
        // allocated by `get_or_alloc` and whose slot was written by `push`.
        unsafe { chunks[chunk].add(offset).as_ref() }
    }

    fn take(&mut self) -> Chunks {
        Chunks(UnsafeCell::new(core::mem::take(self.0.get_mut())))
    }
}

impl Drop for Chunks {
    #[inline]
    fn drop(&mut self) {
        if self.0.get_mut().is_empty() {
            return;
        }
        self.free();
    }
}

impl Chunks {
    #[cold]
    fn free(&mut self) {
        for (chunk, slots) in self.0.get_mut().drain(..).enumerate() {
            let slice = core::ptr::slice_from_raw_parts_mut(
                slots.as_ptr().cast::<MaybeUninit<Slot>>(),
                INLINE << chunk,
            );
            // SAFETY: made by `Box::leak` of a `Box<[MaybeUninit<Slot>]>` of
            // exactly this length in `get_or_alloc`, freed once here. Every
            // entry was run or dropped by now, and `Slot` has no drop glue.
            drop(unsafe { Box::from_raw(slice) });
        }
    }
}

/// What to do with each entry while draining the stack.
#[derive(Clone, Copy)]
enum Action {
    Run(Outcome),
    Discard,
}

pub(crate) struct RawStack<'a> {
    /// The first slots; `0..min(len, INLINE)` are initialised.
    inline: UnsafeCell<[MaybeUninit<Slot>; INLINE]>,
    chunks: Chunks,
    /// Slots in use, pending or cancelled: entries are at `0..len`.
    len: Cell<usize>,
    /// Cancelled slots below `len` (pending entries: `len - cancelled`).
    cancelled: Cell<usize>,
    /// The chunk pushes last went to: its first slot, the index of that
    /// slot, and its size (0 when none is cached). Chunks never move or go
    /// away before the stack, so the pointer stays valid.
    tail: Cell<(*mut Slot, usize, usize)>,
    /// 0 until the first registration; then this stack's identity in keys.
    id: Cell<u64>,
    /// Bumped whenever the slots are emptied, so that keys of entries that
    /// ran are not confused with the new entries reusing their slots.
    epoch: Cell<u64>,
    baseline: PanicBaseline,
    /// Entries borrow for `'a`; registration through `&self` makes `'a`
    /// invariant (as in `Cell<&'a ()>`), so a stack can never be made to
    /// accept an entry that lives shorter than the stack's own type says.
    _entries: PhantomData<Cell<&'a ()>>,
}

impl<'a> RawStack<'a> {
    #[inline]
    pub(crate) fn new() -> Self {
        // Read first: a branch in the middle of the struct literal makes
        // LLVM build the stack in a temporary and copy all of it.
        let baseline = PanicBaseline::now();
        RawStack {
            inline: UnsafeCell::new([const { MaybeUninit::uninit() }; INLINE]),
            chunks: Chunks(UnsafeCell::new(Vec::new())),
            len: Cell::new(0),
            cancelled: Cell::new(0),
            tail: Cell::new((core::ptr::null_mut(), 0, 0)),
            id: Cell::new(0),
            epoch: Cell::new(0),
            baseline,
            _entries: PhantomData,
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len.get() - self.cancelled.get()
    }

    /// Where slot `index` is, initialised or not; allocates its chunk if
    /// needed.
    #[inline]
    fn slot_ptr(&self, index: usize) -> NonNull<Slot> {
        if index < INLINE {
            // SAFETY: `index < INLINE`, inside the array.
            return unsafe { self.inline_base().add(index) };
        }
        let (base, start, size) = self.tail.get();
        let offset = index.wrapping_sub(start);
        if offset < size {
            // SAFETY: the cached chunk holds `size` slots from `base`, and
            // `offset < size`.
            return unsafe { NonNull::new_unchecked(base.add(offset)) };
        }
        self.next_tail(index)
    }

    /// `slot_ptr` when `index` is outside the cached chunk: finds (or
    /// allocates) its chunk and caches it.
    #[cold]
    #[inline(never)]
    fn next_tail(&self, index: usize) -> NonNull<Slot> {
        let (chunk, offset) = locate(index).expect("inline indices are handled by slot_ptr");
        let slot = self.chunks.get_or_alloc(chunk, offset);
        // SAFETY: `offset` slots back is the chunk's first slot.
        let base = unsafe { slot.sub(offset) };
        self.tail
            .set((base.as_ptr(), index - offset, INLINE << chunk));
        slot
    }

    /// The first inline slot, with provenance over all of them.
    #[inline]
    fn inline_base(&self) -> NonNull<Slot> {
        // SAFETY: `UnsafeCell::get` is never null.
        unsafe { NonNull::new_unchecked(self.inline.get().cast::<Slot>()) }
    }

    /// The segment (the inline slots, or one chunk) that holds slot
    /// `index`: a pointer to its first slot, and that slot's index.
    ///
    /// # Panics
    /// If `index` is in a chunk not allocated yet (a bug: callers look up
    /// indices below `len`).
    #[inline]
    fn segment(&self, index: usize) -> (NonNull<Slot>, usize) {
        match locate(index) {
            None => (self.inline_base(), 0),
            // The chunk's own pointer (provenance over all its slots), not
            // one derived from a reference to a single slot.
            Some((chunk, offset)) => (self.chunks.base(chunk), index - offset),
        }
    }

    /// # Safety
    /// `index < len`: the slot was written by `push`.
    #[inline]
    unsafe fn slot(&self, index: usize) -> &Slot {
        match locate(index) {
            // SAFETY: below `len`, so initialised; only ever shared (its
            // fields are cells).
            None => unsafe { self.inline_base().add(index).as_ref() },
            // SAFETY: forwarded from the caller.
            Some((chunk, offset)) => unsafe { self.chunks.get(chunk, offset) },
        }
    }

    /// Stores `payload` as the newest entry. Returns its key, and where the
    /// payload lives (stable until the entry runs, is dropped, or the stack
    /// moves — which needs `&mut self` or ownership).
    #[inline]
    pub(crate) fn push<P: Run + 'a>(&self, payload: P) -> (EntryKey, NonNull<P>) {
        if self.id.get() == 0 {
            self.id.set(fresh_stack_id());
        }
        let index = self.len.get();
        let slot = self.slot_ptr(index);
        // SAFETY: the slot at `len` is unused memory that nothing points
        // into; it is written whole before anything reads it.
        unsafe {
            slot.write(Slot {
                vtable: Cell::new(Some(Erased::<P>::VTABLE)),
                data: UnsafeCell::new(MaybeUninit::uninit()),
            });
        }
        // SAFETY: just initialised.
        let data = unsafe { slot.as_ref() }.data();
        let at = if Erased::<P>::FITS {
            let at = data.cast::<P>();
            // SAFETY: the payload area is big and aligned enough for `P`
            // (`FITS`), and nothing else points into it.
            unsafe { at.write(payload) };
            at
        } else {
            let at = NonNull::from(Box::leak(Box::new(payload)));
            // SAFETY: as above; a pointer always fits in the payload area.
            unsafe { data.cast::<NonNull<P>>().write(at) };
            at
        };
        self.len.set(index + 1);
        let key = EntryKey {
            stack: self.id.get(),
            epoch: self.epoch.get(),
            index,
        };
        (key, at)
    }

    pub(crate) fn cancel(&self, key: &EntryKey) -> Result<(), CancelError> {
        if key.stack != self.id.get() {
            return Err(CancelError::ForeignKey);
        }
        if key.epoch != self.epoch.get() || key.index >= self.len.get() {
            return Err(CancelError::NotPending);
        }
        // SAFETY: `key.index < len`, checked above.
        let slot = unsafe { self.slot(key.index) };
        let (vtable, data) = slot.take().ok_or(CancelError::NotPending)?;
        self.cancelled.set(self.cancelled.get() + 1);
        // SAFETY: `take` emptied the slot, so this is the one time its live
        // payload is dropped. The captures' `Drop` may run any code, but no
        // borrow of the stack's internals is held across it.
        unsafe { (vtable.drop)(data) };
        Ok(())
    }

    /// Moves every entry, in order, into a new stack that keeps this one's
    /// identity (so outstanding keys follow their entries); this one starts
    /// over empty with a new identity.
    pub(crate) fn take_all(&mut self) -> Self {
        let mut moved = RawStack::new();
        let len = self.len.replace(0);
        // SAFETY: the first `min(len, INLINE)` slots are initialised; they
        // are moved bitwise (as every Rust value may be) into the new stack,
        // whose slots are unused, and this stack forgets them by its `len`
        // being 0 now.
        unsafe {
            core::ptr::copy_nonoverlapping(
                self.inline.get().cast::<Slot>(),
                moved.inline.get_mut().as_mut_ptr().cast::<Slot>(),
                len.min(INLINE),
            );
        }
        moved.chunks = self.chunks.take();
        moved
            .tail
            .set(self.tail.replace((core::ptr::null_mut(), 0, 0)));
        moved.len.set(len);
        moved.cancelled.set(self.cancelled.replace(0));
        moved.id.set(self.id.replace(0));
        moved.epoch.set(self.epoch.replace(0));
        moved
    }

    /// Empties the stack LIFO, doing `action` to each pending entry. If one
    /// panics, the rest are handled during the unwinding by [`Rest`] and the
    /// panic continues with its own payload.
    ///
    /// Walks one segment at a time by pointer. `len` is lowered before each
    /// entry is handled: that is what marks the entry taken, so an entry is
    /// never handled twice, also when it panics.
    #[inline]
    fn drain(&mut self, action: Action, errors: &mut Vec<BoxError>) {
        let rest = Rest {
            stack: self,
            action,
            errors,
        };
        let (stack, errors) = (&*rest.stack, &mut *rest.errors);
        while let Some(last) = stack.len.get().checked_sub(1) {
            let (base, start) = stack.segment(last);
            for index in (start..=last).rev() {
                stack.len.set(index);
                // SAFETY: `index` was below `len`, inside this segment, so
                // its slot is initialised.
                let slot = unsafe { base.add(index - start).as_ref() };
                match slot.vtable.get() {
                    // SAFETY: the slot's payload is live (vtable set) and,
                    // `len` being lowered, handled exactly once.
                    Some(vtable) => unsafe { handle(vtable, slot.data(), action, errors) },
                    None => stack.cancelled.set(stack.cancelled.get() - 1),
                }
            }
        }
        stack.epoch.set(stack.epoch.get().wrapping_add(1));
    }

    /// The newest pending entry, taken out of the stack: lowering `len`
    /// below its slot is what marks it taken. Cancelled slots on the way are
    /// released.
    #[inline]
    fn pop(&self) -> Option<(&'static VTable, NonNull<u8>)> {
        while let Some(index) = self.len.get().checked_sub(1) {
            self.len.set(index);
            // SAFETY: `index` was below `len`.
            let slot = unsafe { self.slot(index) };
            match slot.vtable.get() {
                Some(vtable) => return Some((vtable, slot.data())),
                None => self.cancelled.set(self.cancelled.get() - 1),
            }
        }
        None
    }

    /// The newest pending entry, taken out of the stack, for a caller that
    /// runs entries one at a time (`aclose`). Keys stay valid for the
    /// entries left, until [`RawStack::retire_keys`].
    #[inline]
    #[cfg(feature = "std")]
    pub(crate) fn take(&self) -> Option<Taken> {
        self.pop().map(|(vtable, data)| Taken { vtable, data })
    }

    /// After entries were taken one at a time: from now on, keys issued so
    /// far are refused (`NotPending`), so that none can match a new entry
    /// that reuses a slot of a taken one. Entries still pending stay
    /// registered and run as usual.
    #[cfg(feature = "std")]
    pub(crate) fn retire_keys(&self) {
        self.epoch.set(self.epoch.get().wrapping_add(1));
    }

    /// Runs every pending entry, last registered first, each exactly once.
    #[inline]
    pub(crate) fn run_all(&mut self, outcome: Outcome) -> Option<CleanupError> {
        let mut errors = Vec::new();
        self.drain(Action::Run(outcome), &mut errors);
        CleanupError::from_errors(errors)
    }

    /// Drops every pending entry without running it, last registered first.
    pub(crate) fn cancel_all(&mut self) {
        self.drain(Action::Discard, &mut Vec::new());
    }

    /// `close`: run everything; a panic resumes after all ran.
    #[inline]
    ///
    /// Called while the thread is already unwinding (from a destructor that
    /// runs during a panic), a panic escaping here would abort the process:
    /// then every entry runs under `catch_unwind`, their panics are
    /// discarded, and only the errors are returned.
    pub(crate) fn close_with(&mut self, outcome: Outcome) -> Result<(), CleanupError> {
        let errors = if crate::unwind::is_unwinding() {
            CleanupError::from_errors(self.drain_while_unwinding(Action::Run(outcome)))
        } else {
            self.run_all(outcome)
        };
        errors.map_or(Ok(()), Err)
    }
}

/// Runs or drops one payload taken out of the stack.
///
/// # Safety
/// `vtable` and `data` are a live entry's, and are used once.
#[inline]
unsafe fn handle(vtable: &VTable, data: NonNull<u8>, action: Action, errors: &mut Vec<BoxError>) {
    match action {
        // SAFETY: forwarded from the caller.
        Action::Run(outcome) => unsafe { (vtable.run)(data, outcome, errors) },
        // SAFETY: forwarded from the caller.
        Action::Discard => unsafe { (vtable.drop)(data) },
    }
}

/// Handles the entries left when one panicked: during the unwinding, each
/// under `catch_unwind` (a panic escaping here would abort). Entries that
/// still run see [`Outcome::Panic`]: the scope is now ending in one. The
/// errors collected so far have no caller to go to any more: they are
/// discarded here, safely, rather than dropped by the unwinding.
struct Rest<'s, 'a, 'e> {
    stack: &'s mut RawStack<'a>,
    action: Action,
    errors: &'e mut Vec<BoxError>,
}

impl Drop for Rest<'_, '_, '_> {
    #[inline]
    fn drop(&mut self) {
        if crate::unwind::is_unwinding() {
            let action = match self.action {
                Action::Run(_) => Action::Run(Outcome::Panic),
                Action::Discard => Action::Discard,
            };
            let mut errors = core::mem::take(self.errors);
            errors.extend(self.stack.drain_while_unwinding(action));
            discard_errors(errors, "a panic is unwinding");
        }
    }
}

impl RawStack<'_> {
    /// Empties the stack while the thread unwinds: nothing may escape, so
    /// every entry runs under `catch_unwind` and its panic is discarded.
    /// Returns the errors.
    /// The panics are discarded, so they do not change how the scope ends:
    /// the entries after one that panicked see the same outcome.
    fn drain_while_unwinding(&mut self, action: Action) -> Vec<BoxError> {
        let mut errors = Vec::new();
        while let Some((vtable, data)) = self.pop() {
            #[cfg(feature = "std")]
            {
                // SAFETY: `pop` took the entry: the payload runs or is
                // dropped exactly once.
                let each = || unsafe { handle(vtable, data, action, &mut errors) };
                if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(each)) {
                    crate::unwind::discard(payload);
                }
            }
            // Without `std` nothing can be caught: a second panic aborts,
            // as in any destructor.
            #[cfg(not(feature = "std"))]
            // SAFETY: as above.
            unsafe {
                handle(vtable, data, action, &mut errors);
            }
        }
        self.epoch.set(self.epoch.get().wrapping_add(1));
        errors
    }
}

impl Drop for RawStack<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.len.get() == 0 {
            return;
        }
        let outcome = self.baseline.outcome();
        if crate::unwind::is_unwinding() {
            // Policy 3: the panic already unwinding keeps going.
            let errors = self.drain_while_unwinding(Action::Run(outcome));
            discard_errors(errors, "a panic is unwinding");
        } else if let Some(errors) = self.run_all(outcome) {
            discard_errors(errors.into_errors(), "stack dropped without close()");
        }
    }
}

/// The policy for errors that have no caller to go to — those of a stack
/// dropped without `close()`, and those of entries that ran while a panic
/// unwound (the panic wins): they are dropped, and nothing panics. Debug
/// builds with `std` say so on standard error, with `why`, so that they do
/// not vanish unnoticed.
///
/// An error's `Display` or `Drop` is user code that may panic, and this
/// often runs while a panic unwinds, where a second one would abort: each
/// is called under `catch_unwind`, and such a panic is discarded.
fn discard_errors(errors: Vec<BoxError>, why: &str) {
    #[cfg(all(feature = "std", debug_assertions))]
    for error in &errors {
        use std::io::Write as _;
        let report = || {
            // A failed write to stderr is ignored: this must not panic.
            let _ = writeln!(
                std::io::stderr(),
                "exitstack: cleanup error discarded ({why}): {error}"
            );
        };
        if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(report)) {
            crate::unwind::discard(payload);
        }
    }
    #[cfg(not(all(feature = "std", debug_assertions)))]
    let _ = why;
    for error in errors {
        #[cfg(feature = "std")]
        if let Err(payload) =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(error)))
        {
            crate::unwind::discard(payload);
        }
        #[cfg(not(feature = "std"))]
        drop(error);
    }
}
