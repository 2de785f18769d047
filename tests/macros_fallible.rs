//! Fallible cleanups in `#[exitstack::scope]` fns: `defer!(try: ..)`,
//! `cleanup!(try: ..)`, `#[cleanup] fn name() -> Result<(), C>` and
//! `#[cleanup] let name = || -> Result<(), C> { .. }`. When the body
//! succeeded, the first cleanup to fail makes the function's `Err` (the
//! others kept beside it); when the body failed, its error stays primary and
//! every cleanup error is kept beside it. In LIFO order with the other
//! cleanups, which see `Error` after a failure (policy 8); panics, `pop_all!`,
//! methods, `async fn`s, generic fns and the error types users return.

mod common;

use std::cell::RefCell;
use std::error::Error;
use std::io;
use std::sync::{Arc, Mutex};

use exitstack::{ExitStack, Outcome, ScopeError, cleanup, defer};

type Log = RefCell<Vec<String>>;

fn push(log: &Log, entry: impl Into<String>) {
    log.borrow_mut().push(entry.into());
}

fn taken(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.borrow_mut())
}

/// `File::sync_all`, as a cleanup sees it: logs, and fails if told to.
fn sync_all(log: &Log, name: &str, fail: bool) -> io::Result<()> {
    push(log, format!("sync {name}"));
    if fail {
        Err(io::Error::new(
            io::ErrorKind::StorageFull,
            format!("{name}: no space"),
        ))
    } else {
        Ok(())
    }
}

/// The `ScopeError` an `io::Error` holds when errors were kept side by side.
fn scope_error(error: &io::Error) -> &ScopeError<io::Error> {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ScopeError<io::Error>>())
        .expect("a ScopeError inside")
}

fn messages(scope: &ScopeError<io::Error>) -> Vec<String> {
    scope
        .cleanup()
        .expect("cleanup errors")
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[exitstack::scope]
fn save(log: &Log, fail_a: bool, fail_b: bool, body_fails: bool) -> io::Result<u32> {
    defer!(try: sync_all(log, "a", fail_a));
    defer!(try: sync_all(log, "b", fail_b));
    push(log, "body");
    if body_fails {
        return Err(io::Error::new(io::ErrorKind::NotFound, "no input"));
    }
    Ok(7)
}

#[test]
fn body_ok_and_no_cleanup_failed_is_ok() {
    let log = Log::default();
    assert_eq!(save(&log, false, false, false).unwrap(), 7);
    assert_eq!(taken(&log), ["body", "sync b", "sync a"]);
}

#[test]
fn body_ok_and_one_cleanup_failed_returns_that_error_itself() {
    let log = Log::default();
    let error = save(&log, true, false, false).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::StorageFull);
    assert_eq!(error.to_string(), "a: no space");
    assert!(
        error
            .get_ref()
            .unwrap()
            .downcast_ref::<ScopeError<io::Error>>()
            .is_none()
    );
    // Every cleanup still ran.
    assert_eq!(taken(&log), ["body", "sync b", "sync a"]);
}

#[test]
fn body_ok_and_several_failed_returns_the_first_with_the_rest_beside_it() {
    let log = Log::default();
    let error = save(&log, true, true, false).unwrap_err();
    // `b` was registered last, so it ran (and failed) first.
    assert_eq!(error.kind(), io::ErrorKind::StorageFull);
    let scope = scope_error(&error);
    assert_eq!(scope.body().unwrap().to_string(), "b: no space");
    assert_eq!(messages(scope), ["a: no space"]);
    assert_eq!(taken(&log), ["body", "sync b", "sync a"]);
}

#[test]
fn body_error_is_returned_unchanged_when_no_cleanup_failed() {
    let log = Log::default();
    let error = save(&log, false, false, true).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::NotFound);
    assert_eq!(error.to_string(), "no input");
    assert!(
        error
            .get_ref()
            .unwrap()
            .downcast_ref::<ScopeError<io::Error>>()
            .is_none()
    );
}

#[test]
fn body_error_keeps_every_cleanup_error_beside_it() {
    let log = Log::default();
    let error = save(&log, true, true, true).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::NotFound);
    let scope = scope_error(&error);
    assert_eq!(scope.body().unwrap().to_string(), "no input");
    assert_eq!(messages(scope), ["b: no space", "a: no space"]);

    let error = save(&log, true, false, true).unwrap_err();
    assert_eq!(messages(scope_error(&error)), ["a: no space"]);
}

