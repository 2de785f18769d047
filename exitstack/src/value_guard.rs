//! Guards that own a value: scopeguard's `guard(value, |value| ..)`, with
//! its names, plus the outcome-aware variants of [`Guard`](crate::Guard).
//!
//! One type, [`ScopeGuard`], holds the value, the closure and a
//! [`Strategy`]: the state that decides, when the guard is dropped, whether
//! the closure runs. The conditional strategies keep the same state a
//! [`Guard`](crate::Guard) keeps (its `When`, panic baseline and `ErrorWatch`),
//! so a value guard and a `Guard` made the same way always agree.

use core::fmt;
use core::mem::ManuallyDrop;
use core::ops::{Deref, DerefMut};

use crate::guard::Trigger;
#[cfg(feature = "std")]
use crate::unwind::PanicBaseline;
use crate::unwind::run_in_drop;
use crate::{ErrorWatch, Outcome, When};

/// A guard that owns a value, derefs to it, and hands it to a closure when
/// dropped — scopeguard's `ScopeGuard`, under the same name.
///
/// The body keeps using and mutating the value through the guard
/// ([`Deref`] / [`DerefMut`]); at the end of the scope the closure receives
/// the value *as it is then*, by value. [`ScopeGuard::into_inner`] defuses
/// the guard and hands the value back. Methods are associated functions
/// (`ScopeGuard::into_inner(guard)`), so that they never shadow a method of
/// `T`.
///
/// `S`, the [`Strategy`], decides whether the closure runs:
///
/// | made by | strategy | runs when dropped | closure |
/// |---|---|---|---|
/// | [`guard`] | [`Always`] | always | `FnOnce(T)` |
/// | [`guard_on_success`] | [`OnSuccess`] | without a panic | `FnOnce(T)` |
/// | [`guard_on_unwind`] | [`OnUnwind`] | by a panic that started after it was made | `FnOnce(T)` |
/// | [`guard_on_error`], [`guard_on_failure`], [`ScopeGuard::watching`] | [`Conditional`] | on the outcomes its [`When`] names, `Error` included (needs an [`ErrorWatch`]) | `FnOnce(T)` |
/// | [`guard_with_outcome`], [`ScopeGuard::watching_with_outcome`] | [`WithOutcome`] | on the outcomes its [`When`] names | `FnOnce(T, Outcome)` |
///
/// ```
/// let mut log = exitstack::guard(Vec::new(), |log| println!("{log:?}")); // prints [1, 2]
/// log.push(1); // `DerefMut`: the body keeps mutating the value...
/// log.push(2);
/// assert_eq!(log.len(), 2); // ... and reading it
/// ```
///
/// # Differences from `scopeguard`
///
/// * With `std`, a panic in the closure while the thread is already
///   unwinding is discarded (the first panic goes on) instead of aborting
///   the process; without `std` it aborts, as in scopeguard. Outside
///   unwinding, it propagates, as in scopeguard.
/// * `OnSuccess` and `OnUnwind` judge a panic against the moment the guard
///   was made: a guard made in a `Drop` that runs during unwinding sees
///   success when its own scope ends normally (scopeguard#43).
/// * The strategy is state kept in the guard, not only a type: [`Strategy`]
///   is sealed (scopeguard lets you implement it) and takes the value and
///   closure types as parameters (`S: Strategy<T, F>`), and there is no
///   `ScopeGuard::with_strategy`: call the function that names the strategy.
/// * When the closure does not run, the closure is dropped before the value,
///   each on its own, so that a panic in one drop while unwinding cannot
///   abort the process by making the other panic too.
#[must_use = "a guard runs its cleanup when dropped: bound to `_` it runs at once"]
pub struct ScopeGuard<T, F, S = Always>
where
    S: Strategy<T, F>,
{
    parts: ManuallyDrop<Parts<T, F>>,
    strategy: S,
}

/// What the guard owns, taken out together exactly once.
struct Parts<T, F> {
    value: T,
    f: F,
}

impl<T, F, S: Strategy<T, F>> ScopeGuard<T, F, S> {
    #[inline]
    fn with(value: T, f: F, strategy: S) -> Self {
        ScopeGuard {
            parts: ManuallyDrop::new(Parts { value, f }),
            strategy,
        }
    }

