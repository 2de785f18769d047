//! A newcomer's review: a scopeguard user tries exitstack from the README,
//! the tour, the crate docs and the cookbook only, and checks that what
//! they say is what happens. Tests that show a problem are
//! `#[ignore = "repro: .."]`.
//!
//! The report hook is process-wide: the tests that set it hold a
//! `Capture` (`tests/common/reports.rs`).
//!
//! Every runtime claim tried here held: no test is ignored. What the review
//! found is in the docs and in compile errors, which a test file cannot
//! hold: `defer!(try: ..)` in a fn returning `Result<_, String>` says
//! "`String` cannot hold the error `String`", and a `return Err(..)` inside
//! a `macro_rules!` says "expected `Returned<..>`", neither saying what to
//! write; `exitstack::defer_on_unwind!` (a literal rename) is a bare
//! "cannot find".

mod common;

use std::cell::RefCell;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::reports::Capture;
use exitstack::{
    AsyncExitStack, ErrorWatch, Outcome, ScopeError, ScopeGuard, SendAsyncExitStack, defer,
};

// ---------------------------------------------------------------------------
// Migrating a scopeguard program: "Change `scopeguard::` to `exitstack::`".

mod with_scopeguard {
    use scopeguard::{ScopeGuard, defer, guard, guard_on_unwind};
    use std::cell::RefCell;

    pub fn run(log: &RefCell<Vec<String>>) -> usize {
        defer! { log.borrow_mut().push("deferred".into()); }
        let mut batch = guard(Vec::new(), |batch| {
            log.borrow_mut().push(format!("flush {batch:?}"));
        });
        batch.push(1);
        let _rollback = guard_on_unwind((), |()| log.borrow_mut().push("roll back".into()));
        let kept: ScopeGuard<usize, _> = guard(7, |_| unreachable!());
        ScopeGuard::into_inner(kept)
    }

    /// Generic code over scopeguard's strategies.
    pub fn defuse<T, F: FnOnce(T), S: scopeguard::Strategy>(g: ScopeGuard<T, F, S>) -> T {
        ScopeGuard::into_inner(g)
    }
}

mod with_exitstack {
    use exitstack::{ScopeGuard, defer, guard, guard_on_unwind};
    use std::cell::RefCell;

    pub fn run(log: &RefCell<Vec<String>>) -> usize {
        defer! { log.borrow_mut().push("deferred".into()); }
        let mut batch = guard(Vec::new(), |batch| {
            log.borrow_mut().push(format!("flush {batch:?}"));
        });
        batch.push(1);
        let _rollback = guard_on_unwind((), |()| log.borrow_mut().push("roll back".into()));
        let kept: ScopeGuard<usize, _> = guard(7, |_| unreachable!());
        ScopeGuard::into_inner(kept)
    }

    /// The same generic code: the table says to bound with `Strategy<T, F>`.
    pub fn defuse<T, F: FnOnce(T), S: exitstack::Strategy<T, F>>(g: ScopeGuard<T, F, S>) -> T {
        ScopeGuard::into_inner(g)
    }
}

#[test]
fn scopeguard_program_migrates_by_renaming() {
    let before = RefCell::new(Vec::new());
    let after = RefCell::new(Vec::new());
    assert_eq!(with_scopeguard::run(&before), 7);
    assert_eq!(with_exitstack::run(&after), 7);
    assert_eq!(*before.borrow(), *after.borrow());
    assert_eq!(*after.borrow(), ["flush [1]", "deferred"]);

    assert_eq!(with_scopeguard::defuse(scopeguard::guard(1, |_| ())), 1);
    assert_eq!(with_exitstack::defuse(exitstack::guard(1, |_| ())), 1);
    assert_eq!(
        with_exitstack::defuse(exitstack::guard_on_success(2, |_| ())),
        2
    );
}

#[test]
fn scopeguard_on_success_differs_only_when_made_during_unwinding() {
    // README "Coming from scopeguard": on the normal path both behave alike.
    let log = RefCell::new(Vec::new());
    {
        let _a = scopeguard::guard_on_success((), |()| log.borrow_mut().push("sg"));
        let _b = exitstack::guard_on_success((), |()| log.borrow_mut().push("es"));
    }
    assert_eq!(*log.borrow(), ["es", "sg"]);
    let log = Mutex::new(Vec::new());
    let _ = std::panic::catch_unwind(|| {
        let _a = scopeguard::guard_on_unwind((), |()| log.lock().unwrap().push("sg"));
        let _b = exitstack::guard_on_unwind((), |()| log.lock().unwrap().push("es"));
        panic!("boom");
    });
    assert_eq!(*log.lock().unwrap(), ["es", "sg"]);
}