/// Policy 8: the cleanups that run after a failed one see `Error`, also
/// when the body succeeded, and in order with the infallible ones.
#[exitstack::scope]
fn commit(log: &Log, fail: bool) -> io::Result<()> {
    defer!(on_error: push(log, "rolled back"));
    defer!(on_success: push(log, "committed"));
    #[cleanup]
    fn report(outcome: Outcome) {
        push(log, format!("report ({outcome})"));
    }
    defer!(push(log, "unlocked"));
    defer!(try: sync_all(log, "journal", fail));
    defer!(on_error: push(log, "not reached: registered after the failure"));
    push(log, "body");
    Ok(())
}

#[test]
fn cleanups_after_a_failed_one_see_error() {
    let log = Log::default();
    commit(&log, false).unwrap();
    assert_eq!(
        taken(&log),
        [
            "body",
            "sync journal",
            "unlocked",
            "report (success)",
            "committed"
        ]
    );
    assert_eq!(
        commit(&log, true).unwrap_err().to_string(),
        "journal: no space"
    );
    assert_eq!(
        taken(&log),
        [
            "body",
            "sync journal",
            "unlocked",
            "report (error)",
            "rolled back"
        ]
    );
}

/// The conditions: `try on_success:` commits only on success, `try
/// on_error:` (and `on_failure`) only after an error.
#[exitstack::scope]
fn conditional(log: &Log, body_fails: bool, fail: bool) -> Result<(), io::Error> {
    defer!(try on_error: sync_all(log, "undo", fail));
    defer!(try on_success: sync_all(log, "commit", fail));
    defer!(try on_failure: sync_all(log, "report", false));
    if body_fails {
        Err(io::Error::other("body"))
    } else {
        Ok(())
    }
}

#[test]
fn conditions_of_fallible_cleanups() {
    let log = Log::default();
    conditional(&log, false, false).unwrap();
    assert_eq!(taken(&log), ["sync commit"]);

    // The commit fails: the cleanups after it see `Error`.
    let error = conditional(&log, false, true).unwrap_err();
    assert_eq!(taken(&log), ["sync commit", "sync undo"]);
    // ... and their errors are kept beside the first.
    let scope = scope_error(&error);
    assert_eq!(scope.body().unwrap().to_string(), "commit: no space");
    assert_eq!(messages(scope), ["undo: no space"]);

    let error = conditional(&log, true, false).unwrap_err();
    assert_eq!(error.to_string(), "body");
    assert_eq!(taken(&log), ["sync report", "sync undo"]);
}

#[test]
fn a_panic_still_runs_the_fallible_cleanups_and_drops_their_errors() {
    #[exitstack::scope]
    fn crash(log: &Log) -> io::Result<()> {
        defer!(try: sync_all(log, "always", true));
        defer!(try on_success: sync_all(log, "on success", true));
        defer!(on_failure: push(log, "on failure"));
        panic!("disk on fire");
    }

    common::quiet_panics();
    let log = Log::default();
    let (message, reports) =
        common::reports::capture(|| common::panic_message(|| drop(crash(&log))));
    assert_eq!(message, "disk on fire");
    assert_eq!(taken(&log), ["on failure", "sync always"]);
    // The failed cleanup's error has no caller: reported, not returned.
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(
        reports[0].starts_with("exitstack: cleanup error discarded (a panic is unwinding): "),
        "{reports:?}"
    );
}

#[test]
fn pop_all_cancels_fallible_cleanups() {
    #[exitstack::scope]
    fn open(log: &Log, keep: bool) -> io::Result<()> {
        defer!(try: sync_all(log, "removed", true));
        if keep {
            pop_all!();
        }
        defer!(try: sync_all(log, "after pop_all", false));
        Ok(())
    }

    let log = Log::default();
    open(&log, true).unwrap();
    assert_eq!(taken(&log), ["sync after pop_all"]);
    assert!(open(&log, false).is_err());
    assert_eq!(taken(&log), ["sync after pop_all", "sync removed"]);
}

/// A cleanup in an inner block runs when that block ends: its error is
/// kept until the function returns, beside the body's error if that fails
/// too, and the function returns `Err` even if the body then succeeds.
#[exitstack::scope]
fn each(log: &Log, names: &[&str], body_fails: bool) -> io::Result<usize> {
    for name in names {
        defer!(try: sync_all(log, name, name.starts_with('!')));
        push(log, format!("write {name}"));
    }
    if body_fails {
        return Err(io::Error::other("body"));
    }
    Ok(names.len())
}