    /// Takes the value and the closure out, so that the guard's `Drop` never
    /// runs. Its strategy is plain `Copy` data, so forgetting it leaks
    /// nothing.
    #[inline]
    fn into_parts(guard: Self) -> (Parts<T, F>, S) {
        let mut guard = ManuallyDrop::new(guard);
        let strategy = guard.strategy;
        // SAFETY: `guard` is `ManuallyDrop`, so `ScopeGuard::drop` (the only
        // other place that takes `parts`) never runs for it, and `parts` is
        // taken here exactly once and never touched again.
        let parts = unsafe { ManuallyDrop::take(&mut guard.parts) };
        (parts, strategy)
    }

    /// Defuses the guard: the closure never runs (it is dropped now) and the
    /// value is handed back. An associated function, so that it never
    /// shadows a method of `T`.
    ///
    /// Ported from scopeguard's example:
    ///
    /// ```
    /// use exitstack::{ScopeGuard, guard};
    ///
    /// fn conditional() -> bool { true }
    ///
    /// let mut guard = guard(Vec::new(), |mut v| v.clear());
    /// guard.push(1);
    ///
    /// if conditional() {
    ///     // a condition maybe makes us decide to
    ///     // "defuse" the guard and get back its inner parts
    ///     let value = ScopeGuard::into_inner(guard);
    ///     assert_eq!(value, [1]);
    /// } else {
    ///     // guard still exists in this branch
    /// }
    /// ```
    ///
    /// The closure is dropped after the value has been taken out, so if
    /// dropping what the closure captured panics, the value is still dropped
    /// while that panic unwinds.
    #[inline]
    pub fn into_inner(guard: Self) -> T {
        let (Parts { value, f }, _) = Self::into_parts(guard);
        drop(f);
        value
    }
}

/// A guard that calls `f` with `value` when it goes out of scope, whatever
/// the outcome: `scopeguard::guard`. Needs neither `std` nor `alloc`.
///
/// Ported from scopeguard's example, where the guard owns a file and
/// makes sure pending writes are synced at scope exit:
///
/// ```
/// use std::io::{self, Write};
/// # // A mock file, so that the example writes nothing to disk.
/// # struct File;
/// # impl File {
/// #     fn create(_: &str) -> io::Result<Self> { Ok(File) }
/// #     fn write_all(&self, _: &[u8]) -> io::Result<()> { Ok(()) }
/// #     fn sync_all(&self) -> io::Result<()> { Ok(()) }
/// # }
///
/// fn try_main() -> io::Result<()> {
///     let f = File::create("newfile.txt")?;
///     let mut file = exitstack::guard(f, |f| {
///         // ensure we flush file at return or panic
///         let _ = f.sync_all();
///     });
///     // Access the file through the scope guard itself
///     file.write_all(b"test me\n").map(|_| ())
/// }
///
/// try_main().unwrap();
/// ```
///
/// `exitstack::guard((), |()| ..)` is scopeguard's `defer!`; here
/// [`defer!`](crate::defer) expands to a [`Defer`](crate::Defer) instead,
/// and `defer!(v => ..)` to a value guard over the local `v`.
#[inline]
pub fn guard<T, F>(value: T, f: F) -> ScopeGuard<T, F, Always>
where
    F: FnOnce(T),
{
    ScopeGuard::with(value, f, Always(()))
}

/// A guard that calls `f` with `value` when it goes out of scope without a
/// panic: `scopeguard::guard_on_success`. Needs `std`.
///
/// An `Err` return is not a panic, so it counts as success here; to tell
/// them apart, use [`ScopeGuard::watching`] with [`When::Success`] and a
/// [`ErrorWatch`].
///
/// ```
/// use std::panic::{AssertUnwindSafe, catch_unwind};
///
/// let mut committed = Vec::new();
/// {
///     let mut batch = exitstack::guard_on_success(Vec::new(), |batch| committed = batch);
///     batch.push("a");
///     batch.push("b");
/// }
/// assert_eq!(committed, ["a", "b"]);
///
/// let mut committed = Vec::new();
/// let result = catch_unwind(AssertUnwindSafe(|| {
///     let mut batch = exitstack::guard_on_success(Vec::new(), |batch| committed = batch);
///     batch.push("a");
///     panic!("disk full");
/// }));
/// assert!(result.is_err());
/// assert!(committed.is_empty());
/// ```
///
/// Unlike scopeguard's, it judges the panic against the moment it was made
/// (scopeguard#43): made in a destructor that runs while another panic
/// unwinds, it still runs when its own scope ends normally.
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
#[inline]
pub fn guard_on_success<T, F>(value: T, f: F) -> ScopeGuard<T, F, OnSuccess>
where
    F: FnOnce(T),
{
    ScopeGuard::with(value, f, OnSuccess(PanicBaseline::now()))
}

