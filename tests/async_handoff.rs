//! Async cleanups that survive cancellation and early drop, on a real
//! multi-threaded runtime (tokio): a `SendAsyncExitStack<'static>` with a
//! spawner, dropped without `aclose().await` — a `timeout`, a `select!`, a
//! panic, a `?`, a server dropping a disconnected client's connection —
//! hands its async cleanups to the spawner, which runs each exactly once,
//! in LIFO order; the same for `#[exitstack::scope(spawn = ..)] async fn`.
//! The cleanups write to a channel the test reads.
//!
//! Every test captures the crate's reports (`capture_all`: one test at a
//! time), so that each asserts on them and none is printed.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::reports::{ASYNC_DROPPED, ASYNC_INTERRUPTED, capture_all};
use exitstack::{HandOff, Outcome, SendAsyncExitStack, defer};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

type Events = UnboundedSender<String>;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn spawn(cleanups: HandOff) {
    tokio::spawn(cleanups);
}

/// The next `n` events, waiting for each at most 5 s; then checks that no
/// other event comes within 50 ms (every cleanup runs exactly once).
async fn next(events: &mut UnboundedReceiver<String>, n: usize) -> Vec<String> {
    let mut seen = Vec::new();
    for _ in 0..n {
        let event = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out after {seen:?}"))
            .expect("the channel stays open");
        seen.push(event);
    }
    let more = tokio::time::timeout(Duration::from_millis(50), events.recv()).await;
    assert!(
        !matches!(more, Ok(Some(_))),
        "an unexpected event after {seen:?}: {more:?}"
    );
    seen
}

/// A stack with a spawner and three async cleanups that each yield to the
/// runtime before they write (so they really are awaited), and two sync
/// ones between them: the LIFO order is `c3 s2 c2 s1 c1`.
fn stack_with_cleanups(events: &Events) -> SendAsyncExitStack<'static> {
    let stack = SendAsyncExitStack::with_spawner(spawn);
    for i in 1..=3 {
        let cleanup = events.clone();
        stack.push_async_exit(async move |outcome| {
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(1)).await;
            cleanup.send(format!("c{i} {outcome:?}")).unwrap();
        });
        if i < 3 {
            let sync = events.clone();
            stack.push(move |outcome| sync.send(format!("s{i} {outcome:?}")).unwrap());
        }
    }
    stack
}

fn in_order(outcome: &str) -> Vec<String> {
    ["c3", "s2", "c2", "s1", "c1"]
        .iter()
        .map(|name| format!("{name} {outcome}"))
        .collect()
}

#[test]
fn a_task_cancelled_by_timeout_hands_its_cleanups_to_the_spawner() {
    let ((), reports) = capture_all(|| {
        runtime().block_on(async {
            let (tx, mut events) = unbounded_channel();
            let task = async move {
                let mut stack = stack_with_cleanups(&tx);
                tokio::time::sleep(Duration::from_secs(3600)).await; // cancelled here
                stack.aclose().await.unwrap();
            };
            let timed_out = tokio::time::timeout(Duration::from_millis(10), task).await;
            assert!(timed_out.is_err());
            assert_eq!(next(&mut events, 5).await, in_order("Error"));
        });
    });
    assert_eq!(reports, Vec::<String>::new());
}

#[test]
fn the_losing_branch_of_a_select_hands_its_cleanups_to_the_spawner() {
    let ((), reports) = capture_all(|| {
        runtime().block_on(async {
            let (tx, mut events) = unbounded_channel();
            let losing = async {
                let mut stack = stack_with_cleanups(&tx);
                std::future::pending::<()>().await;
                stack.aclose().await.unwrap();
            };
            tokio::select! {
                () = losing => unreachable!(),
                () = tokio::time::sleep(Duration::from_millis(10)) => {}
            }
            assert_eq!(next(&mut events, 5).await, in_order("Error"));
        });
    });
    assert_eq!(reports, Vec::<String>::new());
}

