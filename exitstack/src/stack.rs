//! [`ExitStack`] and [`SendExitStack`]: the same API over the same core
//! ([`RawStack`]), differing only in whether entries must be `Send`.

use core::marker::PhantomData;

use crate::Outcome;
use crate::error::{BoxError, CancelError, CleanupError, ScopeError};
use crate::raw::{EntryKey, RawStack, Run};
use crate::threading::{EntryFor, Local, Sendable, Threading};

/// `callback`: a closure run whatever the outcome.
pub(crate) struct Callback<F>(pub(crate) F);

impl<F: FnOnce()> Run for Callback<F> {
    #[inline]
    fn run(self, _: Outcome) -> Result<(), BoxError> {
        (self.0)();
        Ok(())
    }
}

/// `push`: an exit callback that sees the outcome.
pub(crate) struct ExitCallback<F>(pub(crate) F);

impl<F: FnOnce(Outcome)> Run for ExitCallback<F> {
    #[inline]
    fn run(self, outcome: Outcome) -> Result<(), BoxError> {
        (self.0)(outcome);
        Ok(())
    }
}

/// `try_callback`: a fallible closure whose error is collected.
pub(crate) struct TryCallback<F>(pub(crate) F);

impl<F: FnOnce() -> Result<(), E>, E: Into<BoxError>> Run for TryCallback<F> {
    #[inline]
    fn run(self, _: Outcome) -> Result<(), BoxError> {
        (self.0)().map_err(Into::into)
    }
}

/// `try_push`: a fallible exit callback that sees the outcome; its error is
/// collected.
pub(crate) struct TryExitCallback<F>(pub(crate) F);

impl<F: FnOnce(Outcome) -> Result<(), E>, E: Into<BoxError>> Run for TryExitCallback<F> {
    #[inline]
    fn run(self, outcome: Outcome) -> Result<(), BoxError> {
        (self.0)(outcome).map_err(Into::into)
    }
}

/// `enter_context`: a value dropped at exit. `repr(transparent)` so that a
/// pointer to the entry is a pointer to the value.
#[repr(transparent)]
pub(crate) struct Context<T>(pub(crate) T);

impl<T> Run for Context<T> {
    #[inline]
    fn run(self, _: Outcome) -> Result<(), BoxError> {
        drop(self.0);
        Ok(())
    }
}

/// `enter_exit_context`: a value whose `exit` sees the outcome.
#[repr(transparent)]
pub(crate) struct Exit<C>(pub(crate) C);

impl<C: ExitContext> Run for Exit<C> {
    #[inline]
    fn run(self, outcome: Outcome) -> Result<(), BoxError> {
        self.0.exit(outcome).map_err(Into::into)
    }

    #[inline]
    fn discard(self) {
        self.0.cancel();
    }
}

/// A value whose exit depends on how the scope ended — the analog of
/// Python's `__exit__(exc_type, exc, tb)`: commit on success, roll back
/// otherwise.
///
/// Plain RAII values need no trait: [`ExitStack::enter_context`] takes any
/// value and drops it at exit. Implement `ExitContext` when the exit needs
/// the [`Outcome`] or can fail, and enter the value with
/// [`ExitStack::enter_exit_context`]. `exit` consumes the value, so it can
/// call consuming methods such as `Transaction::commit(self)`.
///
/// ```
/// use std::cell::RefCell;
/// use std::convert::Infallible;
/// use exitstack::{ExitContext, ExitStack, Outcome};
///
/// struct Transaction<'log> { log: &'log RefCell<Vec<String>>, writes: Vec<&'static str> }
///
/// impl ExitContext for Transaction<'_> {
///     type Error = Infallible;
///     fn exit(self, outcome: Outcome) -> Result<(), Infallible> {
///         let verb = if outcome == Outcome::Success { "commit" } else { "roll back" };
///         self.log.borrow_mut().push(format!("{verb} {:?}", self.writes));
///         Ok(())
///     }
/// }
///
/// let log = RefCell::new(Vec::new());
/// let result = ExitStack::scope(|stack| {
///     let tx = stack.enter_exit_context(Transaction { log: &log, writes: vec![] });
///     tx.writes.push("debit");
///     Err::<(), _>("credit failed")
/// });
/// assert_eq!(result.unwrap_err().to_string(), "credit failed");
/// assert_eq!(*log.borrow(), [r#"roll back ["debit"]"#]);
/// ```
pub trait ExitContext {
    /// What a failed exit returns; collected like a
    /// [`try_callback`](ExitStack::try_callback) error. Use
    /// [`core::convert::Infallible`] when exiting cannot fail.
    type Error: Into<BoxError>;

