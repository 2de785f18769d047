//! The first `ExitStack` pattern of Python's "Replacing any use of
//! try-finally and flag variables": declare the cleanup up front, then skip
//! it on success with `pop_all`.
//!
//! ```python
//! with ExitStack() as stack:
//!     stack.callback(cleanup_resources)
//!     result = perform_operation()
//!     if result:
//!         stack.pop_all()
//! ```
//!
//! In Python the popped stack is a new `ExitStack` that nobody enters, so
//! its callbacks are never called. In Rust the popped stack is a value that
//! owns the cleanups: whoever holds it runs them by closing or dropping it.
//! So `pop_all` means "not here": the popped stack is handed on to whoever
//! now owns the resources. When the cleanup is not needed at all, say so
//! with `cancel_all` (or cancel one entry, see the `callback_cancel`
//! example).
//!
//! Run it with `cargo run -p exitstack --example stack_pop_all`. It runs the
//! block four times: the operation succeeds and the popped stack is handed on
//! and closed later; it fails and the cleanup runs at the end of the block;
//! it succeeds and the caller drops the popped stack; it succeeds and the
//! block cancels the cleanup instead of popping it.

use std::sync::atomic::{AtomicUsize, Ordering};

use exitstack::{CleanupError, ExitStack};

/// How many times `cleanup_resources` ran, to check each run.
static CLEANUPS: AtomicUsize = AtomicUsize::new(0);

fn cleanup_resources() {
    CLEANUPS.fetch_add(1, Ordering::Relaxed);
    println!("    cleanup_resources() runs");
}

fn perform_operation(succeeds: bool) -> bool {
    println!("    perform_operation() returns {succeeds}");
    succeeds
}

fn cleanups() -> usize {
    CLEANUPS.load(Ordering::Relaxed)
}

/// The `with` block. Returns the popped stack if the operation succeeded.
fn with_exit_stack(succeeds: bool) -> Option<ExitStack<'static>> {
    let mut stack = ExitStack::new();
    stack.callback(cleanup_resources);
    let result = perform_operation(succeeds);
    let popped = result.then(|| stack.pop_all());
    println!(
        "    end of the block: {} cleanup(s) pending on `stack`",
        stack.len()
    );
    popped
} // `stack` is dropped here and runs whatever is still pending on it

/// Someone who takes over the resources and cleans them up when done.
fn serve(mut resources: ExitStack<'static>) -> Result<(), CleanupError> {
    println!(
        "    serve(): working with the resources ({} cleanup(s) to run when done)",
        resources.len()
    );
    println!("    serve(): done, closing the stack it was handed");
    resources.close()
}

fn main() {
    println!("== run 1: the operation succeeds, the popped stack is handed on ==");
    let popped = with_exit_stack(true).expect("the operation succeeded");
    assert_eq!(cleanups(), 0);
    println!(
        "  after the block: cleanup skipped (ran {} times); the popped stack holds {}",
        cleanups(),
        popped.len()
    );
    match serve(popped) {
        Ok(()) => println!("  serve() closed it without errors"),
        Err(errors) => println!("  serve() could not clean up: {errors}"),
    }
    assert_eq!(cleanups(), 1);

    println!("\n== run 2: the operation fails ==");
    let popped = with_exit_stack(false);
    assert!(popped.is_none());
    assert_eq!(cleanups(), 2);
    println!("  after the block: nothing was popped, the cleanup ran as the block ended");

    println!("\n== run 3: the operation succeeds, the caller drops the popped stack ==");
    let popped = with_exit_stack(true).expect("the operation succeeded");
    assert_eq!(cleanups(), 2);
    println!("  after the block: cleanup skipped; the caller holds it for a while");
    println!("  dropping the popped stack runs it (`close()` would also report errors):");
    drop(popped);
    assert_eq!(cleanups(), 3);

    println!("\n== run 4: the operation succeeds, the cleanup is cancelled for good ==");
    {
        let mut stack = ExitStack::new();
        stack.callback(cleanup_resources);
        if perform_operation(true) {
            stack.cancel_all();
        }
        println!(
            "    end of the block: {} cleanup(s) pending on `stack`",
            stack.len()
        );
    }
    assert_eq!(cleanups(), 3);
    println!("  after the block: the cleanup never ran, and nobody holds it");

    println!("\ncleanup_resources() ran {} times in 4 runs", cleanups());
}