#[test]
fn a_panic_in_the_body_hands_the_cleanups_over_seeing_panic() {
    let ((), reports) = capture_all(|| {
        runtime().block_on(async {
            let (tx, mut events) = unbounded_channel();
            let task = tokio::spawn(async move {
                let stack = stack_with_cleanups(&tx);
                tokio::task::yield_now().await;
                assert!(stack.len() != 5, "the body panicked");
                drop(stack);
            });
            let panicked = task.await.unwrap_err();
            assert!(panicked.is_panic());
            assert_eq!(next(&mut events, 5).await, in_order("Panic"));
        });
    });
    assert_eq!(reports, Vec::<String>::new());
}

#[test]
fn a_question_mark_before_aclose_hands_the_cleanups_over() {
    async fn work(events: Events) -> Result<(), String> {
        let mut stack = stack_with_cleanups(&events);
        Err::<(), _>("the request was malformed".to_string())?;
        stack.aclose().await.map_err(|error| error.to_string())
    }
    let ((), reports) = capture_all(|| {
        runtime().block_on(async {
            let (tx, mut events) = unbounded_channel();
            assert!(work(tx).await.is_err());
            assert_eq!(next(&mut events, 5).await, in_order("Error"));
        });
    });
    assert_eq!(reports, Vec::<String>::new());
}

#[test]
fn the_sync_entries_newer_than_every_async_one_run_at_the_drop() {
    let ((), reports) = capture_all(|| {
        runtime().block_on(async {
            let (tx, mut events) = unbounded_channel();
            let stack = stack_with_cleanups(&tx);
            let now = tx.clone();
            stack.callback(move || now.send("newest, sync".to_string()).unwrap());
            drop(stack);
            // Before any spawned task could run: the drop ran it.
            assert_eq!(events.try_recv().unwrap(), "newest, sync");
            assert_eq!(next(&mut events, 5).await, in_order("Error"));
        });
    });
    assert_eq!(reports, Vec::<String>::new());
}

#[test]
fn an_interrupted_aclose_hands_the_rest_over_with_the_outcome_it_reached() {
    let ((), reports) = capture_all(|| {
        runtime().block_on(async {
            let (tx, mut events) = unbounded_channel();
            let mut stack = stack_with_cleanups(&tx);
            let block = tx.clone();
            stack.push_async_callback(async move || {
                block.send("blocks".to_string()).unwrap();
                std::future::pending::<()>().await;
            });
            let failing = tx.clone();
            stack.try_push_async_callback(async move || {
                failing.send("failed".to_string()).unwrap();
                Err::<(), _>("cannot flush")
            });
            let cut = tokio::time::timeout(Duration::from_millis(10), stack.aclose()).await;
            assert!(cut.is_err());
            drop(stack);
            // The entry being awaited when `aclose` was cut is dropped
            // with it; the rest see the `Error` reached.
            let mut expected = vec!["failed".to_string(), "blocks".to_string()];
            expected.extend(in_order("Error"));
            assert_eq!(next(&mut events, 7).await, expected);
        });
    });
    // The entry cut part-way, and the error, which has no caller: each
    // reported, once.
    assert_eq!(
        reports,
        [
            ASYNC_INTERRUPTED,
            "exitstack: cleanup error discarded (AsyncExitStack dropped after an interrupted \
             aclose()): cannot flush"
        ]
    );
}

#[test]
fn errors_of_handed_off_cleanups_are_reported() {
    let ((), reports) = capture_all(|| {
        runtime().block_on(async {
            let (tx, mut events) = unbounded_channel();
            let stack = SendAsyncExitStack::with_spawner(spawn);
            let done = tx.clone();
            stack.push_async_callback(async move || done.send("last".to_string()).unwrap());
            stack.try_push_async_callback(async || {
                tokio::task::yield_now().await;
                Err::<(), _>("cannot close the connection")
            });
            let first = tx.clone();
            stack.push_async_exit(async move |outcome| {
                first.send(format!("first {outcome:?}")).unwrap();
            });
            drop(stack);
            // After the failure, the entry below sees `Error` (policy 8)
            // — the `last` callback ignores it.
            assert_eq!(next(&mut events, 2).await, ["first Error", "last"]);
        });
    });
    assert_eq!(
        reports,
        [
            "exitstack: cleanup error discarded (async cleanups handed to a spawner): cannot close \
          the connection"
        ]
    );
}

