//! Procedural macros for [`exitstack`](https://docs.rs/exitstack). Not for
//! direct use: depend on `exitstack`, which re-exports them (feature
//! `macros`, on by default) as `exitstack::cleanup` and `exitstack::scope`.
//! `defer!` is a `macro_rules!` macro of `exitstack` itself, so it works
//! without this crate.
//!
//! # Build cost
//!
//! This crate depends on `syn` (2.x, `default-features = false`, features
//! `full`, `parsing`, `printing`, `proc-macro`, `visit-mut`), `quote` and
//! `proc-macro2`, nothing else. A cold build of the crate with all its
//! dependencies (a fresh target directory, the sources already downloaded),
//! on a 2-core machine with Rust 1.95.0:
//!
//! ```text
//! time CARGO_TARGET_DIR="$(mktemp -d)" cargo build -p exitstack-macros
//! ```
//!
//! takes 3.0 s (three runs: 2.98, 2.99, 2.98 s wall). That is what a user
//! pays, also in `cargo build --release`: Cargo builds proc macros and their
//! dependencies with the `build-override` profile, unoptimized by default.
//! Built as a target of its own with `--release`, it takes 6.2 s. Most of it
//! is `syn`, which a project with any derive macro builds anyway. Without the
//! `macros` feature, `exitstack` has no dependencies at all.
//!
//! # Layout
//!
//! | module | does |
//! |---|---|
//! | `args` | parses conditions (one table, `WHENS`), `#[cleanup(...)]` and `#[exitstack::scope(...)]` arguments (`crate = path`) |
//! | `cleanup` | `#[cleanup] fn` / `#[cleanup] let`: signature checks, `let name = ...` |
//! | `scope` | `#[exitstack::scope]` in three steps (parse, analyse, expand): the body as a closure or `async` block, the implicit async stack |
//! | `rewrite` | the body rewrite: `defer!`, `cleanup!` (sync and async), `pop_all!`, `#[cleanup]` in a scope; the std macros' arguments, `bail!`, `ensure!` |
//! | `observe` | every way out of the body as an observed value: `return`, `?`, the tail, `break` values by label scope |
//! | `expand` | code generation shared by every form: guards and stack entries, each form in one place |
//! | `snapshots` (tests) | the attribute's output for `expand/*.rs`, checked against `expand/*.expanded.rs` (`EXPAND=overwrite` regenerates) |
//! | `site` | where a cleanup is written, and the errors that depend on it |
//! | `error` | `syn::Error`s collected with `combine`, emitted beside the code |
#![doc(test(no_crate_inject))]

mod args;
mod cleanup;
mod error;
mod expand;
mod observe;
mod rewrite;
mod scope;
mod site;
#[cfg(test)]
mod snapshots;

use proc_macro::TokenStream;

