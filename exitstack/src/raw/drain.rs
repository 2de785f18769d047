//! Emptying a stack: the LIFO run loop and its panic and error policies.
//!
//! The happy path is a plain loop of indirect calls, with no `catch_unwind`:
//! the panic state is read once, before it starts; the inline slots are run
//! by a loop over one array (the chunks, when there are any, by an
//! out-of-line loop before it); an entry's error comes back in registers
//! and only then goes, out of line, to the error list. If an entry panics,
//! a drop guard ([`Interrupted`]) handles the remaining entries during the
//! unwinding and the first panic keeps unwinding with its own payload:
//! policy 3 at no cost when nothing panics. The guard needs no panic
//! detection — the loop forgets it when it finishes, so a guard whose
//! `drop` runs at all means the loop was interrupted — which is what makes
//! the policy hold without `std` too. What runs while the thread is already
//! unwinding (every entry under `catch_unwind`) is out of line, as is every
//! path that reports errors.
//!
//! Every path retires the stack's keys before it lowers `len` (see
//! `keys.rs`), so however it ends — finished, unwound, caught — no key
//! reaches a slot it freed.

use alloc::vec::Vec;
use core::ptr::NonNull;

use super::RawStack;
use super::slots::{Chunks, INLINE, Slot};
use super::vtable::VTable;
use crate::Outcome;
use crate::error::{BoxError, CleanupError};

/// What to do with each entry while draining the stack, on the paths that
/// decide it at run time (those of the unwinding).
#[derive(Clone, Copy)]
enum Action {
    Run(Outcome),
    Discard,
}

impl Action {
    /// The action for the entries after one that failed (policy 8): a
    /// failed cleanup is an error for the ones after it.
    #[inline]
    fn after_failure(self) -> Action {
        match self {
            Action::Run(outcome) => Action::Run(after_failure(outcome)),
            Action::Discard => Action::Discard,
        }
    }

    /// The action for the entries after one that panicked (a panic is
    /// caught only with `std`).
    #[cfg(feature = "std")]
    #[inline]
    fn after_panic(self) -> Action {
        match self {
            Action::Run(_) => Action::Run(Outcome::Panic),
            Action::Discard => Action::Discard,
        }
    }
}

/// The outcome the entries after a failed one see (policy 8).
#[inline]
fn after_failure(outcome: Outcome) -> Outcome {
    match outcome {
        Outcome::Success => Outcome::Error,
        other => other,
    }
}

/// Runs or drops one payload taken out of the stack; its error, if it ran
/// and failed.
///
/// # Safety
/// `vtable` and `data` are a live entry's, and are used once.
#[inline]
unsafe fn handle(vtable: &VTable, data: NonNull<u8>, action: Action) -> Result<(), BoxError> {
    match action {
        // SAFETY: forwarded from the caller.
        Action::Run(outcome) => unsafe { (vtable.run)(data, outcome) },
        Action::Discard => {
            // SAFETY: forwarded from the caller.
            unsafe { (vtable.drop)(data) };
            Ok(())
        }
    }
}

/// The drop guard of the drain loop: handles the entries left when one
/// panicked, during the unwinding. Its `drop` runs only if the loop was
/// interrupted (the loop forgets it when it finishes). Entries that still
/// run see [`Outcome::Panic`]: the scope is now ending in one. The errors
/// collected so far (only once an entry failed: the list is made then, off
/// the happy path) have no caller to go to any more: they are discarded
/// here, safely, rather than dropped by the unwinding.
///
/// `DISCARD`: the entries are dropped without running (`cancel_all`); else
/// they run.
struct Interrupted<'s, 'a, const DISCARD: bool> {
    stack: &'s RawStack<'a>,
    errors: Vec<BoxError>,
}

impl<const DISCARD: bool> Drop for Interrupted<'_, '_, DISCARD> {
    #[cold]
    #[inline(never)]
    fn drop(&mut self) {
        let errors = core::mem::take(&mut self.errors);
        interrupted::<DISCARD>(self.stack, errors);
    }
}

