//! A tour of `exitstack`, one short step per idea. Each step prints its code,
//! Python-doctest style (`>>>` and `...`), then runs it: what follows the
//! code is what it printed. Run it with
//!
//! ```sh
//! cargo run -p exitstack --example tour        # every step
//! cargo run -p exitstack --example tour -- 12  # step 12 only
//! ```
//!
//! The steps are the table `STEPS` below: `main` prints it as the contents
//! and runs it, so the list cannot drift from what runs.
//!
//! The printed code *is* the code that runs: `show! { .. }` prints its own
//! source text (found from the line it is on, with the comments and the
//! layout) and checks it against the tokens the compiler got (`stringify!`)
//! before running them, so an edit that makes the two differ panics.
//!
//! `exitstack` ports Python's `contextlib.ExitStack`: a stack of cleanups
//! declared up front, run in reverse order at the end of a scope, unless
//! handed on with `pop_all` (or, in Rust, cancelled):
//!
//! ```python
//! with ExitStack() as stack:
//!     stack.callback(cleanup_resources)
//!     result = perform_operation()
//!     if result:
//!         stack.pop_all()
//! ```
// Nested items (a `struct`, an `#[exitstack::scope] fn`) are declared inside
// the step that shows them, after its first statement.
#![allow(clippy::items_after_statements)]

use std::any::Any;
use std::convert::Infallible;
use std::io;
use std::num::ParseIntError;
use std::panic::{self, UnwindSafe};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::thread;

use exitstack::{
    AsyncExitStack, ErrorWatch, ExitContext, ExitStack, Guard, Outcome, ScopeError, ScopeGuard,
    SendAsyncExitStack, SendExitStack, When, cleanup, defer,
};

/// The steps, in order: `main` prints this table as the contents, then runs it.
const STEPS: &[(&str, fn())] = &[
    (
        "cleanups run in reverse order of registration (LIFO)",
        lifo_order,
    ),
    (
        "`push`: an exit callback sees the `Outcome`",
        push_sees_the_outcome,
    ),
    (
        "`try_callback`: fallible cleanups, their errors collected by `close()`",
        fallible_cleanups,
    ),
    (
        "`enter_context`: the stack owns a value and lends it back",
        enter_context,
    ),
    (
        "`ExitContext` and `ExitStack::scope`: commit on success, roll back on `Err`",
        exit_context_in_scope,
    ),
    (
        "a panicking cleanup does not stop the others",
        panicking_cleanup,
    ),
    (
        "`pop_all`: acquire N, release on failure, hand over on success",
        pop_all,
    ),
    ("`cancel` one entry, `cancel_all` every entry", cancel),
    (
        "`Guard` and `When`: one cleanup in a local, on the outcomes it names",
        guards,
    ),
    ("`SendExitStack` moves to another thread", send_exit_stack),
    (
        "`AsyncExitStack`: awaited cleanups, in one LIFO order with the others",
        async_exit_stack,
    ),
    (
        "`AsyncExitStack::scope`: async cleanups on every way out, `?` included",
        async_scope,
    ),
    (
        "a spawner: async cleanups that survive cancellation",
        spawner,
    ),
    ("`defer!`: a cleanup at the end of the block", defer_macro),
    (
        "`#[cleanup]`: the decorator form, declared up front",
        cleanup_attribute,
    ),
    (
        "`#[exitstack::scope]`: on-error cleanups (Zig's `errdefer`) and `pop_all!()`",
        scope_attribute,
    ),
    (
        "`#[exitstack::scope] async fn`: `defer!(async { .. })`",
        scope_async_fn,
    ),
    (
        "value guards: scopeguard's `guard`, and `defer!(v => ..)`",
        value_guards,
    ),
];

fn main() {
    let only = std::env::args()
        .nth(1)
        .map(|arg| match arg.parse::<usize>() {
            Ok(n) if (1..=STEPS.len()).contains(&n) => n,
            _ => {
                eprintln!(
                    "expected a step number from 1 to {}, got {arg:?}",
                    STEPS.len()
                );
                std::process::exit(2);
            }
        });
    if only.is_none() {
        println!(
            "A tour of exitstack in {} steps. Each prints its code (>>>, ...),",
            STEPS.len()
        );
        println!("then runs it: the lines after the code are what it printed.\n");
        for (number, (title, _)) in (1..).zip(STEPS) {
            println!("{number:>3}. {title}");
        }
    }
    for (number, (title, step)) in (1..).zip(STEPS) {
        if only.is_none_or(|only| only == number) {
            let heading = format!("{number}. {title}");
            println!("\n\n{heading}\n{}", "=".repeat(heading.chars().count()));
            step();
        }
    }
}

