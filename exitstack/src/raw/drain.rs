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
use super::slots::{INLINE, Slot};
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

/// The drain loop's state, and its drop guard: handles the entries left
/// when one panicked, during the unwinding. Its `drop` runs only if the loop
/// was interrupted (the loop forgets it when it finishes). Entries that
/// still run see [`Outcome::Panic`]: the scope is now ending in one. The
/// errors collected so far have no caller to go to any more: they are
/// discarded here, safely, rather than dropped by the unwinding.
///
/// `DISCARD`: the entries are dropped without running (`cancel_all`), and
/// `outcome` is unused; else they run with `outcome`.
struct Interrupted<'s, 'a, const DISCARD: bool> {
    stack: &'s RawStack<'a>,
    outcome: Outcome,
    errors: Vec<BoxError>,
}

impl<const DISCARD: bool> Interrupted<'_, '_, DISCARD> {
    /// Empties the stack LIFO: the chunks (if any), then the inline slots.
    /// `len` is lowered before each entry is handled: that is what marks the
    /// entry taken, so an entry is never handled twice, also when it panics.
    #[inline]
    fn run(&mut self) {
        let stack = self.stack;
        if stack.len.get() > INLINE {
            self.run_chunks();
        }
        let base = stack.inline_base();
        let mut index = stack.len.get();
        while index != 0 {
            index -= 1;
            stack.len.set(index);
            // SAFETY: `index` was below `len` and is below `INLINE` (the
            // chunks were emptied first), so its inline slot is
            // initialised.
            let slot = unsafe { base.add(index).as_ref() };
            self.handle(slot);
        }
    }

    /// The part of `run` above the inline slots, one chunk at a time by
    /// pointer, newest first; `len` is `INLINE` when it returns.
    #[inline(never)]
    fn run_chunks(&mut self) {
        let stack = self.stack;
        while stack.len.get() > INLINE {
            let mut index = stack.len.get();
            let (base, start) = stack.segment(index - 1);
            while index > start {
                index -= 1;
                stack.len.set(index);
                // SAFETY: `index` was below `len`, inside this segment
                // (`start..=last`), so its slot is initialised.
                let slot = unsafe { base.add(index - start).as_ref() };
                self.handle(slot);
            }
        }
    }

    /// Handles the entry in `slot`, just taken (`len` lowered below it), or
    /// releases the slot if it was cancelled.
    #[inline]
    fn handle(&mut self, slot: &Slot) {
        match slot.vtable.get() {
            Some(vtable) => {
                let result = if DISCARD {
                    // SAFETY: the slot's payload is live (vtable set) and,
                    // `len` being lowered, handled exactly once.
                    unsafe { (vtable.drop)(slot.data()) };
                    Ok(())
                } else {
                    // SAFETY: as above.
                    unsafe { (vtable.run)(slot.data(), self.outcome) }
                };
                if let Err(error) = result {
                    self.failed(error);
                }
            }
            None => self.stack.cancelled.set(self.stack.cancelled.get() - 1),
        }
    }

    /// An entry failed: its error is kept, and the ones after it see
    /// `Error` (policy 8).
    #[cold]
    #[inline(never)]
    fn failed(&mut self, error: BoxError) {
        self.errors.push(error);
        self.outcome = after_failure(self.outcome);
    }
}

impl<const DISCARD: bool> Drop for Interrupted<'_, '_, DISCARD> {
    #[cold]
    fn drop(&mut self) {
        let action = if DISCARD {
            Action::Discard
        } else {
            Action::Run(Outcome::Panic)
        };
        let mut errors = core::mem::take(&mut self.errors);
        errors.extend(self.stack.drain_while_unwinding(action));
        discard_errors(errors, "a panic is unwinding");
    }
}

impl RawStack<'_> {
    /// Empties the stack LIFO, running each pending entry with `outcome`
    /// (or, `DISCARD`, dropping it); returns the errors. If one panics, the
    /// rest are handled during the unwinding by [`Interrupted`] and the
    /// panic continues with its own payload. For a thread that is not
    /// unwinding.
    #[inline]
    fn drain<const DISCARD: bool>(&self, outcome: Outcome) -> Vec<BoxError> {
        self.retire_keys();
        let mut loop_state = Interrupted::<DISCARD> {
            stack: self,
            outcome,
            errors: Vec::new(),
        };
        loop_state.run();
        let errors = if loop_state.errors.capacity() == 0 {
            // The usual case, without the drop glue of a vector: an
            // unallocated vector owns nothing.
            Vec::new()
        } else {
            core::mem::take(&mut loop_state.errors)
        };
        // Finished: nothing is left for the guard.
        core::mem::forget(loop_state);
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
        let errors = self.drain::<false>(outcome);
        if errors.capacity() == 0 {
            // Nothing failed; an unallocated vector owns nothing, so it
            // needs no drop glue.
            core::mem::forget(errors);
            return Ok(());
        }
        Err(failed(errors))
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
        let errors = if crate::unwind::is_unwinding() {
            self.drain_while_unwinding(Action::Discard)
        } else {
            self.drain::<true>(Outcome::Success)
        };
        debug_assert!(errors.is_empty(), "dropping an entry reports no error");
    }

    /// The entries of a stack being dropped with some pending: run with
    /// `Success` — or, while a panic unwinds, with the outcome of the
    /// stack's baseline, out of line (policy 3: the unwinding panic keeps
    /// going).
    #[inline]
    fn drop_entries(&mut self) {
        if crate::unwind::is_unwinding() {
            return self.drop_while_unwinding();
        }
        // Not unwinding: the baseline's outcome is `Success`.
        let errors = self.drain::<false>(Outcome::Success);
        if errors.capacity() == 0 {
            // Nothing failed: as in `close_with`.
            core::mem::forget(errors);
        } else {
            discard_errors(errors, "stack dropped without close()");
        }
    }

    #[cold]
    #[inline(never)]
    fn drop_while_unwinding(&mut self) {
        let outcome = self.baseline.outcome();
        let errors = self.drain_while_unwinding(Action::Run(outcome));
        if !errors.is_empty() {
            discard_errors(errors, "a panic is unwinding");
        }
    }
}

/// The errors of a `close` in which entries failed, as its error.
#[cold]
#[inline(never)]
fn failed(errors: Vec<BoxError>) -> CleanupError {
    CleanupError::from_errors(errors).expect("called with errors")
}

impl Drop for RawStack<'_> {
    #[inline]
    fn drop(&mut self) {
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