    /// Leaves the context, knowing how the scope ended.
    ///
    /// # Errors
    ///
    /// Whatever leaving failed with; it is collected into the
    /// [`CleanupError`] of `close()`.
    fn exit(self, outcome: Outcome) -> Result<(), Self::Error>;

    /// Called instead of [`exit`](ExitContext::exit) when the entry is
    /// cancelled ([`cancel_all`](ExitStack::cancel_all)): the scope is not
    /// ending, the cleanup is no longer wanted. The default drops the
    /// value; a value whose `Drop` is itself a cleanup (a value guard)
    /// disarms it here instead.
    ///
    /// ```
    /// use std::cell::Cell;
    /// use exitstack::{ExitContext, ExitStack, Outcome};
    ///
    /// struct Lease<'c>(&'c Cell<&'static str>);
    /// impl ExitContext for Lease<'_> {
    ///     type Error = std::convert::Infallible;
    ///     fn exit(self, _: Outcome) -> Result<(), Self::Error> {
    ///         self.0.set("returned");
    ///         Ok(())
    ///     }
    ///     fn cancel(self) {
    ///         self.0.set("kept");
    ///     }
    /// }
    ///
    /// let state = Cell::new("leased");
    /// let mut stack = ExitStack::new();
    /// stack.enter_exit_context(Lease(&state));
    /// stack.cancel_all();
    /// assert_eq!(state.get(), "kept");
    /// ```
    #[inline]
    fn cancel(self)
    where
        Self: Sized,
    {
    }
}

/// Construction, registration of synchronous entries, cancelling,
/// transfer, `len`: one generic impl for both markers. (The asynchronous
/// stacks have the same methods, forwarded to their inner `Stack`.)
impl<'a, M: Threading> Stack<'a, M> {
    /// An empty stack.
    ///
    /// Whether its scope ends in a panic is judged against this
    /// moment: a stack made while the thread is already unwinding
    /// (in a `Drop` during a panic) still sees [`Outcome::Success`]
    /// when its own scope ends normally — and also when a new panic
    /// starts in its scope and is caught within that `Drop`, which
    /// stable Rust cannot tell from the first one (see
    /// [`Outcome`]'s limits; without `std`, no panic is detected).
    #[must_use]
    #[inline]
    pub fn new() -> Self {
        Self::from_raw(RawStack::new())
    }

    /// Registers `f` to run at exit, whatever the outcome.
    ///
    /// ```
    /// let log = std::sync::Mutex::new(Vec::new());
    #[doc = concat!("let stack = exitstack::", "ExitStack", "::new();")]
    /// stack.callback(|| log.lock().unwrap().push("first"));
    /// stack.callback(|| log.lock().unwrap().push("second"));
    /// drop(stack);
    /// assert_eq!(*log.lock().unwrap(), ["second", "first"]);
    /// ```
    #[inline]
    pub fn callback(&self, f: impl FnOnce() + EntryFor<M> + 'a) -> EntryKey {
        self.raw.push(Callback(f)).0
    }

    /// Registers an exit callback that receives the [`Outcome`]
    /// (Python's `push`).
    ///
    /// `Outcome::Error` for the scope's own errors is only seen
    /// through [`scope`](Self::scope), `close_with` (`aclose_with`),
    /// or `#[exitstack::scope]`: a stack dropped on an early
    /// `return Err(..)` or `?` cannot tell that from success. (It is
    /// also seen after a cleanup of the stack failed: policy 8.)
    ///
    /// ```
    /// use exitstack::Outcome;
    /// let seen = std::sync::Mutex::new(None);
    #[doc = concat!("let stack = exitstack::", "ExitStack", "::new();")]
    /// stack.push(|outcome| *seen.lock().unwrap() = Some(outcome));
    /// drop(stack);
    /// assert_eq!(*seen.lock().unwrap(), Some(Outcome::Success));
    /// ```
    #[inline]
    pub fn push(&self, f: impl FnOnce(Outcome) + EntryFor<M> + 'a) -> EntryKey {
        self.raw.push(ExitCallback(f)).0
    }

