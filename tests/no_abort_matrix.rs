//! The no-abort matrix: every way a scope can end × how many of its cleanups
//! panic × every form of cleanup. Each cell runs in a child process (this
//! test binary, re-run on the ignored `child_cell` test with the cell as its
//! argument), because an abort can only be seen from outside. The
//! parent asserts, per cell:
//!
//! * the child exited normally (a signal, e.g. `SIGABRT`, fails the cell);
//! * every cleanup ran exactly once, last registered first, and saw the
//!   documented `Outcome` where the form shows it;
//! * the documented panic surfaced (its payload text), or the documented
//!   value was returned.
//!
//! Four cleanups, `#0` to `#3`, are registered in order, so they run
//! `#3, #2, #1, #0`. Panic patterns: none, one (`#2`), several (`#3` and
//! `#1`), all. A panicking cleanup's payload is `"cleanup #n panicked"`.
//!
//! | form | situations |
//! |---|---|
//! | `stack`: `ExitStack` with `push` entries (they show the outcome) | `close`, `drop`, `drop_while_unwinding`, `scope_err`, `scope_panics`, `in_drop_while_unwinding` |
//! | `defer`: `defer!` | `end`, `drop_while_unwinding`, `scope_err`, `scope_panics`, `in_drop_while_unwinding` |
//! | `cleanup_macro`: `cleanup!` in `#[exitstack::scope]` | the same |
//! | `cleanup_attr`: `#[cleanup] fn name(o: Outcome)` (shows the outcome) | the same |
//! | `async_stack`: `AsyncExitStack` with `push_async_exit` entries (they show the outcome) | `close` (`aclose`), `drop` (without `aclose`: the async entries do not run), `scope_err`, `scope_panics` (the async `scope`), `in_drop_while_unwinding` (`aclose` inside the destructor) |
//!
//! `end` is a guard's `close()`: the block or function ends normally.
//! `scope_err` / `scope_panics` are `ExitStack::scope` for a stack and an
//! `#[exitstack::scope]` fn for guards; `drop_while_unwinding` is a plain
//! block left by a panic (`cleanup!` only exists in a scope fn, so there it
//! is the scope fn's panicking body again). `in_drop_while_unwinding` runs
//! the `end` (or `drop`) scenario inside a destructor that runs while
//! another panic unwinds: the most abort-prone place there is.

mod common;

use std::panic::{self, AssertUnwindSafe};

use common::child;
use exitstack::{AsyncExitStack, ExitStack, Outcome, cleanup, defer};

/// Which cleanups panic, by registration index.
type Panics = [bool; 4];

const NONE: Panics = [false, false, false, false];
const ONE: Panics = [false, false, true, false];
const SEVERAL: Panics = [false, true, false, true];
const ALL: Panics = [true, true, true, true];

/// Every line the child reports starts with this, so that libtest's own
/// output is told apart.
const MARK: &str = "cell: ";

/// Cleanup `#n`: reports that it ran (and the outcome, when the form shows
/// it), then panics if told to.
fn cleanup_body(n: usize, panics: Panics, outcome: Option<Outcome>) {
    match outcome {
        Some(outcome) => println!("{MARK}ran #{n} {outcome:?}"),
        None => println!("{MARK}ran #{n}"),
    }
    if panics[n] {
        panic::panic_any(format!("cleanup #{n} panicked"));
    }
}

/// How the body ends, after registering the four cleanups.
#[derive(Clone, Copy)]
enum Body {
    Ok,
    Err,
    Panics,
}

impl Body {
    fn end(self) -> Result<(), &'static str> {
        match self {
            Body::Ok => Ok(()),
            Body::Err => Err("body error"),
            Body::Panics => panic!("body panic"),
        }
    }
}

// ---------------------------------------------------------------------------
// The forms
// ---------------------------------------------------------------------------

fn register_on(stack: &ExitStack<'_>, p: Panics) {
    for n in 0..4 {
        stack.push(move |outcome| cleanup_body(n, p, Some(outcome)));
    }
}

fn stack_close(p: Panics) -> Result<(), String> {
    let mut stack = ExitStack::new();
    register_on(&stack, p);
    stack.close().map_err(|e| e.to_string())
}

#[allow(
    clippy::unnecessary_wraps,
    reason = "every scenario returns what it returned"
)]
fn stack_drop(p: Panics) -> Result<(), String> {
    let stack = ExitStack::new();
    register_on(&stack, p);
    drop(stack);
    Ok(())
}