/// A guard that calls `f` with `value` only when its scope is left by a
/// panic that started after the guard was made:
/// `scopeguard::guard_on_unwind`. Needs `std`.
///
/// ```
/// use std::panic::{AssertUnwindSafe, catch_unwind};
///
/// let mut rolled_back = None;
/// let result = catch_unwind(AssertUnwindSafe(|| {
///     let mut balance = exitstack::guard_on_unwind(100, |balance| rolled_back = Some(balance));
///     *balance -= 30;
///     panic!("the transfer failed half-way");
/// }));
/// assert!(result.is_err());
/// assert_eq!(rolled_back, Some(70)); // the closure saw the final value
/// ```
///
/// Ported from scopeguard's example: for speed, or to get "only on
/// unwind" without `std`, use [`guard`] and defuse it at the end of the
/// scope.
///
/// ```
/// use exitstack::ScopeGuard;
/// {
///     let guard = exitstack::guard((), |_| {});
///
///     // rest of the code here
///
///     // we reached the end of scope without unwinding - defuse it
///     ScopeGuard::into_inner(guard);
/// }
/// ```
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
#[inline]
pub fn guard_on_unwind<T, F>(value: T, f: F) -> ScopeGuard<T, F, OnUnwind>
where
    F: FnOnce(T),
{
    ScopeGuard::with(value, f, OnUnwind(PanicBaseline::now()))
}

/// A guard that calls `f` with `value` only if `watch` records an error
/// ([`ErrorWatch::mark_error`], [`ErrorWatch::check`] on an `Err`): Zig's `errdefer`
/// with a value. A panic is not an error here; for both, use
/// [`guard_on_failure`].
///
/// It needs the [`ErrorWatch`] that observes the `Err`: without one, no error is
/// ever seen, so there is no scope-less form. In an `#[exitstack::scope]`
/// function, write `defer!(on_error: v => ..)`, which ties the guard to the
/// function's scope.
///
/// ```
/// use exitstack::ErrorWatch;
///
/// fn parse_all(inputs: &[&str], undone: &mut Vec<u32>) -> Result<(), std::num::ParseIntError> {
///     let watch = ErrorWatch::new();
///     let mut parsed = exitstack::guard_on_error(&watch, Vec::new(), |parsed| *undone = parsed);
///     for input in inputs {
///         parsed.push(watch.check(input.parse())?);
///     }
///     Ok(())
/// }
///
/// let mut undone = Vec::new();
/// assert!(parse_all(&["1", "2"], &mut undone).is_ok());
/// assert!(undone.is_empty());
/// assert!(parse_all(&["1", "2", "three"], &mut undone).is_err());
/// assert_eq!(undone, [1, 2]); // what was parsed before the error
/// ```
#[inline]
pub fn guard_on_error<T, F>(watch: &ErrorWatch, value: T, f: F) -> ScopeGuard<T, F, Conditional<'_>>
where
    F: FnOnce(T),
{
    ScopeGuard::watching(watch, When::Error, value, f)
}

/// A guard that calls `f` with `value` if `watch` records an error or
/// by a panic: D's `scope(failure)` with a value. Needs an [`ErrorWatch`], like
/// [`guard_on_error`]; in an `#[exitstack::scope]` function, write
/// `defer!(on_failure: v => ..)`.
///
/// ```
/// use exitstack::ErrorWatch;
/// use std::panic::{AssertUnwindSafe, catch_unwind};
///
/// let mut undone = Vec::new();
/// let result = catch_unwind(AssertUnwindSafe(|| {
///     let watch = ErrorWatch::new();
///     let mut written = exitstack::guard_on_failure(&watch, Vec::new(), |w| undone = w);
///     written.push("header");
///     panic!("out of memory");
/// }));
/// assert!(result.is_err());
/// assert_eq!(undone, ["header"]);
/// ```
#[inline]
pub fn guard_on_failure<T, F>(
    watch: &ErrorWatch,
    value: T,
    f: F,
) -> ScopeGuard<T, F, Conditional<'_>>
where
    F: FnOnce(T),
{
    ScopeGuard::watching(watch, When::Failure, value, f)
}