/// Prints the code it is given, then runs it, in the scope it is written in
/// (so a later `show!` sees its `let`s). Write it as `show! {` at the end of
/// a line, the code on the lines below, and `}` alone at the indentation of
/// the `show!` line.
macro_rules! show {
    ($($code:tt)*) => {
        print_code(line!(), stringify!($($code)*));
        $($code)*
    };
}

/// This file, to print the code of each `show!` as it is written.
const SOURCE: &str = include_str!("tour.rs");

/// Prints the source lines of the `show!` on line `line` (1-based, its
/// opening line), after checking they are `tokens`, the code that runs.
fn print_code(line: u32, tokens: &str) {
    let lines: Vec<&str> = SOURCE.lines().collect();
    let start = usize::try_from(line).expect("a line number");
    let opening = lines[start - 1];
    assert!(
        opening.trim_end().ends_with("show! {"),
        "line {line}: write `show! {{` at the end of the line, the code below"
    );
    let indentation = |text: &str| text.len() - text.trim_start().len();
    let body: Vec<&str> = lines[start..]
        .iter()
        .take_while(|text| !(text.trim() == "}" && indentation(text) == indentation(opening)))
        .copied()
        .collect();
    assert_eq!(
        code_only(&body.join("\n")),
        code_only(tokens),
        "the `show!` on line {line}: the text printed would not be the code that runs"
    );
    let margin = body
        .iter()
        .filter(|text| !text.trim().is_empty())
        .map(|text| indentation(text))
        .min()
        .unwrap_or(0);
    println!();
    for (i, text) in body.iter().enumerate() {
        let prompt = if i == 0 { ">>>" } else { "..." };
        match text.get(margin..) {
            Some(code) if !code.is_empty() => println!("{prompt} {code}"),
            _ => println!("{prompt}"),
        }
    }
}

/// `code` without whitespace and `//` comments (outside string literals):
/// what the source text and `stringify!` of the same tokens have in common.
fn code_only(code: &str) -> String {
    let mut kept = String::new();
    for line in code.lines() {
        let mut in_string = false;
        let mut escaped = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if in_string {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    in_string = false;
                }
            } else if c == '"' {
                in_string = true;
            } else if c == '/' && chars.peek() == Some(&'/') {
                break;
            }
            if !c.is_whitespace() {
                kept.push(c);
            }
        }
    }
    kept
}

// ---------------------------------------------------------------------------
// Helpers the steps use (not printed).

/// Runs `f`, catching its panic, with a silent panic hook so that the
/// demonstration's panics print no backtrace noise. Restores the hook.
fn quietly<R>(f: impl FnOnce() -> R + UnwindSafe) -> thread::Result<R> {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let result = panic::catch_unwind(f);
    panic::set_hook(previous);
    result
}

/// The message of a panic payload.
fn message(payload: &(dyn Any + Send)) -> &str {
    if let Some(message) = payload.downcast_ref::<&str>() {
        message
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message
    } else {
        "<not a string>"
    }
}

/// The smallest executor: polls `future` until it is ready, with a waker
/// that does nothing. Enough here, where a future that is not ready (see
/// `yield_now`) is ready when polled again; a real program uses its
/// runtime's (tokio's `block_on`, `#[tokio::main]`, ...). `AsyncExitStack`
/// works on any.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

/// A future that is pending once: where a real cleanup would wait for I/O.
async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|_| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            Poll::Pending
        }
    })
    .await;
}

/// A resource with a destructor, as a file or a connection would have.
struct Connection {
    name: &'static str,
    sent: usize,
}

impl Connection {
    fn open(name: &'static str) -> Self {
        println!("open {name}");
        Connection { name, sent: 0 }
    }

    fn send(&mut self, message: &str) {
        println!("{} <- {message}", self.name);
        self.sent += 1;
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        println!("close {} after {} message(s)", self.name, self.sent);
    }
}

// ---------------------------------------------------------------------------
// The steps.