/// The decorator form: a `fn` declared inside a block becomes a cleanup that
/// runs when the block ends — Python's `@stack.callback`, Go's `defer` with
/// a name.
///
/// `#[cleanup] fn name() { body }` becomes `let name = <guard>;`: a guard
/// over a closure that captures the surrounding locals by reference, so the
/// body reads and mutates what was declared before it. It runs on every way
/// out of the block (falling off its end, `return`, `break`, `?`, a panic),
/// in reverse order of declaration, interleaved with the block's other
/// locals by Rust's drop order. No allocation, no dynamic dispatch.
///
/// ```
/// use std::cell::RefCell;
/// use exitstack::cleanup;
///
/// let log = RefCell::new(Vec::new());
/// let mut released = 0;
/// {
///     log.borrow_mut().push("open");
///     #[cleanup]
///     fn close() {
///         log.borrow_mut().push("close");
///         released += 1;
///     }
///     log.borrow_mut().push("work");
/// }
/// assert_eq!(*log.borrow(), ["open", "work", "close"]);
/// assert_eq!(released, 1);
/// ```
///
/// The name is the guard: `name.cancel()` disarms it (what it captured is
/// dropped, nothing runs) and `name.run()` runs it now. This replaces a flag
/// variable:
///
/// ```
/// use std::cell::Cell;
/// use exitstack::cleanup;
///
/// fn perform_operation(cleaned: &Cell<bool>, succeed: bool) {
///     #[cleanup]
///     fn cleanup_resources() {
///         cleaned.set(true);
///     }
///     if succeed {
///         cleanup_resources.cancel();
///     }
/// }
///
/// let cleaned = Cell::new(false);
/// perform_operation(&cleaned, true);
/// assert!(!cleaned.get());
/// perform_operation(&cleaned, false);
/// assert!(cleaned.get());
/// ```
///
/// # Seeing how the block ended
///
/// With one parameter of type `Outcome` (any pattern), the cleanup is an
/// exit callback and receives the outcome:
///
/// ```
/// use std::cell::Cell;
/// use exitstack::{Outcome, cleanup};
///
/// let seen = Cell::new(None);
/// let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
///     #[cleanup]
///     fn report(outcome: Outcome) {
///         seen.set(Some(outcome));
///     }
///     panic!("disk full");
/// }));
/// assert_eq!(seen.get(), Some(Outcome::Panic));
/// ```
///
/// # Arguments
///
/// `#[cleanup(...)]` takes, in any order:
///
/// | argument | meaning |
/// |---|---|
/// | `always` (the default) | run whatever the outcome |
/// | `on_success` | run unless the block is left by a panic — or, inside `#[exitstack::scope]`, by an `Err` return |
/// | `on_panic` | run only when a panic unwinds through the block |
/// | `on_error` | run only when the function returns an `Err`: needs `#[exitstack::scope]` (or `stack =`) |
/// | `on_failure` | `on_error` or `on_panic`: needs `#[exitstack::scope]` (or `stack =`) |
/// | `stack = expr` | register on that `ExitStack` (or `SendExitStack`) instead of the block: `name` is then the entry's `EntryKey`, and the stack's close decides the outcome |
/// | `move` | the closure takes what it uses by value (for a stack that outlives the locals, or moves to another thread) |
///
/// A plain block cannot see the `Err` its function returns, so `on_error`
/// and `on_failure` without `#[exitstack::scope]` are compile errors rather
/// than cleanups that silently never run:
///
/// ```compile_fail
/// use exitstack::cleanup;
///
/// fn save() -> Result<(), String> {
///     #[cleanup(on_error)] // error: needs `#[exitstack::scope]` on the enclosing function
///     fn roll_back() {}
///     Err("disk full".to_owned())
/// }
/// ```
///
/// With `#[exitstack::scope]` on the function they work (see
/// `exitstack::scope`):
///
/// ```
/// use std::cell::Cell;
/// use exitstack::cleanup;
///
/// #[exitstack::scope]
/// fn save(rolled_back: &Cell<bool>, data: &str) -> Result<u32, std::num::ParseIntError> {
///     #[cleanup(on_error)]
///     fn roll_back() {
///         rolled_back.set(true);
///     }
///     data.parse()
/// }
///
/// let rolled_back = Cell::new(false);
/// assert_eq!(save(&rolled_back, "7"), Ok(7));
/// assert!(!rolled_back.get());
/// assert!(save(&rolled_back, "seven").is_err());
/// assert!(rolled_back.get());
/// ```
///
/// On an explicit stack, the decorator form is exactly Python's
/// `@stack.callback` (and `ExitStack::cancel_all` its `pop_all()`):
///
/// ```
/// use std::cell::RefCell;
/// use exitstack::{ExitStack, cleanup};
///
/// let log = RefCell::new(Vec::new());
/// let mut stack = ExitStack::new();
/// #[cleanup(stack = stack)]
/// fn cleanup_resources() {
///     log.borrow_mut().push("cleaned up");
/// }
/// let result = true; // perform_operation()
/// if result {
///     stack.cancel_all();
/// }
/// drop(stack);
/// assert!(log.borrow().is_empty());
/// ```
///
/// # What a cleanup cannot be
///
/// A cleanup runs when its block ends, with nothing to pass it arguments and
/// nothing to receive a result, so it takes no parameters (other than one
/// `Outcome`), has no return type (except `-> Result<(), E>` for a
/// [fallible cleanup](macro@scope#fallible-cleanups) in an
/// `#[exitstack::scope]` fn, or on an explicit `stack =`, whose `close()`
/// returns its error), and is not generic, `async`, `unsafe`, `const`,
/// `extern` or `pub`. Each is a compile error on the offending tokens that
/// says what to write instead:
///
/// ```compile_fail
/// use exitstack::cleanup;
///
/// let path = String::from("db.lock");
/// #[cleanup]
/// fn remove(path: &str) {} // error: capture what it needs from the surrounding scope instead
/// ```
///
/// `#[cleanup]` goes on a `fn` inside a block, not on a module's `fn` or a
/// method. On a `let` (`#[cleanup] let name = || ...;`) it works only in the
/// body of an `#[exitstack::scope]` fn: attributes on statements are
/// unstable unless an outer attribute rewrites them.
///
/// # Why no `cleanup!(...)` here
///
/// Rust has one namespace for macros, and `cleanup` is this attribute. The
/// expression form `cleanup!(...)` (which returns the guard) is recognised
/// inside `#[exitstack::scope]` functions only, which rewrite it before names
/// are resolved; elsewhere it fails to compile ("`cleanup` is ... an
/// attribute"). Outside a scope function, write `exitstack::defer!(...)`,
/// this attribute on a named `fn`, or make a guard yourself with
/// `exitstack::Defer::new(|| ...)` / `exitstack::Guard::new(when, |outcome| ...)`.
#[proc_macro_attribute]
pub fn cleanup(args: TokenStream, item: TokenStream) -> TokenStream {
    let fallback = item.clone().into();
    cleanup::attribute(args.into(), item.into())
        .unwrap_or_else(|error| error::beside(error, fallback))
        .into()
}

