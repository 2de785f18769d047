//! `#[exitstack::scope]` on `async fn`s, on a real runtime: cleanups held
//! across `.await` keep the future `Send`, and on-error cleanups run when
//! the future completes with an `Err`. Then async cleanups
//! (`defer!(async { ... })`, `cleanup!(async { ... })`): awaited on every
//! way out of the body, with their conditions, in order with the sync ones;
//! panics; the future dropped part-way; `Send` and `?Send`.

mod common;

use std::sync::{Arc, Mutex};

use exitstack::{cleanup, defer};

type Log = Arc<Mutex<Vec<&'static str>>>;

fn push(log: &Log, entry: &'static str) {
    log.lock().unwrap().push(entry);
}

fn taken(log: &Log) -> Vec<&'static str> {
    std::mem::take(&mut *log.lock().unwrap())
}

#[derive(Debug, PartialEq)]
struct Failed;

async fn step(fail: bool) -> Result<u32, Failed> {
    tokio::task::yield_now().await;
    if fail { Err(Failed) } else { Ok(1) }
}

#[exitstack::scope]
async fn transfer(log: Log, fail_at: Option<u8>) -> Result<u32, Failed> {
    defer!(on_error: push(&log, "on error"));
    defer!(on_success: push(&log, "on success"));
    #[cleanup]
    fn always() {
        push(&log, "always");
    }
    let mut total = step(fail_at == Some(0)).await?;
    tokio::task::yield_now().await;
    if fail_at == Some(1) {
        return Err(Failed);
    }
    total += step(false).await?;
    if fail_at == Some(2) {
        Err(Failed)
    } else {
        Ok(total)
    }
}

fn run<F: Future<Output = T> + Send + 'static, T: Send + 'static>(future: F) -> T {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // `spawn` requires the future to be `Send`: guards held across `.await`
    // borrow the function's `ErrorWatch`, which is `Sync`.
    runtime.block_on(async move { tokio::spawn(future).await.unwrap() })
}

#[test]
fn on_error_runs_when_the_future_returns_err() {
    let log = Log::default();
    assert_eq!(run(transfer(Arc::clone(&log), None)), Ok(2));
    assert_eq!(taken(&log), ["always", "on success"]);
    for fail_at in 0..3 {
        assert_eq!(run(transfer(Arc::clone(&log), Some(fail_at))), Err(Failed));
        assert_eq!(taken(&log), ["always", "on error"], "failing at {fail_at}");
    }
}

struct Connection {
    log: Log,
    open: bool,
}

impl Connection {
    #[exitstack::scope]
    async fn reopen(&mut self, fail: bool) -> Result<(), Failed> {
        self.open = false;
        let log = Arc::clone(&self.log);
        let _restore = cleanup!(on_failure: push(&log, "restore"));
        step(fail).await?;
        pop_all!();
        self.open = true;
        Ok(())
    }
}

#[test]
fn async_method_with_mut_self() {
    let log = Log::default();
    let mut connection = Connection {
        log: Arc::clone(&log),
        open: true,
    };
    let connection = run(async move {
        connection.reopen(true).await.unwrap_err();
        assert!(!connection.open);
        connection.reopen(false).await.unwrap();
        connection
    });
    assert!(connection.open);
    assert_eq!(taken(&log), ["restore"]);
}

// ---------------------------------------------------------------------------
// Async cleanups: `defer!(async { ... })` and `cleanup!(async { ... })`,
// awaited on the function's implicit asynchronous stack when its body ends.

/// How `paths` leaves its body.
#[derive(Clone, Copy, Debug)]
enum Path {
    Tail,
    TailErr,
    Return,
    ReturnErr,
    Question,
}

const PATHS: [Path; 5] = [
    Path::Tail,
    Path::TailErr,
    Path::Return,
    Path::ReturnErr,
    Path::Question,
];

impl Path {
    fn fails(self) -> bool {
        matches!(self, Path::TailErr | Path::ReturnErr | Path::Question)
    }
}