#[test]
fn without_a_spawner_the_async_cleanups_are_dropped_and_reported() {
    let ((), reports) = capture_all(|| {
        runtime().block_on(async {
            let (tx, mut events) = unbounded_channel();
            let task = async move {
                let stack = SendAsyncExitStack::new();
                let sync = tx.clone();
                stack.callback(move || sync.send("sync".to_string()).unwrap());
                stack.push_async_callback(async move || tx.send("async".to_string()).unwrap());
                std::future::pending::<()>().await;
                drop(stack);
            };
            assert!(
                tokio::time::timeout(Duration::from_millis(10), task)
                    .await
                    .is_err()
            );
            assert_eq!(next(&mut events, 1).await, ["sync"]);
        });
    });
    assert_eq!(reports, [ASYNC_DROPPED]);
}

#[test]
fn a_stack_without_async_entries_spawns_nothing() {
    let spawned = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = spawned.clone();
    let stack = SendAsyncExitStack::with_spawner(move |cleanups| {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        drop(cleanups);
    });
    let (tx, rx) = std::sync::mpsc::channel();
    stack.callback(move || tx.send("ran at the drop").unwrap());
    drop(stack);
    assert_eq!(rx.try_recv().unwrap(), "ran at the drop");
    assert_eq!(spawned.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[test]
fn pop_all_shares_the_spawner_and_conversion_to_a_local_stack_drops_it() {
    let mut stack = SendAsyncExitStack::with_spawner(drop);
    assert!(stack.has_spawner());
    let popped = stack.pop_all();
    assert!(popped.has_spawner() && stack.has_spawner());
    let local: exitstack::AsyncExitStack<'static> = popped.into();
    assert!(!local.has_spawner());
    assert_eq!(
        format!("{stack:?}"),
        "SendAsyncExitStack { pending: 0, spawner: true }"
    );
    stack.clear_spawner();
    assert!(!stack.has_spawner());
    assert_eq!(format!("{stack:?}"), "SendAsyncExitStack { pending: 0 }");
}

#[test]
fn a_panicking_spawner_drops_the_cleanups_it_was_given_reported_and_resumes() {
    let (events, reports) = capture_all(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        let stack = SendAsyncExitStack::with_spawner(|_| panic!("no runtime"));
        let sync = tx.clone();
        stack.callback(move || sync.send("sync below").unwrap());
        stack.push_async_callback(async move || tx.send("async").unwrap());
        let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(stack)));
        assert!(
            dropped.is_err(),
            "the spawner's panic resumes after the drop"
        );
        rx.try_iter().collect::<Vec<_>>()
    });
    // The future the spawner dropped ran as a dropped stack does.
    assert_eq!(events, ["sync below"]);
    assert_eq!(reports, [ASYNC_DROPPED]);
}

#[test]
fn shutting_the_runtime_down_drops_pending_handed_off_cleanups_reported() {
    let (events, reports) = capture_all(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        let runtime = runtime();
        runtime.block_on(async {
            let stack = SendAsyncExitStack::with_spawner(spawn);
            let below = tx.clone();
            stack.push_async_callback(async move || below.send("async below").unwrap());
            let sync = tx.clone();
            stack.callback(move || sync.send("sync below").unwrap());
            let waits = tx.clone();
            stack.push_async_callback(async move || {
                waits.send("started").unwrap();
                std::future::pending::<()>().await;
            });
            drop(stack);
            // The handed-off task started its first cleanup.
            while rx.try_recv().ok() != Some("started") {
                tokio::task::yield_now().await;
            }
        });
        // Pending: the runtime drops the task, and the entries it had not
        // reached run as on a drop without a spawner.
        runtime.shutdown_timeout(Duration::from_secs(5));
        rx.try_iter().collect::<Vec<_>>()
    });
    // The one it had started, and the one below.
    assert_eq!(events, ["sync below"]);
    let mut reports = reports;
    reports.sort();
    assert_eq!(reports, [ASYNC_DROPPED, ASYNC_INTERRUPTED]);
}

