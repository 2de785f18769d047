//! Local guards: one cleanup each, stored on the stack frame, no allocation
//! and no dynamic dispatch. The macros expand to these.

use core::fmt;
use core::mem::ManuallyDrop;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use crate::unwind::{PanicBaseline, run_in_drop};
use crate::{Outcome, When};

/// Runs a closure when dropped, whatever the outcome: the guard behind
/// [`defer!`](crate::defer).
///
/// Like `scopeguard::guard((), |_| ...)`, with two differences: with `std`, a
/// panic from the closure while the thread is already unwinding is discarded
/// instead of aborting the process (without `std` it aborts, as in any
/// destructor), and the guard can be [cancelled](Defer::cancel) or [run
/// early](Defer::run).
///
/// ```
/// use std::cell::RefCell;
/// use exitstack::Defer;
///
/// let log = RefCell::new(Vec::new());
/// {
///     let _first = Defer::new(|| log.borrow_mut().push("first registered"));
///     let _second = Defer::new(|| log.borrow_mut().push("second registered"));
///     log.borrow_mut().push("body");
/// }
/// assert_eq!(*log.borrow(), ["body", "second registered", "first registered"]);
/// ```
#[must_use = "a guard runs its cleanup when dropped: bound to `_` it runs at once"]
pub struct Defer<F: FnOnce()> {
    f: ManuallyDrop<F>,
}

impl<F: FnOnce()> Defer<F> {
    /// A guard that calls `f` when it goes out of scope.
    ///
    /// ```
    /// let mut closed = false;
    /// {
    ///     let _guard = exitstack::Defer::new(|| closed = true);
    /// }
    /// assert!(closed);
    /// ```
    #[inline]
    pub const fn new(f: F) -> Self {
        Defer {
            f: ManuallyDrop::new(f),
        }
    }

    /// Disarms the guard: `f` never runs, and what it captured is dropped now.
    ///
    /// ```
    /// let mut ran = false;
    /// let guard = exitstack::Defer::new(|| ran = true);
    /// guard.cancel();
    /// assert!(!ran);
    /// ```
    #[inline]
    pub fn cancel(self) {
        drop(self.into_inner());
    }

    /// Runs the cleanup now instead of at the end of the scope.
    ///
    /// ```
    /// let mut count = 0;
    /// exitstack::Defer::new(|| count += 1).run();
    /// assert_eq!(count, 1);
    /// ```
    #[inline]
    pub fn run(self) {
        (self.into_inner())();
    }

    #[inline]
    fn into_inner(self) -> F {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped (it is `ManuallyDrop`), so `f` is
        // taken exactly once and never touched again.
        unsafe { ManuallyDrop::take(&mut this.f) }
    }
}

impl<F: FnOnce()> Drop for Defer<F> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `drop` runs at most once and `into_inner` (the only other
        // taker) forgets `self`, so `f` is still there and is taken once.
        let f = unsafe { ManuallyDrop::take(&mut self.f) };
        run_in_drop(f);
    }
}

impl<F: FnOnce()> fmt::Debug for Defer<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Defer").finish_non_exhaustive()
    }
}

/// Watches one function body for an `Err` return: the record that
/// on-error guards read, since a guard's `Drop` cannot see what its function
/// returned.
///
/// Not to be confused with the [`#[exitstack::scope]`](crate::scope)
/// attribute, which makes one for you (this is the plain value behind it),
/// nor with [`ExitStack::scope`](crate::ExitStack::scope), whose stack sees
/// its body's `Result` without one. `#[exitstack::scope]` makes one per function and marks it on every `Err`
/// return, so that [`Guard`]s made with [`Guard::watching`] (and the macros'
/// `on_error` / `on_failure` variants) can see [`Outcome::Error`]. Made by
/// hand, it lets plain code do the same:
///
/// ```
/// use std::cell::Cell;
/// use exitstack::{Guard, ErrorWatch, When};
///
/// fn parse(input: &str, rolled_back: &Cell<bool>) -> Result<i32, std::num::ParseIntError> {
///     let watch = ErrorWatch::new();
///     let _undo = Guard::watching(&watch, When::Error, |_| rolled_back.set(true));
///     watch.check(input.parse::<i32>())
/// }
///
/// let rolled_back = Cell::new(false);
/// assert!(parse("12", &rolled_back).is_ok());
/// assert!(!rolled_back.get());
/// assert!(parse("twelve", &rolled_back).is_err());
/// assert!(rolled_back.get());
/// ```
///
/// An `ErrorWatch` is `Sync` (its flags are relaxed atomics, plain loads and stores
/// on common targets), so a guard that borrows it can be held across an
/// `.await` in a future that must be `Send`.
#[derive(Debug, Default)]
pub struct ErrorWatch {
    error: AtomicBool,
    /// Bumped by [`ErrorWatch::cancel_all`]; a guard made under an older epoch is
    /// disarmed.
    epoch: AtomicU32,
}