#[test]
fn a_cleanup_that_fails_before_the_body_ends() {
    let log = Log::default();
    assert_eq!(each(&log, &["a", "b"], false).unwrap(), 2);
    let error = each(&log, &["a", "!b", "c"], false).unwrap_err();
    assert_eq!(error.to_string(), "!b: no space");
    let error = each(&log, &["!a", "!b"], true).unwrap_err();
    let scope = scope_error(&error);
    assert_eq!(scope.body().unwrap().to_string(), "body");
    assert_eq!(messages(scope), ["!a: no space", "!b: no space"]);
}

/// The expression form (the guard) and the decorator forms.
#[exitstack::scope]
fn forms(log: &Log, fail: bool, run_early: bool) -> io::Result<()> {
    #[cleanup]
    fn flush() -> io::Result<()> {
        sync_all(log, "fn", fail)
    }
    #[cleanup(on_success)]
    fn commit(outcome: Outcome) -> Result<(), io::Error> {
        push(log, format!("commit sees {outcome}"));
        Ok(())
    }
    #[cleanup]
    let closure = || -> io::Result<()> { sync_all(log, "let", fail) };
    let cancelled = cleanup!(try: sync_all(log, "cancelled", true));
    let early = cleanup!(try: sync_all(log, "early", fail));
    cancelled.cancel();
    if run_early {
        early.run();
        push(log, "after the early run");
    }
    Ok(())
}

#[test]
fn every_form_of_fallible_cleanup() {
    let log = Log::default();
    forms(&log, false, false).unwrap();
    assert_eq!(
        taken(&log),
        ["sync early", "sync let", "commit sees success", "sync fn"]
    );
    let error = forms(&log, true, true).unwrap_err();
    let scope = scope_error(&error);
    assert_eq!(scope.body().unwrap().to_string(), "early: no space");
    assert_eq!(messages(scope), ["let: no space", "fn: no space"]);
    // The early run failed: `on_success` does not commit.
    assert_eq!(
        taken(&log),
        ["sync early", "after the early run", "sync let", "sync fn"]
    );
}

#[test]
fn question_marks_inside_a_fallible_cleanup_return_from_it() {
    #[exitstack::scope]
    fn close(log: &Log, fail_first: bool) -> io::Result<()> {
        defer!(try: {
            sync_all(log, "first", fail_first)?;
            sync_all(log, "second", false)
        });
        Ok(())
    }

    let log = Log::default();
    close(&log, false).unwrap();
    assert_eq!(taken(&log), ["sync first", "sync second"]);
    assert!(close(&log, true).is_err());
    assert_eq!(taken(&log), ["sync first"]);
}

struct Journal {
    entries: Vec<&'static str>,
    synced: usize,
    fail: bool,
}

impl Journal {
    fn sync(&mut self) -> io::Result<()> {
        if self.fail {
            return Err(io::Error::other("journal full"));
        }
        self.synced = self.entries.len();
        Ok(())
    }

    #[exitstack::scope]
    fn append_then_sync(&mut self, entry: &'static str) -> io::Result<()> {
        self.entries.push(entry);
        defer!(try: self.sync());
        Ok(())
    }
}

#[test]
fn in_a_method_with_mut_self() {
    let mut journal = Journal {
        entries: Vec::new(),
        synced: 0,
        fail: false,
    };
    journal.append_then_sync("a").unwrap();
    assert_eq!(journal.synced, 1);
    journal.fail = true;
    assert_eq!(
        journal.append_then_sync("b").unwrap_err().to_string(),
        "journal full"
    );
    assert_eq!(journal.synced, 1);
}

/// Generic over the error type: the bounds `HoldsCleanupError` needs.
#[exitstack::scope]
fn generic<E>(log: &Log, fail: bool) -> Result<u8, E>
where
    E: From<io::Error> + From<ScopeError<E>>,
{
    defer!(try: sync_all(log, "generic", fail));
    Ok(1)
}

#[test]
fn in_a_generic_fn() {
    let log = Log::default();
    assert_eq!(generic::<io::Error>(&log, false).unwrap(), 1);
    let error = generic::<Box<dyn Error + Send + Sync>>(&log, true).unwrap_err();
    assert_eq!(
        error.downcast_ref::<io::Error>().unwrap().to_string(),
        "generic: no space"
    );
}

