//! A tour of the `exitstack` runtime, one short section per idea, each
//! printing what happens. Run it with `cargo run -p exitstack --example tour`.
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
//!
//! The sections: 1 LIFO order, 2 `push` and the `Outcome`, 3 fallible
//! cleanups and `CleanupError`, 4 `enter_context`, 5 `ExitContext` and
//! `ExitStack::scope`, 6 a panicking cleanup, 7 `pop_all`, 8 `cancel` and
//! `cancel_all`, 9 `Guard` and `When`, 10 `SendExitStack` on another thread,
//! 11 `defer!`, 12 `#[cleanup]`, 13 `#[exitstack::scope]`, 14 value guards
//! (scopeguard's `guard`) and `defer!(v => ..)`.

use std::any::Any;
use std::cell::RefCell;
use std::convert::Infallible;
use std::io;
use std::num::ParseIntError;
use std::panic::{self, UnwindSafe};
use std::thread;

use exitstack::{
    ErrorWatch, ExitContext, ExitStack, Guard, Outcome, ScopeError, SendExitStack, When, cleanup,
};

fn main() {
    section(1, "cleanups run in reverse order of registration (LIFO)");
    lifo_order();
    section(2, "`push` registers an exit callback that sees the Outcome");
    push_sees_the_outcome();
    section(3, "`try_callback` errors are collected by `close()`");
    fallible_cleanups();
    section(4, "`enter_context` holds a value and hands back `&mut T`");
    enter_context();
    section(
        5,
        "an `ExitContext` commits or rolls back: `ExitStack::scope`",
    );
    exit_context_in_scope();
    section(6, "a panicking cleanup does not stop the others");
    panicking_cleanup();
    section(7, "`pop_all` hands the cleanups to the caller");
    pop_all();
    section(8, "`cancel` drops one entry, `cancel_all` every entry");
    cancel();
    section(
        9,
        "`Guard`: one cleanup on the stack frame, run on some outcomes",
    );
    guards();
    section(10, "`SendExitStack` can be sent to another thread");
    send_exit_stack();
    section(
        11,
        "`defer!`: a cleanup at the end of the block, no allocation",
    );
    defer_macro();
    section(12, "`#[cleanup]`: the decorator form, declared up front");
    cleanup_attribute();
    section(
        13,
        "`#[exitstack::scope]`: on-error cleanups (Zig's `errdefer`) and `pop_all!()`",
    );
    for input in ["42", "forty-two"] {
        println!("   parse_and_store({input:?}):");
        let result = parse_and_store(input);
        println!("   -> {result:?}");
    }
    for fail in [false, true] {
        println!("   provision(fail: {fail}):");
        let result = provision(fail);
        println!("   -> {result:?}");
    }
    section(
        14,
        "value guards: `guard(value, ..)` owns a value, the cleanup sees its final state",
    );
    value_guards();
    println!("\n(see examples/decorator.rs for the decorator form of Python's docs)");
}

fn section(number: u32, title: &str) {
    println!("\n{number}. {title}");
}

fn lifo_order() {
    let log = RefCell::new(Vec::new());
    let stack = ExitStack::new();
    for resource in ["database", "file", "lock"] {
        println!("   acquire the {resource}, register its release");
        let log = &log;
        stack.callback(move || {
            println!("   release the {resource}");
            log.borrow_mut().push(resource);
        });
    }
    println!("   end of scope:");
    drop(stack);
    assert_eq!(*log.borrow(), ["lock", "file", "database"]);
}

