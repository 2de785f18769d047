//! Async cleanups on a real runtime: a small key-value server on loopback
//! TCP whose every connection, and the server itself, clean up through a
//! `SendAsyncExitStack` inside `tokio::spawn`.
//!
//! Run it with `cargo run --example async_cleanup`. (It is the one example
//! in the root package, which has tokio; the others are in
//! `exitstack/examples/`, which has no dev-dependencies.) It listens on
//! `127.0.0.1`, on a port the OS picks, serves three scripted clients one
//! after another and a fourth that goes silent, shuts down by itself, and
//! checks the end state with `assert!`s (it fails loudly if a cleanup did
//! not run). It takes well under a second and gives up after ten.
//!
//! The protocol is one command per line: `SET key value` (staged in the
//! connection's session, answered `OK`), `GET key` (the committed value, or
//! `NIL`), `END` (commit and leave). Anything else is an error: the
//! connection answers `ERR ...`, rolls back and ends. The server's last line
//! on a connection is `BYE` or `ABORTED`.
//!
//! What it shows:
//!
//! * **Per connection** (`handle_connection`), a `SendAsyncExitStack`
//!   gets three cleanups next to the setup they undo, and awaits them in
//!   reverse order however the body ends — `END`, an unknown command, a
//!   client that hangs up, an I/O error through `?`:
//!   1. the socket, an `AsyncExitContext` whose async `exit` writes `BYE`
//!      or `ABORTED` depending on the `Outcome`, flushes what is buffered
//!      (the `ERR` line too) and shuts the socket down. It runs last, so a
//!      client sees the end of the stream only once everything else is done;
//!   2. deregistration from the shared connection registry: a synchronous
//!      exit callback, in the same LIFO order as the async entries;
//!   3. the session, an `AsyncExitContext` with an async `enter` (`BEGIN`)
//!      and an async `exit` that commits the staged writes on
//!      `Outcome::Success` and rolls them back otherwise.
//! * **Cleanups that survive cancellation**: a connection's stack is a
//!   `SendAsyncExitStack<'static>` with a spawner (`with_spawner(|cleanups|
//!   { tokio::spawn(cleanups); })`), so when the server aborts the task of
//!   a client that went silent (its future is dropped: no `aclose` will
//!   come), the stack hands its cleanups to a new task instead of dropping
//!   them, seeing `Error`: the session still rolls back, the socket still
//!   says `ABORTED` and is shut down, the connection still deregisters.
//!   Without a spawner they would be dropped unrun (and reported).
//! * **`Send` matters**: the connection and server futures hold their
//!   stacks across `.await`s on a multi-threaded runtime, and
//!   `tokio::spawn` requires them to be `Send`: `SendAsyncExitStack` is.
//! * **Server shutdown** (`serve`): a server-level stack holds the listener
//!   (`enter_context`: dropping it stops accepting), a fallible async
//!   cleanup that awaits every connection task (aborting, after a grace
//!   period, those still waiting on a client), and an async exit callback
//!   that logs how the server ended. A `tokio::sync::oneshot` signal ends
//!   the accept loop; `aclose_with(outcome).await` then runs the cleanups.
//! * **A stack that need not be `Send`** (`run`): the client side is never
//!   spawned, so a plain `AsyncExitStack` does, and its cleanup may borrow a
//!   local `Cell`. Through `AsyncExitStack::scope` it stops and awaits the
//!   server however the clients end — also when an assertion panics.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use exitstack::{AsyncExitContext, AsyncExitStack, BoxError, Outcome, SendAsyncExitStack};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::{JoinError, JoinSet};

/// The server stops accepting after this many connections, shutdown or not.
const MAX_CONNECTIONS: u32 = 8;
/// The whole example must finish within this time.
const DEADLINE: Duration = Duration::from_secs(10);
/// How long a shutting-down server waits for its connections to finish
/// before it aborts them.
const GRACE: Duration = Duration::from_millis(100);

/// What the server tasks share.
#[derive(Default)]
struct State {
    /// Live connections: id → peer address.
    registry: Mutex<BTreeMap<u32, SocketAddr>>,
    /// Committed key-value pairs.
    store: Mutex<BTreeMap<String, String>>,
    commits: AtomicUsize,
    rollbacks: AtomicUsize,
    sockets_shut_down: AtomicUsize,
    /// Connection tasks aborted at shutdown (their cleanups handed off).
    aborted: AtomicUsize,
    /// How each connection task ended, filled in at server shutdown.
    finished: Mutex<BTreeMap<u32, Result<(), String>>>,
}

/// The write half of a connection, as an async context: on exit it says
/// goodbye according to the outcome, flushes what is still buffered, and
/// shuts the socket down.
struct Connection {
    id: u32,
    writer: BufWriter<OwnedWriteHalf>,
    state: Arc<State>,
}

