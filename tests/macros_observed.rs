//! Every way an `#[exitstack::scope]` fn can return is observed before its
//! cleanups run: each case counts how many times its `on_error` and
//! `on_success` cleanups ran, for an `Err` and for an `Ok`.
#![allow(clippy::unnecessary_wraps, reason = "the cases return what they test")]

use std::fmt::{Debug, Write as _};
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::Poll;

use exitstack::{Fallible, cleanup, defer};

/// How many times each cleanup ran.
#[derive(Default)]
struct Counts {
    error: AtomicU32,
    success: AtomicU32,
}

impl Counts {
    fn error(&self) {
        self.error.fetch_add(1, Ordering::Relaxed);
    }

    fn success(&self) {
        self.success.fetch_add(1, Ordering::Relaxed);
    }

    /// `(on_error runs, on_success runs)`, reset.
    fn take(&self) -> (u32, u32) {
        (
            self.error.swap(0, Ordering::Relaxed),
            self.success.swap(0, Ordering::Relaxed),
        )
    }
}

fn load(ok: bool) -> Result<u32, String> {
    if ok { Ok(7) } else { Err("no".to_owned()) }
}

/// Runs `f` for an error then for a success and checks both counts.
fn assert_observed<T: Debug>(counts: &Counts, f: impl Fn(bool) -> T, is_err: impl Fn(&T) -> bool) {
    let failed = f(false);
    assert!(is_err(&failed), "{failed:?} should be an error");
    assert_eq!(
        counts.take(),
        (1, 0),
        "on_error once, on_success never: {failed:?}"
    );
    let succeeded = f(true);
    assert!(!is_err(&succeeded), "{succeeded:?} should be a success");
    assert_eq!(
        counts.take(),
        (0, 1),
        "on_success once, on_error never: {succeeded:?}"
    );
}

// anyhow's `bail!` and `ensure!`.

#[exitstack::scope]
fn with_bail(counts: &Counts, ok: bool) -> anyhow::Result<u32> {
    defer!(on_error: counts.error());
    defer!(on_success: counts.success());
    if !ok {
        anyhow::bail!("failed: {}", 1);
    }
    Ok(1)
}

#[exitstack::scope]
fn with_bare_bail(counts: &Counts, ok: bool) -> anyhow::Result<u32> {
    use anyhow::bail;
    defer!(on_error: counts.error());
    defer!(on_success: counts.success());
    if ok { Ok(1) } else { bail!("failed") }
}

#[exitstack::scope]
fn with_ensure(counts: &Counts, ok: bool) -> anyhow::Result<u32> {
    use anyhow::ensure;
    defer!(on_error: counts.error());
    defer!(on_success: counts.success());
    ensure!(ok, "not ok");
    anyhow::ensure!(ok);
    Ok(1)
}

#[exitstack::scope]
async fn with_ensure_awaiting(counts: &Counts, ok: bool) -> anyhow::Result<u32> {
    defer!(on_error: counts.error());
    defer!(on_success: counts.success());
    anyhow::ensure!(async { ok }.await, "not ok");
    Ok(1)
}

#[test]
fn anyhow_bail_and_ensure_are_observed() {
    let counts = Counts::default();
    assert_observed(&counts, |ok| with_bail(&counts, ok), Result::is_err);
    assert_observed(&counts, |ok| with_bare_bail(&counts, ok), Result::is_err);
    assert_observed(&counts, |ok| with_ensure(&counts, ok), Result::is_err);
    assert_observed(
        &counts,
        |ok| block_on(with_ensure_awaiting(&counts, ok)),
        Result::is_err,
    );
}

// `?` and `return` inside the arguments of the standard macros.

#[exitstack::scope]
fn in_format(counts: &Counts, ok: bool) -> Result<String, String> {
    defer!(on_error: counts.error());
    defer!(on_success: counts.success());
    Ok(format!("{}", load(ok)?))
}

#[exitstack::scope]
fn in_println(counts: &Counts, ok: bool) -> Result<(), String> {
    defer!(on_error: counts.error());
    defer!(on_success: counts.success());
    println!("{}", load(ok)?);
    Ok(())
}

#[exitstack::scope]
fn in_vec(counts: &Counts, ok: bool) -> Result<Vec<u32>, String> {
    defer!(on_error: counts.error());
    defer!(on_success: counts.success());
    let mut list = vec![load(ok)?, 1];
    list.append(&mut vec![load(ok)?; 2]);
    Ok(list)
}

