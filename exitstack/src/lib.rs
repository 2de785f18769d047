//! Declare cleanup up front; decide later whether it runs; know how the
//! scope ended. Python's [`contextlib.ExitStack`], Zig's `errdefer` and D's
//! `scope(failure)`, for Rust.
//!
//! # The problem
//!
//! Acquire several resources; if one fails, release those already acquired;
//! if all succeed, hand them to the caller. With RAII alone this needs a flag
//! variable, and the cleanup ends up far from the setup it undoes:
//!
//! ```
//! # fn acquire(name: &str) -> Result<String, String> { Ok(name.into()) }
//! # fn release(_: &str) {}
//! fn open_all(names: &[&str]) -> Result<Vec<String>, String> {
//!     let mut opened = Vec::new();
//!     let mut success = false; // the flag
//!     // ... and a guard that reads it, written far from each `acquire`
//!     struct ReleaseOnFailure<'a>(&'a mut Vec<String>, &'a bool);
//!     # impl Drop for ReleaseOnFailure<'_> { fn drop(&mut self) { if !*self.1 { self.0.iter().for_each(|r| release(r)) } } }
//!     for name in names {
//!         opened.push(acquire(name)?); // forgets the ones already opened!
//!     }
//!     success = true;
//!     # let _ = success;
//!     Ok(opened)
//! }
//! # open_all(&["a"]).unwrap();
//! ```
//!
//! With an [`ExitStack`], each cleanup is registered next to its setup, runs
//! on every early return, `?` and panic, and [`pop_all`](ExitStack::pop_all)
//! hands the lot to the caller on success:
//!
//! ```
//! use exitstack::ExitStack;
//! # fn acquire(name: &str) -> Result<String, String> {
//! #     if name.is_empty() { Err("empty name".into()) } else { Ok(name.into()) }
//! # }
//! # fn release(_: &str) {}
//!
//! fn open_all(names: &[&str]) -> Result<(Vec<String>, ExitStack<'static>), String> {
//!     let mut stack = ExitStack::new();
//!     let mut opened = Vec::new();
//!     for name in names {
//!         let resource = acquire(name)?; // on error, `stack` releases the others
//!         let to_release = resource.clone();
//!         stack.callback(move || release(&to_release));
//!         opened.push(resource);
//!     }
//!     Ok((opened, stack.pop_all())) // success: the caller owns the cleanups
//! }
//!
//! let (resources, mut cleanups) = open_all(&["db", "cache"]).unwrap();
//! assert_eq!(resources.len(), 2);
//! cleanups.close().unwrap(); // released when the caller is done
//! assert!(open_all(&["db", ""]).is_err());
//! ```
//!
//! The [`cookbook`] has the recipes of Python's `contextlib` docs and more
//! (acquire N and hand over, several transactions, async connections, the
//! `aclose` footgun, migrating from scopeguard), each a tested example.
//!
//! # What is in the crate
//!
//! Three jobs, one name for each thing:
//!
//! | job | types | made with |
//! |---|---|---|
//! | a dynamic stack of cleanups | [`ExitStack`], [`SendExitStack`] (one type: [`Stack`]) | `ExitStack::new()`, [`ExitStack::scope`] |
//! | the same, with awaited cleanups | [`AsyncExitStack`], [`SendAsyncExitStack`] (one type: [`AsyncStack`]) | `AsyncExitStack::new()`, [`AsyncExitStack::scope`] |
//! | one cleanup in a local, no allocation | [`Defer`], [`Guard`], [`ScopeGuard`] (holds a value) | [`defer!`], [`Guard::new`], [`guard`] and friends |
//!
//! and the words they share: [`Outcome`] (how a scope ended: `Success`,
//! `Error`, `Panic`), [`When`] (which outcomes a conditional cleanup runs
//! on), [`ErrorWatch`] (a record of whether a function body returned an
//! `Err`, which `Guard::watching` and the on-error value guards read; the
//! `#[exitstack::scope]` attribute makes one for you), [`EntryKey`] (cancels
//! one entry), [`CleanupError`] (every error of one close, iterated by
//! reference as [`Errors`] or by value), [`ScopeError`] (a scope's body
//! error with the cleanup errors beside it), [`CancelError`].
//!
//! ## Stacks
//!
//! [`ExitStack`] is a dynamic LIFO stack of cleanups. Every way to register
//! one follows one rule — `try_` in front makes it fallible (its error is
//! collected into the [`CleanupError`] of `close`), `push` makes it see the
//! [`Outcome`], `async` makes it awaited:
//!
//! | | infallible | fallible |
//! |---|---|---|
//! | runs always | [`callback`](ExitStack::callback) | [`try_callback`](ExitStack::try_callback) |
//! | sees the [`Outcome`] | [`push`](ExitStack::push) | [`try_push`](ExitStack::try_push) |
//! | runs always, awaited | [`push_async_callback`](AsyncExitStack::push_async_callback) | [`try_push_async_callback`](AsyncExitStack::try_push_async_callback) |
//! | sees the [`Outcome`], awaited | [`push_async_exit`](AsyncExitStack::push_async_exit) | [`try_push_async_exit`](AsyncExitStack::try_push_async_exit) |
//! | a value | [`enter_context`] (RAII: dropped) | [`enter_exit_context`](ExitStack::enter_exit_context) ([`ExitContext`]: `exit(outcome)`) |
//! | a value, awaited | — | [`enter_async_context`](AsyncExitStack::enter_async_context) ([`AsyncExitContext`]) |
//!
//! Every registration returns an [`EntryKey`] for
//! [`cancel`](ExitStack::cancel) (or, for a value, a `&mut` to it). Then:
//! [`close`](ExitStack::close) runs them all now (`aclose().await` for the
//! async stacks), [`pop_all`](ExitStack::pop_all) hands them to a new stack
//! (to the caller, on success), [`cancel_all`](ExitStack::cancel_all) drops
//! them unrun, and [`ExitStack::scope`] runs a closure with a fresh stack
//! whose cleanups see the closure's `Err` as [`Outcome::Error`].
//! [`SendExitStack`] is the same for `Send` entries, and is itself `Send`:
//! both are [`Stack`] with a [`Threading`] marker ([`Local`] or
//! [`Sendable`]), so its page documents every method once; generic code
//! bounds entries with [`EntryFor`]. [`AsyncExitStack`] is Python's
//! `AsyncExitStack`: the synchronous entries too, in one LIFO order with
//! the awaited ones; runtime-agnostic. Cancelling `aclose` part-way leaves
//! the rest registered; a stack dropped without `aclose` runs its
//! synchronous entries and drops the asynchronous ones unrun (a destructor
//! cannot await) — unless it is a `SendAsyncExitStack<'static>` with a
//! spawner ([`set_spawner`](AsyncStack::set_spawner): `|cleanups| {
//! tokio::spawn(cleanups); }`), which it then hands them to, so they run
//! after a `?`, a timeout, a `select!` or a panic. Conversions go every
//! sound way: a `Send` stack into a local one, a synchronous stack into an
//! asynchronous one (`From`).
//!
//! ## Guards
//!
//! One cleanup each, held in a local; they cost what a hand-written `Drop`
//! guard costs (BENCHMARKS.md).
//!
//! * [`Defer`] runs a closure whatever the outcome — [`defer!`] makes one.
//! * [`Guard`] runs a closure on the outcomes its [`When`] names, and gives
//!   it the [`Outcome`]: on success, on panic — and, watching an
//!   [`ErrorWatch`] ([`Guard::watching`]), on an `Err` return (Zig's
//!   `errdefer`).
//! * [`ScopeGuard`] owns a value, derefs to it and hands it to the cleanup:
//!   scopeguard's [`guard`], [`guard_on_success`], [`guard_on_unwind`],
//!   plus [`guard_on_error`] and [`guard_on_failure`] (watching an
//!   [`ErrorWatch`]) and [`guard_with_outcome`] (the cleanup also gets the
//!   [`Outcome`]). `defer!(v => ..)` is its macro form.
//!
//! They are three types rather than one because they are used in two
//! different ways. A guard without a value is only ever *called*:
//! `name.cancel()`, `name.run()` are methods (the macros rely on them).
//! A guard with a value is used *as the value*, through `Deref`: it has no
//! methods at all, only associated functions (`ScopeGuard::into_inner(g)`),
//! so it never shadows one of the value's methods — as in scopeguard. One
//! generic type for both would show every `Defer` as
//! `ScopeGuard<(), _, _>` in errors and docs, for no gain: the rule above is
//! what users need to know, and it holds for all three.
//!
//! ## Macros
//!
//! With the default `macros` feature: [`defer!`] (`defer!(on_error: ..)`
//! and the other [`When`]s), the decorator form `#[cleanup] fn name() { .. }`,
//! and [`#[exitstack::scope]`](scope), which gives a function an implicit
//! stack that sees its `Err` returns — in an `async fn`, also async cleanups
//! (`defer!(async { .. })`), awaited on every return path — and fallible
//! cleanups, `defer!(try: file.sync_all())` (Go's `defer f.Close()` with a
//! named error result): the cleanup's error becomes the function's `Err` when
//! the body succeeded, and is kept beside the body's error in a
//! [`ScopeError`] when it failed (the function's error type says how, through
//! [`HoldsCleanupError`]).
//!
//! # Coming from scopeguard
//!
//! Change `scopeguard::` to `exitstack::`: the value API has the same
//! names, signatures and behaviour on the normal path; the two
//! `defer_on_*!` macros become `defer!(on_success: ..)` and
//! `defer!(on_panic: ..)`.
//!
//! ```
//! // was: let mut file = scopeguard::guard(Vec::new(), |buffer| { .. });
//! let mut buffer = exitstack::guard(Vec::new(), |buffer| assert_eq!(buffer, b"flushed"));
//! buffer.extend_from_slice(b"flushed"); // `Deref` / `DerefMut` to the value
//! # let defused = exitstack::guard(1, |_| unreachable!());
//! // was: scopeguard::ScopeGuard::into_inner(guard)
//! assert_eq!(exitstack::ScopeGuard::into_inner(defused), 1);
//! ```
//!
//! | scopeguard | exitstack | difference |
//! |---|---|---|
//! | `defer! { .. }` (`#[macro_use(defer)]`) | [`defer!`] `{ .. }` (`use exitstack::defer;`) | a `Defer`, not a `ScopeGuard<()>`; `defer!(v => ..)` also takes a local by value and gives the body the guard |
//! | `defer_on_success! { .. }` | `defer!(on_success: ..)` | judged from when it was made (below); in an `#[exitstack::scope]` fn an `Err` return is not a success |
//! | `defer_on_unwind! { .. }` | `defer!(on_panic: ..)` | only a panic that started after it was made |
//! | `guard(v, f)` | [`guard(v, f)`](guard) | none; `no_std` without `alloc` |
//! | `guard_on_success(v, f)` | [`guard_on_success(v, f)`](guard_on_success) | judged from when it was made; needs `std` |
//! | `guard_on_unwind(v, f)` | [`guard_on_unwind(v, f)`](guard_on_unwind) | judged from when it was made; needs `std` |
//! | `ScopeGuard<T, F, S = Always>` | [`ScopeGuard<T, F, S = Always>`](ScopeGuard) | `Deref`, `DerefMut`, `Sync` for a closure that is not, as there; `Debug` also shows the strategy; an [`ExitContext`] too |
//! | `ScopeGuard::into_inner(g)` | [`ScopeGuard::into_inner(g)`](ScopeGuard::into_inner) | none |
//! | `ScopeGuard::with_strategy(v, f)` | the function that names the strategy | a strategy here is state (a panic baseline, an `ErrorWatch`), made by its function |
//! | `Strategy`, `Always`, `OnSuccess`, `OnUnwind` | [`Strategy<T, F>`](Strategy), [`Always`], [`OnSuccess`], [`OnUnwind`]; as a value: [`When`] | `Strategy` is sealed and names the value and closure types; bound generic code with `S: Strategy<T, F>`; it has no public `should_run()` (the guard decides inside the crate) |
//! | — | [`guard_on_error`], [`guard_on_failure`], [`ScopeGuard::watching`] | Zig's `errdefer` with a value: runs when an [`ErrorWatch`] saw an `Err` |
//! | — | [`guard_with_outcome`], [`ScopeGuard::watching_with_outcome`] | the cleanup gets the [`Outcome`] with the value |
//! | `use_std` feature (default) | `std` feature (default) | with `default-features = false` also `macros` is off; `defer!` and `guard` still work |
//!
//! The differences in policy:
//!
//! * **A panic in the cleanup while the thread is already unwinding** is
//!   discarded, and the first panic goes on; scopeguard aborts the process
//!   (a panic escaping a destructor during unwinding). Outside unwinding the
//!   panic propagates in both.
//! * **A guard made during unwinding** (in a `Drop` that runs while a panic
//!   unwinds) sees success when its own scope ends normally: on-success and
//!   on-unwind guards judge a panic against the moment they were made. In
//!   scopeguard they read `std::thread::panicking()` when dropped, so such a
//!   guard's on-success cleanup never runs and its on-unwind cleanup always
//!   does ([scopeguard#43]). The check costs about ten instructions more
//!   than scopeguard's `guard_on_success`; `guard` costs the same as
//!   scopeguard's and as a hand-written `Drop` (BENCHMARKS.md).
//! * **Strategies are closed**: scopeguard lets you implement `Strategy`;
//!   here its implementations are this crate's, and the outcome-aware ones
//!   take a [`When`] and an [`ErrorWatch`].
//!
//! [scopeguard#43]: https://github.com/bluss/scopeguard/issues/43
//!
//! # Policies
//!
//! Every entry runs exactly once, in strict LIFO order, also when others
//! panic or fail. The first panic resumes after all have run, with its
//! original payload; while the thread is already unwinding, later panics are
//! discarded, so a second panic never aborts the process. Errors are
//! collected in execution order; an `Err` from the body of a scope is never
//! replaced by a cleanup error. The [`ExitStack`] docs list the policies in
//! full.
//!
//! # Reports
//!
//! What has no caller is never dropped silently: a cleanup error of a stack
//! dropped without `close()` (or while a panic unwinds, when the panic
//! wins), an async cleanup dropped unrun. Each goes to the *report hook* as
//! a [`Report`]: by default ([`default_report`]) one line on standard error
//! in debug builds and nothing in release builds. A program routes them to
//! its logger, `tracing` or a test's assertions with [`set_report_hook`]
//! (the crate itself depends on no logging crate); without `std` there is
//! no hook, and they are dropped.
//!
//! # Features
//!
//! | feature  | default | gives |
//! |----------|---------|-------|
//! | `std`    | yes     | panic detection ([`Outcome::Panic`]), panic-robust closing (`catch_unwind`), [`AsyncExitStack`]; implies `alloc` |
//! | `alloc`  | via `std` | [`ExitStack`], [`SendExitStack`] ([`Stack`]), [`CleanupError`] |
//! | `macros` | yes     | `#[cleanup]`, `#[exitstack::scope]` (and `cleanup!`, `pop_all!()` inside it); `defer!` is a `macro_rules!` macro, there without this feature |
//!
//! With `default-features = false` the crate has no dependencies and is
//! `no_std`: [`Defer`], [`Guard`], [`ErrorWatch`], [`Outcome`], [`When`] and the
//! value guards ([`guard`], [`guard_on_error`], ...) need neither `std` nor
//! `alloc`; [`guard_on_success`] and [`guard_on_unwind`] need `std`, as in
//! scopeguard. Without `std`, panics cannot be detected or caught: a guard
//! or stack dropped by a panic sees [`Outcome::Success`] (and a guard's
//! closure that panics while unwinding aborts, as in any destructor), and a
//! panicking cleanup unwinds out of `close()`, `cancel_all()` or the stack's
//! drop — but the other entries still run (or, for `cancel_all`, are
//! dropped) exactly once, during that unwinding, seeing [`Outcome::Panic`]:
//! the stack knows that one of its own entries panicked without asking the
//! runtime. A second panic there aborts, as in any destructor. No key ever
//! cancels another entry, however the emptying ended.
//!
//! # With `panic = "abort"`
//!
//! The crate builds and works with `-C panic=abort` (checked in CI by
//! `scripts/panic-abort.sh`). Order (policy 1), errors (policy 4, including
//! the body's error coming first), reuse, deep stacks and the borrow rules
//! are unchanged, and every entry runs exactly once as long as nothing
//! panics. Any panic — in a cleanup, a body or a `Drop` — aborts the process
//! right after the panic hook prints: the cleanups not yet run never run, on
//! any stack, guards included. So [`Outcome::Panic`] is never reported,
//! `When::Panic` / `on_panic` cleanups never run, and `on_failure` runs only
//! on an `Err`.
//!
//! [`contextlib.ExitStack`]: https://docs.python.org/3/library/contextlib.html#contextlib.ExitStack
//! [`enter_context`]: ExitStack::enter_context
//! [`push_async_callback`]: AsyncExitStack::push_async_callback
//! [`push_async_exit`]: AsyncExitStack::push_async_exit
#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;