    /// Registers a fallible cleanup. Its error does not stop the
    /// others: closing (`close`, or `aclose` for an async stack) returns every error, in the
    /// order the cleanups ran.
    ///
    /// ```
    #[doc = "#"]
    #[doc = concat!("let mut stack = exitstack::", "ExitStack", "::new();")]
    /// stack.try_callback(|| Err(std::io::Error::other("unlock failed")));
    /// stack.try_callback(|| Ok::<(), std::io::Error>(()));
    #[doc = concat!("let err = ", "stack.close()", ".unwrap_err();")]
    /// assert_eq!(err.len(), 1);
    /// assert!(err.downcast_ref::<std::io::Error>().is_some());
    /// ```
    #[inline]
    pub fn try_callback<E>(&self, f: impl FnOnce() -> Result<(), E> + EntryFor<M> + 'a) -> EntryKey
    where
        E: Into<BoxError>,
    {
        self.raw.push(TryCallback(f)).0
    }

    /// Registers a fallible exit callback that receives the
    /// [`Outcome`]: a commit that can fail, seeing whether to commit
    /// at all. Its error is collected like a
    /// [`try_callback`](Self::try_callback) error, and the entries
    /// that run after it see [`Outcome::Error`].
    ///
    /// ```
    /// use exitstack::Outcome;
    #[doc = "#"]
    #[doc = concat!("let mut stack = exitstack::", "ExitStack", "::new();")]
    /// stack.try_push(|outcome| match outcome {
    ///     Outcome::Success => Err(std::io::Error::other("commit failed")),
    ///     _ => Ok(()), // rolled back
    /// });
    #[doc = concat!("let err = ", "stack.close()", ".unwrap_err();")]
    /// assert_eq!(err.first().to_string(), "commit failed");
    /// ```
    #[inline]
    pub fn try_push<E>(
        &self,
        f: impl FnOnce(Outcome) -> Result<(), E> + EntryFor<M> + 'a,
    ) -> EntryKey
    where
        E: Into<BoxError>,
    {
        self.raw.push(TryExitCallback(f)).0
    }

    /// Holds `value` until exit, then drops it — in LIFO order with
    /// every other entry. Any RAII value is a context: a file, a lock
    /// guard, a temporary directory.
    ///
    /// Registration takes `&self`, so the returned reference stays
    /// usable while more entries are registered: registering never
    /// moves an entry. A context has no cancel key: it is dropped
    /// when the stack is closed, dropped or `cancel_all`ed. Once the
    /// reference is gone the value may move (it does not own its
    /// address): the first eight small entries live inside the
    /// stack and move with it, and `pop_all` moves them to the
    /// stack it returns.
    ///
    /// ```
    #[doc = concat!("let stack = exitstack::", "ExitStack", "::new();")]
    /// let names = stack.enter_context(Vec::new());
    /// let sizes = stack.enter_context(Vec::new());
    /// names.push("a.txt");
    /// sizes.push(42);
    /// assert_eq!(stack.len(), 2);
    /// ```
    #[allow(
        clippy::mut_from_ref,
        reason = "each call returns a distinct heap value; see the SAFETY comment"
    )]
    #[inline]
    pub fn enter_context<T: EntryFor<M> + 'a>(&self, value: T) -> &mut T {
        let (_, at) = self.raw.push(Context(value));
        // SAFETY: `at` points to the entry just stored, a
        // `repr(transparent)` `Context<T>`, so to a live `T`, and
        // the returned borrow holds `&self` for its whole life. What
        // could drop or move the value meanwhile:
        // * running or dropping all entries, or moving them
        //   (`close`, `cancel_all`, `pop_all`, drop): each needs
        //   `&mut self` or ownership, excluded by the borrow;
        // * `cancel(&key)`, the one way `&self` drops an entry: a
        //   key that passes its checks names the pending entry it was
        //   issued for and no other (the invariant of
        //   `raw/keys.rs`, which holds however an earlier emptying
        //   of the stack ended), and contexts are issued none, so no
        //   key can name this slot;
        // * registration: it writes only the slot at `len`, never a
        //   pending one, and never moves slots (inline, or in chunks
        //   that never reallocate).
        // Every call stores a new entry, so the `&mut T`s handed out
        // never alias, and the stack itself never reads a pending
        // payload.
        unsafe { &mut *at.cast::<T>().as_ptr() }
    }

    /// Holds an [`ExitContext`] until exit, then calls its
    /// [`exit`](ExitContext::exit) with the outcome; an error is
    /// collected like a [`try_callback`](Self::try_callback) error.
    ///
    /// ```
    /// use exitstack::{ExitContext, Outcome};
    /// struct Commit<'l>(&'l std::sync::Mutex<Vec<Outcome>>);
    /// impl ExitContext for Commit<'_> {
    ///     type Error = std::convert::Infallible;
    ///     fn exit(self, outcome: Outcome) -> Result<(), Self::Error> {
    ///         self.0.lock().unwrap().push(outcome);
    ///         Ok(())
    ///     }
    /// }
    /// let log = std::sync::Mutex::new(Vec::new());
    #[doc = concat!("let stack = exitstack::", "ExitStack", "::new();")]
    /// stack.enter_exit_context(Commit(&log));
    /// drop(stack);
    /// assert_eq!(*log.lock().unwrap(), [Outcome::Success]);
    /// ```
    #[allow(
        clippy::mut_from_ref,
        reason = "each call returns a distinct heap value; see the SAFETY comment"
    )]
    #[inline]
    pub fn enter_exit_context<C: ExitContext + EntryFor<M> + 'a>(&self, context: C) -> &mut C {
        let (_, at) = self.raw.push(Exit(context));
        // SAFETY: as in `enter_context` (`Exit` is transparent too):
        // no key that passes `cancel`'s checks can name a context's
        // slot, and nothing else reached through `&self` touches it.
        unsafe { &mut *at.cast::<C>().as_ptr() }
    }

    /// Cancels one entry: it will never run, and what its closure
    /// captured is dropped now, exactly once.
    ///
    /// # Errors
    ///
    /// [`CancelError::NotPending`](CancelError::NotPending) if the entry already ran or was
    /// cancelled (a key used twice);
    /// [`CancelError::ForeignKey`](CancelError::ForeignKey) if
    /// the key is another stack's (entries moved by `pop_all` take
    /// their keys along). Nothing changes in either case, and the key
    /// stays usable, e.g. on the right stack.
    ///
    /// # Panics
    ///
    /// If dropping what the closure captured panics: the entry is
    /// cancelled all the same (it is gone from the stack). Called
    /// while the thread is already unwinding (from a destructor),
    /// that panic is discarded instead, since escaping there would
    /// abort the process.
    ///
    /// ```
    /// let log = std::sync::Mutex::new(Vec::new());
    #[doc = concat!("let stack = exitstack::", "ExitStack", "::new();")]
    /// stack.callback(|| log.lock().unwrap().push("close"));
    /// let rollback = stack.callback(|| log.lock().unwrap().push("rollback"));
    /// // ... the work succeeded:
    /// stack.cancel(&rollback).unwrap();
    /// drop(stack);
    /// assert_eq!(*log.lock().unwrap(), ["close"]);
    /// ```
    pub fn cancel(&self, key: &EntryKey) -> Result<(), CancelError> {
        self.raw.cancel(key)
    }

    /// Cancels every pending entry: none of them will run. What
    /// their closures captured is dropped now, last registered first;
    /// values held by [`enter_context`](Self::enter_context) are
    /// dropped too (owning a value means dropping it — there is no
    /// way to keep a value and skip its `Drop` short of leaking it),
    /// and an [`ExitContext`] gets its [`cancel`](ExitContext::cancel)
    /// instead of its `exit` (by default it is dropped; a value guard
    /// is disarmed).
    ///
    /// This is Python's `if result: stack.pop_all()` — "the cleanup
    /// is not needed after all". In Rust, [`pop_all`](Self::pop_all)
    /// *transfers* the cleanups instead: the stack it returns runs
    /// them when dropped.
    ///
    /// # Panics
    ///
    /// If dropping a captured value panics: after every entry was
    /// dropped, with the first payload.
    ///
    /// ```
    /// let log = std::sync::Mutex::new(Vec::new());
    #[doc = concat!("let mut stack = exitstack::", "ExitStack", "::new();")]
    /// stack.callback(|| log.lock().unwrap().push("cleanup_resources"));
    /// let result = true; // perform_operation()
    /// if result {
    ///     stack.cancel_all();
    /// }
    /// drop(stack);
    /// assert!(log.lock().unwrap().is_empty());
    /// ```
    pub fn cancel_all(&mut self) {
        self.raw.cancel_all();
    }

    /// Moves every pending entry, in order, into a new stack and
    /// runs nothing: ownership of the cleanups passes to whoever
    /// takes the result. This stack is left empty and usable.
    ///
    /// This is how "open N resources; on failure release those
    /// already opened; on success hand them all over" becomes one
    /// idea instead of a flag variable.
    ///
    /// The returned stack is a new stack: like one from `new`, it
    /// judges whether its scope ends in a panic against the moment
    /// it was made.
    ///
    /// ```
    #[doc = concat!("fn open_all(names: &[&str]) -> Result<exitstack::", "ExitStack", "<'static>, String> {")]
    #[doc = concat!("    let mut stack = exitstack::", "ExitStack", "::new();")]
    ///     for name in names {
    ///         if name.is_empty() {
    ///             return Err("empty name".into()); // `stack` drops: all opened ones close
    ///         }
    ///         let name = name.to_string();
    ///         stack.callback(move || println!("closing {name}"));
    ///     }
    ///     Ok(stack.pop_all()) // success: the caller now owns the cleanups
    /// }
    /// let resources = open_all(&["a", "b"]).unwrap();
    /// assert_eq!(resources.len(), 2);
    /// assert!(open_all(&["a", ""]).is_err());
    /// ```
    #[must_use = "dropping the returned stack runs the cleanups at once; \
                  to skip them instead, call `cancel_all()`"]
    pub fn pop_all(&mut self) -> Self {
        Self::from_raw(self.raw.take_all())
    }

    /// How many entries are pending (registered, neither run nor
    /// cancelled).
    ///
    /// ```
    #[doc = concat!("let stack = exitstack::", "ExitStack", "::new();")]
    /// let key = stack.callback(|| ());
    /// assert_eq!(stack.len(), 1);
    /// stack.cancel(&key).unwrap();
    /// assert_eq!(stack.len(), 0);
    /// ```
    #[must_use]
    #[inline]
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// Whether no entry is pending.
    ///
    /// ```
    #[doc = concat!("assert!(exitstack::", "ExitStack", "::new().is_empty());")]
    /// ```
    #[must_use]
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.raw.len() == 0
    }
}