#[exitstack::scope]
fn in_assert(counts: &Counts, ok: bool) -> Result<(), String> {
    defer!(on_error: counts.error());
    defer!(on_success: counts.success());
    assert!(load(ok)? == 7, "seven");
    assert_eq!(load(ok)?, 7);
    Ok(())
}

#[exitstack::scope]
fn in_write(counts: &Counts, ok: bool) -> Result<String, Box<dyn std::error::Error>> {
    defer!(on_error: counts.error());
    defer!(on_success: counts.success());
    let mut out = String::new();
    write!(out, "{}", load(ok)?)?;
    Ok(out)
}

#[exitstack::scope]
fn return_in_format(counts: &Counts, ok: bool) -> Result<String, String> {
    defer!(on_error: counts.error());
    defer!(on_success: counts.success());
    Ok(format!(
        "{}",
        if ok {
            1
        } else {
            return Err("early".to_owned());
        }
    ))
}

#[test]
fn question_mark_and_return_in_std_macros_are_observed() {
    let counts = Counts::default();
    assert_observed(&counts, |ok| in_format(&counts, ok), Result::is_err);
    assert_observed(&counts, |ok| in_println(&counts, ok), Result::is_err);
    assert_observed(&counts, |ok| in_vec(&counts, ok), Result::is_err);
    assert_observed(&counts, |ok| in_assert(&counts, ok), Result::is_err);
    assert_observed(&counts, |ok| in_write(&counts, ok), Result::is_err);
    assert_observed(&counts, |ok| return_in_format(&counts, ok), Result::is_err);
}

// A brace-delimited macro call as the value of a tail branch.

macro_rules! failed {
    {} => {
        Err("failed".to_owned())
    };
}

#[exitstack::scope]
fn braced_macro_in_tail(counts: &Counts, ok: bool) -> Result<(), String> {
    defer!(on_error: counts.error());
    defer!(on_success: counts.success());
    if ok {
        Ok(())
    } else {
        failed! {}
    }
}

#[test]
fn a_braced_macro_as_a_tail_value_is_observed() {
    let counts = Counts::default();
    assert_observed(
        &counts,
        |ok| braced_macro_in_tail(&counts, ok),
        Result::is_err,
    );
}

// Labels are tracked by scope: verify/ui/tests/ui/pass/scope-shadowed-label.rs (rustc
// warns on a shadowed label, with no lint to allow it).

// Generic return types: observed through `Fallible`.

#[exitstack::scope]
fn generic<R: Fallible>(counts: &Counts, make: impl FnOnce() -> R) -> R {
    defer!(on_error: counts.error());
    defer!(on_success: counts.success());
    make()
}

trait Task {
    type Out: Fallible;

    fn make(&self, ok: bool) -> Self::Out;

    #[exitstack::scope]
    fn run(&self, counts: &Counts, ok: bool) -> Self::Out {
        defer!(on_error: counts.error());
        defer!(on_success: counts.success());
        self.make(ok)
    }
}

struct Loader;

impl Task for Loader {
    type Out = Result<u32, String>;

    fn make(&self, ok: bool) -> Self::Out {
        load(ok)
    }
}

#[test]
fn generic_return_types_are_observed_through_fallible() {
    let counts = Counts::default();
    assert_observed(&counts, |ok| generic(&counts, || load(ok)), Result::is_err);
    assert_observed(&counts, |ok| Loader.run(&counts, ok), Result::is_err);
}

// A result-like type of the user's, opted in.

#[derive(Debug)]
enum Status {
    Done,
    Failed,
}

impl Fallible for Status {
    fn is_error(&self) -> bool {
        matches!(self, Status::Failed)
    }
}

#[exitstack::scope]
fn status(counts: &Counts, ok: bool) -> Status {
    defer!(on_error: counts.error());
    defer!(on_success: counts.success());
    if ok { Status::Done } else { Status::Failed }
}

type Res<T> = Result<T, String>;

#[exitstack::scope]
fn alias(counts: &Counts, ok: bool) -> Res<u32> {
    defer!(on_error: counts.error());
    defer!(on_success: counts.success());
    load(ok)
}

#[exitstack::scope]
fn io_alias(counts: &Counts, ok: bool) -> std::io::Result<()> {
    defer!(on_error: counts.error());
    defer!(on_success: counts.success());
    if ok {
        Ok(())
    } else {
        Err(std::io::Error::other("no"))
    }
}