/// `Box<dyn Error>`, `Box<dyn Error + Send + Sync>`, `anyhow::Error`: every
/// cleanup error converts, and so do side-by-side errors.
#[exitstack::scope]
fn boxed(log: &Log, fail: bool, body_fails: bool) -> Result<(), Box<dyn Error>> {
    defer!(try: sync_all(log, "boxed", fail));
    defer!(try: if fail { Err(std::fmt::Error) } else { Ok(()) });
    if body_fails {
        Err("body".into())
    } else {
        Ok(())
    }
}

#[test]
fn into_box_dyn_error() {
    let log = Log::default();
    boxed(&log, false, true).unwrap_err();
    let error = boxed(&log, true, false).unwrap_err();
    // `fmt::Error` ran first: it is the function's error, `io::Error` beside it.
    let scope = error.downcast_ref::<ScopeError<Box<dyn Error>>>().unwrap();
    assert!(scope.body().unwrap().is::<std::fmt::Error>());
    assert_eq!(
        scope.cleanup().unwrap().first().to_string(),
        "boxed: no space"
    );
    let error = boxed(&log, true, true).unwrap_err();
    let scope = error.downcast_ref::<ScopeError<Box<dyn Error>>>().unwrap();
    assert_eq!(scope.body().unwrap().to_string(), "body");
    assert_eq!(scope.cleanup().unwrap().len(), 2);
}

#[exitstack::scope]
fn with_anyhow(log: &Log, fail: bool, body_fails: bool) -> anyhow::Result<u8> {
    defer!(try: sync_all(log, "anyhow", fail));
    anyhow::ensure!(!body_fails, "body failed");
    Ok(3)
}

#[test]
fn into_anyhow() {
    let log = Log::default();
    assert_eq!(with_anyhow(&log, false, false).unwrap(), 3);
    let error = with_anyhow(&log, true, false).unwrap_err();
    assert_eq!(
        error.downcast_ref::<io::Error>().unwrap().to_string(),
        "anyhow: no space"
    );
    let error = with_anyhow(&log, true, true).unwrap_err();
    let scope = error.downcast_ref::<ScopeError<anyhow::Error>>().unwrap();
    assert_eq!(scope.body().unwrap().to_string(), "body failed");
    assert_eq!(
        scope.cleanup().unwrap().first().to_string(),
        "anyhow: no space"
    );
}

/// An error enum of the user's, with a variant that holds the errors side
/// by side.
#[derive(Debug)]
enum AppError {
    Io(io::Error),
    Parse(std::num::ParseIntError),
    Scope(Box<ScopeError<AppError>>),
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::Io(error) => write!(f, "io: {error}"),
            AppError::Parse(error) => write!(f, "parse: {error}"),
            AppError::Scope(error) => write!(f, "{error}"),
        }
    }
}

impl From<io::Error> for AppError {
    fn from(error: io::Error) -> Self {
        AppError::Io(error)
    }
}

impl From<std::num::ParseIntError> for AppError {
    fn from(error: std::num::ParseIntError) -> Self {
        AppError::Parse(error)
    }
}

impl From<ScopeError<AppError>> for AppError {
    fn from(error: ScopeError<AppError>) -> Self {
        AppError::Scope(Box::new(error))
    }
}

#[exitstack::scope]
fn parse_and_save(log: &Log, input: &str, fail: bool) -> Result<u32, AppError> {
    defer!(try: sync_all(log, "config", fail));
    Ok(input.parse::<u32>()?)
}

#[test]
fn into_an_error_enum_of_the_users() {
    let log = Log::default();
    assert_eq!(parse_and_save(&log, "12", false).unwrap(), 12);
    assert!(matches!(
        parse_and_save(&log, "12", true),
        Err(AppError::Io(error)) if error.to_string() == "config: no space"
    ));
    assert!(matches!(
        parse_and_save(&log, "x", false),
        Err(AppError::Parse(_))
    ));
    let Err(AppError::Scope(scope)) = parse_and_save(&log, "x", true) else {
        panic!("expected the errors side by side");
    };
    assert!(matches!(scope.body(), Some(AppError::Parse(_))));
    assert_eq!(
        scope.cleanup().unwrap().first().to_string(),
        "config: no space"
    );
}

