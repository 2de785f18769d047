//! The untyped core shared by [`ExitStack`](crate::ExitStack) and
//! [`SendExitStack`](crate::SendExitStack): storage of type-erased entries,
//! cancel keys, and the LIFO run loop with the panic and error policies.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::ptr::NonNull;

use crate::Outcome;
use crate::error::{BoxError, CancelError, CleanupError};
use crate::unwind::PanicBaseline;

/// One registered cleanup. Every kind of entry (callback, exit callback,
/// fallible callback, entered context) becomes one of these, so a single
/// LIFO sequence orders them all (policy 1).
pub(crate) type Entry<'a> = Box<dyn FnOnce(Outcome) -> Result<(), BoxError> + 'a>;

struct Slot<'a> {
    seq: u64,
    /// `None` once cancelled. Cancelled slots stay in place so the sequence
    /// numbers stay sorted for the binary search in `cancel`.
    entry: Option<Entry<'a>>,
}

/// Identifies one registered entry so that it can be
/// [cancelled](crate::ExitStack::cancel). Returned by every registration.
///
/// A key is not `Clone`: it is spent by `cancel`. Keys stay valid for the
/// stack their entries are on, also after those entries were moved by
/// [`pop_all`](crate::ExitStack::pop_all).
///
/// ```
/// let stack = exitstack::ExitStack::new();
/// let key = stack.callback(|| unreachable!("cancelled"));
/// stack.cancel(key).unwrap();
/// ```
///
/// A key is spent by `cancel`; using it twice does not compile:
///
/// ```compile_fail,E0382
/// let stack = exitstack::ExitStack::new();
/// let key = stack.callback(|| ());
/// let _ = stack.cancel(key);
/// let _ = stack.cancel(key);
/// ```
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct EntryKey {
    stack: u64,
    seq: u64,
}

/// Process-wide unique stack identities, so that a key from another stack is
/// recognised as such. Taken lazily, on a stack's first registration.
fn fresh_stack_id() -> u64 {
    #[cfg(target_has_atomic = "64")]
    {
        use core::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(1);
        NEXT.fetch_add(1, Ordering::Relaxed)
    }
    #[cfg(not(target_has_atomic = "64"))]
    {
        use core::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        NEXT.fetch_add(1, Ordering::Relaxed) as u64
    }
}

/// What running the entries produced.
pub(crate) struct Report {
    pub(crate) errors: Option<CleanupError>,
    #[cfg(feature = "std")]
    pub(crate) panic: Option<crate::unwind::Payload>,
}

pub(crate) struct RawStack<'a> {
    slots: RefCell<Vec<Slot<'a>>>,
    /// Entries neither run nor cancelled.
    pending: Cell<usize>,
    /// 0 until the first registration; then this stack's identity in keys.
    id: Cell<u64>,
    next_seq: Cell<u64>,
    baseline: PanicBaseline,
}

impl<'a> RawStack<'a> {
    pub(crate) fn new() -> Self {
        RawStack {
            slots: RefCell::new(Vec::new()),
            pending: Cell::new(0),
            id: Cell::new(0),
            next_seq: Cell::new(0),
            baseline: PanicBaseline::now(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.pending.get()
    }

    pub(crate) fn push(&self, entry: Entry<'a>) -> EntryKey {
        if self.id.get() == 0 {
            self.id.set(fresh_stack_id());
        }
        let seq = self.next_seq.get();
        self.next_seq.set(seq + 1);
        // No user code runs while the vector is borrowed: pushing only moves
        // the box.
        self.slots.borrow_mut().push(Slot {
            seq,
            entry: Some(entry),
        });
        self.pending.set(self.pending.get() + 1);
        EntryKey {
            stack: self.id.get(),
            seq,
        }
    }

    pub(crate) fn cancel(&self, key: &EntryKey) -> Result<(), CancelError> {
        if key.stack != self.id.get() {
            return Err(CancelError::ForeignKey);
        }
        let entry = {
            let mut slots = self.slots.borrow_mut();
            let index = slots
                .binary_search_by_key(&key.seq, |slot| slot.seq)
                .map_err(|_| CancelError::NotPending)?;
            slots[index].entry.take().ok_or(CancelError::NotPending)?
        };
        self.pending.set(self.pending.get() - 1);
        // Dropped after the borrow ends: the closure's captures run user
        // `Drop` code, which may do anything but reach this stack.
        drop(entry);
        Ok(())
    }

    /// Drops every pending entry without running it, last registered first.
    /// The slots are detached first, so an entry whose captures panic on drop
    /// can never be run later by this stack.
    pub(crate) fn cancel_all(&mut self) {
        let mut slots = core::mem::take(self.slots.get_mut());
        self.pending.set(0);
        #[cfg(feature = "std")]
        let mut panic = None;
        while let Some(slot) = slots.pop() {
            #[cfg(feature = "std")]
            if let Err(payload) =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(slot)))
            {
                if panic.is_none() {
                    panic = Some(payload);
                } else {
                    crate::unwind::discard(payload);
                }
            }
            #[cfg(not(feature = "std"))]
            drop(slot);
        }
        #[cfg(feature = "std")]
        if let Some(payload) = panic {
            std::panic::resume_unwind(payload);
        }
    }