#[exitstack::scope]
fn poll(counts: &Counts, ok: bool) -> Poll<Result<u32, String>> {
    defer!(on_error: counts.error());
    defer!(on_success: counts.success());
    let value = load(ok)?;
    Poll::Ready(Ok(value))
}

#[test]
fn decided_by_type_aliases_and_user_types() {
    let counts = Counts::default();
    assert_observed(&counts, |ok| status(&counts, ok), Fallible::is_error);
    assert_observed(&counts, |ok| alias(&counts, ok), Result::is_err);
    assert_observed(&counts, |ok| io_alias(&counts, ok), Result::is_err);
    assert_observed(&counts, |ok| poll(&counts, ok), Fallible::is_error);
}

// `#[async_trait]` impls: the attribute sees the body async-trait wrote.

#[async_trait::async_trait]
trait Store {
    async fn save(&self, counts: &Counts, ok: bool) -> Result<u32, String>;
}

struct Db;

#[async_trait::async_trait]
impl Store for Db {
    #[exitstack::scope]
    async fn save(&self, counts: &Counts, ok: bool) -> Result<u32, String> {
        defer!(on_error: counts.error());
        defer!(on_success: counts.success());
        let value = load(ok)?;
        Ok(value)
    }
}

#[async_trait::async_trait(?Send)]
trait LocalStore {
    async fn save(&self, counts: &Counts, ok: bool) -> Result<u32, String>;
}

#[async_trait::async_trait(?Send)]
impl LocalStore for Db {
    #[exitstack::scope]
    async fn save(&self, counts: &Counts, ok: bool) -> Result<u32, String> {
        defer!(on_error: counts.error());
        defer!(on_success: counts.success());
        defer!(on_error: async { counts.error() });
        if ok { Ok(1) } else { Err("no".to_owned()) }
    }
}

#[test]
fn async_trait_methods_are_observed() {
    let counts = Counts::default();
    assert_observed(
        &counts,
        |ok| block_on(Store::save(&Db, &counts, ok)),
        Result::is_err,
    );
    let failed = block_on(LocalStore::save(&Db, &counts, false));
    assert!(failed.is_err());
    assert_eq!(counts.take(), (2, 0), "the sync and the async on_error");
    block_on(LocalStore::save(&Db, &counts, true)).unwrap();
    assert_eq!(counts.take(), (0, 1));
}

/// Polls `future` to completion (it never waits on anything).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

/// A type parameter of the enclosing `impl` is invisible to the attribute.
struct Runner<R>(fn(bool) -> R);

impl<R> Runner<R> {
    /// Unbounded: not observable. Returning a `Result` through it must be
    /// loud, never a silent success (the `on_success` commit must not run).
    #[exitstack::scope]
    fn run(&self, counts: &Counts, ok: bool) -> R {
        defer!(on_success: counts.success());
        defer!(on_panic: counts.error());
        (self.0)(ok)
    }
}

struct BoundedRunner<R>(fn(bool) -> R);

impl<R: Fallible> BoundedRunner<R> {
    /// Bounded: observed through `Fallible`.
    #[exitstack::scope]
    fn run(&self, counts: &Counts, ok: bool) -> R {
        defer!(on_error: counts.error());
        defer!(on_success: counts.success());
        (self.0)(ok)
    }
}

fn result_of(ok: bool) -> Result<u8, String> {
    if ok { Ok(1) } else { Err("no".to_owned()) }
}

#[test]
fn an_impl_type_parameter_hiding_a_result_is_loud_never_a_success() {
    let counts = Counts::default();
    let runner = Runner(result_of);
    std::panic::set_hook(Box::new(|_| {}));
    for ok in [true, false] {
        let payload =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runner.run(&counts, ok)))
                .expect_err("a hidden Result is refused at run time");
        let message = payload.downcast_ref::<String>().unwrap();
        assert!(
            message.contains("Add the bound `exitstack::Fallible`"),
            "{message}"
        );
        assert_eq!(counts.take(), (1, 0), "on_panic ran, on_success did not");
    }
    // A type that is never an error is fine through the same parameter.
    let runner = Runner(|ok: bool| u8::from(ok));
    assert_eq!(runner.run(&counts, true), 1);
    assert_eq!(counts.take(), (0, 1));
}