/// A guard that calls `f` with `value` and the [`Outcome`] when it goes out
/// of scope, whatever the outcome: commit or roll back in one closure.
///
/// Without an [`ErrorWatch`] it sees [`Outcome::Success`] or [`Outcome::Panic`];
/// [`ScopeGuard::watching_with_outcome`] also sees [`Outcome::Error`].
///
/// ```
/// use exitstack::Outcome;
/// use std::panic::{AssertUnwindSafe, catch_unwind};
///
/// let mut log = Vec::new();
/// let _ = catch_unwind(AssertUnwindSafe(|| {
///     let mut tx = exitstack::guard_with_outcome(Vec::new(), |writes, outcome| {
///         let verb = if outcome == Outcome::Success { "commit" } else { "roll back" };
///         log.push(format!("{verb} {writes:?}"));
///     });
///     tx.push("debit");
///     panic!("credit failed");
/// }));
/// assert_eq!(log, [r#"roll back ["debit"]"#]);
/// ```
#[inline]
pub fn guard_with_outcome<T, F>(value: T, f: F) -> ScopeGuard<T, F, WithOutcome<'static>>
where
    F: FnOnce(T, Outcome),
{
    ScopeGuard::with(value, f, WithOutcome(Trigger::new(When::Always)))
}

impl<'s, T, F: FnOnce(T)> ScopeGuard<T, F, Conditional<'s>> {
    /// A guard that calls `f` with `value` at the end of its scope if the
    /// outcome matches `when` — [`Guard::watching`](crate::Guard::watching)
    /// with a value. It sees [`Outcome::Error`] once `watch` is
    /// [marked](ErrorWatch::mark_error), and [`ErrorWatch::cancel_all`] disarms it
    /// (the closure and the value are then dropped, unrun).
    ///
    /// ```
    /// use exitstack::{ErrorWatch, ScopeGuard, When};
    ///
    /// let mut published = None;
    /// {
    ///     let watch = ErrorWatch::new();
    ///     let mut draft = ScopeGuard::watching(&watch, When::Success, String::new(), |d| {
    ///         published = Some(d);
    ///     });
    ///     draft.push_str("hello");
    ///     let _ = watch.check(Ok::<(), ()>(()));
    /// }
    /// assert_eq!(published.as_deref(), Some("hello"));
    /// ```
    #[inline]
    pub fn watching(watch: &'s ErrorWatch, when: When, value: T, f: F) -> Self {
        ScopeGuard::with(value, f, Conditional(Trigger::watching(watch, when)))
    }
}

impl<'s, T, F: FnOnce(T, Outcome)> ScopeGuard<T, F, WithOutcome<'s>> {
    /// A guard that calls `f` with `value` and the [`Outcome`] at the end of
    /// its scope if the outcome matches `when`; [`When::Always`] to see every
    /// outcome. [`Guard::watching`](crate::Guard::watching) with a value.
    ///
    /// ```
    /// use exitstack::{Outcome, ErrorWatch, ScopeGuard, When};
    ///
    /// fn transfer(amount: u32, seen: &mut Option<(Vec<&'static str>, Outcome)>) -> Result<(), String> {
    ///     let watch = ErrorWatch::new();
    ///     let mut tx = ScopeGuard::watching_with_outcome(&watch, When::Always, Vec::new(), |w, o| {
    ///         *seen = Some((w, o));
    ///     });
    ///     tx.push("debit");
    ///     if amount > 100 {
    ///         return watch.check(Err("insufficient funds".to_owned()));
    ///     }
    ///     tx.push("credit");
    ///     Ok(())
    /// }
    ///
    /// let mut seen = None;
    /// transfer(30, &mut seen).unwrap();
    /// assert_eq!(seen, Some((vec!["debit", "credit"], Outcome::Success)));
    /// transfer(300, &mut seen).unwrap_err();
    /// assert_eq!(seen, Some((vec!["debit"], Outcome::Error)));
    /// ```
    #[inline]
    pub fn watching_with_outcome(watch: &'s ErrorWatch, when: When, value: T, f: F) -> Self {
        ScopeGuard::with(value, f, WithOutcome(Trigger::watching(watch, when)))
    }
}