#[test]
fn a_runtime_given_time_to_shut_down_runs_the_handed_off_cleanups() {
    let (events, reports) = capture_all(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        let runtime = runtime();
        let handle = runtime.handle().clone();
        runtime.block_on(async {
            let stack = SendAsyncExitStack::with_spawner(move |cleanups| {
                handle.spawn(cleanups);
            });
            stack.push_async_callback(async move || {
                tokio::time::sleep(Duration::from_millis(20)).await;
                tx.send("closed").unwrap();
            });
        });
        // The program's own wait for its tasks (tokio drops pending tasks
        // at shutdown; a `JoinSet`, `TaskTracker` or a channel waits).
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok("closed"));
        drop(runtime);
        rx.try_iter().collect::<Vec<_>>()
    });
    assert_eq!(events, Vec::<&str>::new());
    assert_eq!(reports, Vec::<String>::new());
}

#[test]
fn a_cancelled_async_scope_with_a_spawner_hands_its_cleanups_over_seeing_error() {
    let ((), reports) = capture_all(|| {
        runtime().block_on(async {
            let (tx, mut events) = unbounded_channel();
            let body = async move |stack: &mut SendAsyncExitStack<'static>| {
                stack.set_spawner(spawn);
                stack.push_async_exit(async move |outcome: Outcome| {
                    tokio::task::yield_now().await;
                    tx.send(format!("rolled back {outcome:?}")).unwrap();
                });
                std::future::pending::<()>().await;
                Ok::<(), String>(())
            };
            let scope = SendAsyncExitStack::scope(body);
            assert!(
                tokio::time::timeout(Duration::from_millis(10), scope)
                    .await
                    .is_err()
            );
            assert_eq!(next(&mut events, 1).await, ["rolled back Error"]);
        });
    });
    assert_eq!(reports, Vec::<String>::new());
}

// --- `#[exitstack::scope(spawn = ..)] async fn` ---

#[exitstack::scope(spawn = spawn)]
async fn transaction(events: Events, fail: bool, work: Duration) -> Result<u8, String> {
    let rollback = events.clone();
    defer!(on_error: async move {
        tokio::task::yield_now().await;
        rollback.send("rollback".to_string()).unwrap();
    });
    let commit = events.clone();
    defer!(on_success: async move { commit.send("commit".to_string()).unwrap() });
    let close = events.clone();
    defer!(async move {
        tokio::task::yield_now().await;
        close.send("close".to_string()).unwrap();
    });
    let sync = events.clone();
    defer!(sync.send("sync guard".to_string()).unwrap());
    tokio::time::sleep(work).await;
    if fail {
        return Err("failed".to_string());
    }
    Ok(7)
}

#[test]
fn a_scope_fn_with_a_spawner_that_finishes_awaits_its_cleanups_itself() {
    let ((), reports) = capture_all(|| {
        runtime().block_on(async {
            let (tx, mut events) = unbounded_channel();
            assert_eq!(
                transaction(tx.clone(), false, Duration::from_millis(1)).await,
                Ok(7)
            );
            assert_eq!(
                next(&mut events, 3).await,
                ["sync guard", "close", "commit"]
            );
            assert_eq!(
                transaction(tx, true, Duration::from_millis(1)).await,
                Err("failed".to_string())
            );
            assert_eq!(
                next(&mut events, 3).await,
                ["sync guard", "close", "rollback"]
            );
        });
    });
    assert_eq!(reports, Vec::<String>::new());
}

#[test]
fn a_cancelled_scope_fn_with_a_spawner_hands_its_cleanups_over_seeing_error() {
    let ((), reports) = capture_all(|| {
        runtime().block_on(async {
            let (tx, mut events) = unbounded_channel();
            let cancelled = tokio::time::timeout(
                Duration::from_millis(5),
                transaction(tx, false, Duration::from_secs(3600)),
            );
            assert!(cancelled.await.is_err());
            // Cancelled is a failure: the rollback runs, the commit does not.
            assert_eq!(
                next(&mut events, 3).await,
                ["sync guard", "close", "rollback"]
            );
        });
    });
    assert_eq!(reports, Vec::<String>::new());
}