fn push_sees_the_outcome() {
    let mut stack = ExitStack::new();
    stack.push(|outcome| println!("   exit callback: outcome is {outcome}"));
    println!("   close():");
    stack.close().expect("infallible");

    println!("   the stack is empty and reusable; close_with(Outcome::Error):");
    stack.push(|outcome| println!("   exit callback: outcome is {outcome}"));
    stack.close_with(Outcome::Error).expect("infallible");

    println!("   a panic while the stack is alive:");
    let caught = quietly(|| {
        let stack = ExitStack::new();
        stack.push(|outcome| println!("   exit callback: outcome is {outcome}"));
        panic!("the body failed");
    });
    println!(
        "   the panic went on after the cleanup: {:?}",
        message(&*caught.unwrap_err())
    );
}

fn fallible_cleanups() {
    let mut stack = ExitStack::new();
    stack.try_callback(|| {
        println!("   flush: fails");
        Err(io::Error::other("flush failed: disk full"))
    });
    stack.try_callback(|| -> Result<(), io::Error> {
        println!("   sync: succeeds");
        Ok(())
    });
    stack.try_callback(|| {
        println!("   unlock: fails");
        Err("unlock failed: the lock was stolen")
    });
    stack.callback(|| println!("   a plain callback runs as well"));
    println!("   registered flush, sync, unlock and a plain callback; close():");

    let errors = stack.close().expect_err("two cleanups fail");
    println!("   close() -> Err: {errors}");
    for (i, error) in errors.iter().enumerate() {
        println!("     error {}: {error}", i + 1);
    }
    let io_error = errors
        .downcast_ref::<io::Error>()
        .expect("one is an io::Error");
    println!(
        "   downcast_ref::<io::Error>() -> kind {:?}",
        io_error.kind()
    );
}

/// A resource with a destructor, as a file or a connection would have.
struct Connection {
    name: &'static str,
    sent: usize,
}

impl Connection {
    fn open(name: &'static str) -> Self {
        println!("   open {name}");
        Connection { name, sent: 0 }
    }

    fn send(&mut self, message: &str) {
        println!("   {} <- {message}", self.name);
        self.sent += 1;
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        println!("   close {} after {} message(s)", self.name, self.sent);
    }
}

fn enter_context() {
    let stack = ExitStack::new();
    let db = stack.enter_context(Connection::open("db"));
    stack.callback(|| println!("   callback: log out"));
    let cache = stack.enter_context(Connection::open("cache"));
    // Registration takes `&self`: `db` stays usable while more is registered.
    db.send("SELECT 1");
    cache.send("GET user:1");
    db.send("UPDATE users");
    println!("   end of scope: values drop in LIFO order with the callbacks");
}

/// The analog of a Python context manager whose `__exit__` looks at the
/// exception: commit on success, roll back otherwise.
struct Transaction {
    writes: Vec<&'static str>,
}

impl Transaction {
    fn write(&mut self, what: &'static str) {
        println!("   write: {what}");
        self.writes.push(what);
    }
}

impl ExitContext for Transaction {
    type Error = Infallible;

    fn exit(self, outcome: Outcome) -> Result<(), Infallible> {
        if outcome == Outcome::Success {
            println!("   commit {:?}", self.writes);
        } else {
            println!("   roll back {:?} (outcome: {outcome})", self.writes);
        }
        Ok(())
    }
}

fn transfer(amount: u32, balance: u32) -> Result<u32, ScopeError<String>> {
    ExitStack::scope(|stack| {
        let tx = stack.enter_exit_context(Transaction { writes: Vec::new() });
        tx.write("debit alice");
        let Some(left) = balance.checked_sub(amount) else {
            return Err(format!("insufficient funds: {amount} > {balance}"));
        };
        tx.write("credit bob");
        Ok(left)
    })
}

fn exit_context_in_scope() {
    println!("   transfer 30 of 100:");
    println!("   -> {:?}", transfer(30, 100));
    println!("   transfer 300 of 100:");
    println!("   -> {:?}", transfer(300, 100).map_err(|e| e.to_string()));
}