/// The guard of the happy path: [`Interrupted`] before any error, so
/// without a list. It holds nothing but the stack, so arming it costs
/// nothing (the landing pad finds the pointer in a register).
struct Unwinding<'s, 'a, const DISCARD: bool> {
    stack: &'s RawStack<'a>,
}

impl<const DISCARD: bool> Drop for Unwinding<'_, '_, DISCARD> {
    #[inline]
    fn drop(&mut self) {
        interrupted_without_errors::<DISCARD>(self.stack);
    }
}

/// [`interrupted`] with no errors collected: one argument, so that the
/// landing pad of the happy path stays one call.
#[cold]
#[inline(never)]
fn interrupted_without_errors<const DISCARD: bool>(stack: &RawStack<'_>) {
    interrupted::<DISCARD>(stack, Vec::new());
}

/// What both guards do when the loop was interrupted by a panic: the
/// remaining entries are handled (see [`Interrupted`]), and the errors
/// collected so far discarded.
#[cold]
#[inline(never)]
fn interrupted<const DISCARD: bool>(stack: &RawStack<'_>, mut errors: Vec<BoxError>) {
    let action = if DISCARD {
        Action::Discard
    } else {
        Action::Run(Outcome::Panic)
    };
    errors.extend(stack.drain_while_unwinding(action));
    if !errors.is_empty() {
        discard_errors(errors, "a panic is unwinding");
    }
}

