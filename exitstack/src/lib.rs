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
//! # What is in the crate
//!
//! * [`ExitStack`]: a dynamic LIFO stack of cleanups — callbacks, exit
//!   callbacks that see the [`Outcome`], fallible callbacks whose errors are
//!   collected into a [`CleanupError`], RAII values ([`enter_context`]) and
//!   outcome-aware [`ExitContext`]s (commit on success, roll back otherwise).
//!   Transfer with [`pop_all`](ExitStack::pop_all), cancel one entry with
//!   its [`EntryKey`], run a closure with a fresh stack with
//!   [`ExitStack::scope`]. [`SendExitStack`] is the same for `Send` entries,
//!   and is itself `Send`.
//! * [`AsyncExitStack`]: Python's `AsyncExitStack` — the same, plus cleanups
//!   that are awaited ([`push_async_callback`], [`push_async_exit`],
//!   [`AsyncExitContext`]s), in one LIFO order with the synchronous ones,
//!   closed with [`aclose().await`](AsyncExitStack::aclose). Runtime-agnostic.
//!   Cancelling `aclose` part-way leaves the rest registered; a stack dropped
//!   without `aclose` runs its synchronous entries and drops the asynchronous
//!   ones unrun (a destructor cannot await). [`SendAsyncExitStack`] is the
//!   `Send` one, for multi-threaded runtimes.
//! * [`Defer`] and [`Guard`]: one cleanup each, held in a local — no
//!   allocation, no dynamic dispatch. A `Guard` runs on the outcomes its
//!   [`When`] names; with a [`Scope`] it also sees `Err` returns.
//! * With the default `macros` feature: `defer!`, the decorator form
//!   `#[cleanup] fn name() { .. }`, and `#[exitstack::scope]`, which lets
//!   on-error cleanups see a function's `Err` returns — in an `async fn`, also
//!   async cleanups (`defer!(async { .. })`), awaited on every return path.
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
//! # Features
//!
//! | feature  | default | gives |
//! |----------|---------|-------|
//! | `std`    | yes     | panic detection ([`Outcome::Panic`]), panic-robust closing (`catch_unwind`), [`AsyncExitStack`]; implies `alloc` |
//! | `alloc`  | via `std` | [`ExitStack`], [`SendExitStack`], [`CleanupError`] |
//! | `macros` | yes     | `defer!`, `#[cleanup]`, `#[exitstack::scope]` |
//!
//! With `default-features = false` the crate has no dependencies and is
//! `no_std`: [`Defer`], [`Guard`], [`Scope`], [`Outcome`] and [`When`] need
//! neither `std` nor `alloc`. Without `std`, panics cannot be observed or
//! caught: [`Outcome::Panic`] is never reported, and a panicking cleanup
//! unwinds out of `close()` (the rest run as the stack is dropped during that
//! unwinding; a second panic there aborts, as in any destructor).
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
#[cfg(feature = "alloc")]
mod error;
mod fallible;
mod guard;
mod macros;
mod outcome;
mod private;
#[cfg(feature = "alloc")]
mod raw;
#[cfg(feature = "alloc")]
mod stack;
mod unwind;

#[cfg(feature = "std")]
pub use async_stack::{AsyncExitContext, AsyncExitStack, SendAsyncExitStack};
#[cfg(feature = "alloc")]
pub use error::{BoxError, CancelError, CleanupError, Iter};
pub use fallible::Fallible;
pub use guard::{Defer, Guard, Scope};
pub use outcome::{Outcome, When};
#[cfg(feature = "alloc")]
pub use raw::EntryKey;
#[cfg(feature = "alloc")]
pub use stack::{ExitContext, ExitStack, SendExitStack};

#[cfg(feature = "macros")]
#[doc(inline)]
pub use exitstack_macros::{cleanup, scope};

/// Not public API: what the macros' expansions name. May change in any
/// release.
#[doc(hidden)]
pub mod __private {
    pub use crate::private::*;
}