fn lifo_order() {
    show! {
        let stack = ExitStack::new();
        for resource in ["database", "file", "lock"] {
            println!("acquire the {resource}");
            stack.callback(move || println!("release the {resource}"));
        }
        println!("end of scope:");
        drop(stack); // what the end of its scope does
    }
}

fn push_sees_the_outcome() {
    show! {
        let mut stack = ExitStack::new();
        stack.push(|outcome| println!("exit callback: the outcome is {outcome}"));
        stack.close().unwrap(); // the end of the scope, now; the stack is reusable
        stack.push(|outcome| println!("exit callback: the outcome is {outcome}"));
        stack.close_with(Outcome::Error).unwrap();
    }
    show! {
        // `quietly` is `catch_unwind` with a silent panic hook
        let caught = quietly(|| {
            let stack = ExitStack::new();
            stack.push(|outcome| println!("exit callback: the outcome is {outcome}"));
            panic!("the body failed");
        });
        println!("then the panic went on: {:?}", message(&*caught.unwrap_err()));
    }
}

fn fallible_cleanups() {
    show! {
        let mut stack = ExitStack::new();
        stack.try_callback(|| Err(io::Error::other("flush failed: disk full")));
        stack.callback(|| println!("a plain callback runs too"));
        stack.try_callback(|| Err("unlock failed: the lock was stolen"));
        let errors = stack.close().unwrap_err(); // every cleanup ran, LIFO
        println!("close() -> Err: {errors}");
        for error in &errors {
            println!("  {error}");
        }
        let io_error = errors.downcast_ref::<io::Error>().unwrap();
        println!("one is an io::Error of kind {:?}", io_error.kind());
    }
}

fn enter_context() {
    show! {
        // `Connection` prints when it is opened, used and dropped (closed)
        let stack = ExitStack::new();
        let db = stack.enter_context(Connection::open("db")); // a `&mut Connection`
        stack.callback(|| println!("callback: log out"));
        let cache = stack.enter_context(Connection::open("cache"));
        db.send("SELECT 1"); // registering takes `&self`: `db` stays usable
        cache.send("GET user:1");
        println!("end of scope: the values drop in LIFO order with the callbacks");
        drop(stack);
    }
}

