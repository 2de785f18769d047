//! Emptying a stack: the LIFO run loop and its panic and error policies.
//!
//! The happy path is a plain loop of indirect calls, with no `catch_unwind`.
//! If an entry panics, a drop guard ([`Interrupted`]) handles the remaining
//! entries during the unwinding and the first panic keeps unwinding with its
//! own payload: policy 3 at no cost when nothing panics. The guard needs no
//! panic detection — the loop forgets it when it finishes, so a guard whose
//! `drop` runs at all means the loop was interrupted — which is what makes
//! the policy hold without `std` too.
//!
//! Every path retires the stack's keys before it lowers `len` (see
//! `keys.rs`), so however it ends — finished, unwound, caught — no key
//! reaches a slot it freed.

use alloc::vec::Vec;
use core::ptr::NonNull;

use super::RawStack;
use super::vtable::VTable;
use crate::Outcome;
use crate::error::{BoxError, CleanupError};

/// What to do with each entry while draining the stack.
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
            Action::Run(Outcome::Success) => Action::Run(Outcome::Error),
            other => other,
        }
    }

    /// The action for the entries after one that panicked.
    #[inline]
    fn after_panic(self) -> Action {
        match self {
            Action::Run(_) => Action::Run(Outcome::Panic),
            Action::Discard => Action::Discard,
        }
    }
}

/// Runs or drops one payload taken out of the stack; `true` if it ran and
/// failed.
///
/// # Safety
/// `vtable` and `data` are a live entry's, and are used once.
#[inline]
unsafe fn handle(
    vtable: &VTable,
    data: NonNull<u8>,
    action: Action,
    errors: &mut Vec<BoxError>,
) -> bool {
    match action {
        // SAFETY: forwarded from the caller.
        Action::Run(outcome) => unsafe { (vtable.run)(data, outcome, errors) },
        Action::Discard => {
            // SAFETY: forwarded from the caller.
            unsafe { (vtable.drop)(data) };
            false
        }
    }
}

/// The drain loop's state, and its drop guard: handles the entries left
/// when one panicked, during the unwinding. Its `drop` runs only if the loop
/// was interrupted (the loop forgets it when it finishes). Entries that
/// still run see [`Outcome::Panic`]: the scope is now ending in one. The
/// errors collected so far have no caller to go to any more: they are
/// discarded here, safely, rather than dropped by the unwinding.
struct Interrupted<'s, 'a, 'e> {
    stack: &'s mut RawStack<'a>,
    action: Action,
    errors: &'e mut Vec<BoxError>,
}

impl Interrupted<'_, '_, '_> {
    /// Empties the stack LIFO, one segment at a time by pointer. `len` is
    /// lowered before each entry is handled: that is what marks the entry
    /// taken, so an entry is never handled twice, also when it panics.
    #[inline]
    fn run(&mut self) {
        let stack = &*self.stack;
        while let Some(last) = stack.len.get().checked_sub(1) {
            let (base, start) = stack.segment(last);
            for index in (start..=last).rev() {
                stack.len.set(index);
                // SAFETY: `index` was below `len`, inside this segment, so
                // its slot is initialised.
                let slot = unsafe { base.add(index - start).as_ref() };
                match slot.vtable.get() {
                    Some(vtable) => {
                        // SAFETY: the slot's payload is live (vtable set)
                        // and, `len` being lowered, handled exactly once.
                        if unsafe { handle(vtable, slot.data(), self.action, self.errors) } {
                            self.action = self.action.after_failure();
                        }
                    }
                    None => stack.cancelled.set(stack.cancelled.get() - 1),
                }
            }
        }
    }
}

impl Drop for Interrupted<'_, '_, '_> {
    #[cold]
    fn drop(&mut self) {
        let mut errors = core::mem::take(self.errors);
        errors.extend(self.stack.drain_while_unwinding(self.action.after_panic()));
        discard_errors(errors, "a panic is unwinding");
    }
}

impl RawStack<'_> {
    /// Empties the stack LIFO, doing `action` to each pending entry; errors
    /// go to `errors`. If one panics, the rest are handled during the
    /// unwinding by [`Interrupted`] and the panic continues with its own
    /// payload.
    #[inline]
    fn drain(&mut self, action: Action, errors: &mut Vec<BoxError>) {
        self.retire_keys();
        let mut loop_state = Interrupted {
            stack: self,
            action,
            errors,
        };
        loop_state.run();
        // Finished: nothing is left for the guard.
        core::mem::forget(loop_state);
    }

    /// Empties the stack while the thread unwinds: nothing may escape, so
    /// with `std` every entry runs under `catch_unwind` and its panic is
    /// discarded. Returns the errors. The entries after one that panicked
    /// see [`Outcome::Panic`] (policy 3), after one that failed
    /// [`Outcome::Error`] (policy 8), as in [`RawStack::drain`].
    ///
    /// Without `std` nothing can be caught: a second panic aborts, as in any
    /// destructor (this runs only from [`Interrupted`]'s `drop` then).
    fn drain_while_unwinding(&mut self, mut action: Action) -> Vec<BoxError> {
        let mut errors = Vec::new();
        while let Some((vtable, data)) = self.pop() {
            // SAFETY: `pop` took the entry: the payload runs or is dropped
            // exactly once.
            let each = |errors: &mut Vec<BoxError>| unsafe { handle(vtable, data, action, errors) };
            #[cfg(feature = "std")]
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| each(&mut errors))) {
                Ok(false) => {}
                Ok(true) => action = action.after_failure(),
                Err(payload) => {
                    crate::unwind::discard(payload);
                    action = action.after_panic();
                }
            }
            #[cfg(not(feature = "std"))]
            if each(&mut errors) {
                action = action.after_failure();
            }
        }
        errors
    }

    /// Empties the stack: with [`RawStack::drain`], or, when the thread is
    /// already unwinding (called from a destructor during a panic, where a
    /// panic escaping would abort), with [`RawStack::drain_while_unwinding`].
    #[inline]
    fn drain_all(&mut self, action: Action) -> Vec<BoxError> {
        if crate::unwind::is_unwinding() {
            return self.drain_while_unwinding(action);
        }
        let mut errors = Vec::new();
        self.drain(action, &mut errors);
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
        CleanupError::from_errors(self.drain_all(Action::Run(outcome))).map_or(Ok(()), Err)
    }

    /// Drops every pending entry without running it, last registered first.
    /// A panicking `Drop` resumes after all were dropped — or is discarded
    /// if the thread was already unwinding.
    pub(crate) fn cancel_all(&mut self) {
        let errors = self.drain_all(Action::Discard);
        debug_assert!(errors.is_empty(), "dropping an entry reports no error");
    }
}

impl Drop for RawStack<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.len.get() == 0 {
            return;
        }
        let outcome = self.baseline.outcome();
        let why = if crate::unwind::is_unwinding() {
            // Policy 3: the panic already unwinding keeps going.
            "a panic is unwinding"
        } else {
            "stack dropped without close()"
        };
        let errors = self.drain_all(Action::Run(outcome));
        if !errors.is_empty() {
            discard_errors(errors, why);
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
#[cold]
pub(crate) fn discard_errors(errors: Vec<BoxError>, why: &str) {
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