impl<T, F, S: Strategy<T, F>> Deref for ScopeGuard<T, F, S> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.parts.value
    }
}

impl<T, F, S: Strategy<T, F>> DerefMut for ScopeGuard<T, F, S> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.parts.value
    }
}

impl<T, F, S: Strategy<T, F>> Drop for ScopeGuard<T, F, S> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `drop` runs at most once, and `into_parts` (the only other
        // taker) wraps the guard in `ManuallyDrop` so that this never runs
        // for it: `parts` is still there and is taken exactly once.
        let Parts { value, f } = unsafe { ManuallyDrop::take(&mut self.parts) };
        finish::<T, F, S>(self.strategy.fires(), value, f);
    }
}

/// Runs the closure with the value if `fires`, else drops both, each under
/// [`run_in_drop`]: a panic while the thread is already unwinding is
/// discarded instead of aborting the process.
#[inline]
fn finish<T, F, S: Strategy<T, F>>(fires: Option<Outcome>, value: T, f: F) {
    if let Some(outcome) = fires {
        run_in_drop(move || S::call(f, value, outcome));
    } else {
        // The closure first, then the value (scopeguard's order); each on
        // its own, so that one panicking drop cannot make the other panic
        // during unwinding.
        run_in_drop(move || drop(f));
        run_in_drop(move || drop(value));
    }
}

impl<T: fmt::Debug, F, S: Strategy<T, F>> fmt::Debug for ScopeGuard<T, F, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopeGuard")
            .field("value", &self.parts.value)
            .field("strategy", &self.strategy)
            .finish_non_exhaustive()
    }
}

// SAFETY: a shared `&ScopeGuard` reaches only `&T` (`Deref`, `Debug`) and
// `&S` (`Debug`); the closure is touched only through `&mut self` or by value
// (`drop`, `into_inner`, `exit`). Sharing the guard between threads so
// shares a `&T` and a `&S`, which `T: Sync` and `S: Sync` allow, whatever
// `F` is — as scopeguard's `ScopeGuard` is `Sync` for a closure that is not.
unsafe impl<T: Sync, F, S: Strategy<T, F> + Sync> Sync for ScopeGuard<T, F, S> {}

/// A value guard entered into a stack with
/// [`enter_exit_context`](crate::ExitStack::enter_exit_context) sees the
/// stack's outcome instead of judging one itself: `Error` when the stack is
/// closed with one ([`ExitStack::scope`](crate::ExitStack::scope) on an
/// `Err`, [`close_with`](crate::ExitStack::close_with)), `Panic` when the
/// stack's scope panics or an earlier entry failed. Its strategy then
/// decides on that outcome ([`Always`] runs on all of them, [`OnSuccess`]
/// on `Success`, [`OnUnwind`] on `Panic`, [`Conditional`] and
/// [`WithOutcome`] on what their [`When`] names, unless their scope was
/// cancelled). Cancelled with the stack's
/// [`cancel_all`](crate::ExitStack::cancel_all), it is disarmed: its closure
/// is dropped without running, as by [`ScopeGuard::into_inner`].
///
/// [`enter_context`](crate::ExitStack::enter_context) takes a value guard
/// too, as any value: the stack drops it, and the guard judges the outcome
/// itself, as a guard in a local does — `Panic` only while a panic unwinds
/// through the stack, never an `Err` the stack saw. Dropping is also what
/// `cancel_all` does to it, so it runs then: enter a value guard with
/// `enter_exit_context` to have `cancel_all` disarm it.
///
/// ```
/// use exitstack::{ExitStack, Outcome};
///
/// let mut seen = Vec::new();
/// let result = ExitStack::scope(|stack| {
///     let names = stack.enter_exit_context(exitstack::guard_with_outcome(
///         Vec::new(),
///         |names, outcome| seen.push((names, outcome)),
///     ));
///     names.push("a.txt");
///     Err::<(), _>("disk full")
/// });
/// assert!(result.is_err());
/// assert_eq!(seen, [(vec!["a.txt"], Outcome::Error)]);
/// ```
#[cfg(feature = "alloc")]
impl<T, F, S: Strategy<T, F>> crate::ExitContext for ScopeGuard<T, F, S> {
    type Error = core::convert::Infallible;