impl RawStack<'_> {
    /// Runs (or, `DISCARD`, drops) the entries LIFO with `outcome` until
    /// one fails: returns its error, the entries below it still pending.
    /// The chunks (if any) come first, then the inline slots. `len` is
    /// lowered before each entry is handled: that is what marks the entry
    /// taken, so an entry is never handled twice, also when it panics. The
    /// keys must have been retired, and a guard must be armed.
    #[inline]
    fn run_until_error<const DISCARD: bool>(&self, outcome: Outcome) -> Option<BoxError> {
        if self.len.get() > INLINE {
            if let Some(error) = self.run_chunks_until_error::<DISCARD>(outcome) {
                return Some(error);
            }
        }
        let base = self.inline_base();
        let mut index = self.len.get();
        while index != 0 {
            index -= 1;
            self.len.set(index);
            // SAFETY: `index` was below `len` and is below `INLINE` (the
            // chunks were emptied first), so its inline slot is
            // initialised.
            let slot = unsafe { base.add(index).as_ref() };
            if let Some(error) = Self::handle::<DISCARD>(slot, outcome) {
                return Some(error);
            }
        }
        None
    }

    /// The part of `run_until_error` above the inline slots, one chunk at
    /// a time by pointer, newest first; `len` is `INLINE` when it returns
    /// `None`.
    #[inline(never)]
    fn run_chunks_until_error<const DISCARD: bool>(&self, outcome: Outcome) -> Option<BoxError> {
        while self.len.get() > INLINE {
            let mut index = self.len.get();
            let (base, start) = self.segment(index - 1);
            while index > start {
                index -= 1;
                self.len.set(index);
                // SAFETY: `index` was below `len`, inside this segment
                // (`start..=last`), so its slot is initialised.
                let slot = unsafe { base.add(index - start).as_ref() };
                if let Some(error) = Self::handle::<DISCARD>(slot, outcome) {
                    return Some(error);
                }
            }
        }
        None
    }

    /// Handles the entry in `slot`, just taken (`len` lowered below it):
    /// its error, if it ran and failed. A cancelled slot is handled like
    /// the others, by its vtable ([`CANCELLED`](super::vtable::CANCELLED)),
    /// which does nothing; the loop does not count it (see `cancelled`).
    #[inline]
    fn handle<const DISCARD: bool>(slot: &Slot, outcome: Outcome) -> Option<BoxError> {
        let vtable = slot.vtable.get();
        if DISCARD {
            // SAFETY: the slot's vtable matches its payload (live, unless
            // the vtable is `CANCELLED`, which reads nothing) and, `len`
            // being lowered, the payload is handled exactly once.
            unsafe { (vtable.drop)(slot.data()) };
            None
        } else {
            // SAFETY: as above.
            unsafe { (vtable.run)(slot.data(), outcome) }.err()
        }
    }

    /// Empties the stack LIFO, running each pending entry with `outcome`
    /// (or, `DISCARD`, dropping it); returns the errors. If one panics, the
    /// rest are handled during the unwinding by [`Interrupted`] and the
    /// panic continues with its own payload. For a thread that is not
    /// unwinding. Nothing of the error list is touched unless an entry
    /// fails: that goes on out of line, in [`RawStack::drain_after_error`].
    #[inline]
    fn drain<const DISCARD: bool>(&self, outcome: Outcome) -> Result<(), Vec<BoxError>> {
        self.retire_keys();
        self.reset_tail();
        let guard = Unwinding::<DISCARD> { stack: self };
        let first = self.run_until_error::<DISCARD>(outcome);
        // Stopped without a panic: the guard has nothing to do (and its
        // empty list owns nothing).
        core::mem::forget(guard);
        match first {
            None => {
                // Empty: see `cancelled`.
                self.cancelled.set(0);
                Ok(())
            }
            Some(error) => Err(self.drain_after_error::<DISCARD>(error, outcome)),
        }
    }

    /// `drain` after an entry failed with `first`: the ones after it see
    /// `Error` (policy 8), and every error is kept, in order.
    #[cold]
    #[inline(never)]
    fn drain_after_error<const DISCARD: bool>(
        &self,
        first: BoxError,
        mut outcome: Outcome,
    ) -> Vec<BoxError> {
        let mut guard = Interrupted::<DISCARD> {
            stack: self,
            errors: alloc::vec![first],
        };
        loop {
            outcome = after_failure(outcome);
            match self.run_until_error::<DISCARD>(outcome) {
                Some(error) => guard.errors.push(error),
                None => break,
            }
        }
        // Empty: see `cancelled`.
        self.cancelled.set(0);
        let errors = core::mem::take(&mut guard.errors);
        // Finished: nothing is left for the guard.
        core::mem::forget(guard);
        errors
    }

    /// Empties the stack while the thread unwinds: nothing may escape, so
    /// with `std` every entry runs under `catch_unwind` and its panic is
    /// discarded. Returns the errors. The entries after one that panicked
    /// see [`Outcome::Panic`] (policy 3), after one that failed
    /// [`Outcome::Error`] (policy 8), as in [`RawStack::drain`].
    ///
    /// Without `std` nothing can be caught: a second panic aborts, as in any
    /// destructor (this runs only from [`Interrupted`]'s `drop` then).
    #[cold]
    #[inline(never)]
    fn drain_while_unwinding(&self, mut action: Action) -> Vec<BoxError> {
        let mut errors = Vec::new();
        while let Some((vtable, data)) = self.pop() {
            // SAFETY: `pop` took the entry: the payload runs or is dropped
            // exactly once.
            let each = || unsafe { handle(vtable, data, action) };
            #[cfg(feature = "std")]
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(each)) {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    errors.push(error);
                    action = action.after_failure();
                }
                Err(payload) => {
                    crate::unwind::discard(payload);
                    action = action.after_panic();
                }
            }
            #[cfg(not(feature = "std"))]
            if let Err(error) = each() {
                errors.push(error);
                action = action.after_failure();
            }
        }
        errors
    }

    /// The newest pending entry, taken out of the stack: lowering `len`
    /// below its slot is what marks it taken, after the keys were retired.
    /// Cancelled slots on the way are released.
    #[inline]
    fn pop(&self) -> Option<(&'static VTable, NonNull<u8>)> {
        self.retire_keys();
        self.reset_tail();
        while let Some(index) = self.len.get().checked_sub(1) {
            self.len.set(index);
            // SAFETY: `index` was below `len`.
            let slot = unsafe { self.slot(index) };
            match slot.pending() {
                Some(vtable) => return Some((vtable, slot.data())),
                None => self.cancelled.set(self.cancelled.get() - 1),
            }
        }
        // Empty: nothing is cancelled (whatever an interrupted bulk loop
        // left of the count).
        self.cancelled.set(0);
        None
    }

    /// The newest pending entry, taken out of the stack, for a caller that
    /// runs entries one at a time (`aclose`). Every key of the stack is
    /// retired first: entries left pending when such a caller stops (its
    /// future dropped or leaked part-way) stay registered and run as usual,
    /// but cannot be cancelled any more.
    #[inline]
    #[cfg(feature = "std")]
    pub(crate) fn take(&self) -> Option<super::vtable::Taken> {
        self.pop()
            .map(|(vtable, data)| super::vtable::Taken { vtable, data })
    }

    /// Runs every pending entry, last registered first, each exactly once.
    /// Entries after one that failed see [`Outcome::Error`], after one that
    /// panicked [`Outcome::Panic`].
    ///
    /// A panic resumes after all ran — unless the thread was already
    /// unwinding: then every entry's panic is discarded and only the errors
    /// are returned (a second panic out of a destructor would abort).
    #[inline]
    pub(crate) fn close_with(&mut self, outcome: Outcome) -> Result<(), CleanupError> {
        if crate::unwind::is_unwinding() {
            return self.close_while_unwinding(outcome);
        }
        self.drain::<false>(outcome).map_err(failed)
    }

    /// `close_with` called from a destructor while a panic unwinds.
    #[cold]
    #[inline(never)]
    fn close_while_unwinding(&mut self, outcome: Outcome) -> Result<(), CleanupError> {
        CleanupError::from_errors(self.drain_while_unwinding(Action::Run(outcome)))
            .map_or(Ok(()), Err)
    }

    /// Drops every pending entry without running it, last registered first.
    /// A panicking `Drop` resumes after all were dropped — or is discarded
    /// if the thread was already unwinding.
    pub(crate) fn cancel_all(&mut self) {
        if crate::unwind::is_unwinding() {
            let errors = self.drain_while_unwinding(Action::Discard);
            debug_assert!(errors.is_empty(), "dropping an entry reports no error");
        } else {
            let drained = self.drain::<true>(Outcome::Success);
            debug_assert!(drained.is_ok(), "dropping an entry reports no error");
        }
    }

    /// The entries of a stack being dropped with some pending: run with
    /// `Success` — or, while a panic unwinds, with the outcome of the
    /// stack's baseline, out of line (policy 3: the unwinding panic keeps
    /// going).
    #[inline]
    fn drop_entries(&self) {
        if crate::unwind::is_unwinding() {
            return self.drop_while_unwinding();
        }
        // Not unwinding: the baseline's outcome is `Success`.
        if let Err(errors) = self.drain::<false>(Outcome::Success) {
            dropped_with_errors(errors);
        }
    }

    #[cold]
    #[inline(never)]
    fn drop_while_unwinding(&self) {
        let outcome = self.baseline.outcome();
        let errors = self.drain_while_unwinding(Action::Run(outcome));
        if !errors.is_empty() {
            discard_errors(errors, "a panic is unwinding");
        }
    }
}