fn panicking_cleanup() {
    let caught = quietly(|| {
        let mut stack = ExitStack::new();
        stack.callback(|| println!("   cleanup A runs"));
        stack.callback(|| {
            println!("   cleanup B panics");
            panic!("cleanup B failed");
        });
        stack.callback(|| {
            println!("   cleanup C panics");
            panic!("cleanup C failed");
        });
        stack.callback(|| println!("   cleanup D runs"));
        println!("   registered A, B (panics), C (panics), D; close():");
        stack.close()
    });
    let payload = caught.expect_err("close() resumes the first panic");
    println!(
        "   all ran; close() resumed the first panic: {:?}",
        message(&*payload)
    );
}

/// Acquires `names` in order; fails on `fail_on`, releasing what it acquired.
fn acquire(names: &[&'static str], fail_on: &str) -> Result<ExitStack<'static>, String> {
    let mut stack = ExitStack::new();
    for &name in names {
        if name == fail_on {
            println!("   cannot acquire {name}");
            return Err(format!("{name} is busy"));
        }
        println!("   acquire {name}");
        stack.callback(move || println!("   release {name}"));
    }
    Ok(stack.pop_all())
}

fn pop_all() {
    println!("   all goes well:");
    let mut held = acquire(&["a", "b", "c"], "").expect("nothing fails");
    println!(
        "   the caller holds {} cleanups; later, close():",
        held.len()
    );
    held.close().expect("infallible");

    println!("   acquiring c fails:");
    let error = acquire(&["a", "b", "c"], "c").expect_err("c fails");
    println!("   -> Err({error:?}), released what was acquired before returning");
}

fn cancel() {
    let mut stack = ExitStack::new();
    stack.callback(|| println!("   disconnect"));
    let rollback = stack.callback(|| println!("   roll back the migration"));
    println!("   the migration succeeded: cancel its rollback");
    stack.cancel(&rollback).expect("still pending");
    println!("   close() with {} pending:", stack.len());
    stack.close().expect("infallible");

    stack.callback(|| println!("   never runs"));
    stack.callback(|| println!("   never runs either"));
    println!("   two more registered; nothing needed after all: cancel_all()");
    stack.cancel_all();
    println!("   {} pending, nothing ran", stack.len());
}

fn guards() {
    println!("   a block that panics:");
    let caught = quietly(|| {
        let _commit = Guard::new(When::Success, |_| println!("   commit"));
        let _rollback = Guard::new(When::Panic, |outcome| {
            println!("   roll back (outcome: {outcome})");
        });
        panic!("write failed");
    });
    assert!(caught.is_err());

    println!("   a block that ends normally:");
    {
        let _commit = Guard::new(When::Success, |_| println!("   commit"));
        let _rollback = Guard::new(When::Panic, |_| println!("   roll back"));
    }

    println!("   with an ErrorWatch, a guard also sees an Err (When::Error, Zig's errdefer):");
    for input in ["12", "twelve"] {
        println!("   parse({input:?}):");
        let result = parse(input);
        println!("   -> {result:?}");
    }
}

/// Undoes its work if it returns an `Err`: `ErrorWatch::check` marks the scope.
fn parse(input: &str) -> Result<i32, ParseIntError> {
    let watch = ErrorWatch::new();
    let _undo = Guard::watching(&watch, When::Error, |outcome| {
        println!("   undo (outcome: {outcome})");
    });
    watch.check(input.parse())
}

fn send_exit_stack() {
    let stack = SendExitStack::new();
    stack.callback(|| {
        let thread = thread::current();
        println!("   release, on thread {:?}", thread.name().unwrap_or("?"));
    });
    println!("   registered a release on thread \"main\", sending the stack");
    let worker = thread::Builder::new()
        .name("worker".into())
        .spawn(move || {
            let mut stack = stack;
            println!(
                "   the worker holds {} cleanup(s), closes them",
                stack.len()
            );
            stack.close()
        })
        .expect("spawn the worker");
    worker
        .join()
        .expect("the worker did not panic")
        .expect("infallible");
}

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

fn defer_macro() {
    {
        exitstack::defer!(println!("   deferred 1: runs last"));
        exitstack::defer! {
            println!("   deferred 2: runs first (LIFO)");
        }
        exitstack::defer!(on_success: println!("   on_success: the block ended normally"));
        exitstack::defer!(on_panic: println!("   on_panic: not printed, nothing panicked"));
        println!("   body of the block");
    }
}

fn cleanup_attribute() {
    let mut released = Vec::new();
    {
        let name = "session";
        // A block-local `fn`, made a guard bound to its name: a closure over
        // the locals above it, so it can read and change them.
        #[cleanup]
        fn release() {
            println!("   release the {name}");
            released.push(name);
        }
        // With an `Outcome` parameter it is an exit callback.
        #[cleanup]
        fn report(outcome: Outcome) {
            println!("   the block ended with: {outcome}");
        }
        #[cleanup]
        fn undo() {
            println!("   not printed: cancelled");
        }
        println!("   work, then decide the undo is not needed: undo.cancel()");
        undo.cancel();
    }
    println!("   released: {released:?}");
}

/// On-error cleanups see the function's `Err`, whether it leaves through
/// `?`, `return` or the tail expression.
#[exitstack::scope]
fn parse_and_store(input: &str) -> Result<u32, ParseIntError> {
    println!("     store a draft");
    exitstack::defer!(on_error: println!("     on_error: delete the draft"));
    let _publish = cleanup!(on_success: println!("     on_success: publish the draft"));
    let value = input.parse::<u32>()?;
    Ok(value)
}

/// Python's `if result: stack.pop_all()`, without a flag variable.
#[exitstack::scope]
fn provision(fail: bool) -> Result<&'static str, String> {
    println!("     create the volume");
    #[cleanup(on_failure)]
    fn delete_volume() {
        println!("     delete the volume (the function failed)");
    }
    println!("     attach the volume");
    #[cleanup]
    fn detach() {
        println!("     detach the volume");
    }
    if fail {
        return Err("attach check failed".to_string());
    }
    pop_all!(); // success: nothing above needs undoing
    Ok("volume ready")
}

/// scopeguard's `guard`, under its name: the guard owns the value and derefs
/// to it, so the body keeps changing it; the cleanup gets it at the end.
fn value_guards() {
    {
        let mut batch = exitstack::guard(Vec::new(), |batch| {
            println!("   flush {batch:?}");
        });
        batch.push("a"); // `DerefMut`: the guard is used as the value
        batch.push("b");
        println!("   the body queued {} writes", batch.len());
    }

    println!("   `ScopeGuard::into_inner` defuses it and hands the value back:");
    let draft = exitstack::guard(String::from("draft"), |d| println!("   not printed: {d}"));
    let kept = exitstack::ScopeGuard::into_inner(draft);
    println!("   kept {kept:?}, nothing ran");

    println!("   `defer!(v => ..)`: declared up front, sees the final value:");
    {
        let steps = Vec::new();
        exitstack::defer!(steps => println!("   done after {steps:?}"));
        steps.push("connect"); // a plain `defer!` would make this E0502
        steps.push("send");
    }

    println!("   with an ErrorWatch, a value guard can also undo on an Err:");
    for input in ["1 2", "1 two"] {
        println!("   parse_all({input:?}):");
        let result = parse_all(input);
        println!("   -> {result:?}");
    }
}

/// Parses numbers; on an error, reports what it had parsed before it.
fn parse_all(input: &str) -> Result<Vec<i32>, ParseIntError> {
    let watch = ErrorWatch::new();
    let mut parsed = exitstack::guard_on_error(&watch, Vec::new(), |parsed| {
        println!("   on_error: discard {parsed:?}");
    });
    for word in input.split(' ') {
        parsed.push(watch.check(word.parse())?);
    }
    Ok(exitstack::ScopeGuard::into_inner(parsed))
}
