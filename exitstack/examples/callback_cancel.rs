//! Python's `Callback` helper, an `ExitStack` with one callback and a
//! `cancel()`, in Rust.
//!
//! ```python
//! class Callback(ExitStack):
//!     def __init__(self, callback, *args, **kwds):
//!         super(Callback, self).__init__()
//!         self.callback(callback, *args, **kwds)
//!
//!     def cancel(self):
//!         self.pop_all()
//!
//! with Callback(cleanup_resources) as cb:
//!     result = perform_operation()
//!     if result:
//!         cb.cancel()
//! ```
//!
//! Rust needs no helper class for it:
//!
//! 1. on an `ExitStack`, every registration returns an `EntryKey`, and
//!    `stack.cancel(&key)` cancels just that entry while the others still run;
//! 2. for a single cleanup in one block, the `exitstack::Defer` guard is the
//!    whole `Callback` class, without allocation: `.cancel()` disarms it;
//! 3. `cancel` refuses keys it cannot use with a `CancelError`.
//!
//! Run it with `cargo run -p exitstack --example callback_cancel`.

use exitstack::{Defer, ExitStack};

fn cleanup_resources() {
    println!("      cleanup_resources() runs");
}

fn perform_operation(succeeds: bool) -> bool {
    println!("      perform_operation() returns {succeeds}");
    succeeds
}

/// Part 1: a key per registration.
fn with_stack(succeeds: bool) {
    let stack = ExitStack::new();
    stack.callback(|| println!("      close the connection (always)"));
    let cb = stack.callback(cleanup_resources);
    if perform_operation(succeeds) {
        stack.cancel(&cb).expect("the entry is still pending");
        println!("      cancelled cleanup_resources");
    }
    println!(
        "      end of the block, {} cleanup(s) pending:",
        stack.len()
    );
}

/// Part 2: a guard is a one-entry stack that lives on the stack frame.
fn with_defer(succeeds: bool) {
    let cb = Defer::new(cleanup_resources);
    if perform_operation(succeeds) {
        cb.cancel();
        println!("      cancelled cleanup_resources");
    }
    println!("      end of the block:");
}

fn main() {
    println!("1. ExitStack::callback returns a key; cancel(key) drops that entry");
    for succeeds in [true, false] {
        println!("  - the operation {}:", outcome(succeeds));
        with_stack(succeeds);
    }

    println!("\n2. exitstack::Defer is the Callback class; .cancel() disarms it");
    for succeeds in [true, false] {
        println!("  - the operation {}:", outcome(succeeds));
        with_defer(succeeds);
    }

    println!("\n3. keys that cancel cannot use");
    let mut stack = ExitStack::new();
    let key = stack.callback(|| println!("      ran at close()"));
    println!("  - a key whose entry already ran:");
    stack.close().expect("plain callbacks cannot fail");
    let error = stack.cancel(&key).unwrap_err();
    println!("      cancel -> Err({error:?}): {error}");

    println!("  - a key from another stack:");
    let other = ExitStack::new();
    let foreign =
        other.callback(|| println!("      `other`'s entry runs: the failed cancel left it alone"));
    let error = stack.cancel(&foreign).unwrap_err();
    println!("      cancel -> Err({error:?}): {error}");
    drop(other);

    println!("  - keys follow their entries when pop_all moves them:");
    let first = stack.callback(|| println!("      the first entry runs: its key was spent"));
    let second = stack.callback(|| println!("      never runs: cancelled"));
    let mut popped = stack.pop_all();
    let error = stack.cancel(&first).unwrap_err();
    println!("      the emptied stack: cancel -> Err({error:?})");
    println!(
        "      the popped stack:  cancel -> {:?}",
        popped.cancel(&second)
    );
    println!("      a refused key is not handed back: the first entry can no longer be cancelled");
    println!("      closing the popped stack ({} pending):", popped.len());
    popped.close().expect("plain callbacks cannot fail");

    println!("  - a key is spent by cancel: `EntryKey` is not `Clone`, so cancelling");
    println!("    twice does not compile, and `Defer::cancel(self)` consumes the guard.");
}

fn outcome(succeeds: bool) -> &'static str {
    if succeeds { "succeeds" } else { "fails" }
}
