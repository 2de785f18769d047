//! `#[exitstack::scope]` on `async fn`s, on a real runtime: cleanups held
//! across `.await` keep the future `Send`, and on-error cleanups run when
//! the future completes with an `Err`.

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
    // borrow the function's `Scope`, which is `Sync`.
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