#[test]
fn a_fallible_cleanup_fn_on_an_explicit_stack_is_a_try_callback() {
    let log = Log::default();
    let mut stack = ExitStack::new();
    #[cleanup(stack = stack)]
    fn flush() -> io::Result<()> {
        sync_all(&log, "stacked", true)
    }
    let error = stack.close().unwrap_err();
    assert_eq!(error.first().to_string(), "stacked: no space");
}

// Async fns: sync fallible cleanups are guards as anywhere; async ones
// (`defer!(try: async { .. })`) are awaited after the body, after the sync
// ones, last registered first.

type Shared = Arc<Mutex<Vec<String>>>;

fn record(log: &Shared, entry: impl Into<String>) {
    log.lock().unwrap().push(entry.into());
}

async fn remote_sync(log: &Shared, name: &str, fail: bool) -> io::Result<()> {
    std::future::ready(()).await; // a network round trip
    record(log, format!("remote {name}"));
    if fail {
        Err(io::Error::other(format!("{name} unreachable")))
    } else {
        Ok(())
    }
}

#[exitstack::scope]
async fn upload(log: Shared, fail_local: bool, fail_remote: bool) -> io::Result<u8> {
    defer!(on_error: async { record(&log, "async rolled back") });
    defer!(try: async { remote_sync(&log, "replica", fail_remote).await });
    defer!(on_error: record(&log, "rolled back"));
    defer!(try: {
        record(&log, "local sync");
        if fail_local { Err(io::Error::other("local failed")) } else { Ok(()) }
    });
    record(&log, "body");
    Ok(5)
}

fn entries(log: &Shared) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

#[test]
fn async_fn_with_sync_and_async_fallible_cleanups() {
    let log = Shared::default();
    assert_eq!(
        common::harness::block_on(upload(log.clone(), false, false)).unwrap(),
        5
    );
    assert_eq!(entries(&log), ["body", "local sync", "remote replica"]);

    let error = common::harness::block_on(upload(log.clone(), false, true)).unwrap_err();
    assert_eq!(error.to_string(), "replica unreachable");
    assert_eq!(
        entries(&log),
        ["body", "local sync", "remote replica", "async rolled back"]
    );

    // The sync one failed first: everything after it sees `Error`.
    let error = common::harness::block_on(upload(log.clone(), true, true)).unwrap_err();
    let scope = scope_error(&error);
    assert_eq!(scope.body().unwrap().to_string(), "local failed");
    assert_eq!(messages(scope), ["replica unreachable"]);
    assert_eq!(
        entries(&log),
        [
            "body",
            "local sync",
            "rolled back",
            "remote replica",
            "async rolled back"
        ]
    );
}

#[test]
fn an_async_fn_with_fallible_cleanups_stays_send() {
    let log = Shared::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let task = upload(log.clone(), false, true);
    let result = runtime.block_on(async move { tokio::spawn(task).await.unwrap() });
    assert_eq!(result.unwrap_err().to_string(), "replica unreachable");
}

#[exitstack::scope]
async fn cancelled(log: Shared, cancel: bool) -> io::Result<()> {
    let handle = cleanup!(try: async { remote_sync(&log, "cancellable", true).await });
    if cancel {
        handle.cancel();
    }
    Ok(())
}

#[test]
fn an_async_fallible_cleanup_can_be_cancelled() {
    let log = Shared::default();
    common::harness::block_on(cancelled(log.clone(), true)).unwrap();
    assert!(entries(&log).is_empty());
    assert!(common::harness::block_on(cancelled(log.clone(), false)).is_err());
    assert_eq!(entries(&log), ["remote cancellable"]);
}

#[async_trait::async_trait]
trait Store {
    async fn put(&self, fail: bool) -> io::Result<()>;
}

struct Disk(Shared);

#[async_trait::async_trait]
impl Store for Disk {
    #[exitstack::scope]
    async fn put(&self, fail: bool) -> io::Result<()> {
        defer!(try: {
            record(&self.0, "synced");
            if fail { Err(io::Error::other("sync failed")) } else { Ok(()) }
        });
        tokio::task::yield_now().await;
        Ok(())
    }
}

#[test]
fn in_an_async_trait_method() {
    let disk = Disk(Shared::default());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(disk.put(false)).unwrap();
    let error = runtime.block_on(disk.put(true)).unwrap_err();
    assert_eq!(error.to_string(), "sync failed");
    assert_eq!(entries(&disk.0), ["synced", "synced"]);
}