impl<M: Threading> Default for Stack<'_, M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: Threading> core::fmt::Debug for Stack<'_, M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let name = <M as crate::threading::sealed::Sealed>::SYNC_NAME;
        f.debug_struct(name).field("pending", &self.len()).finish()
    }
}

/// The closing half of the API of the synchronous stacks: `close`,
/// `close_with`, `scope`. The asynchronous stacks close with `aclose`.
impl<M: Threading> Stack<'_, M> {
    /// Runs every pending entry now, last registered first, each
    /// exactly once, with [`Outcome::Success`]. The stack is then
    /// empty and can be used again.
    ///
    /// # Errors
    ///
    /// Every error of the fallible entries, in the order they ran.
    ///
    /// # Panics
    ///
    /// If entries panicked, after all of them ran (those after the
    /// first panic see [`Outcome::Panic`]), with the payload of the
    /// first panic.
    #[inline]
    pub fn close(&mut self) -> Result<(), CleanupError> {
        self.raw.close_with(Outcome::Success)
    }

    /// Like [`close`](Self::close), telling the entries how the scope
    /// ended: mark an error by hand with [`Outcome::Error`].
    ///
    /// # Errors
    ///
    /// Every error of the fallible entries, in the order they ran.
    ///
    /// # Panics
    ///
    /// If entries panicked, after all of them ran, with the payload
    /// of the first panic.
    #[inline]
    pub fn close_with(&mut self, outcome: Outcome) -> Result<(), CleanupError> {
        self.raw.close_with(outcome)
    }

    /// Runs `body` with a fresh stack, then closes it: the body's
    /// `Result` decides the outcome (`Ok` → [`Outcome::Success`],
    /// `Err` → [`Outcome::Error`]); a panic in the body is
    /// [`Outcome::Panic`], and it keeps unwinding after the cleanups
    /// ran. The body gets `&mut` access, so it can also
    /// [`pop_all`](Self::pop_all) on success and return the cleanups
    /// to its caller — the "all or nothing" pattern, with on-error
    /// entries that see the `Err`.
    ///
    /// A stack that is simply dropped cannot know that its function
    /// returned an `Err` through `?`: it reports
    /// [`Outcome::Success`]. `scope` is how exit callbacks see
    /// [`Outcome::Error`].
    ///
    /// # Errors
    ///
    /// A [`ScopeError`], for a body error of any type: the body's error
    /// is primary — [`ScopeError::Body`] holds it as it was returned,
    /// with the errors of the cleanups that failed after it beside it
    /// (never replacing it). When the body succeeded, cleanup errors
    /// never vanish: they are [`ScopeError::Cleanup`], instead of the
    /// value. `?` turns it into `io::Error`, `Box<dyn Error>` or
    /// `anyhow::Error` (see [`ScopeError`]).
    ///
    /// # Panics
    ///
    /// If the body returned and cleanups panicked: after all ran,
    /// with the first payload.
    ///
    /// ```
    /// use exitstack::{ExitStack, Outcome, ScopeError};
    ///
    /// let log = std::sync::Mutex::new(Vec::new());
    /// let result = ExitStack::scope(|stack| {
    ///     stack.push(|outcome| log.lock().unwrap().push(outcome));
    ///     "42".parse::<u32>()
    /// });
    /// assert_eq!(result.unwrap(), 42);
    ///
    /// // A body error of any type; the cleanups saw it as `Outcome::Error`.
    /// let result: Result<(), ScopeError<String>> = ExitStack::scope(|stack| {
    ///     stack.push(|outcome| log.lock().unwrap().push(outcome));
    ///     Err("no such user".to_string())
    /// });
    /// assert_eq!(result.unwrap_err().body().unwrap(), "no such user");
    /// assert_eq!(*log.lock().unwrap(), [Outcome::Success, Outcome::Error]);
    /// ```
    pub fn scope<T, E, F>(body: F) -> Result<T, ScopeError<E>>
    where
        F: FnOnce(&mut Self) -> Result<T, E>,
    {
        // If `body` panics, `stack` is dropped while unwinding: its
        // entries see `Outcome::Panic` and their panics are discarded.
        let mut stack = Self::new();
        let result = body(&mut stack);
        let outcome = crate::ending::outcome(false, result.is_err());
        let cleanup = stack.close_with(outcome).err();
        crate::ending::body_error_first(result, cleanup)
    }
}