impl ErrorWatch {
    /// A watch that has seen no error (yet).
    ///
    /// ```
    /// assert!(!exitstack::ErrorWatch::new().is_error());
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        ErrorWatch {
            error: AtomicBool::new(false),
            epoch: AtomicU32::new(0),
        }
    }

    /// Records that the scope is ending with an error: guards of this scope
    /// that are dropped from now on see [`Outcome::Error`] (unless a panic
    /// is unwinding, which wins).
    ///
    /// ```
    /// use exitstack::{Guard, Outcome, ErrorWatch, When};
    /// let mut seen = None;
    /// {
    ///     let watch = ErrorWatch::new();
    ///     let _guard = Guard::watching(&watch, When::Failure, |o| seen = Some(o));
    ///     watch.mark_error();
    /// }
    /// assert_eq!(seen, Some(Outcome::Error));
    /// ```
    #[inline]
    pub fn mark_error(&self) {
        self.error.store(true, Ordering::Relaxed);
    }

    /// Whether [`mark_error`](ErrorWatch::mark_error) was called.
    ///
    /// ```
    /// let watch = exitstack::ErrorWatch::new();
    /// watch.mark_error();
    /// assert!(watch.is_error());
    /// ```
    #[must_use]
    #[inline]
    pub fn is_error(&self) -> bool {
        self.error.load(Ordering::Relaxed)
    }

    /// Passes `result` through, marking the scope as failed if it is an `Err`.
    /// Wrap the value a function returns in it (or let `#[exitstack::scope]`
    /// do it for every `return`, `?` and tail expression).
    ///
    /// # Errors
    ///
    /// Returns `result` unchanged.
    ///
    /// ```
    /// let watch = exitstack::ErrorWatch::new();
    /// let parsed = watch.check("7".parse::<u8>());
    /// assert_eq!(parsed, Ok(7));
    /// assert!(!watch.is_error());
    /// ```
    #[inline]
    pub fn check<T, E>(&self, result: Result<T, E>) -> Result<T, E> {
        if result.is_err() {
            self.mark_error();
        }
        result
    }

    /// Disarms every guard made with [`Guard::watching`] on this watch so far:
    /// they will not run when dropped (what they captured is still dropped
    /// then). Guards made afterwards are armed as usual. This is what
    /// `pop_all!()` does in an `#[exitstack::scope]` function, Python's
    /// `stack.pop_all()` when nothing takes the popped callbacks.
    ///
    /// [`Guard::run`] still runs a disarmed guard: it is an explicit call.
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use exitstack::{Guard, ErrorWatch, When};
    ///
    /// let log = RefCell::new(Vec::new());
    /// {
    ///     let watch = ErrorWatch::new();
    ///     let _a = Guard::watching(&watch, When::Always, |_| log.borrow_mut().push("a"));
    ///     watch.cancel_all();
    ///     let _b = Guard::watching(&watch, When::Always, |_| log.borrow_mut().push("b"));
    /// }
    /// assert_eq!(*log.borrow(), ["b"]);
    /// ```
    ///
    /// # Panics
    ///
    /// If called more than `u32::MAX` times on one watch.
    #[inline]
    pub fn cancel_all(&self) {
        let epoch = self.epoch.load(Ordering::Relaxed);
        let next = epoch
            .checked_add(1)
            .expect("ErrorWatch::cancel_all called more than u32::MAX times on one watch");
        self.epoch.store(next, Ordering::Relaxed);
    }

    #[inline]
    fn epoch(&self) -> u32 {
        self.epoch.load(Ordering::Relaxed)
    }
}