#[cfg(feature = "std")]
mod async_stack;
#[cfg(all(feature = "std", feature = "macros"))]
pub mod cookbook;
mod ending;
#[cfg(feature = "alloc")]
mod error;
mod fallible;
mod guard;
mod macros;
mod outcome;
mod private;
#[cfg(feature = "alloc")]
mod raw;
#[cfg(feature = "std")]
mod report;
#[cfg(feature = "alloc")]
mod stack;
#[cfg(feature = "alloc")]
mod threading;
mod unwind;
mod value_guard;

#[cfg(feature = "std")]
pub use async_stack::{
    AsyncExitContext, AsyncExitStack, AsyncStack, HandOff, HandsOff, SendAsyncExitStack,
};
#[cfg(feature = "alloc")]
pub use error::{BoxError, CancelError, CleanupError, Errors, ScopeError};
pub use fallible::Fallible;
#[cfg(feature = "alloc")]
pub use fallible::{HoldsCleanupError, ScopeResult};
pub use guard::{Defer, ErrorWatch, Guard};
pub use outcome::{Outcome, When};
#[cfg(feature = "alloc")]
pub use raw::EntryKey;
#[cfg(feature = "std")]
pub use report::{Report, default_report, reset_report_hook, set_report_hook};
#[cfg(feature = "alloc")]
pub use stack::{ExitContext, ExitStack, SendExitStack, Stack};
#[cfg(feature = "alloc")]
pub use threading::{EntryFor, Local, Sendable, Threading};
pub use value_guard::{
    Always, Conditional, ScopeGuard, Strategy, WithOutcome, guard, guard_on_error,
    guard_on_failure, guard_with_outcome,
};
#[cfg(feature = "std")]
pub use value_guard::{OnSuccess, OnUnwind, guard_on_success, guard_on_unwind};

#[cfg(feature = "macros")]
#[doc(inline)]
pub use exitstack_macros::{cleanup, scope};

/// The README's examples, compiled and run as doc tests (`cargo test --doc`),
/// so that the README cannot show code that does not work.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// Not public API: what the macros' expansions name. May change in any
/// release.
#[doc(hidden)]
pub mod __private {
    pub use crate::private::*;
}