impl Connection {
    /// Buffers a line; it reaches the client at the next flush.
    async fn queue(&mut self, line: &str) -> io::Result<()> {
        self.writer.write_all(line.as_bytes()).await?;
        self.writer.write_all(b"\n").await
    }

    async fn send(&mut self, line: &str) -> io::Result<()> {
        self.queue(line).await?;
        self.writer.flush().await
    }
}

impl AsyncExitContext for Connection {
    type Error = io::Error;

    // `enter` keeps its default, which does nothing: the socket is open.

    async fn exit(mut self, outcome: Outcome) -> io::Result<()> {
        let farewell = if outcome == Outcome::Success {
            "BYE"
        } else {
            "ABORTED"
        };
        println!(
            "[conn {}] cleanup: {farewell}, flush, shut the socket down",
            self.id
        );
        self.state.sockets_shut_down.fetch_add(1, Ordering::SeqCst);
        self.send(farewell).await?;
        self.writer.shutdown().await
    }
}

/// The writes of one connection, committed only if it ends well.
struct Session {
    id: u32,
    staged: Vec<(String, String)>,
    state: Arc<State>,
}

impl AsyncExitContext for Session {
    type Error = Infallible;

    async fn enter(&mut self) -> Result<(), Infallible> {
        tokio::time::sleep(Duration::from_millis(1)).await; // a real BEGIN takes a round trip
        println!("[conn {}] session: BEGIN", self.id);
        Ok(())
    }

    async fn exit(self, outcome: Outcome) -> Result<(), Infallible> {
        tokio::time::sleep(Duration::from_millis(1)).await; // and so does COMMIT
        let count = self.staged.len();
        if outcome == Outcome::Success {
            self.state.store.lock().unwrap().extend(self.staged);
            self.state.commits.fetch_add(1, Ordering::SeqCst);
            println!(
                "[conn {}] cleanup: session COMMIT, {count} write(s)",
                self.id
            );
        } else {
            self.state.rollbacks.fetch_add(1, Ordering::SeqCst);
            println!(
                "[conn {}] cleanup: session ROLLBACK, {count} write(s) discarded (outcome: {outcome})",
                self.id
            );
        }
        Ok(())
    }
}

/// Serves one connection. Every way out — `END`, an unknown command, the
/// client hanging up, an I/O error through `?` — awaits the three cleanups,
/// last registered first; and if the task is aborted (its future dropped
/// part-way, where no `aclose` will come), the spawner runs them in a task
/// of their own, seeing `Error`.
async fn handle_connection(
    id: u32,
    socket: TcpStream,
    peer: SocketAddr,
    state: Arc<State>,
) -> Result<(), BoxError> {
    // `'static`: every cleanup owns what it uses, so it can outlive this
    // task.
    let mut stack = SendAsyncExitStack::with_spawner(|cleanups| {
        tokio::spawn(cleanups);
    });
    let result = serve_connection(&mut stack, id, socket, peer, &state).await;
    let outcome = if result.is_ok() {
        Outcome::Success
    } else {
        Outcome::Error
    };
    stack.aclose_with(outcome).await?;
    result
}

/// The body of a connection: registers its cleanups on `stack` next to
/// the setup they undo, then serves commands until the session ends.
async fn serve_connection(
    stack: &mut SendAsyncExitStack<'static>,
    id: u32,
    socket: TcpStream,
    peer: SocketAddr,
    state: &Arc<State>,
) -> Result<(), BoxError> {
    let (reader, writer) = socket.into_split();
    // 1. The socket: farewell, flush and shutdown at exit (runs last).
    let connection = Connection {
        id,
        writer: BufWriter::new(writer),
        state: Arc::clone(state),
    };
    let connection = stack.enter_async_context(connection).await?;

    // 2. The registry: a synchronous exit callback, in the same order.
    state.registry.lock().unwrap().insert(id, peer);
    println!("[conn {id}] registered");
    let registry = Arc::clone(state);
    stack.push(move |outcome| {
        registry.registry.lock().unwrap().remove(&id);
        println!("[conn {id}] cleanup: deregistered (outcome: {outcome})");
    });

    // 3. The session: committed or rolled back at exit (runs first).
    let session = Session {
        id,
        staged: Vec::new(),
        state: Arc::clone(state),
    };
    let session = stack.enter_async_context(session).await?;
    connection.send(&format!("HELLO {id}")).await?;

    let mut lines = BufReader::new(reader).lines();
    while let Some(line) = lines.next_line().await? {
        println!("[conn {id}] received {line:?}");
        let words: Vec<&str> = line.splitn(3, ' ').collect();
        match words[..] {
            ["SET", key, value] => {
                session.staged.push((key.to_owned(), value.to_owned()));
                connection.send("OK").await?;
            }
            ["GET", key] => {
                let value = state.store.lock().unwrap().get(key).cloned();
                connection.send(value.as_deref().unwrap_or("NIL")).await?;
            }
            ["END"] => return Ok(()),
            _ => {
                // Only buffered: the socket's cleanup flushes it, after
                // the session rolled back.
                connection
                    .queue(&format!("ERR unknown command: {line}"))
                    .await?;
                return Err(format!("unknown command {line:?}").into());
            }
        }
    }
    Err("the client hung up mid-session".into())
}