/// Every condition, async, on every way out of the body. Each cleanup
/// awaits before it logs, so it really is awaited.
#[exitstack::scope]
async fn paths(log: Log, path: Path) -> Result<u32, Failed> {
    defer!(async {
        tokio::task::yield_now().await;
        push(&log, "always");
    });
    defer!(on_success: async {
        tokio::task::yield_now().await;
        push(&log, "on success");
    });
    defer!(on_error: async {
        tokio::task::yield_now().await;
        push(&log, "on error");
    });
    let _failure = cleanup!(on_failure: async {
        tokio::task::yield_now().await;
        push(&log, "on failure");
    });
    let _panic = cleanup!(on_panic: async {
        push(&log, "on panic");
    });
    let value = step(matches!(path, Path::Question)).await?;
    match path {
        Path::Return => return Ok(value),
        Path::ReturnErr => return Err(Failed),
        _ => {}
    }
    tokio::task::yield_now().await;
    if matches!(path, Path::TailErr) {
        Err(Failed)
    } else {
        Ok(value + 1)
    }
}

#[test]
fn async_cleanups_run_on_every_path_with_their_condition() {
    let log = Log::default();
    for path in PATHS {
        let result = run(paths(Arc::clone(&log), path));
        assert_eq!(result.is_err(), path.fails(), "{path:?}");
        // Last registered first.
        let expected: &[&str] = if path.fails() {
            &["on failure", "on error", "always"]
        } else {
            &["on success", "always"]
        };
        assert_eq!(taken(&log), expected, "{path:?}");
    }
    assert_eq!(run(paths(Arc::clone(&log), Path::Tail)), Ok(2));
    assert_eq!(run(paths(Arc::clone(&log), Path::Return)), Ok(1));
}

/// Sync cleanups stay local guards: they run as the body's locals are
/// dropped, in LIFO order with them. The async ones are awaited after the
/// body is done, last registered first.
#[exitstack::scope]
async fn mixed(log: Log, fail: bool) -> Result<(), Failed> {
    defer!(push(&log, "sync 1"));
    defer!(async { push(&log, "async 1") });
    let _local = Noisy(Arc::clone(&log), "local");
    defer!(on_error: push(&log, "sync on error"));
    defer!(on_error: async { push(&log, "async on error") });
    defer!(async { push(&log, "async 2") });
    #[cleanup]
    fn sync_2() {
        push(&log, "sync 2");
    }
    step(fail).await.map(drop)
}

struct Noisy(Log, &'static str);

impl Drop for Noisy {
    fn drop(&mut self) {
        push(&self.0, self.1);
    }
}

#[test]
fn sync_cleanups_run_with_the_locals_then_async_ones_are_awaited() {
    let log = Log::default();
    run(mixed(Arc::clone(&log), false)).unwrap();
    assert_eq!(
        taken(&log),
        ["sync 2", "local", "sync 1", "async 2", "async 1"]
    );
    run(mixed(Arc::clone(&log), true)).unwrap_err();
    assert_eq!(
        taken(&log),
        [
            "sync 2",
            "sync on error",
            "local",
            "sync 1",
            "async 2",
            "async on error",
            "async 1",
        ]
    );
}

/// Registration is dynamic: one entry per time the statement runs.
#[exitstack::scope]
async fn in_a_loop(log: Log, names: &'static [&'static str]) -> Result<(), Failed> {
    for name in names {
        if name.is_empty() {
            return Err(Failed);
        }
        let log = Arc::clone(&log);
        defer!(on_error: async move {
            tokio::task::yield_now().await;
            push(&log, name);
        });
    }
    Ok(())
}

#[test]
fn async_cleanups_registered_in_a_loop_run_last_first() {
    let log = Log::default();
    run(in_a_loop(Arc::clone(&log), &["a", "b", "c"])).unwrap();
    assert_eq!(taken(&log), [] as [&str; 0]);
    run(in_a_loop(Arc::clone(&log), &["a", "b", "", "c"])).unwrap_err();
    assert_eq!(taken(&log), ["b", "a"]);
}