// ---------------------------------------------------------------------------
// `#[exitstack::scope]` with anyhow: `bail!` and `ensure!` are observed.

#[exitstack::scope]
fn provision(log: &RefCell<Vec<&'static str>>, size: u32) -> anyhow::Result<u32> {
    log.borrow_mut().push("create");
    defer!(on_error: log.borrow_mut().push("delete"));
    let _ok = cleanup!(on_success: log.borrow_mut().push("announce"));
    if size == 0 {
        anyhow::bail!("size must be positive");
    }
    anyhow::ensure!(size < 100, "size {size} too large");
    Ok(size)
}

#[test]
fn on_error_cleanup_with_anyhow_bail() {
    let log = RefCell::new(Vec::new());
    assert_eq!(provision(&log, 5).unwrap(), 5);
    assert_eq!(*log.borrow(), ["create", "announce"]);
    log.borrow_mut().clear();
    assert_eq!(
        provision(&log, 0).unwrap_err().to_string(),
        "size must be positive"
    );
    assert_eq!(*log.borrow(), ["create", "delete"]);
    log.borrow_mut().clear();
    assert_eq!(
        provision(&log, 500).unwrap_err().to_string(),
        "size 500 too large"
    );
    assert_eq!(*log.borrow(), ["create", "delete"]);
}

// ---------------------------------------------------------------------------
// `defer!(try: ..)`: the cleanup's error becomes the function's `Err`.

struct File {
    disk_full: bool,
}

impl File {
    fn sync_all(&self) -> io::Result<()> {
        if self.disk_full {
            Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"))
        } else {
            Ok(())
        }
    }
}

#[exitstack::scope]
fn save_io(file: &File, data: &str) -> io::Result<usize> {
    defer!(try: file.sync_all());
    if data.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "nothing to save",
        ));
    }
    Ok(data.len())
}

#[exitstack::scope]
fn save_anyhow(file: &File, data: &str) -> anyhow::Result<usize> {
    defer!(try: file.sync_all());
    anyhow::ensure!(!data.is_empty(), "nothing to save");
    Ok(data.len())
}

#[exitstack::scope]
fn save_with_block(file: &File, log: &RefCell<Vec<&'static str>>) -> io::Result<()> {
    defer!(try: {
        log.borrow_mut().push("sync");
        file.sync_all()?;
        log.borrow_mut().push("synced");
        Ok::<(), io::Error>(())
    });
    Ok(())
}

#[test]
fn defer_try_io_result() {
    assert_eq!(save_io(&File { disk_full: false }, "ab").unwrap(), 2);
    let error = save_io(&File { disk_full: true }, "ab").unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::StorageFull);
    let error = save_io(&File { disk_full: true }, "").unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    let scope = error
        .get_ref()
        .unwrap()
        .downcast_ref::<ScopeError<io::Error>>()
        .unwrap();
    assert_eq!(scope.body().unwrap().to_string(), "nothing to save");
    assert_eq!(scope.cleanup().unwrap().first().to_string(), "disk full");

    let log = RefCell::new(Vec::new());
    assert!(save_with_block(&File { disk_full: true }, &log).is_err());
    assert_eq!(*log.borrow(), ["sync"]);
}

#[test]
fn defer_try_anyhow_result() {
    assert_eq!(save_anyhow(&File { disk_full: false }, "ab").unwrap(), 2);
    let error = save_anyhow(&File { disk_full: true }, "ab").unwrap_err();
    assert_eq!(
        error.downcast_ref::<io::Error>().unwrap().kind(),
        io::ErrorKind::StorageFull
    );
    // The body failed too: its error stays primary, the cleanup's beside it.
    let error = save_anyhow(&File { disk_full: true }, "").unwrap_err();
    let scope = error.downcast_ref::<ScopeError<anyhow::Error>>().unwrap();
    assert_eq!(scope.body().unwrap().to_string(), "nothing to save");
    assert_eq!(scope.cleanup().unwrap().first().to_string(), "disk full");
}