/// A dynamic LIFO stack of cleanups: Python's `contextlib.ExitStack` for
/// Rust.
///
/// Written [`ExitStack`] (entries need not be `Send`; the marker [`Local`])
/// or [`SendExitStack`] (`Send` entries, and the stack is `Send`; the marker
/// [`Sendable`]): one type, whose methods are documented here once.
///
/// Register cleanups as you acquire what they release; when the stack is
/// dropped or [closed](ExitStack::close) they run in reverse order, each
/// exactly once, even when some of them panic or fail. Decide later that
/// they should not run here after all: [`pop_all`](ExitStack::pop_all)
/// hands them to a new stack, [`cancel`](ExitStack::cancel) drops one,
/// [`cancel_all`](ExitStack::cancel_all) drops them all.
///
/// | entry | registered with | at exit |
/// |---|---|---|
/// | closure | [`callback`](ExitStack::callback) | called |
/// | exit callback | [`push`](ExitStack::push) | called with the [`Outcome`] |
/// | fallible closure | [`try_callback`](ExitStack::try_callback) | called; its error collected |
/// | fallible exit callback | [`try_push`](ExitStack::try_push) | called with the [`Outcome`]; its error collected |
/// | RAII value | [`enter_context`](ExitStack::enter_context) | dropped |
/// | [`ExitContext`] | [`enter_exit_context`](ExitStack::enter_exit_context) | `exit(outcome)`; its error collected |
///
/// # Policies
///
/// 1. **Order**: strict LIFO across every kind of entry.
/// 2. **Exactly once**: every entry runs once, also when others panic or
///    fail; a cancelled entry never runs and its closure is dropped once.
/// 3. **Panics**: when an entry panics, the remaining entries still run
///    (each under `catch_unwind`, seeing [`Outcome::Panic`], as Python passes
///    an exception on to the outer callbacks), and then the first panic
///    continues with its original payload. A stack dropped while its thread
///    is already unwinding lets that panic continue and discards later ones:
///    a second panic never aborts the process. Nothing is caught while
///    nothing panics: the happy path has no `catch_unwind` at all. `close()`
///    called while the thread is already unwinding (from a destructor that
///    runs during a panic) catches every entry's panic, discards it and
///    returns the errors: it never throws a second panic out of a
///    destructor; nor do `cancel` and `cancel_all` when a captured value's
///    `Drop` panics there. A discarded panic is still a panic of the scope:
///    the entries after it see [`Outcome::Panic`].
/// 4. **Errors**: `close()` returns every error in execution order. A stack
///    that is only dropped has nowhere to return them: they are discarded
///    (they go to the report hook, [`set_report_hook`](crate::set_report_hook): by default a line on standard error in debug builds); nothing panics.
/// 5. **Reuse**: after `close()` or `pop_all()` the stack is empty and takes
///    new entries.
/// 6. **Deep stacks**: entries run in a loop; 100,000 of them need no
///    recursion.
/// 7. **No self-reference**: a callback cannot reach its own stack; the
///    borrow checker rejects it:
///
/// ```compile_fail,E0597
/// let stack = exitstack::ExitStack::new();
/// stack.callback(|| println!("{}", stack.len())); // `stack` dropped while borrowed
/// ```
///
/// 8. **A failed cleanup is an error for the ones after it**: entries that
///    run after a `try_callback` or an [`ExitContext::exit`] returned `Err`
///    see [`Outcome::Error`] (after a panic, [`Outcome::Panic`]), as Python
///    passes a raised exception on to the `__exit__`s after it. A failed
///    commit makes the contexts entered before it roll back:
///
/// ```
/// use exitstack::{ExitStack, Outcome};
/// let seen = std::cell::Cell::new(None);
/// let mut stack = ExitStack::new();
/// stack.push(|outcome| seen.set(Some(outcome))); // e.g. the first transaction
/// stack.try_callback(|| Err("the second commit failed"));
/// assert!(stack.close().is_err());
/// assert_eq!(seen.get(), Some(Outcome::Error)); // rolled back, not committed
/// ```
///
/// 9. **Keys never name another entry**: a key is refused with
///    [`CancelError::NotPending`](crate::CancelError::NotPending) once its
///    entry ran or was cancelled, and once the stack started emptying
///    itself — also when that was cut short (a panic caught out of
///    `close()`, an `aclose()` future dropped or leaked part-way), so a key
///    never cancels a newer entry that reuses its place. This does not rest
///    on a destructor running nor on detecting unwinding.
///
/// Entries may borrow anything that outlives the stack (`'a`), so declare
/// the stack after what its cleanups use. `ExitStack` is neither `Send` nor
/// `Sync`; [`SendExitStack`] is `Send` and requires `Send` entries.
///
/// Without the `std` feature there is no `catch_unwind`: a panicking entry
/// unwinds out of `close()` (or `cancel_all()`, or the drop), and the
/// entries not yet run still run during that unwinding, each exactly once,
/// seeing [`Outcome::Panic`] (a second panic there aborts, as in any
/// destructor). A stack dropped by a panic of its scope cannot see it: its
/// entries see [`Outcome::Success`].
///
/// ```
/// use exitstack::ExitStack;
/// use std::cell::RefCell;
///
/// let log = RefCell::new(Vec::new());
/// {
///     let stack = ExitStack::new();
///     let buffer = stack.enter_context(String::from("data"));
///     stack.callback(|| log.borrow_mut().push("unlock"));
///     buffer.push_str(" and more");
///     stack.callback(|| log.borrow_mut().push("flush"));
/// } // dropped: runs "flush", then "unlock", then drops `buffer`
/// assert_eq!(*log.borrow(), ["flush", "unlock"]);
/// ```
pub struct Stack<'a, M: Threading> {
    pub(crate) raw: RawStack<'a>,
    marker: PhantomData<M>,
}

