//! The decorator form of Python's "Replacing any use of try-finally and flag
//! variables" (contextlib docs), in Rust:
//!
//! ```python
//! with ExitStack() as stack:
//!     @stack.callback
//!     def cleanup_resources():
//!         ...
//!     result = perform_operation()
//!     if result:
//!         stack.pop_all()
//! ```
//!
//! The cleanup is declared up front, next to the setup it undoes, as a named
//! block-local `fn` that captures what it needs (Python: "any resources to be
//! released must be accessed as closure variables"); later code decides
//! whether it runs. Four ways to write it, from the literal port to the one
//! that needs no decision at all.
//!
//! Run with `cargo run -p exitstack --example decorator`.

use exitstack::{ExitStack, cleanup};

/// Something to release.
struct Resources {
    name: &'static str,
}

impl Resources {
    fn acquire(name: &'static str) -> Self {
        println!("    acquire {name}");
        Resources { name }
    }

    fn release(&self) {
        println!("    cleanup_resources(): release {}", self.name);
    }
}

/// `perform_operation()`: succeeds or not, as the demo asks.
fn perform_operation(succeed: bool) -> bool {
    println!("    perform_operation() -> {succeed}");
    succeed
}

/// 1. The literal port: `@stack.callback` is `#[cleanup(stack = stack)]`.
///    Python's `pop_all()` with nobody taking the popped callbacks means
///    "skip them": in Rust that is `cancel_all()` (`pop_all()` would hand
///    them to a new stack, which runs them when dropped).
fn on_an_explicit_stack(succeed: bool) {
    let resources = Resources::acquire("db connection");
    let mut stack = ExitStack::new();
    #[cleanup(stack = stack)]
    fn cleanup_resources() {
        resources.release();
    }
    let result = perform_operation(succeed);
    if result {
        println!("    result is truthy: stack.cancel_all()");
        stack.cancel_all();
    }
}

/// 2. The stack is the function's own: `#[exitstack::scope]` gives it one,
///    and `pop_all!()` cancels what was registered on it so far.
#[exitstack::scope]
fn on_the_function_scope(succeed: bool) {
    let resources = Resources::acquire("temp directory");
    #[cleanup]
    fn cleanup_resources() {
        resources.release();
    }
    let result = perform_operation(succeed);
    if result {
        println!("    result is truthy: pop_all!()");
        pop_all!();
    }
}

/// 3. The `Callback` helper of the same page: the name is the guard, and
///    `cancel()` skips just this cleanup.
fn cancel_one(succeed: bool) {
    let resources = Resources::acquire("lock file");
    #[cleanup]
    fn cleanup_resources() {
        resources.release();
    }
    let result = perform_operation(succeed);
    if result {
        println!("    result is truthy: cleanup_resources.cancel()");
        cleanup_resources.cancel();
    }
}

/// 4. No flag and no decision: when "the operation failed" is an `Err`, an
///    on-error cleanup runs exactly when the function returns one.
#[exitstack::scope]
fn on_error(succeed: bool) -> Result<(), String> {
    let resources = Resources::acquire("upload slot");
    #[cleanup(on_error)]
    fn cleanup_resources() {
        resources.release();
    }
    if !perform_operation(succeed) {
        return Err("operation failed".to_owned());
    }
    Ok(())
}

fn main() {
    for succeed in [true, false] {
        let outcome = if succeed { "succeeds" } else { "fails" };
        println!("== the operation {outcome}");

        println!("  1. #[cleanup(stack = stack)] + stack.cancel_all()");
        on_an_explicit_stack(succeed);
        println!("  2. #[exitstack::scope] + #[cleanup] + pop_all!()");
        on_the_function_scope(succeed);
        println!("  3. #[cleanup] + cleanup_resources.cancel()");
        cancel_one(succeed);
        println!("  4. #[exitstack::scope] + #[cleanup(on_error)]");
        let result = on_error(succeed);
        println!("    returned {result:?}");
    }
}