// ---------------------------------------------------------------------------
// The `?` before `aclose()` footgun (cookbook), on tokio, and its fixes.

async fn fragile(
    log: Arc<Mutex<Vec<&'static str>>>,
    input: &str,
) -> Result<u32, std::num::ParseIntError> {
    let mut stack = AsyncExitStack::new();
    let l = log.clone();
    stack.callback(move || l.lock().unwrap().push("sync cleanup"));
    let l = log.clone();
    stack.push_async_callback(async move || {
        tokio::task::yield_now().await;
        l.lock().unwrap().push("async cleanup");
    });
    let n = input.parse()?;
    stack.aclose().await.unwrap();
    Ok(n)
}

async fn robust(
    log: Arc<Mutex<Vec<&'static str>>>,
    input: &str,
) -> Result<u32, ScopeError<std::num::ParseIntError>> {
    AsyncExitStack::scope(async |stack| {
        let l = log.clone();
        stack.callback(move || l.lock().unwrap().push("sync cleanup"));
        let l = log.clone();
        stack.push_async_callback(async move || {
            tokio::task::yield_now().await;
            l.lock().unwrap().push("async cleanup");
        });
        let n = input.parse()?;
        Ok(n)
    })
    .await
}

#[exitstack::scope]
async fn robust_too(
    log: Arc<Mutex<Vec<&'static str>>>,
    input: &str,
) -> Result<u32, std::num::ParseIntError> {
    let l = log.clone();
    defer!(l.lock().unwrap().push("sync cleanup"));
    defer!(async {
        tokio::task::yield_now().await;
        log.lock().unwrap().push("async cleanup");
    });
    let n = input.parse()?;
    Ok(n)
}

#[tokio::test]
async fn aclose_footgun_and_fixes_on_tokio() {
    let capture = Capture::start();
    let log = Arc::new(Mutex::new(Vec::new()));
    assert_eq!(fragile(log.clone(), "1").await.unwrap(), 1);
    assert_eq!(*log.lock().unwrap(), ["async cleanup", "sync cleanup"]);
    log.lock().unwrap().clear();
    assert!(fragile(log.clone(), "x").await.is_err());
    assert_eq!(*log.lock().unwrap(), ["sync cleanup"]); // the async one never ran
    let lines = capture.seen();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("did not run"), "{lines:?}");

    log.lock().unwrap().clear();
    assert!(robust(log.clone(), "x").await.is_err());
    assert_eq!(*log.lock().unwrap(), ["async cleanup", "sync cleanup"]);

    log.lock().unwrap().clear();
    assert!(robust_too(log.clone(), "x").await.is_err());
    assert_eq!(*log.lock().unwrap(), ["sync cleanup", "async cleanup"]);
    assert_eq!(capture.seen().len(), 1); // nothing more reported
}

// ---------------------------------------------------------------------------
// A spawner on tokio, the task cancelled by `tokio::time::timeout`.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_spawner_survives_timeout() {
    let (done, ran) = tokio::sync::oneshot::channel::<Outcome>();
    let done = Mutex::new(Some(done));
    let stack = SendAsyncExitStack::with_spawner(|c| {
        tokio::spawn(c);
    });
    stack.push_async_exit(async move |outcome| {
        tokio::task::yield_now().await;
        let _ = done.lock().unwrap().take().unwrap().send(outcome);
    });
    let task = async move {
        let mut stack = stack;
        tokio::time::sleep(Duration::from_secs(60)).await;
        stack.aclose().await.unwrap();
    };
    assert!(
        tokio::time::timeout(Duration::from_millis(10), task)
            .await
            .is_err()
    );
    let outcome = tokio::time::timeout(Duration::from_secs(5), ran)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome, Outcome::Error);
}

fn tokio_spawn(cleanups: exitstack::HandOff) {
    tokio::spawn(cleanups);
}