impl<'a, M: Threading> Stack<'a, M> {
    #[inline]
    pub(crate) fn from_raw(raw: RawStack<'a>) -> Self {
        Stack {
            raw,
            marker: PhantomData,
        }
    }
}

/// The stack of cleanups, for entries that need not be `Send`: a [`Stack`]
/// with the [`Local`] marker, where every method is documented. Not `Send`.
///
/// ```
/// let stack = exitstack::ExitStack::new();
/// let shared = std::rc::Rc::new(()); // not `Send`: fine here
/// stack.callback(move || drop(shared));
/// ```
pub type ExitStack<'a> = Stack<'a, Local>;

/// A stack that can be sent to another thread: every entry must be `Send`,
/// and so is the stack. A [`Stack`] with the [`Sendable`] marker, where every
/// method is documented.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use exitstack::SendExitStack;
///
/// let log = Arc::new(Mutex::new(Vec::new()));
/// let stack = SendExitStack::new();
/// let worker_log = Arc::clone(&log);
/// stack.callback(move || worker_log.lock().unwrap().push("released"));
///
/// std::thread::spawn(move || drop(stack)).join().unwrap();
/// assert_eq!(*log.lock().unwrap(), ["released"]);
/// ```
///
/// A non-`Send` entry is rejected:
///
/// ```compile_fail,E0277
/// let stack = exitstack::SendExitStack::new();
/// let shared = std::rc::Rc::new(());
/// stack.callback(move || drop(shared)); // `Rc<()>` cannot be sent between threads
/// ```
pub type SendExitStack<'a> = Stack<'a, Sendable>;

