//! Where entries live: slots of a vtable pointer and three words of payload,
//! the first [`INLINE`] inside the stack value, then chunks that double in
//! size and never move.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::{Cell, UnsafeCell};
use core::mem::{ManuallyDrop, MaybeUninit};
use core::ptr::NonNull;

use super::RawStack;
use super::vtable::{CANCELLED, VTable};

/// Slots stored inside the stack value itself.
pub(crate) const INLINE: usize = 8;
/// Payload words per slot.
pub(super) const WORDS: usize = 3;

/// One entry: the payload is live exactly while `vtable` is not
/// [`CANCELLED`] (`vtable.cancelled` is false). Slots at and above the
/// stack's `len` are uninitialised memory; a slot is written whole when an
/// entry is pushed into it.
pub(super) struct Slot {
    pub(super) vtable: Cell<&'static VTable>,
    pub(super) data: UnsafeCell<MaybeUninit<[usize; WORDS]>>,
}

impl Slot {
    #[inline]
    pub(super) fn data(&self) -> NonNull<u8> {
        // SAFETY: `UnsafeCell::get` never returns null.
        unsafe { NonNull::new_unchecked(self.data.get().cast::<u8>()) }
    }

    /// Takes the entry out of the slot, if it is still pending: the slot
    /// is [`CANCELLED`] afterwards.
    #[inline]
    pub(super) fn take(&self) -> Option<(&'static VTable, NonNull<u8>)> {
        let vtable = self.vtable.replace(CANCELLED);
        (!vtable.cancelled).then(|| (vtable, self.data()))
    }

    /// The entry's vtable, if it is still pending.
    #[inline]
    pub(super) fn pending(&self) -> Option<&'static VTable> {
        let vtable = self.vtable.get();
        (!vtable.cancelled).then_some(vtable)
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

/// The chunks after the inline slots. Freed only when the stack itself is
/// (its `Drop` ran, or unwound): a chunk is never freed or moved while the
/// stack lives, so pointers into it stay valid however an emptying of the
/// stack ended. No drop glue of its own (the list is `ManuallyDrop`): the
/// stack's `Drop` frees the chunks, also when it unwinds, so that a stack
/// without chunks pays one test for them and nothing else.
pub(super) struct Chunks(UnsafeCell<ManuallyDrop<Vec<NonNull<Slot>>>>);

impl Chunks {
    pub(super) const fn new() -> Self {
        Chunks(UnsafeCell::new(ManuallyDrop::new(Vec::new())))
    }

    /// The slot at `offset` of chunk `chunk`, allocating the chunk (which is
    /// always the next one) if needed.
    #[inline]
    fn get_or_alloc(&self, chunk: usize, offset: usize) -> NonNull<Slot> {
        // SAFETY: the stack is `!Sync`; the vector is only mutated in
        // `alloc` (no user code runs there, allocation aside), `take` (with
        // `&mut self`) and `free` (the end of the stack's `Drop`), never
        // while this shared borrow lives.
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

    /// Hands the chunks to a new owner (`take_all`); this one has none.
    pub(super) fn take(&mut self) -> Chunks {
        let list: &mut Vec<NonNull<Slot>> = self.0.get_mut();
        Chunks(UnsafeCell::new(ManuallyDrop::new(core::mem::take(list))))
    }

    /// Whether anything is allocated (a chunk, or the list): whether
    /// [`Chunks::free`] has anything to do.
    #[inline]
    pub(super) fn allocated(&self) -> bool {
        // SAFETY: a shared borrow of the list, as in `get_or_alloc`.
        unsafe { &*self.0.get() }.capacity() != 0
    }
}

impl Chunks {
    /// Frees every chunk, and the list; the list is empty afterwards.
    ///
    /// # Safety
    /// Called once, when the stack goes away: after its `Drop` ran every
    /// entry, or while that `Drop` unwinds once the drain's guard handled
    /// every entry — so no payload is left in the memory freed here — and
    /// nothing uses a pointer into a chunk afterwards. No borrow of the
    /// list is live. (A stack that was leaked never frees its chunks.)
    #[cold]
    #[inline(never)]
    pub(super) unsafe fn free(&self) {
        // SAFETY: no other borrow of the list is live (the caller's
        // guarantee), and the stack is `!Sync`.
        let list: &mut Vec<NonNull<Slot>> = unsafe { &mut *self.0.get() };
        for (chunk, slots) in core::mem::take(list).into_iter().enumerate() {
            let slice = core::ptr::slice_from_raw_parts_mut(
                slots.as_ptr().cast::<MaybeUninit<Slot>>(),
                INLINE << chunk,
            );
            // SAFETY: made by `Box::leak` of a `Box<[MaybeUninit<Slot>]>` of
            // exactly this length in `alloc`, freed once here (the list is
            // emptied). `Slot` has no drop glue, and no pointer into the
            // chunk is used after (the caller's guarantee).
            drop(unsafe { Box::from_raw(slice) });
        }
    }
}

impl RawStack<'_> {
    /// Where slot `index` is, initialised or not; allocates its chunk if
    /// needed. `index` is `len` (a push).
    #[inline]
    pub(super) fn slot_ptr(&self, index: usize) -> NonNull<Slot> {
        let (origin, end) = self.tail.get();
        if index < end {
            // SAFETY: the cached chunk holds the slots from its first index
            // up to `end`, and `index` (`len`) is not below its first index
            // (the cache is reset before `len` is lowered), so `origin +
            // index` is inside that chunk, with its provenance; never null.
            return unsafe { NonNull::new_unchecked(origin.wrapping_add(index)) };
        }
        if index < INLINE {
            // SAFETY: `index < INLINE`, inside the array.
            return unsafe { self.inline_base().add(index) };
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
        // Where slot 0 would be; only ever offset back into the chunk.
        let origin = slot.as_ptr().wrapping_sub(index);
        self.tail.set((origin, index - offset + (INLINE << chunk)));
        slot
    }

    /// Forgets the cached chunk: called before `len` is lowered, which
    /// could take it below the chunk's first index.
    #[inline]
    pub(super) fn reset_tail(&self) {
        self.tail.set((core::ptr::null_mut(), 0));
    }

    /// The first inline slot, with provenance over all of them.
    #[inline]
    pub(super) fn inline_base(&self) -> NonNull<Slot> {
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
    pub(super) fn segment(&self, index: usize) -> (NonNull<Slot>, usize) {
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
    pub(super) unsafe fn slot(&self, index: usize) -> &Slot {
        let (base, start) = self.segment(index);
        // SAFETY: below `len`, so in an allocated segment and initialised;
        // only ever shared (its fields are cells).
        unsafe { base.add(index - start).as_ref() }
    }
}