#[exitstack::scope(spawn = tokio_spawn)]
async fn handle(
    log: Arc<Mutex<Vec<String>>>,
    notify: Arc<tokio::sync::Notify>,
) -> Result<(), String> {
    let l = log.clone();
    let n = notify.clone();
    defer!(on_error: async move {
        tokio::task::yield_now().await;
        l.lock().unwrap().push("roll back".to_string());
        n.notify_one();
    });
    let l = log.clone();
    defer!(on_success: async move { l.lock().unwrap().push("commit".to_string()) });
    tokio::time::sleep(Duration::from_secs(60)).await;
    Ok(())
}

#[exitstack::scope(spawn = |cleanups| { tokio::spawn(cleanups); })]
async fn handle_closure(notify: Arc<tokio::sync::Notify>) {
    defer!(async move { notify.notify_one() });
    std::future::pending::<()>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_spawn_survives_timeout() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let notify = Arc::new(tokio::sync::Notify::new());
    let cancelled = tokio::time::timeout(
        Duration::from_millis(10),
        handle(log.clone(), notify.clone()),
    )
    .await;
    assert!(cancelled.is_err());
    tokio::time::timeout(Duration::from_secs(5), notify.notified())
        .await
        .unwrap();
    assert_eq!(*log.lock().unwrap(), ["roll back"]);

    let notify = Arc::new(tokio::sync::Notify::new());
    let cancelled =
        tokio::time::timeout(Duration::from_millis(10), handle_closure(notify.clone())).await;
    assert!(cancelled.is_err());
    tokio::time::timeout(Duration::from_secs(5), notify.notified())
        .await
        .unwrap();
}

// ---------------------------------------------------------------------------
// The report hook, as `set_report_hook`'s docs show it.

#[test]
fn report_hook_routes_reports() {
    let capture = Capture::start();
    let stack = exitstack::ExitStack::new();
    stack.try_callback(|| Err::<(), _>("disk full"));
    drop(stack);
    assert_eq!(
        capture.seen(),
        ["exitstack: cleanup error discarded (stack dropped without close()): disk full"]
    );
}

// ---------------------------------------------------------------------------
// Value guards.

fn parse_all(log: &RefCell<Vec<String>>, input: &str) -> Result<Vec<i32>, std::num::ParseIntError> {
    let watch = ErrorWatch::new();
    let mut parsed = exitstack::guard_on_error(&watch, Vec::new(), |parsed| {
        log.borrow_mut().push(format!("discard {parsed:?}"));
    });
    for word in input.split(' ') {
        parsed.push(watch.check(word.parse())?);
    }
    Ok(ScopeGuard::into_inner(parsed))
}

#[exitstack::scope]
fn collect(log: &RefCell<Vec<String>>, input: &str) -> Result<usize, std::num::ParseIntError> {
    let items = Vec::new();
    defer!(on_error: items => log.borrow_mut().push(format!("undo {items:?}")));
    for word in input.split(' ') {
        items.push(word.parse::<i32>()?);
    }
    Ok(items.len())
}

#[test]
fn value_guards() {
    let log = RefCell::new(Vec::new());
    assert_eq!(parse_all(&log, "1 2").unwrap(), [1, 2]);
    assert!(parse_all(&log, "1 two").is_err());
    assert_eq!(*log.borrow(), ["discard [1]"]);

    log.borrow_mut().clear();
    {
        let g = exitstack::guard_with_outcome(5, |v, outcome| {
            log.borrow_mut().push(format!("{v} {outcome}"));
        });
        assert_eq!(*g, 5);
    }
    assert_eq!(*log.borrow(), ["5 success"]);

    log.borrow_mut().clear();
    assert_eq!(collect(&log, "1 2").unwrap(), 2);
    assert!(collect(&log, "1 x").is_err());
    assert_eq!(*log.borrow(), ["undo [1]"]);

    log.borrow_mut().clear();
    {
        let v = Vec::new();
        defer!(v => log.borrow_mut().push(format!("{v:?}")));
        v.push(1);
        for x in &*v {
            assert_eq!(*x, 1);
        }
    }
    assert_eq!(*log.borrow(), ["[1]"]);
}

// ---------------------------------------------------------------------------
// More of the README's claims.

#[test]
fn scopeguard_style_defer_with_statements() {
    let log = RefCell::new(Vec::new());
    {
        // scopeguard's `defer!` takes statements: `defer!(a; b)`.
        defer!(log.borrow_mut().push(1); log.borrow_mut().push(2));
    }
    assert_eq!(*log.borrow(), [1, 2]);
}