fn exit_context_in_scope() {
    show! {
        // Python's context manager whose `__exit__` looks at the exception
        struct Transaction(Vec<&'static str>);

        impl ExitContext for Transaction {
            type Error = Infallible;
            fn exit(self, outcome: Outcome) -> Result<(), Infallible> {
                match outcome {
                    Outcome::Success => println!("commit {:?}", self.0),
                    _ => println!("roll back {:?} (outcome: {outcome})", self.0),
                }
                Ok(())
            }
        }

        fn transfer(amount: u32, balance: u32) -> Result<u32, ScopeError<String>> {
            ExitStack::scope(|stack| {
                let tx = stack.enter_exit_context(Transaction(Vec::new()));
                tx.0.push("debit alice");
                let Some(left) = balance.checked_sub(amount) else {
                    return Err(format!("insufficient funds: {amount} > {balance}"));
                };
                tx.0.push("credit bob");
                Ok(left)
            })
        }
        println!("{:?}", transfer(30, 100));
        println!("{}", transfer(300, 100).unwrap_err());
    }
}

fn panicking_cleanup() {
    show! {
        let caught = quietly(|| {
            let mut stack = ExitStack::new();
            stack.callback(|| println!("cleanup A runs"));
            stack.callback(|| panic!("cleanup B failed"));
            stack.callback(|| panic!("cleanup C failed"));
            stack.callback(|| println!("cleanup D runs"));
            stack.close()
        });
        // D ran, C and B panicked, A still ran; then the first panic went on
        println!("close() resumed {:?}", message(&*caught.unwrap_err()));
    }
}

fn pop_all() {
    show! {
        fn acquire(names: &[&'static str], busy: &str) -> Result<ExitStack<'static>, String> {
            let mut stack = ExitStack::new();
            for &name in names {
                if name == busy {
                    return Err(format!("{name} is busy")); // `stack` releases the others
                }
                println!("acquire {name}");
                stack.callback(move || println!("release {name}"));
            }
            Ok(stack.pop_all()) // success: the caller owns the cleanups
        }
        let mut held = acquire(&["a", "b", "c"], "").unwrap();
        println!("the caller holds {} cleanups; later, close():", held.len());
        held.close().unwrap();
        println!("-> {:?}", acquire(&["a", "b", "c"], "c").err()); // c is busy
    }
}

fn cancel() {
    show! {
        let mut stack = ExitStack::new();
        stack.callback(|| println!("disconnect"));
        let rollback = stack.callback(|| println!("roll back the migration"));
        // ... the migration succeeded: its rollback is not needed
        stack.cancel(&rollback).unwrap();
        stack.close().unwrap();

        stack.callback(|| println!("never runs"));
        stack.callback(|| println!("never runs either"));
        stack.cancel_all(); // nothing needed after all
        println!("{} pending", stack.len());
    }
}

fn guards() {
    show! {
        let caught = quietly(|| {
            let _commit = Guard::new(When::Success, |_| println!("commit"));
            let _rollback = Guard::new(When::Panic, |outcome| println!("roll back ({outcome})"));
            panic!("write failed");
        });
        assert!(caught.is_err());
        {
            let _commit = Guard::new(When::Success, |_| println!("commit"));
            let _rollback = Guard::new(When::Panic, |outcome| println!("roll back ({outcome})"));
        }
    }
    show! {
        // With an `ErrorWatch`, a guard also sees an `Err` return (Zig's errdefer);
        // `#[exitstack::scope]` (step 16) makes the watch for you.
        fn parse(input: &str) -> Result<i32, ParseIntError> {
            let watch = ErrorWatch::new();
            let _undo = Guard::watching(&watch, When::Error, |_| println!("undo"));
            watch.check(input.parse()) // marks the watch when it is an `Err`
        }
        println!("{:?}", parse("12"));
        println!("{:?}", parse("twelve"));
    }
}

fn send_exit_stack() {
    show! {
        let stack = SendExitStack::new(); // entries must be `Send`
        stack.callback(|| println!("release, on {:?}", thread::current().name()));
        let worker = thread::Builder::new().name("worker".into()).spawn(move || {
            let mut stack = stack;
            println!("the worker holds {} cleanup(s)", stack.len());
            stack.close()
        });
        worker.unwrap().join().unwrap().unwrap();
    }
}

fn async_exit_stack() {
    show! {
        // `block_on` polls a future until it is ready (a waker that does nothing):
        // enough here, where no future waits for real I/O; `yield_now` is pending once
        block_on(async {
            let mut stack = AsyncExitStack::new();
            stack.callback(|| println!("release the lock (sync, registered first)"));
            stack.push_async_callback(async || {
                println!("flush the socket (async) ...");
                yield_now().await; // where a real flush awaits the network
                println!("... flushed");
            });
            stack.push_async_exit(async |outcome| println!("log out (async, {outcome})"));
            stack.aclose().await.unwrap();
        });
    }
}

fn async_scope() {
    show! {
        // With `AsyncExitStack::new()`, a `?` before `aclose().await` would drop
        // the stack: a destructor cannot await, so its async cleanups would be
        // dropped unrun. `scope` awaits them on every way out.
        async fn fetch(input: &str) -> Result<u32, ScopeError<ParseIntError>> {
            AsyncExitStack::scope(async |stack| {
                println!("connect");
                stack.push_async_exit(async |outcome| {
                    yield_now().await;
                    println!("disconnect ({outcome})");
                });
                let n: u32 = input.parse()?;
                Ok(n)
            })
            .await
        }
        println!("{:?}", block_on(fetch("7")));
        println!("{}", block_on(fetch("seven")).unwrap_err());
    }
}

fn spawner() {
    show! {
        // A future dropped part-way (a timeout, a `select!`, an aborted task)
        // cannot await its stack's cleanups: a stack with a spawner hands them
        // to it instead. With tokio: `|cleanups| { tokio::spawn(cleanups); }`;
        // here a thread stands for the runtime.
        let stack = SendAsyncExitStack::with_spawner(|cleanups| {
            thread::spawn(move || block_on(cleanups)).join().unwrap();
        });
        stack.push_async_exit(async |outcome| {
            yield_now().await;
            println!("roll back the transfer ({outcome}: it never finished)");
        });
        let task = pin!(async move {
            let _stack = stack; // the task owns it
            std::future::pending::<()>().await; // cancelled while it waits here
        });
        let mut context = Context::from_waker(Waker::noop());
        assert!(task.poll(&mut context).is_pending());
        println!("the task is cancelled: its future is dropped");
    }
}

fn defer_macro() {
    show! {
        {
            defer!(println!("deferred 1: runs last"));
            defer! {
                println!("deferred 2: runs first (LIFO)");
            }
            defer!(on_success: println!("on_success: the block ended normally"));
            defer!(on_panic: println!("on_panic: not printed, nothing panicked"));
            println!("the body of the block");
        }
    }
}

fn cleanup_attribute() {
    show! {
        let mut released = Vec::new();
        {
            let name = "session";
            // A block-local `fn` made a guard bound to its name: a closure over
            // the locals above it, so it can read and change them.
            #[cleanup]
            fn release() {
                println!("release the {name}");
                released.push(name);
            }
            // With an `Outcome` parameter it is an exit callback.
            #[cleanup]
            fn report(outcome: Outcome) {
                println!("the block ended with: {outcome}");
            }
            #[cleanup]
            fn undo() {
                println!("not printed: cancelled");
            }
            undo.cancel(); // the work succeeded
        }
        println!("released: {released:?}");
    }
}

fn scope_attribute() {
    show! {
        // The attribute sees the `Err` of `?`, `return` and the tail.
        #[exitstack::scope]
        fn parse_and_store(input: &str) -> Result<u32, ParseIntError> {
            println!("store a draft");
            defer!(on_error: println!("on_error: delete the draft"));
            let _publish = cleanup!(on_success: println!("on_success: publish the draft"));
            let value = input.parse::<u32>()?;
            Ok(value)
        }
        println!("-> {:?}", parse_and_store("42"));
        println!("-> {:?}", parse_and_store("forty-two"));
    }
    show! {
        // Python's `if result: stack.pop_all()`, without a flag variable.
        #[exitstack::scope]
        fn provision(fail: bool) -> Result<&'static str, String> {
            println!("create the volume");
            #[cleanup(on_failure)]
            fn delete_volume() {
                println!("delete the volume (the function failed)");
            }
            println!("attach the volume");
            #[cleanup]
            fn detach() {
                println!("detach the volume");
            }
            if fail {
                return Err("attach check failed".to_string());
            }
            pop_all!(); // success: nothing above needs undoing
            Ok("volume ready")
        }
        println!("-> {:?}", provision(false));
        println!("-> {:?}", provision(true));
    }
}

fn scope_async_fn() {
    show! {
        // Async cleanups are awaited after the body, on every way out of it:
        // they may borrow the arguments, and own the rest (`async move`).
        #[exitstack::scope]
        async fn send(to: &str, amount: &str) -> Result<u32, ParseIntError> {
            println!("connect to {to}");
            defer!(async {
                yield_now().await;
                println!("disconnect from {to}");
            });
            defer!(on_error: async { println!("roll back") });
            let amount: u32 = amount.parse()?;
            defer!(on_success: async move { println!("commit {amount}") });
            Ok(amount)
        }
        println!("-> {:?}", block_on(send("bank", "10")));
        println!("-> {:?}", block_on(send("bank", "ten")));
    }
}

fn value_guards() {
    show! {
        // The guard owns the value and derefs to it; the cleanup gets it at the end.
        {
            let mut batch = exitstack::guard(Vec::new(), |batch| println!("flush {batch:?}"));
            batch.push("a"); // `DerefMut`: the guard is used as the value
            batch.push("b");
        }
        // `ScopeGuard::into_inner` defuses it and hands the value back.
        let draft = exitstack::guard(String::from("draft"), |d| println!("not printed: {d}"));
        println!("kept {:?}", ScopeGuard::into_inner(draft));
    }
    show! {
        // `defer!(v => ..)`: declared up front, the cleanup sees the final value.
        {
            let steps = Vec::new();
            defer!(steps => println!("done after {steps:?}"));
            steps.push("connect"); // with a plain `defer!`, this would not compile
            steps.push("send");
        }
    }
    show! {
        // With an `ErrorWatch`, a value guard can also undo on an `Err`.
        fn parse_all(input: &str) -> Result<Vec<i32>, ParseIntError> {
            let watch = ErrorWatch::new();
            let mut parsed = exitstack::guard_on_error(&watch, Vec::new(), |parsed| {
                println!("on_error: discard {parsed:?}");
            });
            for word in input.split(' ') {
                parsed.push(watch.check(word.parse())?);
            }
            Ok(ScopeGuard::into_inner(parsed))
        }
        println!("-> {:?}", parse_all("1 2"));
        println!("-> {:?}", parse_all("1 two"));
    }
}