// SAFETY: `RawStack` is `!Send` only because it stores type-erased entries
// behind raw pointers (in place, or boxed, and its chunks). Every entry of a
// `Stack<'_, Sendable>` was registered through the methods above,
// all of which require the closure, value or context to be
// `EntryFor<Sendable>`, which only `Send` types are; and entries only ever
// move between `Sendable` stacks (`pop_all`), or into `Local` ones, never
// the other way. The chunks are allocations the stack owns alone. The rest
// (cells of integers, `&'static` vtables of function pointers, the baseline)
// is plain data. The stack stays `!Sync` through its `Cell`s, so `&self`
// registration is never shared across threads.
unsafe impl Send for Stack<'_, Sendable> {}

impl<'a> From<SendExitStack<'a>> for ExitStack<'a> {
    /// A `SendExitStack`'s entries are valid `ExitStack` entries (forgetting
    /// that they are `Send`); keys stay valid.
    ///
    /// ```
    /// let send = exitstack::SendExitStack::new();
    /// send.callback(|| ());
    /// let local: exitstack::ExitStack<'_> = send.into();
    /// assert_eq!(local.len(), 1);
    /// ```
    fn from(mut stack: SendExitStack<'a>) -> Self {
        Stack::from_raw(stack.raw.take_all())
    }
}