    #[inline]
    fn exit(self, outcome: Outcome) -> Result<(), Self::Error> {
        let (Parts { value, f }, strategy) = Self::into_parts(self);
        // The stack runs this under `catch_unwind` itself.
        if let Some(outcome) = strategy.fires_on(outcome) {
            S::call(f, value, outcome);
        } else {
            // Each on its own, as in `finish`: a stack closed while a panic
            // unwinds must not abort on the second panicking drop.
            run_in_drop(move || drop(f));
            run_in_drop(move || drop(value));
        }
        Ok(())
    }

    /// Cancelled (`cancel_all`): disarmed, as `into_inner` disarms it — the
    /// closure is dropped without running, then the value.
    #[inline]
    fn cancel(self) {
        let (Parts { value, f }, _) = Self::into_parts(self);
        run_in_drop(move || drop(f));
        run_in_drop(move || drop(value));
    }
}

mod sealed {
    pub trait Sealed {}
}

/// Decides whether a [`ScopeGuard`]'s closure runs, and how it is called:
/// scopeguard's `Strategy`, sealed, and kept in the guard as state.
///
/// `T` and `F` are the guard's value and closure types: most strategies call
/// an `FnOnce(T)`, [`WithOutcome`] an `FnOnce(T, Outcome)`. The
/// implementations are [`Always`], [`OnSuccess`], [`OnUnwind`],
/// [`Conditional`] and [`WithOutcome`]; none can be added outside this
/// crate.
///
/// ```
/// use exitstack::{Always, ScopeGuard, Strategy};
///
/// // Generic code names the strategy with the value and closure types.
/// fn defuse<T, F, S: Strategy<T, F>>(guard: ScopeGuard<T, F, S>) -> T {
///     ScopeGuard::into_inner(guard)
/// }
/// let guard: ScopeGuard<u8, _, Always> = exitstack::guard(7, |_| unreachable!());
/// assert_eq!(defuse(guard), 7);
/// ```
pub trait Strategy<T, F>: sealed::Sealed + Copy + fmt::Debug {
    /// With which outcome the closure runs if the guard is dropped now;
    /// `None` if it must not run.
    #[doc(hidden)]
    fn fires(&self) -> Option<Outcome>;

    /// The same, for a scope that ended with `outcome` (a stack's).
    #[doc(hidden)]
    fn fires_on(&self, outcome: Outcome) -> Option<Outcome>;

    /// Calls the closure.
    #[doc(hidden)]
    fn call(f: F, value: T, outcome: Outcome);
}

/// The [`Strategy`] of [`guard`]: the closure always runs. Costs nothing: a
/// guard with it is the value and the closure, and its drop is the call.
///
/// ```
/// let guard: exitstack::ScopeGuard<_, _, exitstack::Always> = exitstack::guard(1, drop);
/// # drop(guard);
/// ```
#[derive(Clone, Copy)]
pub struct Always(());

impl sealed::Sealed for Always {}

impl fmt::Debug for Always {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Always")
    }
}

impl<T, F: FnOnce(T)> Strategy<T, F> for Always {
    #[inline]
    fn fires(&self) -> Option<Outcome> {
        // The outcome is never read: the closure does not take it.
        Some(Outcome::Success)
    }

    #[inline]
    fn fires_on(&self, outcome: Outcome) -> Option<Outcome> {
        Some(outcome)
    }

    #[inline]
    fn call(f: F, value: T, _: Outcome) {
        f(value);
    }
}

/// The [`Strategy`] of [`guard_on_success`]: the closure runs unless a panic
/// that started after the guard was made is unwinding. Needs `std`.
///
/// ```
/// let guard: exitstack::ScopeGuard<_, _, exitstack::OnSuccess> =
///     exitstack::guard_on_success(1, drop);
/// # drop(guard);
/// ```
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
#[derive(Clone, Copy)]
pub struct OnSuccess(PanicBaseline);

#[cfg(feature = "std")]
impl sealed::Sealed for OnSuccess {}

#[cfg(feature = "std")]
impl<T, F: FnOnce(T)> Strategy<T, F> for OnSuccess {
    #[inline]
    fn fires(&self) -> Option<Outcome> {
        only(Outcome::Success, self.0.outcome())
    }

    #[inline]
    fn fires_on(&self, outcome: Outcome) -> Option<Outcome> {
        only(Outcome::Success, outcome)
    }