fn stack_drop_while_unwinding(p: Panics) -> Result<(), String> {
    let stack = ExitStack::new();
    register_on(&stack, p);
    Body::Panics.end()?;
    drop(stack);
    Ok(())
}

fn stack_scope(p: Panics, body: Body) -> Result<(), String> {
    let result = ExitStack::scope(|stack| {
        register_on(stack, p);
        body.end()
    });
    result.map_err(|e| e.to_string())
}

fn defer_plain(p: Panics, body: Body) -> Result<(), &'static str> {
    defer!(cleanup_body(0, p, None));
    defer!(cleanup_body(1, p, None));
    defer!(cleanup_body(2, p, None));
    defer!(cleanup_body(3, p, None));
    body.end()
}

#[exitstack::scope]
fn defer_scoped(p: Panics, body: Body) -> Result<(), &'static str> {
    defer!(cleanup_body(0, p, None));
    defer!(cleanup_body(1, p, None));
    defer!(cleanup_body(2, p, None));
    defer!(cleanup_body(3, p, None));
    body.end()
}

#[exitstack::scope]
fn cleanup_macro_scoped(p: Panics, body: Body) -> Result<(), &'static str> {
    let _c0 = cleanup!(cleanup_body(0, p, None));
    let _c1 = cleanup!(cleanup_body(1, p, None));
    let _c2 = cleanup!(cleanup_body(2, p, None));
    let _c3 = cleanup!(cleanup_body(3, p, None));
    body.end()
}

fn cleanup_attr_plain(p: Panics, body: Body) -> Result<(), &'static str> {
    #[cleanup]
    fn c0(outcome: Outcome) {
        cleanup_body(0, p, Some(outcome));
    }
    #[cleanup]
    fn c1(outcome: Outcome) {
        cleanup_body(1, p, Some(outcome));
    }
    #[cleanup]
    fn c2(outcome: Outcome) {
        cleanup_body(2, p, Some(outcome));
    }
    #[cleanup]
    fn c3(outcome: Outcome) {
        cleanup_body(3, p, Some(outcome));
    }
    body.end()
}

#[exitstack::scope]
fn cleanup_attr_scoped(p: Panics, body: Body) -> Result<(), &'static str> {
    #[cleanup]
    fn c0(outcome: Outcome) {
        cleanup_body(0, p, Some(outcome));
    }
    #[cleanup]
    fn c1(outcome: Outcome) {
        cleanup_body(1, p, Some(outcome));
    }
    #[cleanup]
    fn c2(outcome: Outcome) {
        cleanup_body(2, p, Some(outcome));
    }
    #[cleanup]
    fn c3(outcome: Outcome) {
        cleanup_body(3, p, Some(outcome));
    }
    body.end()
}

fn register_async_on(stack: &AsyncExitStack<'_>, p: Panics) {
    for n in 0..4 {
        stack.push_async_exit(async move |outcome| cleanup_body(n, p, Some(outcome)));
    }
}

/// Drives a future to completion; the cleanups here never wait.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

fn async_stack_close(p: Panics) -> Result<(), String> {
    let mut stack = AsyncExitStack::new();
    register_async_on(&stack, p);
    block_on(stack.aclose()).map_err(|e| e.to_string())
}

#[allow(
    clippy::unnecessary_wraps,
    reason = "every scenario returns what it returned"
)]
fn async_stack_drop(p: Panics) -> Result<(), String> {
    let stack = AsyncExitStack::new();
    register_async_on(&stack, p);
    drop(stack);
    Ok(())
}

fn async_stack_scope(p: Panics, body: Body) -> Result<(), String> {
    let result = block_on(AsyncExitStack::scope(async |stack| {
        register_async_on(stack, p);
        body.end()
    }));
    result.map_err(|e| e.to_string())
}

/// Runs `scenario` inside a destructor that runs while a panic (`"outer
/// panic"`) unwinds.
fn in_drop_while_unwinding(scenario: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    struct RunsInDrop<F: FnOnce() -> Result<(), String>>(Option<F>);
    impl<F: FnOnce() -> Result<(), String>> Drop for RunsInDrop<F> {
        fn drop(&mut self) {
            assert!(std::thread::panicking());
            let returned = (self.0.take().unwrap())();
            println!("{MARK}returned in drop: {returned:?}");
        }
    }
    let _runs = RunsInDrop(Some(scenario));
    panic!("outer panic");
}