#[test]
fn an_impl_type_parameter_bounded_by_fallible_is_observed() {
    let counts = Counts::default();
    assert_observed(
        &counts,
        |ok| BoundedRunner(result_of).run(&counts, ok),
        Result::is_err,
    );
}

/// An inherent constructor returning `Self` compiles under the attribute
/// (it is never an error).
struct Config {
    name: String,
}

impl Config {
    #[exitstack::scope]
    fn new(counts: &Counts) -> Self {
        defer!(on_success: counts.success());
        Config {
            name: "default".to_owned(),
        }
    }
}

/// `Self` is a `Result` here: observed through its `Fallible` impl.
trait Load: Sized {
    fn load(ok: bool) -> Self;
}

impl Load for Result<u8, String> {
    #[exitstack::scope]
    fn load(ok: bool) -> Self {
        if ok { Ok(1) } else { Err("no".to_owned()) }
    }
}

/// A trait's default method: `Self` is a parameter there. A `Result` behind
/// it cannot be observed, and is refused loudly when returned.
trait Reload: Sized {
    fn make(ok: bool) -> Self;

    #[exitstack::scope]
    fn reload(counts: &Counts, ok: bool) -> Self {
        defer!(on_success: counts.success());
        Self::make(ok)
    }
}

impl Reload for Result<u8, String> {
    fn make(ok: bool) -> Self {
        result_of(ok)
    }
}

#[test]
fn self_returns_compile_and_are_never_guessed() {
    let counts = Counts::default();
    assert_eq!(Config::new(&counts).name, "default");
    assert_eq!(counts.take(), (0, 1));
    assert!(<Result<u8, String> as Load>::load(false).is_err());
    std::panic::set_hook(Box::new(|_| {}));
    let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        <Result<u8, String> as Reload>::reload(&counts, false)
    }));
    assert!(refused.is_err(), "a hidden Result is never a success");
    assert_eq!(counts.take(), (0, 0), "on_success did not run");
}

/// Logs when dropped: a permit an `#[async_trait]` method takes by value.
struct Permit<'l>(&'l std::sync::Mutex<Vec<&'static str>>);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.0.lock().unwrap().push("permit released");
    }
}

#[async_trait::async_trait]
trait Worker {
    async fn work<'l>(&self, permit: Permit<'l>, n: u8, pair: (u8, u8)) -> Result<u8, String>;
}

struct Scoped {
    base: u8,
}

#[async_trait::async_trait]
impl Worker for Scoped {
    /// async-trait moves the arguments into the future and renames `self`:
    /// those statements must stay (found by review: the permit was dropped
    /// before the future ran, and `self.base`, `mut n`, `(a, b)` did not
    /// compile).
    #[exitstack::scope]
    async fn work<'l>(
        &self,
        permit: Permit<'l>,
        mut n: u8,
        (a, b): (u8, u8),
    ) -> Result<u8, String> {
        defer!(on_error: permit.0.lock().unwrap().push("failed"));
        permit.0.lock().unwrap().push("body runs");
        n += a + b;
        if n > 100 {
            Err("too big".to_owned())
        } else {
            Ok(self.base + n)
        }
    }
}

#[test]
fn async_trait_methods_keep_their_arguments_moved_into_the_future() {
    let log = std::sync::Mutex::new(Vec::new());
    let future = Scoped { base: 1 }.work(Permit(&log), 2, (3, 4));
    log.lock().unwrap().push("future made");
    assert_eq!(block_on(future), Ok(10));
    assert_eq!(
        *log.lock().unwrap(),
        ["future made", "body runs", "permit released"]
    );
    log.lock().unwrap().clear();
    assert!(block_on(Scoped { base: 1 }.work(Permit(&log), 200, (0, 0))).is_err());
    assert_eq!(
        *log.lock().unwrap(),
        ["body runs", "failed", "permit released"]
    );
}

/// A cleanup in a block that is the operand of `return` sees the value it
/// returns (found by review: an `Err` ran both `on_error` and `on_success`).
#[exitstack::scope]
fn return_block(counts: &Counts, ok: bool) -> Result<u8, String> {
    if std::hint::black_box(true) {
        return {
            defer!(on_success: counts.success());
            defer!(on_error: counts.error());
            result_of(ok)
        };
    }
    Ok(0)
}

