//! Cancel keys, and the two numbers that make a stale key harmless: a
//! process-wide unique identity per stack, and a per-stack epoch.
//!
//! # The invariant
//!
//! **A key that passes [`RawStack::cancel`]'s checks names the pending entry
//! it was issued for, and no other.** It rests on three facts, none of which
//! needs a destructor to run or a panic to be detected:
//!
//! 1. *Identities are unique.* A stack takes a fresh identity (never 0, never
//!    handed out twice: the counters below are 64-bit, or checked) when it
//!    is made. Only `take_all` (`pop_all`) moves an identity, to the stack
//!    that receives the entries, and it gives the giving stack a fresh one
//!    in the same step. So the stack a key's identity matches is the one
//!    that holds the entries of the stack that issued it.
//! 2. *The epoch is bumped before `len` is lowered.* Lowering `len` is the
//!    only way a slot becomes free for reuse, and every place that lowers it
//!    (`drain`, `pop`) calls [`RawStack::retire_keys`] first — the fast drop
//!    of a stack of inline slots (`drop_inline_slots`) bumps it itself,
//!    after the same check. The keys of the entries still pending are
//!    retired with the others: nothing that runs while a stack is being
//!    emptied can reach the stack to use them. `take_all` sets `len` (and
//!    the epoch) of the stack it empties back to 0 without retiring keys:
//!    it gives that stack a fresh identity in the same step, so by fact 1
//!    every key it issued is foreign to it.
//! 3. *The epoch never wraps* (64 bits, checked).
//!
//! So if a key's identity and epoch match, `len` has not been lowered since
//! the key was issued: its slot has not been written since, and holds its
//! entry, run by nothing (running takes an entry out by lowering `len`), or
//! emptied by `cancel`, which the slot's vtable records. Whatever stops half
//! way — a panic caught out of `close()`, an `aclose()` future leaked or
//! dropped part-way — stops after the epoch was bumped.

use super::RawStack;

/// Identifies one registered entry so that it can be
/// [cancelled](crate::ExitStack::cancel). Returned by every registration
/// that can be cancelled (values entered as contexts have none).
///
/// Keys stay valid for the stack their entries are on, also after those
/// entries were moved by [`pop_all`](crate::ExitStack::pop_all). A key is
/// refused with [`CancelError::NotPending`](crate::CancelError::NotPending)
/// once its entry ran or was cancelled, and once its stack started emptying
/// itself in any way (`close`, `cancel_all`, a drop, an `aclose` — also one
/// that was interrupted, leaked or unwound by a panic): a stale key is never
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
    pub(super) stack: u64,
    pub(super) epoch: u64,
    pub(super) index: usize,
}

impl RawStack<'_> {
    /// The key of the entry at `index`, just pushed.
    #[inline]
    pub(super) fn key(&self, index: usize) -> EntryKey {
        EntryKey {
            stack: self.id.get(),
            epoch: self.epoch.get(),
            index,
        }
    }

    /// From now on, every key issued so far is refused (`NotPending`). Must
    /// be called before `len` is lowered (fact 2 of the module docs).
    #[inline]
    pub(super) fn retire_keys(&self) {
        // 2^64 bumps cannot happen (one a nanosecond takes 584 years), but
        // a wrapped epoch would revive old keys: fail instead.
        let next = self.epoch.get().checked_add(1);
        self.epoch.set(next.unwrap_or_else(|| exhausted("epochs")));
    }
}

#[cold]
#[inline(never)]
fn exhausted(what: &str) -> ! {
    panic!("exitstack: {what} exhausted; a key could name another entry")
}

/// Process-wide unique stack identities, so that a key from another stack is
/// recognised as such. Taken when a stack is made (so that a registration
/// checks nothing for it), and by `take_all` for the stack it empties.
///
/// With `std`, each thread takes blocks of [`ID_BLOCK`] identities from the
/// global counter and hands them out from a thread-local one, so that
/// making a stack costs no atomic read-modify-write (about a third of the
/// cost of a one-entry stack otherwise).
#[inline]
pub(super) fn fresh_stack_id() -> u64 {
    #[cfg(feature = "std")]
    {
        use core::cell::Cell;
        /// The next identity of this thread's block, and the block's end
        /// (two cells: the usual case writes only the first).
        struct Block {
            next: Cell<u64>,
            end: Cell<u64>,
        }
        std::thread_local! {
            static BLOCK: Block = const {
                Block {
                    next: Cell::new(0),
                    end: Cell::new(0),
                }
            };
        }
        if let Ok(id) = BLOCK.try_with(|block| {
            let mut id = block.next.get();
            if id >= block.end.get() {
                let end;
                (id, end) = take_block();
                block.end.set(end);
            }
            block.next.set(id + 1);
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
/// 0, which marks a stack without an identity yet, and never one handed out
/// before: the counter is 64-bit wherever the target allows, and where it
/// cannot be (no 64-bit atomics, no `std`), a `usize` one that refuses to
/// wrap (it panics once `usize::MAX` identities were handed out).
fn take_ids(n: u64) -> u64 {
    #[cfg(target_has_atomic = "64")]
    {
        use core::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(1);
        // Wrapping would need 2^64 identities: at one a nanosecond, 584
        // years.
        NEXT.fetch_add(n, Ordering::Relaxed)
    }
    #[cfg(all(not(target_has_atomic = "64"), feature = "std"))]
    {
        // A 64-bit counter behind a lock: taken once per block of identities.
        static NEXT: std::sync::Mutex<u64> = std::sync::Mutex::new(1);
        let mut next = NEXT
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let first = *next;
        *next = first
            .checked_add(n)
            .unwrap_or_else(|| exhausted("stack identities"));
        first
    }
    #[cfg(all(not(target_has_atomic = "64"), not(feature = "std")))]
    {
        use core::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        let n = usize::try_from(n).unwrap_or_else(|_| exhausted("stack identities"));
        // A compare-and-swap loop, so that an exhausted counter stays
        // exhausted instead of wrapping for the next caller.
        let first = NEXT
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |next| {
                next.checked_add(n)
            })
            .unwrap_or_else(|_| exhausted("stack identities"));
        first as u64
    }
}