/// The scenario of one cell.
fn scenario(form: &str, situation: &str, p: Panics) -> Result<(), String> {
    let s = |r: Result<(), &'static str>| r.map_err(String::from);
    match (form, situation) {
        ("stack", "close") => stack_close(p),
        ("stack", "drop") => stack_drop(p),
        ("stack", "drop_while_unwinding") => stack_drop_while_unwinding(p),
        ("stack", "scope_err") => stack_scope(p, Body::Err),
        ("stack", "scope_panics") => stack_scope(p, Body::Panics),
        ("stack", "in_drop_while_unwinding") => in_drop_while_unwinding(|| stack_drop(p)),
        ("defer", "end") => s(defer_plain(p, Body::Ok)),
        ("defer", "drop_while_unwinding") => s(defer_plain(p, Body::Panics)),
        ("defer", "scope_err") => s(defer_scoped(p, Body::Err)),
        ("defer", "scope_panics") => s(defer_scoped(p, Body::Panics)),
        ("defer", "in_drop_while_unwinding") => {
            in_drop_while_unwinding(|| s(defer_plain(p, Body::Ok)))
        }
        ("cleanup_macro", "end") => s(cleanup_macro_scoped(p, Body::Ok)),
        ("cleanup_macro", "drop_while_unwinding" | "scope_panics") => {
            s(cleanup_macro_scoped(p, Body::Panics))
        }
        ("cleanup_macro", "scope_err") => s(cleanup_macro_scoped(p, Body::Err)),
        ("cleanup_macro", "in_drop_while_unwinding") => {
            in_drop_while_unwinding(|| s(cleanup_macro_scoped(p, Body::Ok)))
        }
        ("cleanup_attr", "end") => s(cleanup_attr_plain(p, Body::Ok)),
        ("cleanup_attr", "drop_while_unwinding") => s(cleanup_attr_plain(p, Body::Panics)),
        ("cleanup_attr", "scope_err") => s(cleanup_attr_scoped(p, Body::Err)),
        ("cleanup_attr", "scope_panics") => s(cleanup_attr_scoped(p, Body::Panics)),
        ("cleanup_attr", "in_drop_while_unwinding") => {
            in_drop_while_unwinding(|| s(cleanup_attr_plain(p, Body::Ok)))
        }
        ("async_stack", "close") => async_stack_close(p),
        ("async_stack", "drop") => async_stack_drop(p),
        ("async_stack", "scope_err") => async_stack_scope(p, Body::Err),
        ("async_stack", "scope_panics") => async_stack_scope(p, Body::Panics),
        ("async_stack", "in_drop_while_unwinding") => {
            in_drop_while_unwinding(|| async_stack_close(p))
        }
        _ => panic!("no cell {form}/{situation}"),
    }
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(ToString::to_string)
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a payload that is not a string".into())
}

/// The child: runs the cell named in `EXITSTACK_CELL` and reports.
#[test]
#[ignore = "a child process: its parent test runs it"]
fn child_cell() {
    let cell = child::enter("child_cell");
    let [form, situation, pattern] = cell.split('/').collect::<Vec<_>>()[..] else {
        panic!("bad cell {cell}");
    };
    let p = match pattern {
        "none" => NONE,
        "one" => ONE,
        "several" => SEVERAL,
        "all" => ALL,
        _ => panic!("bad pattern {pattern}"),
    };
    // Expected panics stay quiet; the parent reads stdout.
    panic::set_hook(Box::new(|_| {}));
    match panic::catch_unwind(AssertUnwindSafe(|| scenario(form, situation, p))) {
        Ok(returned) => println!("{MARK}returned: {returned:?}"),
        Err(payload) => println!("{MARK}surfaced: {}", payload_text(&*payload)),
    }
}

// ---------------------------------------------------------------------------
// The expectations
// ---------------------------------------------------------------------------