/// A cleanup that knows how its scope ended and runs only on the outcomes its
/// [`When`] names: Zig's `errdefer`, D's `scope(success)` / `scope(failure)`.
///
/// The closure receives the [`Outcome`]. Without an [`ErrorWatch`], a guard can
/// tell `Success` from `Panic`; with one ([`Guard::watching`]) it also sees
/// `Error`.
///
/// ```
/// use std::cell::RefCell;
/// use exitstack::{Guard, When};
///
/// let log = RefCell::new(Vec::new());
/// let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
///     let _ok = Guard::new(When::Success, |_| log.borrow_mut().push("committed"));
///     let _bad = Guard::new(When::Panic, |_| log.borrow_mut().push("rolled back"));
///     panic!("disk full");
/// }));
/// assert!(result.is_err());
/// assert_eq!(*log.borrow(), ["rolled back"]);
/// ```
#[must_use = "a guard runs its cleanup when dropped: bound to `_` it runs at once"]
pub struct Guard<'s, F: FnOnce(Outcome)> {
    f: ManuallyDrop<F>,
    trigger: Trigger<'s>,
}

/// When a conditional cleanup runs, and with which outcome: the state that
/// [`Guard`] and the conditional value guards
/// ([`ScopeGuard::watching`](crate::ScopeGuard::watching) and friends) share, so
/// that both decide the same way.
#[derive(Clone, Copy)]
pub(crate) struct Trigger<'s> {
    when: When,
    baseline: PanicBaseline,
    watch: Option<&'s ErrorWatch>,
    /// The scope's epoch when the guard was made (0 without a scope).
    epoch: u32,
}

impl Trigger<'static> {
    /// Sees `Success` or `Panic` only.
    #[inline]
    pub(crate) fn new(when: When) -> Self {
        Trigger {
            when,
            baseline: PanicBaseline::now(),
            watch: None,
            epoch: 0,
        }
    }
}

impl<'s> Trigger<'s> {
    /// Also sees `Error` once `watch` is marked; disarmed by
    /// [`ErrorWatch::cancel_all`].
    #[inline]
    pub(crate) fn watching(watch: &'s ErrorWatch, when: When) -> Self {
        Trigger {
            when,
            baseline: PanicBaseline::now(),
            watch: Some(watch),
            epoch: watch.epoch(),
        }
    }

    #[inline]
    pub(crate) fn when(&self) -> When {
        self.when
    }

    /// The outcome the cleanup would see if its scope ended now.
    #[inline]
    pub(crate) fn outcome(&self) -> Outcome {
        crate::ending::outcome(
            self.baseline.outcome() == Outcome::Panic,
            self.watch.is_some_and(ErrorWatch::is_error),
        )
    }

    /// Whether [`ErrorWatch::cancel_all`] was called on its scope since it was made.
    #[inline]
    pub(crate) fn is_disarmed(&self) -> bool {
        self.watch.is_some_and(|watch| watch.epoch() != self.epoch)
    }

    /// The outcome to run the cleanup with if the scope ended with
    /// `outcome`, or `None` if it must not run.
    #[inline]
    pub(crate) fn fires_on(&self, outcome: Outcome) -> Option<Outcome> {
        (self.when.matches(outcome) && !self.is_disarmed()).then_some(outcome)
    }

    /// [`fires_on`](Self::fires_on) the outcome as judged now.
    #[inline]
    pub(crate) fn fires(&self) -> Option<Outcome> {
        self.fires_on(self.outcome())
    }
}