/// The errors of a stack dropped without `close()`: nowhere to go.
#[cold]
#[inline(never)]
fn dropped_with_errors(errors: Vec<BoxError>) {
    discard_errors(errors, "stack dropped without close()");
}

/// The errors of a `close` in which entries failed, as its error.
#[cold]
#[inline(never)]
fn failed(errors: Vec<BoxError>) -> CleanupError {
    CleanupError::from_errors(errors).expect("called with errors")
}

impl Drop for RawStack<'_> {
    /// A stack of inline slots only, dropped by a thread that is not
    /// unwinding, is emptied by the short loop here; anything else goes out
    /// of line. (Still too large for LLVM to inline the drop glue into the
    /// caller: that call remains.)
    #[inline]
    fn drop(&mut self) {
        let len = self.len.get();
        if len.wrapping_sub(1) < INLINE
            && !self.chunks.allocated()
            && self.epoch.get() != u64::MAX
            && !crate::unwind::is_unwinding()
        {
            self.drop_inline_slots(len);
        } else if len != 0 || self.chunks.allocated() {
            self.drop_slow();
        }
    }
}

impl RawStack<'_> {
    /// The happy path of `Drop`: `len` (`1..=INLINE`) entries, all in the
    /// inline slots, no chunks, an epoch that can still be bumped, and a
    /// thread that is not unwinding (so the outcome is `Success`). What
    /// [`RawStack::drain`] does, without what these rule out.
    #[inline]
    fn drop_inline_slots(&mut self, len: usize) {
        // `retire_keys`, whose check the caller made: below `u64::MAX`.
        self.epoch.set(self.epoch.get() + 1);
        let guard = Unwinding::<false> { stack: self };
        let base = self.inline_base();
        let mut index = len;
        loop {
            index -= 1;
            self.len.set(index);
            // SAFETY: `index` was below `len`, which is at most `INLINE`,
            // so its inline slot is initialised.
            let slot = unsafe { base.add(index).as_ref() };
            // SAFETY: as in `handle`.
            let result = unsafe { (slot.vtable.get().run)(slot.data(), Outcome::Success) };
            if let Err(error) = result {
                core::mem::forget(guard);
                return self.drop_after_error(error);
            }
            if index == 0 {
                break;
            }
        }
        // Finished: nothing is left for the guard.
        core::mem::forget(guard);
    }

    /// `drop_inline_slots` after an entry failed: the rest run, and the
    /// errors are discarded (a dropped stack has nowhere to return them).
    #[cold]
    #[inline(never)]
    fn drop_after_error(&mut self, first: BoxError) {
        dropped_with_errors(self.drain_after_error::<false>(first, Outcome::Success));
    }

    /// The `Drop` of a stack off the happy path: chunks, more entries than
    /// inline slots, a thread that is unwinding, an epoch at its end.
    #[cold]
    #[inline(never)]
    fn drop_slow(&mut self) {
        /// Frees the chunks when the `Drop` ends, also by unwinding (an
        /// entry's panic, after the drain's guard handled every other
        /// entry; an error's `Drop` panicking without `std`).
        struct FreeChunks<'s>(&'s Chunks);
        impl Drop for FreeChunks<'_> {
            fn drop(&mut self) {
                if self.0.allocated() {
                    // SAFETY: the stack goes away (this is the end of its
                    // `Drop`), and every entry was handled before: run by
                    // the drain, or by its guard if an entry panicked (a
                    // panic escaping that guard would be a second one in a
                    // destructor: an abort) — except when retiring the keys
                    // panicked first (an epoch exhausted after 2^64
                    // closes): then no entry ran, and the ones in the chunks
                    // are leaked with them, never run nor dropped, which is
                    // safe. Either way no borrow of the list or of a slot
                    // is live, and nothing reaches them after (the stack
                    // has no other drop glue).
                    unsafe { self.0.free() };
                }
            }
        }
        let _free = FreeChunks(&self.chunks);
        if self.len.get() != 0 {
            self.drop_entries();
        }
    }
}

/// The policy for errors that have no caller to go to — those of a stack
/// dropped without `close()`, and those of entries that ran while a panic
/// unwound (the panic wins): each goes to the report hook (`report.rs`: by
/// default a line on standard error in debug builds), with `why`, so that
/// none vanishes unnoticed; then they are dropped, and nothing panics.
///
/// An error's `Display` or `Drop` is user code that may panic, and this
/// often runs while a panic unwinds, where a second one would abort: the
/// hook and each drop are called under `catch_unwind`, and such a panic is
/// discarded.
#[cold]
pub(crate) fn discard_errors(errors: Vec<BoxError>, why: &'static str) {
    // Without `std` there is no hook to report to.
    #[cfg(feature = "std")]
    crate::report::discarded(&errors, why);
    #[cfg(not(feature = "std"))]
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