    #[inline]
    fn call(f: F, value: T, _: Outcome) {
        f(value);
    }
}

/// `Some(outcome)` if it is `wanted`.
#[cfg(feature = "std")]
#[inline]
fn only(wanted: Outcome, outcome: Outcome) -> Option<Outcome> {
    (outcome == wanted).then_some(outcome)
}

#[cfg(feature = "std")]
impl fmt::Debug for OnSuccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnSuccess")
    }
}

/// The [`Strategy`] of [`guard_on_unwind`]: the closure runs only while a
/// panic that started after the guard was made is unwinding. Needs `std`.
///
/// ```
/// let guard: exitstack::ScopeGuard<_, _, exitstack::OnUnwind> =
///     exitstack::guard_on_unwind(1, |_| unreachable!("no panic"));
/// # drop(guard);
/// ```
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
#[derive(Clone, Copy)]
pub struct OnUnwind(PanicBaseline);

#[cfg(feature = "std")]
impl sealed::Sealed for OnUnwind {}

#[cfg(feature = "std")]
impl<T, F: FnOnce(T)> Strategy<T, F> for OnUnwind {
    #[inline]
    fn fires(&self) -> Option<Outcome> {
        only(Outcome::Panic, self.0.outcome())
    }

    #[inline]
    fn fires_on(&self, outcome: Outcome) -> Option<Outcome> {
        only(Outcome::Panic, outcome)
    }

    #[inline]
    fn call(f: F, value: T, _: Outcome) {
        f(value);
    }
}

#[cfg(feature = "std")]
impl fmt::Debug for OnUnwind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnUnwind")
    }
}

/// The [`Strategy`] of [`guard_on_error`], [`guard_on_failure`] and
/// [`ScopeGuard::watching`]: the closure (`FnOnce(T)`) runs on the outcomes a
/// [`When`] names, judged with an [`ErrorWatch`] exactly as a
/// [`Guard`](crate::Guard) judges them.
///
/// ```
/// let watch = exitstack::ErrorWatch::new();
/// let guard: exitstack::ScopeGuard<_, _, exitstack::Conditional<'_>> =
///     exitstack::guard_on_error(&watch, 1, |_| unreachable!("no error"));
/// # drop(guard);
/// ```
#[derive(Clone, Copy)]
pub struct Conditional<'s>(Trigger<'s>);

impl sealed::Sealed for Conditional<'_> {}

impl<T, F: FnOnce(T)> Strategy<T, F> for Conditional<'_> {
    #[inline]
    fn fires(&self) -> Option<Outcome> {
        self.0.fires()
    }

    #[inline]
    fn fires_on(&self, outcome: Outcome) -> Option<Outcome> {
        self.0.fires_on(outcome)
    }

    #[inline]
    fn call(f: F, value: T, _: Outcome) {
        f(value);
    }
}

impl fmt::Debug for Conditional<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conditional")
            .field("when", &self.0.when())
            .field("outcome", &self.0.outcome())
            .finish()
    }
}

/// The [`Strategy`] of [`guard_with_outcome`] and
/// [`ScopeGuard::watching_with_outcome`]: the closure (`FnOnce(T, Outcome)`)
/// runs on the outcomes a [`When`] names and receives the outcome with the
/// value.
///
/// ```
/// let guard: exitstack::ScopeGuard<_, _, exitstack::WithOutcome<'static>> =
///     exitstack::guard_with_outcome(1, |_, _| {});
/// # drop(guard);
/// ```
#[derive(Clone, Copy)]
pub struct WithOutcome<'s>(Trigger<'s>);

impl sealed::Sealed for WithOutcome<'_> {}

impl<T, F: FnOnce(T, Outcome)> Strategy<T, F> for WithOutcome<'_> {
    #[inline]
    fn fires(&self) -> Option<Outcome> {
        self.0.fires()
    }

    #[inline]
    fn fires_on(&self, outcome: Outcome) -> Option<Outcome> {
        self.0.fires_on(outcome)
    }

    #[inline]
    fn call(f: F, value: T, outcome: Outcome) {
        f(value, outcome);
    }
}

impl fmt::Debug for WithOutcome<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithOutcome")
            .field("when", &self.0.when())
            .field("outcome", &self.0.outcome())
            .finish()
    }
}