/// `.cancel()` on the handle of `cleanup!(async ...)`, and `pop_all!()`,
/// cancel async cleanups too: their futures are dropped unpolled.
#[exitstack::scope]
async fn cancelling(log: Log, commit: bool) -> Result<(), Failed> {
    defer!(async { push(&log, "kept") });
    let undo = cleanup!(async { push(&log, "cancelled") });
    undo.cancel();
    defer!(push(&log, "sync, registered before pop_all"));
    defer!(async { push(&log, "async, registered before pop_all") });
    if commit {
        pop_all!();
    }
    defer!(async { push(&log, "registered after pop_all") });
    Ok(())
}

#[test]
fn cancel_and_pop_all_cancel_async_cleanups() {
    let log = Log::default();
    run(cancelling(Arc::clone(&log), false)).unwrap();
    assert_eq!(
        taken(&log),
        [
            "sync, registered before pop_all",
            "registered after pop_all",
            "async, registered before pop_all",
            "kept",
        ]
    );
    run(cancelling(Arc::clone(&log), true)).unwrap();
    assert_eq!(taken(&log), ["registered after pop_all"]);
}

/// The cleanups borrow the function's arguments (`&self` here) without
/// `move`; the body's locals must be moved in.
struct Service {
    log: Log,
    name: String,
}

impl Service {
    #[exitstack::scope]
    async fn serve(&self, request: &str) -> Result<String, Failed> {
        defer!(on_error: async {
            push(&self.log, "error reported");
            assert_eq!(self.name, "svc");
        });
        let reply = format!("{}: {request}", self.name);
        let copy = reply.clone();
        defer!(async move {
            assert!(copy.starts_with("svc"));
            push(&self.log, "reply sent");
        });
        if request.is_empty() {
            return Err(Failed);
        }
        Ok(reply)
    }
}

#[test]
fn async_cleanups_borrow_arguments_and_self() {
    let log = Log::default();
    let service = Arc::new(Service {
        log: Arc::clone(&log),
        name: "svc".to_owned(),
    });
    let reply = run({
        let service = Arc::clone(&service);
        async move { service.serve("ping").await }
    });
    assert_eq!(reply.as_deref(), Ok("svc: ping"));
    assert_eq!(taken(&log), ["reply sent"]);
    let service2 = Arc::clone(&service);
    run(async move { service2.serve("").await }).unwrap_err();
    assert_eq!(taken(&log), ["reply sent", "error reported"]);
}

// --- panics ----------------------------------------------------------------

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(future)
}

fn panic_payload(f: impl FnOnce()) -> String {
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_err();
    payload
        .downcast_ref::<&str>()
        .map(ToString::to_string)
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap()
}

#[exitstack::scope]
async fn panicking(log: Log, cleanup_panics: bool) -> Result<(), Failed> {
    defer!(async {
        tokio::task::yield_now().await;
        push(&log, "async always");
    });
    defer!(on_panic: async {
        tokio::task::yield_now().await;
        push(&log, "async on panic");
        assert!(!cleanup_panics, "cleanup panicked");
    });
    defer!(on_error: async { push(&log, "async on error") });
    defer!(on_failure: push(&log, "sync on failure"));
    tokio::task::yield_now().await;
    panic!("body panicked");
}

#[test]
fn a_panic_in_the_body_still_awaits_the_cleanups_then_resumes() {
    let log = Log::default();
    let message = panic_payload(|| block_on(panicking(Arc::clone(&log), false)).unwrap());
    assert_eq!(message, "body panicked");
    assert_eq!(
        taken(&log),
        ["sync on failure", "async on panic", "async always"]
    );
    // The body's panic wins over a cleanup's; every cleanup still runs.
    let message = panic_payload(|| block_on(panicking(Arc::clone(&log), true)).unwrap());
    assert_eq!(message, "body panicked");
    assert_eq!(
        taken(&log),
        ["sync on failure", "async on panic", "async always"]
    );
}

#[exitstack::scope]
async fn cleanup_panics(log: Log) -> Result<u8, Failed> {
    defer!(async { push(&log, "first registered, runs last") });
    defer!(async {
        push(&log, "panics");
        panic!("cleanup panicked");
    });
    Ok(1)
}