/// Stops accepting when the listener is dropped: an RAII value held by the
/// server's stack.
struct Listening(TcpListener);

impl Drop for Listening {
    fn drop(&mut self) {
        println!("[server] cleanup: listener closed, no more connections");
    }
}

type Tasks = Mutex<JoinSet<(u32, Result<(), String>)>>;

/// Accepts connections until `shutdown` fires (or `MAX_CONNECTIONS`), each
/// served by its own task; returns how many it accepted.
async fn serve(
    listener: TcpListener,
    state: Arc<State>,
    mut shutdown: oneshot::Receiver<()>,
) -> Result<u32, BoxError> {
    let mut stack = SendAsyncExitStack::new();
    stack.push_async_exit(async |outcome| {
        println!("[server] cleanup: stopped (outcome: {outcome})");
    });

    // The connection tasks are awaited at exit; a panicked one (a
    // `JoinError`) becomes an error of `aclose`.
    let tasks = Arc::new(Tasks::default());
    let (joined, finished) = (Arc::clone(&tasks), Arc::clone(&state));
    stack.try_push_async_callback(async move || {
        let mut tasks = std::mem::take(&mut *joined.lock().unwrap());
        println!(
            "[server] cleanup: awaiting {} connection task(s)",
            tasks.len()
        );
        let mut grace = std::pin::pin!(tokio::time::sleep(GRACE));
        let mut aborted = false;
        loop {
            tokio::select! {
                task = tasks.join_next() => match task {
                    None => break,
                    Some(Err(error)) if error.is_cancelled() => {
                        finished.aborted.fetch_add(1, Ordering::SeqCst);
                    }
                    Some(task) => {
                        let (id, result) = task?;
                        finished.finished.lock().unwrap().insert(id, result);
                    }
                },
                () = &mut grace, if !aborted => {
                    println!(
                        "[server] cleanup: grace period over, aborting {} connection(s)",
                        tasks.len()
                    );
                    tasks.abort_all();
                    aborted = true;
                }
            }
        }
        for (id, result) in finished.finished.lock().unwrap().iter() {
            match result {
                Ok(()) => println!("[server]   connection {id}: ok"),
                Err(error) => println!("[server]   connection {id}: failed: {error}"),
            }
        }
        Ok::<(), JoinError>(())
    });

    let listening = stack.enter_context(Listening(listener));
    let accepted = accept(listening, &tasks, &state, &mut shutdown).await;
    let outcome = if accepted.is_ok() {
        Outcome::Success
    } else {
        Outcome::Error
    };
    stack.aclose_with(outcome).await?;
    Ok(accepted?)
}

async fn accept(
    listening: &mut Listening,
    tasks: &Tasks,
    state: &Arc<State>,
    shutdown: &mut oneshot::Receiver<()>,
) -> io::Result<u32> {
    let mut count = 0;
    while count < MAX_CONNECTIONS {
        let (socket, peer) = tokio::select! {
            _ = &mut *shutdown => {
                println!("[server] shutdown requested");
                break;
            }
            accepted = listening.0.accept() => accepted?,
        };
        count += 1;
        let id = count;
        println!("[server] accepted connection {id} from {peer}");
        let state = Arc::clone(state);
        tasks.lock().unwrap().spawn(async move {
            let result = handle_connection(id, socket, peer, state).await;
            (id, result.map_err(|error| error.to_string()))
        });
    }
    Ok(count)
}

/// One client session: sends `commands`, one line each, reading the reply
/// to each but `END`, then reads until the server closes the stream.
/// Returns every line received.
async fn client(addr: SocketAddr, name: &str, commands: &[&str]) -> io::Result<Vec<String>> {
    let (reader, mut writer) = TcpStream::connect(addr).await?.into_split();
    let mut lines = BufReader::new(reader).lines();
    let mut received = Vec::new();
    let mut receive = async |received: &mut Vec<String>| -> io::Result<bool> {
        let Some(line) = lines.next_line().await? else {
            println!("[{name}] <- (end of stream)");
            return Ok(false);
        };
        println!("[{name}] <- {line}");
        received.push(line);
        Ok(true)
    };
    receive(&mut received).await?; // the greeting
    for command in commands {
        println!("[{name}] -> {command}");
        writer.write_all(format!("{command}\n").as_bytes()).await?;
        if *command != "END" {
            receive(&mut received).await?;
        }
    }
    while receive(&mut received).await? {}
    Ok(received)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    tokio::time::timeout(DEADLINE, run())
        .await
        .expect("the example must finish within its deadline");
    println!("all checks passed");
}

