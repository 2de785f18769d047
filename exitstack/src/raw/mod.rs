//! The untyped core shared by every stack type: type-erased entries in
//! slots, cancel keys, and the LIFO run loop with the panic and error
//! policies. One idea a file:
//!
//! * `slots.rs` — storage. An entry is a vtable pointer and three words of
//!   payload. A payload that fits (at most three words, aligned to at most a
//!   word: most closures that capture a few references) is stored in place;
//!   a larger one is boxed and the slot holds the box. The first
//!   [`INLINE`](slots::INLINE) slots live inside the stack value, so small
//!   stacks never allocate; after them come chunks that double in size (8,
//!   16, 32, ... slots) and never move, so a `&mut T` handed out by
//!   `enter_context` stays valid while more entries are registered, and
//!   1,000 entries take 7 chunk allocations.
//! * `vtable.rs` — type erasure: what an entry does, and (with `std`) the
//!   slot where `aclose` keeps the erased future of an asynchronous entry
//!   (in place when small).
//! * `keys.rs` — cancel keys, stack identities and epochs, and the
//!   invariant that no key can ever name another entry.
//! * `drain.rs` — emptying the stack: the run loop, its drop guard, and the
//!   panic and error policies.

mod drain;
mod keys;
mod slots;
mod vtable;

use alloc::boxed::Box;
use core::cell::{Cell, UnsafeCell};
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::NonNull;

#[cfg(feature = "std")]
pub(crate) use self::drain::discard_errors;
pub use self::keys::EntryKey;
use self::slots::{Chunks, INLINE, Slot};
use self::vtable::Erased;
#[cfg(feature = "std")]
pub(crate) use self::vtable::FutureSlot;
pub(crate) use self::vtable::Run;
use crate::error::CancelError;
use crate::unwind::PanicBaseline;

pub(crate) struct RawStack<'a> {
    /// The first slots; `0..min(len, INLINE)` are initialised.
    inline: UnsafeCell<[MaybeUninit<Slot>; INLINE]>,
    chunks: Chunks,
    /// Slots in use, pending or cancelled: entries are at `0..len`. Lowered
    /// only after the epoch was bumped ([`RawStack::retire_keys`]), or, by
    /// `take_all`, together with a fresh identity (see `keys.rs`, fact 2).
    len: Cell<usize>,
    /// Cancelled slots below `len` (pending entries: `len - cancelled`).
    /// The drain loops (`close`, `cancel_all`, a drop) call a cancelled
    /// slot's vtable like any other instead of counting it, and set this
    /// to 0 when the stack is empty; only they, which hold the stack
    /// exclusively, see it in between, and `pop` (which the loops hand
    /// over to if they are interrupted) only ever lowers it towards the
    /// true count before it settles it at 0 too.
    cancelled: Cell<usize>,
    /// The chunk pushes go to, while `len` is inside it: where slot 0 would
    /// be if that chunk started at index 0 (a wrapping pointer with the
    /// chunk's provenance), and the index after its last slot; `(null, 0)`
    /// when none is cached. Reset before `len` is lowered, so that `len`
    /// is never below the cached chunk's first index: `len < end` is then
    /// all a push checks. Chunks never move or go away before the stack,
    /// so the pointer stays valid.
    tail: Cell<(*mut Slot, usize)>,
    /// This stack's identity in keys, unique in the process (`keys.rs`).
    id: Cell<u64>,
    /// Bumped before any slot is freed for reuse, so that keys issued
    /// before are refused (see `keys.rs`).
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
        Self::with_identity(keys::fresh_stack_id())
    }

    /// An empty stack with the identity `id`, which no other stack has.
    #[inline]
    fn with_identity(id: u64) -> Self {
        // Read first: a branch in the middle of the struct literal makes
        // LLVM build the stack in a temporary and copy all of it.
        let baseline = PanicBaseline::now();
        RawStack {
            inline: UnsafeCell::new([const { MaybeUninit::uninit() }; INLINE]),
            chunks: Chunks::new(),
            len: Cell::new(0),
            cancelled: Cell::new(0),
            tail: Cell::new((core::ptr::null_mut(), 0)),
            id: Cell::new(id),
            epoch: Cell::new(0),
            baseline,
            _entries: PhantomData,
        }
    }

    /// The outcome a drop of the stack reports now: `Panic` if a panic
    /// that started after it was made unwinds, else `Success`.
    #[cfg(feature = "std")]
    pub(crate) fn drop_outcome(&self) -> crate::Outcome {
        self.baseline.outcome()
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len.get() - self.cancelled.get()
    }

    /// Stores `payload` as the newest entry. Returns its key, and where the
    /// payload lives: stable until the entry runs, is dropped, or the stack
    /// moves (which needs `&mut self` or ownership; inline payloads move
    /// with the stack, and with `take_all`).
    #[inline]
    pub(crate) fn push<P: Run + 'a>(&self, payload: P) -> (EntryKey, NonNull<P>) {
        let index = self.len.get();
        let key = self.key(index);
        let slot = self.slot_ptr(index);
        // SAFETY: the slot at `len` is unused memory: no pending entry is
        // there, and no key that passes `cancel`'s checks names it (a key
        // for `index` issued before was retired when `len` was lowered
        // below it). It is written whole before anything reads it.
        unsafe {
            slot.write(Slot {
                vtable: Cell::new(Erased::<P>::VTABLE),
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
        (key, at)
    }

    /// Drops the entry `key` names, if it is still pending.
    ///
    /// Sound because a key that passes these checks names the pending
    /// entry it was issued for (the invariant of `keys.rs`), and no live
    /// reference points into such an entry: the only references the stack
    /// hands out into payloads are those of contexts (`enter_context`,
    /// `enter_exit_context`, `enter_async_context`), which get no key.
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
        // The captures' `Drop` may run any code; the slot is already empty,
        // and no borrow of the stack's internals is held across it. Called
        // from a destructor while the thread unwinds, a panic from it is
        // discarded (escaping there would abort the process).
        crate::unwind::run_in_drop(|| {
            // SAFETY: `take` emptied the slot, so this is the one time its
            // live payload is dropped.
            unsafe { (vtable.drop)(data) }
        });
        Ok(())
    }

    /// Moves every entry, in order, into a new stack that keeps this one's
    /// identity and epoch (so outstanding keys follow their entries); this
    /// one starts over empty, with a fresh identity (so old keys are
    /// foreign to it).
    pub(crate) fn take_all(&mut self) -> Self {
        let mut moved = RawStack::with_identity(self.id.replace(keys::fresh_stack_id()));
        let len = self.len.replace(0);
        // SAFETY: the first `min(len, INLINE)` slots are initialised; they
        // are moved bitwise (as every Rust value may be) into the new stack,
        // whose slots are unused, and this stack forgets them by its `len`
        // being 0 now. No reference into them is live: `&mut self`.
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
            .set(self.tail.replace((core::ptr::null_mut(), 0)));
        moved.len.set(len);
        moved.cancelled.set(self.cancelled.replace(0));
        moved.epoch.set(self.epoch.replace(0));
        moved
    }
}