#[test]
fn a_panicking_async_cleanup_resumes_after_the_others_ran() {
    let log = Log::default();
    let message = panic_payload(|| drop(block_on(cleanup_panics(Arc::clone(&log)))));
    assert_eq!(message, "cleanup panicked");
    assert_eq!(taken(&log), ["panics", "first registered, runs last"]);
}

// --- the future dropped mid-way ---------------------------------------------

/// Suspends forever at `gate` (in the body or in a cleanup).
#[exitstack::scope]
async fn stalls(log: Log, in_cleanup: bool) -> Result<(), Failed> {
    defer!(push(&log, "sync"));
    defer!(async { push(&log, "async, first registered") });
    defer!(async {
        push(&log, "async, started");
        if in_cleanup {
            std::future::pending::<()>().await;
        }
        push(&log, "async, finished");
    });
    if !in_cleanup {
        std::future::pending::<()>().await;
    }
    Ok(())
}

fn time_out(future: impl Future) {
    let timed_out = block_on(async {
        tokio::time::timeout(std::time::Duration::from_millis(20), future).await
    });
    assert!(timed_out.is_err(), "the future completed");
}

#[test]
fn dropped_before_the_body_ends_the_sync_cleanups_run_and_async_ones_do_not() {
    let log = Log::default();
    let ((), reports) = common::reports::capture(|| time_out(stalls(Arc::clone(&log), false)));
    assert_eq!(taken(&log), ["sync"]);
    // Both async cleanups are reported (there is no spawner).
    assert_eq!(reports, [common::reports::ASYNC_DROPPED; 2]);
}

#[test]
fn dropped_during_the_cleanups_the_one_in_progress_stops_and_the_rest_do_not_run() {
    let log = Log::default();
    let ((), reports) = common::reports::capture(|| time_out(stalls(Arc::clone(&log), true)));
    assert_eq!(taken(&log), ["sync", "async, started"]);
    // The one in progress was cut, the one not reached never ran.
    assert_eq!(
        reports,
        [
            common::reports::ASYNC_INTERRUPTED,
            common::reports::ASYNC_DROPPED
        ]
    );
}