async fn run() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    println!("[server] listening on {addr}");
    let state = Arc::new(State::default());
    let (stop, shutdown) = oneshot::channel();
    let server = tokio::spawn(serve(listener, Arc::clone(&state), shutdown));

    // The client side is never spawned: a plain `AsyncExitStack` will do,
    // and its cleanup may borrow a local `Cell`. `scope` awaits it however
    // the body ends — even if an assertion below panics, the server is
    // stopped and awaited before the panic goes on.
    let accepted = Cell::new(None);
    let dave_rest = Mutex::new(None);
    let result = AsyncExitStack::scope(async |stack| -> Result<(), BoxError> {
        let accepted = &accepted;
        stack.push_async_callback(async move || {
            println!("[main] cleanup: stopping the server");
            let _ = stop.send(());
            let count = server.await.expect("the server task panicked");
            accepted.set(Some(count.expect("the server failed")));
        });

        println!("\n== alice stages two writes and ends the session ==");
        let alice = client(addr, "alice", &["SET color red", "SET size 42", "END"]).await?;
        assert_eq!(alice, ["HELLO 1", "OK", "OK", "BYE"]);
        assert!(state.registry.lock().unwrap().is_empty());

        println!("\n== bob stages a write, then sends a command the server does not know ==");
        let bob = client(addr, "bob", &["SET color blue", "FROB"]).await?;
        assert_eq!(
            bob,
            ["HELLO 2", "OK", "ERR unknown command: FROB", "ABORTED"]
        );
        assert!(state.registry.lock().unwrap().is_empty());

        println!("\n== carol reads what was committed, and writes ==");
        let carol = client(
            addr,
            "carol",
            &["GET color", "GET size", "SET note hi", "END"],
        )
        .await?;
        assert_eq!(
            carol,
            ["HELLO 3", "red", "42", "OK", "BYE"],
            "bob's write was rolled back"
        );

        println!("\n== dave stages a write and goes silent: the server will not wait ==");
        let (reader, mut writer) = TcpStream::connect(addr).await?.into_split();
        let mut lines = BufReader::new(reader).lines();
        let mut dave = Vec::new();
        dave.extend(lines.next_line().await?); // the greeting
        writer.write_all(b"SET color green\n").await?;
        dave.extend(lines.next_line().await?); // OK
        println!("[dave] <- {dave:?}, then silence");
        // Dave keeps the connection open, and reads what comes until the
        // server closes it.
        *dave_rest.lock().unwrap() = Some(tokio::spawn(async move {
            let _open = writer;
            while let Some(line) = lines.next_line().await? {
                println!("[dave] <- {line}");
                dave.push(line);
            }
            println!("[dave] <- (end of stream)");
            io::Result::Ok(dave)
        }));

        println!("\n== shutdown ==");
        Ok(())
    })
    .await;
    result.unwrap();

    // Dave's connection task was aborted at shutdown: its cleanups ran in
    // the task the spawner made — rolled back, said ABORTED, shut down.
    let dave = dave_rest.lock().unwrap().take().expect("dave connected");
    let dave = dave.await.expect("dave's client").expect("dave's reads");
    assert_eq!(dave, ["HELLO 4", "OK", "ABORTED"]);
    assert_eq!(state.aborted.load(Ordering::SeqCst), 1);

    // The end state: every cleanup ran, exactly once.
    assert_eq!(accepted.get(), Some(4));
    assert!(
        state.registry.lock().unwrap().is_empty(),
        "every connection deregistered"
    );
    assert_eq!(state.commits.load(Ordering::SeqCst), 2);
    assert_eq!(state.rollbacks.load(Ordering::SeqCst), 2);
    assert_eq!(state.sockets_shut_down.load(Ordering::SeqCst), 4);
    let store = state.store.lock().unwrap().clone();
    let want = [("color", "red"), ("note", "hi"), ("size", "42")];
    assert_eq!(
        store,
        want.map(|(k, v)| (k.to_owned(), v.to_owned())).into(),
        "only committed sessions wrote"
    );
    let finished = state.finished.lock().unwrap();
    assert_eq!(
        finished.len(),
        3,
        "every connection task but dave's was awaited"
    );
    assert!(finished[&1].is_ok() && finished[&3].is_ok());
    assert_eq!(finished[&2], Err("unknown command \"FROB\"".to_owned()));
    println!("\nend state: {store:?}");
}