impl<F: FnOnce(Outcome)> Guard<'static, F> {
    /// A guard that calls `f` at the end of the scope if the outcome matches
    /// `when`. It sees `Success` or `Panic`; for `Error`, use
    /// [`Guard::watching`].
    ///
    /// `Panic` means a panic that started after the guard was made. A guard
    /// made while the thread is already unwinding (in a `Drop` during a
    /// panic) sees `Success` when its scope ends normally — and also if a
    /// new panic starts inside its scope and is caught within that `Drop`:
    /// stable Rust cannot tell the two panics apart (see [`Outcome`]'s
    /// limits). Without `std` it always sees `Success`.
    ///
    /// # Panics
    ///
    /// If `when` is [`When::Error`] or [`When::Failure`], in every build:
    /// without an [`ErrorWatch`] no error is ever observed, so an on-error
    /// cleanup could never run and an on-failure one would silently be an
    /// on-panic one. Write [`When::Panic`] for that, or use
    /// [`Guard::watching`].
    ///
    /// ```should_panic
    /// let _never = exitstack::Guard::new(exitstack::When::Error, |_| ()); // panics: use Guard::watching
    /// ```
    ///
    /// ```should_panic
    /// let _half = exitstack::Guard::new(exitstack::When::Failure, |_| ()); // panics too
    /// ```
    ///
    /// ```
    /// use exitstack::{Guard, When};
    /// let mut committed = false;
    /// {
    ///     let _commit = Guard::new(When::Success, |_| committed = true);
    /// }
    /// assert!(committed);
    /// ```
    #[inline]
    #[track_caller]
    pub fn new(when: When, f: F) -> Self {
        // A constant `when` folds this away.
        assert!(
            !matches!(when, When::Error | When::Failure),
            "Guard::new(When::{when:?}, ..) cannot see an `Err` return: use Guard::watching with \
             an ErrorWatch (or When::Panic for panics only)"
        );
        Guard {
            f: ManuallyDrop::new(f),
            trigger: Trigger::new(when),
        }
    }
}

impl<'s, F: FnOnce(Outcome)> Guard<'s, F> {
    /// A guard that also sees [`Outcome::Error`] once `watch` is
    /// [marked](ErrorWatch::mark_error), and that [`ErrorWatch::cancel_all`] disarms.
    ///
    /// ```
    /// use exitstack::{Guard, ErrorWatch, When};
    /// let mut undone = false;
    /// {
    ///     let watch = ErrorWatch::new();
    ///     let _undo = Guard::watching(&watch, When::Error, |_| undone = true);
    ///     let _ = watch.check(Err::<(), _>("write failed"));
    /// }
    /// assert!(undone);
    /// ```
    #[inline]
    pub fn watching(watch: &'s ErrorWatch, when: When, f: F) -> Self {
        Guard {
            f: ManuallyDrop::new(f),
            trigger: Trigger::watching(watch, when),
        }
    }

    /// The outcome the guard would see if its scope ended now.
    ///
    /// ```
    /// use exitstack::{Guard, Outcome, When};
    /// let guard = Guard::new(When::Always, |_| {});
    /// assert_eq!(guard.outcome(), Outcome::Success);
    /// # guard.cancel();
    /// ```
    #[must_use]
    #[inline]
    pub fn outcome(&self) -> Outcome {
        self.trigger.outcome()
    }

    /// Disarms the guard: the cleanup never runs, and what it captured is
    /// dropped now.
    ///
    /// ```
    /// use exitstack::{Guard, When};
    /// let mut ran = false;
    /// Guard::new(When::Always, |_| ran = true).cancel();
    /// assert!(!ran);
    /// ```
    #[inline]
    pub fn cancel(self) {
        drop(self.into_inner());
    }

    /// Runs the cleanup now, whatever its [`When`] (and even if
    /// [`ErrorWatch::cancel_all`] disarmed it), with the outcome as known so far
    /// (normally [`Outcome::Success`]).
    ///
    /// ```
    /// use exitstack::{Guard, Outcome, When};
    /// let mut seen = None;
    /// Guard::new(When::Panic, |outcome| seen = Some(outcome)).run();
    /// assert_eq!(seen, Some(Outcome::Success));
    /// ```
    #[inline]
    pub fn run(self) {
        let outcome = self.outcome();
        (self.into_inner())(outcome);
    }

    #[inline]
    fn into_inner(self) -> F {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so `f` is taken exactly once.
        unsafe { ManuallyDrop::take(&mut this.f) }
    }
}

impl<F: FnOnce(Outcome)> Drop for Guard<'_, F> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `drop` runs at most once and `into_inner` forgets `self`,
        // so `f` is still there and is taken once.
        let f = unsafe { ManuallyDrop::take(&mut self.f) };
        if let Some(outcome) = self.trigger.fires() {
            run_in_drop(move || f(outcome));
        } else {
            // Not running it still drops what it captured, which may panic.
            run_in_drop(move || drop(f));
        }
    }
}

impl<F: FnOnce(Outcome)> fmt::Debug for Guard<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("when", &self.trigger.when())
            .field("outcome", &self.outcome())
            .finish_non_exhaustive()
    }
}