#[test]
fn scope_guard_as_exit_context_is_disarmed_by_cancel_all() {
    // README: "`ScopeGuard` ... also an `ExitContext` (`cancel_all` disarms it)".
    let log = RefCell::new(Vec::new());
    {
        let stack = exitstack::ExitStack::new();
        stack.enter_exit_context(exitstack::guard("tx", |v| log.borrow_mut().push(v)));
        let mut stack = stack;
        stack.cancel_all();
    }
    assert!(log.borrow().is_empty());
    {
        let mut stack = exitstack::ExitStack::new();
        stack.enter_exit_context(exitstack::guard_on_success("commit", |v| {
            log.borrow_mut().push(v);
        }));
        stack.close_with(Outcome::Error).unwrap();
    }
    assert!(
        log.borrow().is_empty(),
        "an on-success guard on a stack closed with Error"
    );
}

#[test]
fn guards_with_a_watch() {
    fn work(log: &RefCell<Vec<String>>, input: &str) -> Result<u8, std::num::ParseIntError> {
        let watch = ErrorWatch::new();
        let _undo = exitstack::Guard::watching(&watch, exitstack::When::Failure, |o| {
            log.borrow_mut().push(format!("undo ({o})"));
        });
        let _v =
            exitstack::guard_on_failure(&watch, 1, |v| log.borrow_mut().push(format!("value {v}")));
        watch.check(input.parse())
    }
    let log = RefCell::new(Vec::new());
    assert_eq!(work(&log, "3"), Ok(3));
    assert!(log.borrow().is_empty());
    assert!(work(&log, "x").is_err());
    assert_eq!(*log.borrow(), ["value 1", "undo (error)"]);
}

#[exitstack::scope]
async fn async_cancel(log: Arc<Mutex<Vec<&'static str>>>, keep: bool) -> Result<(), String> {
    let l = log.clone();
    let handle = cleanup!(async move { l.lock().unwrap().push("async cleanup") });
    if !keep {
        handle.cancel();
    }
    Ok(())
}

#[tokio::test]
async fn async_cleanup_handle_cancel() {
    let log = Arc::new(Mutex::new(Vec::new()));
    async_cancel(log.clone(), true).await.unwrap();
    async_cancel(log.clone(), false).await.unwrap();
    assert_eq!(*log.lock().unwrap(), ["async cleanup"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handed_off_cleanup_error_goes_to_report_hook() {
    let capture = Capture::start();
    let (done, ran) = tokio::sync::oneshot::channel::<()>();
    let done = Mutex::new(Some(done));
    let stack = SendAsyncExitStack::with_spawner(|c| {
        tokio::spawn(c);
    });
    stack.push_async_callback(async move || {
        let _ = done.lock().unwrap().take().unwrap().send(());
    });
    stack.try_push_async_callback(async || Err::<(), _>(io::Error::other("rollback failed")));
    let task = async move {
        let _stack = stack;
        std::future::pending::<()>().await;
    };
    assert!(
        tokio::time::timeout(Duration::from_millis(10), task)
            .await
            .is_err()
    );
    tokio::time::timeout(Duration::from_secs(5), ran)
        .await
        .unwrap()
        .unwrap();
    // the hand-off reports after its last cleanup: give it a moment
    for _ in 0..100 {
        if !capture.seen().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let lines = capture.seen();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("rollback failed"), "{lines:?}");
}

#[tokio::test]
async fn cancelled_aclose_leaves_the_rest_registered() {
    let capture = Capture::start();
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut stack = AsyncExitStack::new();
    let l = log.clone();
    stack.push_async_callback(async move || l.lock().unwrap().push("first registered"));
    let l = log.clone();
    stack.push_async_callback(async move || {
        l.lock().unwrap().push("slow: started");
        tokio::time::sleep(Duration::from_secs(60)).await;
        l.lock().unwrap().push("slow: finished");
    });
    assert!(
        tokio::time::timeout(Duration::from_millis(10), stack.aclose())
            .await
            .is_err()
    );
    assert_eq!(stack.len(), 1);
    stack.aclose().await.unwrap();
    assert_eq!(*log.lock().unwrap(), ["slow: started", "first registered"]);
    let lines = capture.seen();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("stopped part-way"), "{lines:?}");
}
