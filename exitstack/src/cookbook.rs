//! Recipes: the patterns of Python's [`contextlib` docs][py], and the ones
//! Rust programs need most, each a tested example.
//!
//! Every recipe is a doc test that records what ran in a log and asserts
//! it, so a change in behaviour fails the test that documents it. The
//! examples run without a runtime: the async ones are driven by the
//! smallest executor there is, polling with [`Waker::noop`] (in a real
//! program, `tokio::main` or your runtime's `block_on`):
//!
//! ```
//! fn block_on<F: Future>(future: F) -> F::Output {
//!     let mut future = std::pin::pin!(future);
//!     let mut context = std::task::Context::from_waker(std::task::Waker::noop());
//!     loop {
//!         if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
//!             return output;
//!         }
//!     }
//! }
//! assert_eq!(block_on(async { 1 + 1 }), 2);
//! ```
//!
//! [py]: https://docs.python.org/3/library/contextlib.html#examples-and-recipes
//! [`Waker::noop`]: std::task::Waker::noop
//!
//! # Replacing a flag variable
//!
//! Python's docs replace `try`/`finally` with a flag that says whether the
//! cleanup is still needed by a stack whose cleanups are dropped on success:
//!
//! ```python
//! with ExitStack() as stack:
//!     stack.callback(cleanup_resources)
//!     result = perform_operation()
//!     if result:
//!         stack.pop_all()
//! ```
//!
//! In Rust, `pop_all()` *moves* the cleanups to a new stack, which runs
//! them when it is dropped; skipping them is
//! [`cancel_all`](crate::ExitStack::cancel_all). A failure — an early
//! `return`, a `?`, a panic — leaves the cleanup registered, and it runs:
//!
//! ```
//! use std::cell::RefCell;
//! use exitstack::ExitStack;
//!
//! fn operation(log: &RefCell<Vec<&str>>, succeeds: bool) -> Result<(), String> {
//!     let mut stack = ExitStack::new();
//!     stack.callback(|| log.borrow_mut().push("clean up the resources"));
//!     log.borrow_mut().push("perform the operation");
//!     if !succeeds {
//!         return Err("it failed".into()); // no flag to forget: the cleanup runs
//!     }
//!     stack.cancel_all(); // Python's `if result: stack.pop_all()`
//!     Ok(())
//! }
//!
//! let log = RefCell::new(Vec::new());
//! operation(&log, true).unwrap();
//! assert_eq!(*log.borrow(), ["perform the operation"]);
//!
//! log.borrow_mut().clear();
//! operation(&log, false).unwrap_err();
//! assert_eq!(*log.borrow(), ["perform the operation", "clean up the resources"]);
//! ```
//!
//! With the attribute the cleanup needs no stack: `on_error` runs when the
//! function returns `Err` (Zig's `errdefer`), so there is nothing to cancel:
//!
//! ```
//! use std::cell::RefCell;
//! use exitstack::defer;
//!
//! #[exitstack::scope]
//! fn operation(log: &RefCell<Vec<&str>>, succeeds: bool) -> Result<(), String> {
//!     defer!(on_error: log.borrow_mut().push("clean up the resources"));
//!     log.borrow_mut().push("perform the operation");
//!     if !succeeds {
//!         return Err("it failed".into());
//!     }
//!     Ok(())
//! }
//!
//! let log = RefCell::new(Vec::new());
//! operation(&log, true).unwrap();
//! operation(&log, false).unwrap_err();
//! assert_eq!(
//!     *log.borrow(),
//!     ["perform the operation", "perform the operation", "clean up the resources"],
//! );
//! ```
//!
//! # A cleanup you can cancel (Python's `Callback`), and a setup that fails
//!
//! Python's docs build a `Callback` class: one cleanup, with a `cancel()`.
//! Here it is [`Defer`](crate::Defer) (or a [`#[cleanup]`](crate::cleanup)
//! fn, the same guard with a name), and, on a stack, the
//! [`EntryKey`](crate::EntryKey) that every registration returns:
//!
//! ```
//! use std::cell::RefCell;
//! use exitstack::{Defer, ExitStack};
//!
//! let log = RefCell::new(Vec::new());
//! {
//!     let undo = Defer::new(|| log.borrow_mut().push("undo the first step"));
//!     let stack = ExitStack::new();
//!     stack.callback(|| log.borrow_mut().push("undo the second step"));
//!     let key = stack.callback(|| log.borrow_mut().push("undo the third step"));
//!     // ... the first and third steps turned out not to need undoing:
//!     undo.cancel();
//!     stack.cancel(&key).unwrap();
//! }
//! assert_eq!(*log.borrow(), ["undo the second step"]);
//! ```
//!
//! Python's docs also catch the exceptions of `__enter__` apart from those
//! of the body. A Rust setup returns its error before anything is
//! registered, so a `match` (or `?`) on it sees only the setup's error, and
//! a setup that fails has nothing to clean up:
//!
//! ```
//! use std::cell::RefCell;
//! use exitstack::ExitStack;
//!
//! fn open(name: &'static str, log: &RefCell<Vec<String>>) -> Result<&'static str, String> {
//!     if name.is_empty() { return Err("no name".into()) }
//!     log.borrow_mut().push(format!("open {name}"));
//!     Ok(name)
//! }
//!
//! let log = &RefCell::new(Vec::new());
//! {
//!     let stack = ExitStack::new();
//!     for name in ["db", "", "cache"] {
//!         match open(name, log) {
//!             Ok(name) => {
//!                 stack.callback(move || log.borrow_mut().push(format!("close {name}")));
//!             }
//!             Err(error) => log.borrow_mut().push(format!("skipped: {error}")),
//!         }
//!     }
//! }
//! assert_eq!(*log.borrow(), ["open db", "skipped: no name", "open cache", "close cache", "close db"]);
//! ```
//!
//! # The decorator form: `#[cleanup]` and `#[exitstack::scope]`
//!
//! Python registers a function as a cleanup with `@stack.callback`, and
//! makes a context manager a function decorator with `ContextDecorator`.
//! Here a block-local `fn` becomes a cleanup with
//! [`#[cleanup]`](crate::cleanup) — a closure over the locals above it, run
//! at the end of the block — and a function gets a scope whose cleanups see
//! its `Err` returns with [`#[exitstack::scope]`](crate::scope):
//!
//! ```
//! use std::cell::RefCell;
//! use exitstack::{ExitStack, Outcome, cleanup};
//!
//! #[exitstack::scope]
//! fn migrate(log: &RefCell<Vec<String>>, version: &str) -> Result<u32, std::num::ParseIntError> {
//!     #[cleanup]
//!     fn report(outcome: Outcome) {        // an exit callback: sees how the fn ended
//!         log.borrow_mut().push(format!("migration ended: {outcome}"));
//!     }
//!     #[cleanup(on_error)]
//!     fn restore_backup() {
//!         log.borrow_mut().push("restore the backup".to_string());
//!     }
//!     let version = version.parse()?;     // an `Err` here runs both, LIFO
//!     Ok(version)
//! }
//!
//! let log = RefCell::new(Vec::new());
//! assert_eq!(migrate(&log, "3"), Ok(3));
//! assert!(migrate(&log, "three").is_err());
//! assert_eq!(
//!     *log.borrow(),
//!     ["migration ended: success", "restore the backup", "migration ended: error"],
//! );
//!
//! // Python's `@stack.callback`, literally: the cleanup goes on a stack, and
//! // its name is its `EntryKey`.
//! log.borrow_mut().clear();
//! let mut stack = ExitStack::new();
//! #[cleanup(stack = stack)]
//! fn close_connection() {
//!     log.borrow_mut().push("close the connection".to_string());
//! }
//! assert_eq!(stack.len(), 1);
//! stack.close().unwrap();
//! assert_eq!(*log.borrow(), ["close the connection"]);
//! ```
//!
//! # Acquire N, release on failure, hand over on success
//!
//! Python's "Cleaning up in an `__enter__` implementation": a setup that
//! acquires several resources releases the ones it has when a later one
//! fails, and hands them all to its caller when none does.
//! [`pop_all`](crate::ExitStack::pop_all) moves the cleanups to a stack the
//! caller owns (or a struct field):
//!
//! ```
//! use std::cell::RefCell;
//! use exitstack::ExitStack;
//!
//! struct Pool<'log> {
//!     names: Vec<&'static str>,
//!     _release: ExitStack<'log>, // releases the resources when the pool drops
//! }
//!
//! fn acquire<'log>(log: &'log RefCell<Vec<String>>, names: &[&'static str]) -> Result<Pool<'log>, String> {
//!     let mut stack = ExitStack::new();
//!     for &name in names {
//!         if name == "busy" {
//!             return Err(format!("{name} cannot be acquired")); // releases the others
//!         }
//!         log.borrow_mut().push(format!("acquire {name}"));
//!         stack.callback(move || log.borrow_mut().push(format!("release {name}")));
//!     }
//!     Ok(Pool { names: names.to_vec(), _release: stack.pop_all() })
//! }
//!
//! let log = RefCell::new(Vec::new());
//! assert!(acquire(&log, &["a", "b", "busy"]).is_err());
//! assert_eq!(*log.borrow(), ["acquire a", "acquire b", "release b", "release a"]);
//!
//! log.borrow_mut().clear();
//! let pool = acquire(&log, &["a", "b"]).unwrap();
//! assert_eq!(pool.names, ["a", "b"]);
//! assert_eq!(*log.borrow(), ["acquire a", "acquire b"]); // held by the pool
//! drop(pool);
//! assert_eq!(*log.borrow(), ["acquire a", "acquire b", "release b", "release a"]);
//! ```
//!
//! In an `#[exitstack::scope]` fn the same is an `on_error` cleanup per
//! resource, or plain cleanups and `pop_all!()` on success (the tour's
//! `provision`, `cargo run -p exitstack --example tour -- 16`).
//!
//! # Commit or roll back several transactions
//!
//! An [`ExitContext`](crate::ExitContext) is Python's context manager whose
//! `__exit__` looks at the exception: its `exit` gets the
//! [`Outcome`](crate::Outcome) and may fail. Enter several on one stack and
//! [`ExitStack::scope`](crate::ExitStack::scope) ends them together,
//! last-entered first: on success each commits, on an `Err` (or a panic)
//! each rolls back. A commit that fails is an error for the ones after it:
//! the transactions entered *before* it roll back, and its error is
//! returned. Those entered after it have committed by then, so enter the
//! one most likely to fail last.
//!
//! ```
//! use std::cell::RefCell;
//! use exitstack::{ExitContext, ExitStack, Outcome};
//!
//! struct Transaction<'log> {
//!     name: &'static str,
//!     commit_fails: bool,
//!     log: &'log RefCell<Vec<String>>,
//! }
//!
//! impl ExitContext for Transaction<'_> {
//!     type Error = String;
//!
//!     fn exit(self, outcome: Outcome) -> Result<(), String> {
//!         let mut log = self.log.borrow_mut();
//!         if outcome != Outcome::Success {
//!             log.push(format!("roll back {}", self.name));
//!             return Ok(());
//!         }
//!         if self.commit_fails {
//!             log.push(format!("commit {} failed", self.name));
//!             return Err(format!("{}: commit failed", self.name));
//!         }
//!         log.push(format!("commit {}", self.name));
//!         Ok(())
//!     }
//! }
//!
//! fn transfer(log: &RefCell<Vec<String>>, body_fails: bool, commit_fails: &str) -> Result<(), String> {
//!     ExitStack::scope(|stack| {
//!         for name in ["accounts", "ledger", "audit"] {
//!             let commit_fails = name == commit_fails;
//!             stack.enter_exit_context(Transaction { name, commit_fails, log });
//!         }
//!         if body_fails { Err("insufficient funds".to_string()) } else { Ok(()) }
//!     })
//!     .map_err(|error| error.to_string())
//! }
//!
//! let log = RefCell::new(Vec::new());
//! transfer(&log, false, "").unwrap();
//! assert_eq!(*log.borrow(), ["commit audit", "commit ledger", "commit accounts"]);
//!
//! log.borrow_mut().clear();
//! assert_eq!(transfer(&log, true, "").unwrap_err(), "insufficient funds");
//! assert_eq!(*log.borrow(), ["roll back audit", "roll back ledger", "roll back accounts"]);
//!
//! log.borrow_mut().clear();
//! assert_eq!(transfer(&log, false, "ledger").unwrap_err(), "cleanup failed: ledger: commit failed");
//! assert_eq!(*log.borrow(), ["commit audit", "commit ledger failed", "roll back accounts"]);
//! ```
//!
//! # Async connections, cleaned up on every path
//!
//! An [`AsyncExitContext`](crate::AsyncExitContext) has an async `enter`
//! and an async `exit` (Python's `__aenter__` and `__aexit__`).
//! [`AsyncExitStack::scope`](crate::AsyncExitStack::scope) awaits the exits
//! however the body ends — its value, a `?`, a panic — last entered first,
//! each seeing the [`Outcome`](crate::Outcome):
//!
//! ```
//! use std::sync::Mutex;
//! use exitstack::{AsyncExitContext, AsyncExitStack, Outcome};
//! # fn block_on<F: Future>(f: F) -> F::Output { let mut f = std::pin::pin!(f); let mut cx = std::task::Context::from_waker(std::task::Waker::noop()); loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } } }
//!
//! struct Connection<'log> {
//!     to: &'static str,
//!     log: &'log Mutex<Vec<String>>,
//! }
//!
//! impl AsyncExitContext for Connection<'_> {
//!     type Error = std::convert::Infallible;
//!
//!     async fn enter(&mut self) -> Result<(), Self::Error> {
//!         self.log.lock().unwrap().push(format!("connect to {}", self.to)); // await a handshake
//!         Ok(())
//!     }
//!
//!     async fn exit(self, outcome: Outcome) -> Result<(), Self::Error> {
//!         self.log.lock().unwrap().push(format!("disconnect from {} ({outcome})", self.to)); // await a goodbye
//!         Ok(())
//!     }
//! }
//!
//! async fn copy(log: &Mutex<Vec<String>>, how: &str) -> Result<u32, String> {
//!     AsyncExitStack::scope(async |stack| {
//!         stack.enter_async_context(Connection { to: "source", log }).await.unwrap();
//!         stack.enter_async_context(Connection { to: "target", log }).await.unwrap();
//!         match how {
//!             "panic" => panic!("the copy panicked"),
//!             "error" => return Err("the copy failed".to_string()),
//!             _ => Ok(42),
//!         }
//!     })
//!     .await
//!     .map_err(|error| error.to_string())
//! }
//!
//! let log = Mutex::new(Vec::new());
//! let taken = || std::mem::take(&mut *log.lock().unwrap());
//! assert_eq!(block_on(copy(&log, "ok")), Ok(42));
//! assert_eq!(taken(), [
//!     "connect to source", "connect to target",
//!     "disconnect from target (success)", "disconnect from source (success)",
//! ]);
//!
//! assert_eq!(block_on(copy(&log, "error")).unwrap_err(), "the copy failed");
//! assert_eq!(taken()[2..], ["disconnect from target (error)", "disconnect from source (error)"]);
//!
//! let panicked = std::panic::catch_unwind(|| block_on(copy(&log, "panic")));
//! assert!(panicked.is_err()); // the panic goes on, after the cleanups
//! assert_eq!(taken()[2..], ["disconnect from target (panic)", "disconnect from source (panic)"]);
//! ```
//!
//! # The `?` before `aclose()`: async cleanups that never run
//!
//! A destructor cannot await. An [`AsyncExitStack`](crate::AsyncExitStack)
//! made with `new()` and closed with `aclose().await` at the end of a
//! function runs its async cleanups on that one path only: a `?` (or
//! `return`, or a panic) before the `aclose` drops the stack, which runs
//! its synchronous cleanups and drops the async ones unrun (debug builds
//! say so on standard error):
//!
//! ```
//! use std::sync::Mutex;
//! use exitstack::AsyncExitStack;
//! # fn block_on<F: Future>(f: F) -> F::Output { let mut f = std::pin::pin!(f); let mut cx = std::task::Context::from_waker(std::task::Waker::noop()); loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } } }
//!
//! async fn fragile(log: &Mutex<Vec<&str>>, input: &str) -> Result<u32, std::num::ParseIntError> {
//!     let mut stack = AsyncExitStack::new();
//!     stack.callback(|| log.lock().unwrap().push("sync cleanup"));
//!     stack.push_async_callback(async || log.lock().unwrap().push("async cleanup"));
//!     let n = input.parse()?; // returns without the `aclose().await` below
//!     stack.aclose().await.unwrap();
//!     Ok(n)
//! }
//!
//! let log = Mutex::new(Vec::new());
//! assert!(block_on(fragile(&log, "x")).is_err());
//! assert_eq!(*log.lock().unwrap(), ["sync cleanup"]); // the async cleanup never ran
//! ```
//!
//! Give the stack to a scope instead, which awaits the cleanups on every
//! way out: [`AsyncExitStack::scope`](crate::AsyncExitStack::scope), or an
//! `#[exitstack::scope] async fn` with `defer!(async { .. })`:
//!
//! ```
//! use std::sync::Mutex;
//! use exitstack::{AsyncExitStack, ScopeError, defer};
//! # fn block_on<F: Future>(f: F) -> F::Output { let mut f = std::pin::pin!(f); let mut cx = std::task::Context::from_waker(std::task::Waker::noop()); loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } } }
//! use std::num::ParseIntError;
//!
//! async fn robust(log: &Mutex<Vec<&str>>, input: &str) -> Result<u32, ScopeError<ParseIntError>> {
//!     AsyncExitStack::scope(async |stack| {
//!         stack.callback(|| log.lock().unwrap().push("sync cleanup"));
//!         stack.push_async_callback(async || log.lock().unwrap().push("async cleanup"));
//!         let n = input.parse()?; // the scope awaits the cleanups first
//!         Ok(n)
//!     })
//!     .await
//! }
//!
//! #[exitstack::scope]
//! async fn robust_too(log: &Mutex<Vec<&str>>, input: &str) -> Result<u32, ParseIntError> {
//!     defer!(log.lock().unwrap().push("sync cleanup"));
//!     defer!(async { log.lock().unwrap().push("async cleanup") });
//!     let n = input.parse()?; // the attribute awaits the async cleanups first
//!     Ok(n)
//! }
//!
//! let log = Mutex::new(Vec::new());
//! assert!(block_on(robust(&log, "x")).is_err());
//! assert_eq!(*log.lock().unwrap(), ["async cleanup", "sync cleanup"]); // LIFO
//!
//! log.lock().unwrap().clear();
//! assert!(block_on(robust_too(&log, "x")).is_err());
//! // the sync cleanups run as the body ends, the async ones are awaited after it
//! assert_eq!(*log.lock().unwrap(), ["sync cleanup", "async cleanup"]);
//! ```
//!
//! The same holds for a stack in a struct field, closed by a method: on the
//! paths where that method is not awaited (an error before it, a future
//! dropped by a timeout), the async cleanups do not run.
//!
//! # Async cleanups that must run even if the task is cancelled
//!
//! A scope awaits its cleanups on every way out *it* sees — but not when
//! its future is dropped: a `tokio::time::timeout`, a `select!` that
//! picked another branch, a server dropping the request of a client that
//! went away. A destructor cannot await. Give the stack a spawner, and a
//! drop hands the async cleanups to it instead of dropping them: only a
//! `SendAsyncExitStack<'static>` can have one (the cleanups run after the
//! scope is gone, so they must be `Send` and own what they use). With
//! tokio the spawner is `|cleanups| { tokio::spawn(cleanups); }`; here a
//! queue stands for the runtime, so that the example needs none:
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use exitstack::{HandOff, SendAsyncExitStack, defer};
//! # fn block_on<F: Future + ?Sized>(f: std::pin::Pin<&mut F>) -> F::Output { let mut f = f; let mut cx = std::task::Context::from_waker(std::task::Waker::noop()); loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } } }
//! # struct Connection { log: Arc<Mutex<Vec<&'static str>>> }
//! # impl Connection { async fn close(&self) { self.log.lock().unwrap().push("connection closed") } }
//! static RUNTIME: Mutex<Vec<HandOff>> = Mutex::new(Vec::new());
//! fn spawn(cleanups: HandOff) { RUNTIME.lock().unwrap().push(cleanups) } // tokio::spawn(cleanups)
//!
//! // A stack of your own:
//! async fn serve(connection: Arc<Connection>) {
//!     let mut stack = SendAsyncExitStack::with_spawner(spawn);
//!     let closing = connection.clone();
//!     stack.push_async_callback(async move || closing.close().await);
//!     std::future::pending::<()>().await; // the client goes away: this future is dropped here
//!     stack.aclose().await.unwrap();
//! }
//!
//! // Or the attribute's implicit stack:
//! #[exitstack::scope(spawn = spawn)]
//! async fn handle(connection: Arc<Connection>) {
//!     defer!(async move { connection.close().await });
//!     std::future::pending::<()>().await;
//! }
//!
//! let log = Arc::new(Mutex::new(Vec::new()));
//! let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
//! {
//!     let cancelled = std::pin::pin!(serve(Arc::new(Connection { log: log.clone() })));
//!     assert!(cancelled.poll(&mut cx).is_pending());
//! } // dropped: a timeout, a `select!`, a disconnect
//! {
//!     let cancelled = std::pin::pin!(handle(Arc::new(Connection { log: log.clone() })));
//!     assert!(cancelled.poll(&mut cx).is_pending());
//! }
//! // The runtime runs what was handed to it:
//! for mut cleanups in RUNTIME.lock().unwrap().drain(..) {
//!     block_on(cleanups.as_mut());
//! }
//! assert_eq!(*log.lock().unwrap(), ["connection closed", "connection closed"]);
//! ```
//!
//! A stack with a spawner is closed by `aclose` on its ways out that
//! succeed, so a drop is a failure: the handed-off cleanups see `Error`
//! (`Panic` while a panic unwinds), and a rollback runs where a commit of
//! unfinished work would not. Their errors go to
//! the [report hook](crate::set_report_hook). A runtime drops its pending
//! tasks when it shuts down: a program that must see them finish waits for
//! them first (a `JoinSet`, a `TaskTracker`, a channel).
//!
//! # Migrating from scopeguard
//!
//! Change `scopeguard::` to `exitstack::`; the value guards keep their
//! names and signatures, and the two `defer_on_*!` macros become
//! `defer!(on_success: ..)` and `defer!(on_panic: ..)`. The [crate docs](crate#coming-from-scopeguard)
//! have the full table and the two policies that differ; the common cases:
//!
//! | scopeguard | exitstack |
//! |---|---|
//! | `defer! { .. }` | [`defer! { .. }`](crate::defer) |
//! | `guard(value, \|v\| ..)` | [`guard(value, \|v\| ..)`](crate::guard) |
//! | `guard_on_success(..)`, `guard_on_unwind(..)` | the same names, or `defer!(on_success: ..)`, `defer!(on_panic: ..)` |
//! | `ScopeGuard::into_inner(g)` | the same |
//! | a flag read by a guard, to undo on an `Err` | [`#[exitstack::scope]`](crate::scope) and `defer!(on_error: ..)`, or [`guard_on_error`](crate::guard_on_error) |
//!
//! ```
//! use std::cell::RefCell;
//! use exitstack::{ScopeGuard, defer, guard, guard_on_unwind};
//!
//! let log = RefCell::new(Vec::new());
//! {
//!     // was: scopeguard::defer! { .. }
//!     defer! { log.borrow_mut().push("deferred".to_string()); }
//!     // was: scopeguard::guard(Vec::new(), |batch| ..)
//!     let mut batch = guard(Vec::new(), |batch| log.borrow_mut().push(format!("flush {batch:?}")));
//!     batch.push(1); // `DerefMut` to the value, as there
//!     // was: scopeguard::guard_on_unwind((), |_| ..)
//!     let _rollback = guard_on_unwind((), |()| log.borrow_mut().push("roll back".to_string()));
//!     // was: ScopeGuard::into_inner(guard)
//!     let kept = ScopeGuard::into_inner(guard(7, |_| unreachable!()));
//!     assert_eq!(kept, 7);
//! }
//! assert_eq!(*log.borrow(), ["flush [1]", "deferred"]); // no panic: no rollback
//! ```
//!
//! What scopeguard has no word for, an undo on an `Err` return, needs no
//! flag here:
//!
//! ```
//! use std::cell::RefCell;
//! use exitstack::defer;
//!
//! #[exitstack::scope]
//! fn save(log: &RefCell<Vec<&str>>, ok: bool) -> Result<(), String> {
//!     log.borrow_mut().push("write a temporary file");
//!     defer!(on_error: log.borrow_mut().push("remove the temporary file"));
//!     if !ok { return Err("disk full".into()) }
//!     log.borrow_mut().push("rename it into place");
//!     Ok(())
//! }
//!
//! let log = RefCell::new(Vec::new());
//! save(&log, false).unwrap_err();
//! assert_eq!(*log.borrow(), ["write a temporary file", "remove the temporary file"]);
//! ```