/// Gives a function an implicit stack that sees its `Err` returns, so that
/// on-error cleanups work: Zig's `errdefer` and D's `scope(failure)`.
///
/// On a free function or method, sync or `async`, generic or not, with any
/// receiver and any return type (`impl Trait` too): the signature is left as
/// written. It takes no arguments, except `?Send` and `spawn = spawner`
/// (see [async cleanups](#async-cleanups)) and `crate = path` for a renamed
/// dependency. The body gets one `ErrorWatch` (two flags), marked whenever the
/// function returns an `Err` — through `return`, `?`, or its tail expression
/// — before the locals are dropped, so each cleanup knows the outcome:
///
/// ```
/// use std::cell::RefCell;
/// use exitstack::defer;
///
/// #[exitstack::scope]
/// fn transfer(log: &RefCell<Vec<&str>>, amount: &str) -> Result<u32, std::num::ParseIntError> {
///     defer!(on_error: log.borrow_mut().push("rolled back"));
///     defer!(on_success: log.borrow_mut().push("committed"));
///     defer!(log.borrow_mut().push("unlocked"));
///     let amount: u32 = amount.parse()?; // an `Err` here runs "rolled back"
///     Ok(amount)
/// }
///
/// let log = RefCell::new(Vec::new());
/// assert!(transfer(&log, "ten").is_err());
/// assert_eq!(*log.borrow(), ["unlocked", "rolled back"]);
/// log.borrow_mut().clear();
/// assert_eq!(transfer(&log, "10"), Ok(10));
/// assert_eq!(*log.borrow(), ["unlocked", "committed"]);
/// ```
///
/// On-error cleanups run exactly when the function returns an `Err`: not on
/// `Ok`, not on a panic (that is `on_panic`; `on_failure` is either).
///
/// # What the body can use
///
/// | form | does |
/// |---|---|
/// | `defer!(...)` | every condition, `on_error` and `on_failure` included, tied to the function's scope |
/// | `cleanup!(...)` | an expression: the `#[must_use]` guard, with `.cancel()` and `.run()`; takes the same conditions (`cleanup!(on_error: ...)`) |
/// | `#[cleanup] fn name() { ... }` | the decorator form, with every condition |
/// | `#[cleanup] let name = \|\| ...;` | the same with a closure (taking nothing, or one `Outcome`), or any `FnOnce()` value |
/// | `pop_all!()` | cancels every cleanup of the function registered so far: Python's `if result: stack.pop_all()` |
/// | `defer!(async { ... })`, `cleanup!(async { ... })` | in an `async fn`: a cleanup that is awaited when the body ends (see [below](#async-cleanups)), with every condition |
/// | `defer!(try: expr)`, `cleanup!(try: expr)`, `#[cleanup] fn name() -> Result<(), E>` | a fallible cleanup, whose error becomes the function's `Err` (see [below](#fallible-cleanups)) |
///
/// ```
/// use std::cell::RefCell;
/// use exitstack::{Outcome, cleanup};
///
/// #[exitstack::scope]
/// fn open_all(log: &RefCell<Vec<String>>, names: &[&str]) -> Result<usize, String> {
///     for name in names {
///         if name.is_empty() {
///             return Err("empty name".to_owned());
///         }
///         log.borrow_mut().push(format!("open {name}"));
///     }
///     #[cleanup]
///     let close_all = |outcome: Outcome| log.borrow_mut().push(format!("close all ({outcome})"));
///     let _audit = cleanup!(on_failure: log.borrow_mut().push("audit".to_owned()));
///     if names.len() > 1 {
///         pop_all!(); // the caller owns the resources now: cancel both cleanups
///     }
///     Ok(names.len())
/// }
///
/// let log = RefCell::new(Vec::new());
/// assert_eq!(open_all(&log, &["a", "b"]), Ok(2));
/// assert_eq!(*log.borrow(), ["open a", "open b"]);
/// log.borrow_mut().clear();
/// assert_eq!(open_all(&log, &["a"]), Ok(1));
/// assert_eq!(*log.borrow(), ["open a", "close all (success)"]);
/// ```
///
/// `cleanup!` and `pop_all!` exist only here and need no import; `defer!` and
/// `#[cleanup]` are imported as anywhere else. The rewrite recognises these
/// four by name (bare, `exitstack::`-qualified, or qualified by the path of
/// `crate = path`), before names are resolved: in a scope function they
/// always mean exitstack's.
///
/// # Which values are observed
///
/// Every way out of the function is observed before any of its cleanups
/// runs, or the function does not compile:
///
/// | the function returns through | |
/// |---|---|
/// | `return value`, `return` | observed |
/// | `expr?` (on `Result`, `Option`, `Poll`, `ControlFlow`) | observed when it returns; the error is converted by the real `?` |
/// | the tail, and the `if`/`else` branches, `match` arms, blocks and `break` values (of a `loop` or labeled block, by label scope) it is made of | observed, each where it is, so a cleanup declared inside one of them sees it |
/// | a brace-delimited macro call as a tail value (`if bad { fail! {} } else { Ok(()) }`) | observed as a value (in a function returning `()`, a statement) |
/// | `return` / `?` in the arguments of `format!`, `print!`, `println!`, `eprint!`, `eprintln!`, `write!`, `writeln!`, `format_args!`, `vec!`, `assert!`, `assert_eq!`, `assert_ne!`, their `debug_` forms, `dbg!`, `panic!`, `todo!`, `unimplemented!`, `unreachable!` | observed (their arguments are expressions, rewritten like any other code) |
/// | `bail!(..)` and `ensure!(cond, ..)` of anyhow and eyre (bare, or `anyhow::`, `eyre::`, `color_eyre::` qualified) | observed: run where their `return` is caught, and what they return is returned |
/// | a `return` or `?` inside the definition of any other macro (a `macro_rules!` of yours hiding `return Err(..)` or `$e?`) | **does not compile** ("expected `Returned<..>`", or "the `?` operator can only be used in a closure ..."): call the macro for its value and `return` or `?` that (`return Err(my_error!(..))`) |
/// | a method of an `#[async_trait]` impl | observed: the attribute recognises the body async-trait wrote |
/// | `#[tokio::main]` / `#[tokio::test]` written *above* `#[exitstack::scope]` | **does not compile**, with an error saying to write `#[exitstack::scope]` above them |
/// | `return` and `?` inside a closure, `async`, `const` or `try` block | not the function's: not observed (the value the function then returns is) |
///
/// The body runs as a closure (an `async` block in an `async fn`) that
/// only the rewritten `return`s, `?`s and tail values can leave, which is
/// what makes an unseen one a type error.
///
/// Whether a value is an error is decided by its type, through
/// [`exitstack::Fallible`](https://docs.rs/exitstack/latest/exitstack/trait.Fallible.html):
/// `Result` is an error when `Err` (type aliases such as `io::Result<T>`
/// count), `Poll<Result<..>>` and `Poll<Option<Result<..>>>` when they hold
/// an `Err`, a type of yours when its `Fallible::is_error` says so. Every
/// other type (`()`, `Option` — `None` is absence, not failure —, numbers,
/// your enums) is never an error, and an `on_error` or `on_failure` cleanup
/// in a function returning one is a compile error, as it would never run.
/// A generic return type (`fn f<R>() -> R`, `Self::Out`, `T::Out`, or a
/// type with a parameter of the fn inside: `Wrapper<T>`, an alias
/// `Same<T>`) needs the bound `R: exitstack::Fallible` when a cleanup
/// depends on errors (`on_success`, `on_error`, `on_failure`, an exit
/// callback): without it the function does not compile, rather than count
/// every value as a success. With only `always` and `on_panic` cleanups,
/// no bound is needed. A bare `Self` is
/// observed by its type (a constructor `fn new() -> Self` compiles); where
/// it is a parameter after all (a trait's default method) and stands for a
/// `Result`, the function panics when it returns it, before any cleanup
/// runs — as for a type parameter of the enclosing `impl` (see
/// Limitations).
///
/// Returned values keep their coercions (`Err(Box::new(e))` to
/// `Box<dyn Error>`, `Ok(&self.name)` to `&str`, fn items to fn pointers),
/// and type errors in them are reported at the value, with rustc's own
/// messages.
///
/// # Fallible cleanups
///
/// A cleanup that can fail — `file.sync_all()`, a commit, an unlock over the
/// network — is written with `try` first: `defer!(try: expr)`, where `expr`
/// is a `Result<(), C>`. Its error is not lost: it becomes the function's
/// `Err`, as with Go's `defer f.Close()` into a named error result, or
/// Python's `__exit__` raising.
///
/// ```
/// use std::io;
/// use exitstack::{ScopeError, defer};
///
/// /// A file whose `sync_all` fails when the disk is full, as
/// /// `std::fs::File::sync_all` can.
/// struct File { name: &'static str, disk_full: bool }
///
/// impl File {
///     fn sync_all(&self) -> io::Result<()> {
///         if self.disk_full {
///             return Err(io::Error::new(io::ErrorKind::StorageFull, format!("{}: disk full", self.name)));
///         }
///         Ok(())
///     }
/// }
///
/// #[exitstack::scope]
/// fn save(file: &File, data: &str) -> io::Result<usize> {
///     defer!(try: file.sync_all());
///     if data.is_empty() {
///         return Err(io::Error::new(io::ErrorKind::InvalidInput, "nothing to save"));
///     }
///     Ok(data.len()) // written, but not yet on the disk: `sync_all` decides
/// }
///
/// let ok = File { name: "a.txt", disk_full: false };
/// let full = File { name: "b.txt", disk_full: true };
/// assert_eq!(save(&ok, "data").unwrap(), 4);
///
/// // The body succeeded: the cleanup's error is the function's, as it is.
/// let error = save(&full, "data").unwrap_err();
/// assert_eq!(error.kind(), io::ErrorKind::StorageFull);
/// assert_eq!(error.to_string(), "b.txt: disk full");
///
/// // The body failed: its error comes first, the cleanup's is kept beside it.
/// let error = save(&full, "").unwrap_err();
/// assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
/// let scope = error.get_ref().unwrap().downcast_ref::<ScopeError<io::Error>>().unwrap();
/// assert_eq!(scope.body().unwrap().to_string(), "nothing to save");
/// assert_eq!(scope.cleanup().unwrap().first().to_string(), "b.txt: disk full");
/// ```
///
/// The forms:
///
/// | form | |
/// |---|---|
/// | `defer!(try: expr)`, `defer!(try: { ...; expr })` | runs always; a `?` inside returns from the cleanup (if its last value is `Ok(())`, name the error type: `Ok::<(), io::Error>(())`) |
/// | `defer!(try on_success: expr)`, `try on_error:`, `try on_failure:`, `try always:` | with a condition (`try on_panic:` is refused: a panicking function returns nothing the error could go into) |
/// | `let guard = cleanup!(try: expr);` | the guard: `.cancel()`, or `.run()` now (its error is then kept for the function to return) |
/// | `#[cleanup] fn name() -> Result<(), C> { ... }` | the decorator form, with a parameter `Outcome` too, and every condition (`#[cleanup(on_success)]`) |
/// | `#[cleanup] let name = \|\| -> Result<(), C> { ... };` | a closure with its return type written |
/// | `defer!(try: async { ... })`, `cleanup!(try on_error: async move { ... })` | in an `async fn`: awaited after the body, as the other [async cleanups](#async-cleanups) |
///
/// What the function returns, when its body returned:
///
/// * `Ok(v)`, and no fallible cleanup failed: `Ok(v)`.
/// * `Ok(v)`, and some failed: `Err(E::from(c))`, where `c` is the error of
///   the *first* to fail (in the order they ran): with `io::Result` and
///   `file.sync_all()`, the `io::Error` of `sync_all` itself. If more
///   failed after it, they are kept beside it: `Err(E::from(ScopeError::Body
///   { error: E::from(c), cleanup: Some(the others) }))`.
/// * `Err(e)`: `Err(e)` unchanged if no fallible cleanup failed; else
///   `Err(E::from(ScopeError::Body { error: e, cleanup: Some(all of them)
///   }))`: the body's error stays primary, and no error is lost.
///
/// So the function must return a `Result<T, E>` (however it is spelled:
/// `io::Result<T>`, `anyhow::Result<T>`, an alias; through
/// [`exitstack::ScopeResult`](https://docs.rs/exitstack/latest/exitstack/trait.ScopeResult.html)),
/// and its error type must hold each cleanup's error `C`:
/// [`E: HoldsCleanupError<C>`](https://docs.rs/exitstack/latest/exitstack/trait.HoldsCleanupError.html),
/// that is `E: From<C> + From<ScopeError<E>>` (the function's error type
/// can hold cleanup errors beside its own) with `C: Into<BoxError> + Send +
/// 'static`. `io::Error`, `Box<dyn Error>` (with or without `+ Send +
/// Sync`) and `anyhow::Error` do; an error enum of yours does with a
/// variant `Scope(Box<ScopeError<MyError>>)` and the `From` impls (see
/// `ScopeError`). A missing one is a compile error on the cleanup that
/// says which.
///
/// The rest follows the other cleanups:
///
/// * **Order.** Fallible cleanups run in LIFO order with every other
///   cleanup of the function, as the guards they are.
/// * **A failed cleanup is an error for the ones after it** (policy 8 of
///   the `ExitStack` docs): the cleanups that run after it see `Outcome::Error`, so an
///   `on_error` cleanup declared before a commit that fails rolls back, and
///   an `on_success` one does not run. In an `async fn`, the synchronous
///   cleanups run before the async ones (at the end of the body, with its
///   locals), so a synchronous `on_error` cleanup does *not* see an async
///   commit (`defer!(try: async { .. })`) that fails: declare the rollback
///   as an async cleanup too.
/// * **Cancelled.** An `async fn` whose future is dropped before its body
///   finished (a timeout, a `select!`) did not succeed: its synchronous
///   cleanups see `Outcome::Error`, so `on_success` ones (a commit) do not
///   run; its async cleanups are dropped unrun — or, with `spawn =
///   spawner`, handed to the spawner, seeing `Error` too.
/// * **A cleanup in an inner block** (a loop's body) runs when that block
///   ends; if it fails, its error is kept, and the function returns an
///   `Err` whatever its body then returns.
/// * **Panics.** A fallible cleanup still runs when the body panics (unless
///   its condition says otherwise); its error is then dropped, as a dropped
///   stack's are (and reported through the report hook, `exitstack::set_report_hook`): the function
///   returns nothing.
/// * **`pop_all!()`** cancels fallible cleanups too.
/// * **Where.** Only in the body of an `#[exitstack::scope]` fn: outside
///   one (and in its closures, scopes of their own), nothing could receive
///   the error, and `defer!(try: ..)` is a compile error; register the
///   cleanup on a stack there (`ExitStack::try_callback`, whose `close()`
///   returns its error).
/// * **Cost.** None for a function without fallible cleanups. With some,
///   the function holds one more local (a `Mutex` over an empty `Vec`,
///   locked only when a cleanup fails); each is a guard as any other, and
///   a failure boxes its error.
///
/// ```compile_fail
/// use exitstack::defer;
///
/// #[exitstack::scope]
/// fn save(file: &std::fs::File) { // error: the function returns no `Result`
///     defer!(try: file.sync_all());
/// }
/// ```
///
/// # Async cleanups
///
/// In an `async fn`, `defer!` and `cleanup!` also take one `async` block,
/// after the condition if there is one: `defer!(async { ... })`,
/// `defer!(on_error: async move { ... })`,
/// `cleanup!(on_failure: async { ... })`. A destructor cannot await, so
/// these are not guards: they go on an implicit asynchronous stack that the
/// function gets when its body has one, and they are awaited after the body
/// is done — on every way out of it (`return`, `?`, the tail, a panic) —
/// last registered first, each if the outcome matches its condition:
///
/// ```
/// # fn block_on<F: Future>(f: F) -> F::Output { let mut f = std::pin::pin!(f); let mut cx = std::task::Context::from_waker(std::task::Waker::noop()); loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } } }
/// use std::sync::Mutex;
/// use exitstack::defer;
///
/// async fn send(log: &Mutex<Vec<String>>, message: &str) {
///     log.lock().unwrap().push(message.to_owned()); // imagine a network round trip
/// }
///
/// #[exitstack::scope]
/// async fn transfer(log: &Mutex<Vec<String>>, amount: &str) -> Result<u32, std::num::ParseIntError> {
///     defer!(async { send(log, "connection closed").await });
///     defer!(on_error: async { send(log, "rolled back").await });
///     let amount: u32 = amount.parse()?; // an `Err` here awaits "rolled back"
///     let receipt = format!("sent {amount}");
///     defer!(on_success: async move { send(log, &receipt).await });
///     Ok(amount)
/// }
///
/// let log = Mutex::new(Vec::new());
/// assert!(block_on(transfer(&log, "ten")).is_err());
/// assert_eq!(*log.lock().unwrap(), ["rolled back", "connection closed"]);
/// log.lock().unwrap().clear();
/// assert_eq!(block_on(transfer(&log, "10")), Ok(10));
/// assert_eq!(*log.lock().unwrap(), ["sent 10", "connection closed"]);
/// ```
///
/// The rules follow from when the cleanups are awaited:
///
/// * **What they borrow.** They run after the body's locals are gone, so an
///   async cleanup can borrow the function's arguments (`self` included)
///   and what is `'static`, and must own everything else: `async move`,
///   after making a clone, or a copy of a reference to an argument
///   (`receipt` and `log` above). Borrowing a local of the body is a
///   compile error ("async block may outlive the current function, but it
///   borrows ...").
/// * **Order.** Synchronous cleanups stay local guards: they run as the
///   body's locals are dropped, in reverse order with them, exactly as in a
///   function without async cleanups. The async cleanups are awaited after
///   that, last registered first.
/// * **Outcome.** `Error` when an `Err` left the body, `Panic` when it
///   panicked, `Success` otherwise: `on_success`, `on_error`, `on_panic` and
///   `on_failure` mean what they mean for synchronous cleanups.
/// * **Panics.** A panic in the body is caught while the cleanups are
///   awaited (they see `Panic`), then resumes. A panicking cleanup does not
///   stop the others; its panic resumes after them, unless the body's panic
///   is already on its way, which wins.
/// * **Cancelling.** `cleanup!(async ...)` returns a `#[must_use]` handle
///   whose `.cancel()` cancels the cleanup (its future is dropped
///   unpolled). Dropping the handle does not: the cleanup stays registered,
///   so write `defer!(async ...)` when there is nothing to cancel.
///   `pop_all!()` cancels the async cleanups registered so far too. An async
///   cleanup cannot be run early.
/// * **`Send`.** The implicit stack is a `SendAsyncExitStack`, so the
///   function's future stays `Send` (for `tokio::spawn` on a multi-threaded
///   runtime) whenever the rest of it is, and each async cleanup must be
///   `Send`. For cleanups that cannot be (they hold an `Rc`, or run on a
///   `LocalSet`), write `#[exitstack::scope(?Send)]`: the stack is then an
///   `AsyncExitStack`, and the future is not `Send`.
/// * **Where.** Only in the body of an `async fn` under
///   `#[exitstack::scope]`: in a sync `fn` (nothing could await them), in a
///   closure or an `async` block of the body (scopes of their own), and
///   outside `#[exitstack::scope]`, they are compile errors that say so.
///
/// ```compile_fail
/// use exitstack::defer;
///
/// #[exitstack::scope]
/// async fn save(path: &str) {
///     let name = format!("{path}.tmp");
///     defer!(async { println!("removing {name}") }); // error: borrows a local of the body
/// }
/// ```
///
/// **If the function's future is dropped part-way** (a timeout, `select!`,
/// an aborted task, a server dropping a disconnected client's request):
///
/// * before the body ended, the body's locals and synchronous cleanups are
///   dropped as in any future (the cleanups see `Error`: the body did not
///   finish); then the implicit stack is dropped, and its async cleanups
///   are dropped without running — a destructor cannot await them, and
///   does not block on them. Each is reported through the crate's report
///   hook (`exitstack::set_report_hook`; by default a line on standard
///   error in debug builds).
/// * while the cleanups are awaited, the one in progress stops where it was
///   (its future is dropped), and those not reached are dropped without
///   running, as above: the cancellation policy of `AsyncExitStack::aclose`.
///
/// **`spawn = spawner`: async cleanups that survive cancellation.** With a
/// spawner — any expression of a type `Fn(exitstack::HandOff) + Send +
/// Sync + 'static`, such as `|cleanups| { tokio::spawn(cleanups); }` or a
/// function's name, evaluated once per call, when the call starts — the
/// async cleanups that a dropped future did not await are handed to it as
/// one future that awaits them, in order, each exactly once (see
/// `SendAsyncExitStack::set_spawner`, which this uses). A cancelled
/// function neither succeeded nor returned an `Err`: it is counted as a
/// failure, and its handed-off cleanups see `Outcome::Error` — also when
/// it was cancelled while its cleanups were awaited — so an `on_error`
/// rollback runs and an `on_success` commit that had not run yet does
/// not. A function that finishes awaits its cleanups itself, as without
/// a spawner. Since the
/// cleanups may run after the function is gone, each must own what it uses
/// (`async move`), and a fallible async cleanup (`defer!(try: async ..)`),
/// whose error would have no caller, is a compile error; `?Send` cannot go
/// with it.
///
/// ```
/// use exitstack::defer;
/// # struct Connection;
/// # impl Connection { async fn close(&self) {} async fn query(&self) -> Result<u32, String> { Ok(1) } }
/// # fn spawn(cleanups: exitstack::HandOff) { drop(cleanups) }
/// // With tokio: `spawn = |cleanups| { tokio::spawn(cleanups); }`
/// #[exitstack::scope(spawn = spawn)]
/// async fn handle(connection: std::sync::Arc<Connection>) -> Result<u32, String> {
///     let closing = connection.clone();
///     defer!(async move { closing.close().await }); // runs even if `handle` is cancelled
///     connection.query().await
/// }
/// # drop(handle(std::sync::Arc::new(Connection)));
/// ```
///
/// How it works: the function's body becomes an `async` block of its own
/// inside the function, so that `return` and `?` leave it with their value
/// before the cleanups are awaited; the signature is untouched.
///
/// # Scopes of their own
///
/// Closures, `async` blocks (and `const` blocks) in the body have their own
/// `return` and `?`, which are not the function's: the scope does not look
/// inside them. Cleanups written there run when *that* closure's body ends,
/// as in a function without `#[exitstack::scope]`; the forms that need the
/// function's scope (`on_error`, `on_failure`, `pop_all!()`) are compile
/// errors there, since they could never do what they say. Nested `fn` items
/// are left alone entirely (put `#[exitstack::scope]` on them too).
///
/// ```compile_fail
/// use exitstack::defer;
///
/// #[exitstack::scope]
/// fn save_all(items: &[u8]) -> Result<(), String> {
///     items.iter().try_for_each(|item| {
///         defer!(on_error: println!("rolling back {item}")); // error: a scope of its own
///         Err(format!("cannot save {item}"))
///     })
/// }
/// ```
///
/// # Limitations
///
/// * `#[track_caller]` does not pass through the closure the body runs in
///   (on stable Rust), so it is refused rather than silently report the
///   function itself.
/// * The `Err` must come from the function itself: an error that a closure
///   returns to the function is observed where the function returns it.
/// * A type parameter the attribute cannot see — one of the enclosing
///   `impl` (`impl<R> Runner<R> { fn run(&self) -> R }`), of the enclosing
///   trait (`trait Job<T> { fn go(&self) -> T { .. } }`), or `Self` in a
///   trait's default method — is observed through `Fallible` when it is
///   bounded so (`impl<R: exitstack::Fallible>`, `where Self:
///   exitstack::Fallible`). Unbounded, it cannot be observed; when a cleanup
///   depends on errors, the value is checked as the function returns it: a
///   `Result` (or a `Poll` of one) makes the function panic there — before
///   any cleanup runs, so an `on_success` cleanup never commits an `Err` —
///   with a message that says to add the bound. **A type of yours that
///   implements `Fallible`, behind such a parameter, is not seen at all**:
///   add the bound. (A parameter of the method itself is always seen, also
///   inside the return type — `Wrapper<T>`, an alias `Same<T>` — except
///   inside the std types that can never be an error, `Option<T>`,
///   `Vec<T>`, tuples, references, ...)
/// * Only the cleanups written in the body are tied to the function's
///   scope: `defer!`, `cleanup!` and `#[cleanup]` by these names (bare,
///   `exitstack::`-qualified, or under `crate = path`). One that another
///   macro expands to (a `macro_rules!` of yours wrapping `defer!`), or
///   reached through a renamed import (`use exitstack::defer as on_exit;`,
///   `use exitstack as es;` without `crate = es`), is the standalone form,
///   whose `on_success` means "no panic" and which never sees an `Err`:
///   write the cleanups in the body, by their names.
/// * A cleanup in a block that ends before the function decides what it
///   returns — the operand of `?`, the receiver of a method call, an
///   argument (`Err({ defer!(..); e })`) — ends with that block, and sees
///   the outcome so far (`Success`). A block that *is* the returned value
///   (the tail, the operand of `return`, a `break` value) is observed first.
/// * `return`, `break` and `continue` inside the arguments of `bail!` /
///   `ensure!` are refused (conservatively, also inside a closure or a loop
///   there): compute the value before the call.
/// * Put `#[exitstack::scope]` above attributes that rewrite the body, such
///   as `#[tokio::main]` or `#[tokio::test]`, so it sees the body as written.
/// * `crate = path` (for a renamed dependency) also makes `path::defer!` and
///   `#[path::cleanup]` recognised in the body: `#[es::scope(crate = es)]`.
///
/// # Cost
///
/// The `ErrorWatch` is two relaxed atomics (a `Sync` value, so a future that holds
/// a cleanup across `.await` stays `Send`); each cleanup is a local guard
/// that also reads the scope when it is dropped; observing a value is a
/// branch on its discriminant, and nothing for types that are never errors.
/// A function with async cleanups also holds the implicit stack (behind a
/// `Mutex`, locked only to register, to cancel, and once at the end); each
/// async cleanup is one entry on it, and its future is boxed when its turn
/// comes.
#[proc_macro_attribute]
pub fn scope(args: TokenStream, item: TokenStream) -> TokenStream {
    let fallback = item.clone().into();
    scope::attribute(args.into(), item.into())
        .unwrap_or_else(|error| error::beside(error, fallback))
        .into()
}