/// What the child must report for a cell.
fn expected(form: &str, situation: &str, p: Panics) -> Vec<String> {
    if (form, situation) == ("async_stack", "drop") {
        // A destructor cannot await: the async entries are dropped unrun.
        return vec!["returned: Ok(())".into()];
    }
    let shows_outcome = matches!(form, "stack" | "cleanup_attr" | "async_stack");
    // The outcome cleanups see until one of them panics, and whether the
    // scope is unwinding from its own panic already.
    let (outcome, unwinding) = match situation {
        "close" | "drop" | "end" => (Outcome::Success, false),
        "scope_err" => (Outcome::Error, false),
        "drop_while_unwinding" | "scope_panics" => (Outcome::Panic, true),
        // A destructor that runs during unwinding is a scope that ends
        // normally: its cleanups see `Success` (scopeguard#43), and their
        // panics are discarded.
        "in_drop_while_unwinding" => (Outcome::Success, true),
        _ => unreachable!(),
    };
    let mut lines = Vec::new();
    let mut first_panic = None;
    for n in (0..4).rev() {
        // After a panic, the entries of a stack see `Panic`, also when it
        // was discarded because the thread was already unwinding. Guards
        // are independent: one made during unwinding cannot see a
        // sibling's panic (`Outcome`'s limits).
        let is_stack = matches!(form, "stack" | "async_stack");
        let seen = if first_panic.is_some() && (is_stack || !unwinding) {
            Outcome::Panic
        } else {
            outcome
        };
        lines.push(if shows_outcome {
            format!("ran #{n} {seen:?}")
        } else {
            format!("ran #{n}")
        });
        if p[n] && first_panic.is_none() {
            first_panic = Some(n);
        }
    }
    let returned = match situation {
        "scope_err" => r#"Err("body error")"#,
        _ => "Ok(())",
    };
    match situation {
        "drop_while_unwinding" | "scope_panics" => lines.push("surfaced: body panic".into()),
        "in_drop_while_unwinding" => {
            lines.push(format!("returned in drop: {returned}"));
            lines.push("surfaced: outer panic".into());
        }
        _ => lines.push(match first_panic {
            Some(n) => format!("surfaced: cleanup #{n} panicked"),
            None => format!("returned: {returned}"),
        }),
    }
    lines
}

fn cell(form: &str, situation: &str, pattern: &str, p: Panics) {
    let name = format!("{form}/{situation}/{pattern}");
    let out = child::run("child_cell", &name);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "cell {name}: the child did not exit normally ({}; a signal is an abort)\n\
         stdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    let reported: Vec<&str> = stdout
        .lines()
        .filter_map(|line| Some(&line[line.find(MARK)? + MARK.len()..]))
        .collect();
    assert_eq!(reported, expected(form, situation, p), "cell {name}");
}

/// `form: [situation, ...];` → `mod form { mod situation { #[test] fn
/// none() .. fn all() } }`: a failing test's name is its cell.
macro_rules! matrix {
    ($($form:ident: [$($situation:ident),* $(,)?];)*) => {$(
        mod $form {$(
            mod $situation {
                use super::super::{ALL, NONE, ONE, SEVERAL, cell};
                #[test]
                fn no_cleanup_panics() {
                    cell(stringify!($form), stringify!($situation), "none", NONE);
                }
                #[test]
                fn one_cleanup_panics() {
                    cell(stringify!($form), stringify!($situation), "one", ONE);
                }
                #[test]
                fn several_cleanups_panic() {
                    cell(stringify!($form), stringify!($situation), "several", SEVERAL);
                }
                #[test]
                fn all_cleanups_panic() {
                    cell(stringify!($form), stringify!($situation), "all", ALL);
                }
            }
        )*}
    )*};
}

matrix! {
    stack: [close, drop, drop_while_unwinding, scope_err, scope_panics, in_drop_while_unwinding];
    defer: [end, drop_while_unwinding, scope_err, scope_panics, in_drop_while_unwinding];
    cleanup_macro: [end, drop_while_unwinding, scope_err, scope_panics, in_drop_while_unwinding];
    cleanup_attr: [end, drop_while_unwinding, scope_err, scope_panics, in_drop_while_unwinding];
    async_stack: [close, drop, scope_err, scope_panics, in_drop_while_unwinding];
}

/// The oracle itself, on two cells spelled out by hand.
#[test]
fn expectations_spelled_out() {
    assert_eq!(
        expected("stack", "close", SEVERAL),
        [
            "ran #3 Success",
            "ran #2 Panic",
            "ran #1 Panic",
            "ran #0 Panic",
            "surfaced: cleanup #3 panicked"
        ]
    );
    assert_eq!(
        expected("defer", "in_drop_while_unwinding", ONE),
        [
            "ran #3",
            "ran #2",
            "ran #1",
            "ran #0",
            "returned in drop: Ok(())",
            "surfaced: outer panic"
        ]
    );
}