#[test]
fn a_block_returned_by_return_is_observed_before_its_cleanups() {
    let counts = Counts::default();
    assert_observed(&counts, |ok| return_block(&counts, ok), Result::is_err);
}

/// A type parameter inside the return type is observed through the bound
/// (found by review: `Wrapper<T>` and an alias of `T` counted as success).
struct Wrapper<T>(T);

impl<T: Fallible> Fallible for Wrapper<T> {
    fn is_error(&self) -> bool {
        self.0.is_error()
    }
}

type Same<T> = T;

#[exitstack::scope]
fn wrapped<T>(counts: &Counts, f: impl FnOnce() -> T) -> Wrapper<T>
where
    Wrapper<T>: Fallible,
{
    defer!(on_error: counts.error());
    defer!(on_success: counts.success());
    Wrapper(f())
}

#[exitstack::scope]
fn aliased<T: Fallible>(counts: &Counts, f: impl FnOnce() -> T) -> Same<T> {
    defer!(on_error: counts.error());
    defer!(on_success: counts.success());
    f()
}

/// No cleanup depends on the outcome: a generic return type needs no bound
/// (found by review: `R: Fallible` was asked for, so `timed(|| 1u8)` could
/// not be called).
#[exitstack::scope]
fn timed<R>(counts: &Counts, f: impl FnOnce() -> R) -> R {
    defer!(counts.success());
    defer!(on_panic: counts.error());
    f()
}

#[test]
fn type_parameters_inside_the_return_type_are_observed() {
    let counts = Counts::default();
    assert_observed(
        &counts,
        |ok| wrapped(&counts, || result_of(ok)).0,
        Result::is_err,
    );
    assert_observed(
        &counts,
        |ok| aliased(&counts, || result_of(ok)),
        Result::is_err,
    );
    assert_eq!(timed(&counts, || 1u8), 1);
    assert_eq!(counts.take(), (0, 1));
}

/// A sync fn that happens to bind `let body = async { .. }` is not taken
/// for a body `#[tokio::main]` rewrote (found by review).
#[exitstack::scope]
fn makes_a_future(counts: &Counts, ok: bool) -> Result<u8, String> {
    defer!(on_error: counts.error());
    defer!(on_success: counts.success());
    let body = async { 1 };
    drop(body);
    result_of(ok)
}

#[exitstack::scope]
fn matches_with_question_mark(counts: &Counts, ok: bool) -> Result<bool, String> {
    defer!(on_error: counts.error());
    defer!(on_success: counts.success());
    Ok(matches!(result_of(ok)?, 1))
}

#[test]
fn a_local_named_body_and_matches_with_question_mark() {
    let counts = Counts::default();
    assert_observed(&counts, |ok| makes_a_future(&counts, ok), Result::is_err);
    assert_observed(
        &counts,
        |ok| matches_with_question_mark(&counts, ok),
        Result::is_err,
    );
}

/// Second review: common generic return types keep `on_success` without a
/// bound (they can never be errors), `#[cleanup]` without a condition needs
/// none, and a hidden `Result` is only checked when a cleanup depends on it.
#[exitstack::scope]
fn first<T>(counts: &Counts, v: Vec<T>) -> Option<T> {
    defer!(on_success: counts.success());
    v.into_iter().next()
}

#[exitstack::scope]
fn wrap_in_vec<T>(counts: &Counts, v: T) -> Vec<T> {
    #[cleanup]
    fn close() {
        counts.success();
    }
    #[cleanup]
    let also = || counts.success();
    vec![v]
}

struct AlwaysRunner<R>(fn() -> R);

impl<R> AlwaysRunner<R> {
    #[exitstack::scope]
    fn run(&self, counts: &Counts) -> R {
        defer!(counts.success());
        (self.0)()
    }
}

#[test]
fn generic_returns_without_error_dependent_cleanups_need_nothing() {
    let counts = Counts::default();
    assert_eq!(first(&counts, vec![1, 2]), Some(1));
    assert_eq!(counts.take(), (0, 1));
    assert_eq!(wrap_in_vec(&counts, 'x'), ['x']);
    assert_eq!(counts.take(), (0, 2));
    let hidden = AlwaysRunner(|| Err::<u8, u8>(1));
    assert_eq!(
        hidden.run(&counts),
        Err(1),
        "no cleanup depends on it: no check"
    );
    assert_eq!(counts.take(), (0, 1));
}