#[exitstack::scope(spawn = |cleanups| { tokio::spawn(cleanups); })]
async fn with_a_closure_and_a_handle(events: Events) {
    let close = events.clone();
    let handle =
        exitstack::cleanup!(
            async move { close.send("cancelled, never runs".to_string()).unwrap() }
        );
    handle.cancel();
    defer!(async move { events.send("closed".to_string()).unwrap() });
    std::future::pending::<()>().await;
}

#[test]
fn a_spawner_written_as_a_closure_and_a_cancelled_handle() {
    let ((), reports) = capture_all(|| {
        runtime().block_on(async {
            let (tx, mut events) = unbounded_channel();
            let cancelled =
                tokio::time::timeout(Duration::from_millis(5), with_a_closure_and_a_handle(tx));
            assert!(cancelled.await.is_err());
            assert_eq!(next(&mut events, 1).await, ["closed"]);
        });
    });
    assert_eq!(reports, Vec::<String>::new());
}

// --- the loopback server: a client that disconnects mid-request ---

/// A connection handler: it registers the connection's async cleanup
/// (flush the session, tell the registry), then reads a request of
/// exactly 8 bytes; a client that disconnects first makes `read_exact`
/// fail, and the `?` drops the stack without `aclose`.
async fn handle(mut socket: tokio::net::TcpStream, events: Events) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stack = SendAsyncExitStack::with_spawner(spawn);
    let registry = events.clone();
    stack.push_async_exit(async move |outcome| {
        tokio::task::yield_now().await;
        registry
            .send(format!("session closed {outcome:?}"))
            .unwrap();
    });
    let mut request = [0; 8];
    socket.read_exact(&mut request).await?;
    socket.write_all(b"ok").await?;
    stack.aclose().await.map_err(std::io::Error::other)
}

async fn serve(events: Events) -> std::net::SocketAddr {
    {
        let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (socket, _) = listener.accept().await.unwrap();
                let events = events.clone();
                tokio::spawn(async move {
                    let result = handle(socket, events.clone()).await;
                    events
                        .send(format!("handler returned ok: {}", result.is_ok()))
                        .unwrap();
                });
            }
        });
        address
    }
}

#[test]
fn the_loopback_server_closes_the_session_of_a_client_that_disconnects_mid_request() {
    let ((), reports) = capture_all(|| {
        runtime().block_on(async {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (tx, mut events) = unbounded_channel();
            let address = serve(tx).await;

            // A client that sends half a request and goes away.
            let mut client = tokio::net::TcpStream::connect(address).await.unwrap();
            client.write_all(b"GET ").await.unwrap();
            drop(client);
            let mut seen = next(&mut events, 2).await;
            seen.sort();
            assert_eq!(seen, ["handler returned ok: false", "session closed Error"]);

            // A client that finishes: the handler closes the session itself.
            let mut client = tokio::net::TcpStream::connect(address).await.unwrap();
            client.write_all(b"GET /a\r\n").await.unwrap();
            let mut reply = [0; 2];
            client.read_exact(&mut reply).await.unwrap();
            assert_eq!(&reply, b"ok");
            assert_eq!(
                next(&mut events, 2).await,
                ["session closed Success", "handler returned ok: true"]
            );
        });
    });
    assert_eq!(reports, Vec::<String>::new());
}

/// Zero cost when unused: the spawner lives in the box a stack allocates
/// only when it needs one (a spawner, or an interrupted `aclose`), so an
/// async stack is one word larger than a synchronous one, as before
/// spawners existed — and a dropped stack without a spawner allocates
/// nothing for it.
#[test]
fn a_spawner_makes_no_stack_larger() {
    use std::mem::size_of;
    assert_eq!(
        size_of::<exitstack::AsyncExitStack<'_>>(),
        size_of::<exitstack::ExitStack<'_>>() + size_of::<usize>()
    );
    assert_eq!(
        size_of::<SendAsyncExitStack<'_>>(),
        size_of::<exitstack::AsyncExitStack<'_>>()
    );
}