    /// Moves every entry, in order, into a new stack that keeps this one's
    /// identity (so outstanding keys follow their entries); this one starts
    /// over empty with a new identity.
    pub(crate) fn take_all(&mut self) -> Self {
        RawStack {
            slots: RefCell::new(core::mem::take(self.slots.get_mut())),
            pending: Cell::new(self.pending.replace(0)),
            id: Cell::new(self.id.replace(0)),
            next_seq: Cell::new(self.next_seq.replace(0)),
            baseline: PanicBaseline::now(),
        }
    }

    /// The outcome a scope that ends now would have: `Panic` if a panic
    /// started since the stack was made, else `Success`.
    pub(crate) fn drop_outcome(&self) -> Outcome {
        self.baseline.outcome()
    }

    /// Runs every pending entry, last registered first, each exactly once.
    ///
    /// With `std`, each runs under `catch_unwind`: the first panic is kept
    /// for the caller to resume, later ones are dropped. Without `std`, a
    /// panic unwinds out of here; the entries not yet run stay in the stack
    /// and run when it is dropped during that unwinding.
    pub(crate) fn run_all(&mut self, outcome: Outcome) -> Report {
        let mut errors = Vec::new();
        #[cfg(feature = "std")]
        let mut panic = None;
        // Popped one at a time (never `Vec`'s FIFO drop glue) and iteratively,
        // so 100,000 entries need no recursion.
        while let Some(slot) = self.slots.get_mut().pop() {
            let Some(entry) = slot.entry else { continue };
            *self.pending.get_mut() -= 1;
            #[cfg(feature = "std")]
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || entry(outcome))) {
                Ok(Ok(())) => {}
                Ok(Err(error)) => errors.push(error),
                Err(payload) if panic.is_none() => panic = Some(payload),
                Err(payload) => crate::unwind::discard(payload),
            }
            #[cfg(not(feature = "std"))]
            if let Err(error) = entry(outcome) {
                errors.push(error);
            }
        }
        Report {
            errors: CleanupError::from_errors(errors),
            #[cfg(feature = "std")]
            panic,
        }
    }

    /// `close`: run everything, resume the first panic, return the errors.
    pub(crate) fn close_with(&mut self, outcome: Outcome) -> Result<(), CleanupError> {
        let report = self.run_all(outcome);
        #[cfg(feature = "std")]
        if let Some(payload) = report.panic {
            std::panic::resume_unwind(payload);
        }
        report.errors.map_or(Ok(()), Err)
    }
}

impl Drop for RawStack<'_> {
    fn drop(&mut self) {
        if self.slots.get_mut().is_empty() {
            return;
        }
        let unwinding = crate::unwind::is_unwinding();
        let report = self.run_all(self.drop_outcome());
        if let Some(errors) = report.errors {
            report_dropped_errors(&errors);
        }
        #[cfg(feature = "std")]
        if let Some(payload) = report.panic {
            if unwinding {
                // Policy 3: the panic already unwinding keeps going; a second
                // one escaping this destructor would abort the process.
                crate::unwind::discard(payload);
            } else {
                std::panic::resume_unwind(payload);
            }
        }
        #[cfg(not(feature = "std"))]
        let _ = unwinding;
    }
}

/// The policy for errors of a stack dropped without `close()`: there is no
/// caller to return them to, so they are dropped — never a panic. Debug
/// builds with `std` say so on standard error, so they do not vanish
/// unnoticed.
fn report_dropped_errors(errors: &CleanupError) {
    #[cfg(all(feature = "std", debug_assertions))]
    {
        use std::io::Write as _;
        let mut stderr = std::io::stderr().lock();
        for error in errors {
            // A failed write to stderr is ignored: this must not panic.
            let _ = writeln!(
                stderr,
                "exitstack: cleanup error discarded (stack dropped without close()): {error}"
            );
        }
    }
    #[cfg(not(all(feature = "std", debug_assertions)))]
    let _ = errors;
}

/// Owns a heap value like `Box<T>`, but as a raw pointer, so that moving the
/// owner (into an entry closure, through `Vec` reallocation, through
/// `pop_all`) never invalidates the `&mut T` handed out by `enter_context`.
/// A `Box` would be retagged as unique on every move.
pub(crate) struct Owned<T> {
    ptr: NonNull<T>,
}

impl<T> Owned<T> {
    pub(crate) fn new(value: T) -> Self {
        Owned {
            ptr: NonNull::from(Box::leak(Box::new(value))),
        }
    }

    /// The pointer `enter_context` turns into its `&mut T`.
    pub(crate) fn as_ptr(&self) -> NonNull<T> {
        self.ptr
    }

    pub(crate) fn into_inner(self) -> T {
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: `ptr` came from `Box::leak` in `new` and is freed only
        // here or in `drop`; `this` is never dropped, so this runs once.
        *unsafe { Box::from_raw(this.ptr.as_ptr()) }
    }
}

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        // SAFETY: as in `into_inner`: the allocation from `new`, freed once.
        drop(unsafe { Box::from_raw(self.ptr.as_ptr()) });
    }
}