/// Debug builds say on standard error that an async cleanup did not run:
/// checked in a child process, which re-runs this binary on one test.
#[test]
#[ignore = "a child process: its parent test runs it"]
fn child_dropped_mid_way() {
    common::child::enter("child_dropped_mid_way");
    time_out(stalls(Log::default(), false));
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot run a child process")]
fn dropped_mid_way_is_not_silent_in_debug_builds() {
    let out = common::child::run("child_dropped_mid_way", "");
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings = stderr
        .matches("an async cleanup did not run: its AsyncExitStack was dropped")
        .count();
    let expected = if cfg!(debug_assertions) { 2 } else { 0 };
    assert_eq!(warnings, expected, "{stderr}");
}

// --- Send, and ?Send --------------------------------------------------------

fn assert_send<T: Send>(value: T) -> T {
    value
}

#[test]
fn the_future_is_send_when_its_cleanups_are() {
    let log = Log::default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let handles: Vec<_> = PATHS
        .into_iter()
        .map(|path| runtime.spawn(assert_send(paths(Arc::clone(&log), path))))
        .collect();
    let failures = runtime.block_on(async {
        let mut failures = 0;
        for handle in handles {
            failures += usize::from(handle.await.unwrap().is_err());
        }
        failures
    });
    assert_eq!(failures, 3);
    let mut log = taken(&log);
    log.sort_unstable();
    assert_eq!(
        log,
        [
            "always",
            "always",
            "always",
            "always",
            "always",
            "on error",
            "on error",
            "on error",
            "on failure",
            "on failure",
            "on failure",
            "on success",
            "on success",
        ]
    );
}

/// `?Send`: the cleanups may hold what is not `Send` (the future is then
/// not `Send` either: run it on the current thread).
#[exitstack::scope(?Send)]
async fn not_send(log: std::rc::Rc<std::cell::RefCell<Vec<&'static str>>>) -> Result<(), Failed> {
    let shared = std::rc::Rc::clone(&log);
    defer!(on_error: async move {
        tokio::task::yield_now().await;
        shared.borrow_mut().push("rolled back");
    });
    defer!(async { log.borrow_mut().push("closed") });
    step(true).await?;
    Ok(())
}

#[test]
fn not_send_cleanups_with_question_send() {
    let log = std::rc::Rc::default();
    block_on(not_send(std::rc::Rc::clone(&log))).unwrap_err();
    assert_eq!(*log.borrow(), ["closed", "rolled back"]);
}

// --- what the body's value may be --------------------------------------------

#[derive(Debug, PartialEq)]
struct Wrapped(Failed);

impl From<Failed> for Wrapped {
    fn from(failed: Failed) -> Self {
        Wrapped(failed)
    }
}

/// `?` converts into the declared error type; the tail's type comes from
/// the signature (`.into()`); a sync `on_error` and an async one agree.
#[exitstack::scope]
async fn converts(log: Log, fail: bool) -> Result<u64, Wrapped> {
    defer!(on_error: async { push(&log, "async on error") });
    defer!(on_error: push(&log, "sync on error"));
    let value = step(fail).await?;
    Ok(value.into())
}

#[exitstack::scope]
async fn returns_impl_trait(log: Log) -> impl std::fmt::Display {
    defer!(async { push(&log, "impl trait") });
    tokio::task::yield_now().await;
    7
}

#[exitstack::scope]
async fn returns_unit(log: Log) {
    defer!(on_success: async { push(&log, "unit") });
}

#[test]
fn return_types() {
    let log = Log::default();
    assert_eq!(run(converts(Arc::clone(&log), false)), Ok(1));
    assert_eq!(taken(&log), [] as [&str; 0]);
    assert_eq!(run(converts(Arc::clone(&log), true)), Err(Wrapped(Failed)));
    assert_eq!(taken(&log), ["sync on error", "async on error"]);
    assert_eq!(
        block_on(returns_impl_trait(Arc::clone(&log))).to_string(),
        "7"
    );
    run(returns_unit(Arc::clone(&log)));
    assert_eq!(taken(&log), ["impl trait", "unit"]);
}

// --- under other attributes ---------------------------------------------------

/// `#[exitstack::scope]` goes above `#[tokio::test]`, so that it sees the
/// `async fn` as written.
#[exitstack::scope]
#[tokio::test]
async fn under_tokio_test() {
    let log = Log::default();
    let outer = Arc::clone(&log);
    defer!(async move {
        tokio::task::yield_now().await;
        push(&outer, "cleaned up");
        assert_eq!(taken(&outer), ["body", "cleaned up"]);
    });
    push(&log, "body");
}

/// A cancelled `#[exitstack::scope] async fn` (its future dropped while the
/// body waits: a timeout, a `select!`) did not succeed: its guards see a
/// failure, so an `on_success` commit does not commit unfinished work.
/// (Found by review: they saw `Success`.)
#[exitstack::scope]
async fn waits_then_commits(log: Log) -> Result<(), Failed> {
    defer!(on_success: push(&log, "committed"));
    defer!(on_failure: push(&log, "rolled back"));
    common::PendingOnce(false).await;
    Ok(())
}

#[test]
fn a_cancelled_scope_fn_is_a_failure_for_its_guards() {
    let log = Log::default();
    {
        let mut future = std::pin::pin!(waits_then_commits(Arc::clone(&log)));
        assert!(common::poll_once(future.as_mut()).is_pending());
    }
    assert_eq!(*log.lock().unwrap(), ["rolled back"]);

    // Not cancelled: a success. (`PendingOnce` wakes no one: polled again
    // by hand.)
    log.lock().unwrap().clear();
    let mut future = std::pin::pin!(waits_then_commits(Arc::clone(&log)));
    assert!(common::poll_once(future.as_mut()).is_pending());
    assert!(matches!(
        common::poll_once(future.as_mut()),
        std::task::Poll::Ready(Ok(()))
    ));
    assert_eq!(*log.lock().unwrap(), ["committed"]);
}
