//! `exitstack` under `-C panic=abort`: the crates build, every policy that
//! does not involve a panic holds, and a panic ends the process at once.
//!
//! Run by `scripts/panic-abort.sh`, which builds this binary with
//! `RUSTFLAGS="-C panic=abort"` for the host target (so that proc macros
//! and build scripts, which run inside the compiler, keep unwinding).
//! Stable Rust cannot run libtest tests with `panic=abort`, hence a binary:
//! a failed assertion aborts it, which fails the script.
//!
//! With no argument it runs every scenario below, then re-runs itself once
//! per panic scenario and checks how the child died. With an argument it
//! runs that one panic scenario.

use std::cell::{Cell, RefCell};
use std::convert::Infallible;
use std::process::Command;

use exitstack::{
    CancelError, Defer, ExitContext, ExitStack, Guard, Outcome, SendExitStack, When, cleanup, defer,
};

type Log = RefCell<Vec<String>>;

fn push(log: &Log, entry: impl Into<String>) {
    log.borrow_mut().push(entry.into());
}

fn taken(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.borrow_mut())
}

/// Logs its name when dropped.
struct DropLog<'l>(&'static str, &'l Log);

impl Drop for DropLog<'_> {
    fn drop(&mut self) {
        push(self.1, self.0);
    }
}

struct Tx<'l>(&'l Log);

impl ExitContext for Tx<'_> {
    type Error = Infallible;
    fn exit(self, outcome: Outcome) -> Result<(), Infallible> {
        push(self.0, format!("tx {outcome}"));
        Ok(())
    }
}

fn lifo_across_every_kind_of_entry() {
    let log = Log::default();
    let mut stack = ExitStack::new();
    stack.callback(|| push(&log, "callback"));
    stack.enter_context(DropLog("context", &log));
    stack.push(|outcome| push(&log, format!("push {outcome}")));
    stack.enter_exit_context(Tx(&log));
    stack.try_callback(|| {
        push(&log, "try_callback");
        Ok::<(), std::io::Error>(())
    });
    stack.close().unwrap();
    assert_eq!(
        taken(&log),
        [
            "try_callback",
            "tx success",
            "push success",
            "context",
            "callback"
        ]
    );
    drop(stack);
    {
        let stack = ExitStack::new();
        stack.push(|outcome| push(&log, format!("dropped: {outcome}")));
    }
    assert_eq!(taken(&log), ["dropped: success"]);
}

fn errors_are_collected_in_execution_order() {
    let ran = Cell::new(0);
    let mut stack = ExitStack::new();
    stack.try_callback(|| Err("registered first"));
    stack.callback(|| ran.set(ran.get() + 1));
    stack.try_callback(|| Err("registered last"));
    let error = stack.close().unwrap_err();
    let messages: Vec<String> = error.iter().map(ToString::to_string).collect();
    assert_eq!(messages, ["registered last", "registered first"]);
    assert_eq!(ran.get(), 1);
    // Dropped, not closed: discarded, and nothing panics (or aborts).
    let stack = ExitStack::new();
    stack.try_callback(|| Err("discarded"));
    drop(stack);
}

fn scope_body_error_is_primary_and_cleanup_errors_do_not_vanish() {
    let seen = RefCell::new(Vec::new());
    let failed = ExitStack::scope(|stack| {
        stack.push(|outcome| seen.borrow_mut().push(outcome));
        stack.try_callback(|| Err("cleanup failed"));
        Err::<(), _>("body failed")
    });
    let (body, cleanup) = failed.unwrap_err().into_parts();
    assert_eq!(body, Some("body failed"));
    assert_eq!(cleanup.unwrap().first().to_string(), "cleanup failed");
    let succeeded = ExitStack::scope(|stack| {
        stack.push(|outcome| seen.borrow_mut().push(outcome));
        stack.try_callback(|| Err("cleanup failed"));
        Ok::<(), String>(())
    });
    let error = succeeded.unwrap_err();
    assert!(error.body().is_none());
    assert_eq!(
        error.cleanup().unwrap().first().to_string(),
        "cleanup failed"
    );
    // The second push runs after a failed cleanup: it sees `Error` too
    // (policy 8).
    assert_eq!(*seen.borrow(), [Outcome::Error, Outcome::Error]);
}

fn keys_cancel_all_and_pop_all() {
    let log = Log::default();
    let mut stack = ExitStack::new();
    let ran = stack.callback(|| push(&log, "ran"));
    stack.close().unwrap();
    assert_eq!(stack.cancel(&ran), Err(CancelError::NotPending));
    let moved_key = stack.callback(|| push(&log, "moved, cancelled"));
    stack.callback(|| push(&log, "moved"));
    let mut moved = stack.pop_all();
    assert_eq!(stack.cancel(&moved_key), Err(CancelError::ForeignKey));
    assert_eq!(moved.cancel(&moved_key), Ok(()));
    stack.callback(|| push(&log, "cancelled by cancel_all"));
    stack.cancel_all();
    assert!(stack.is_empty());
    moved.close().unwrap();
    assert_eq!(taken(&log), ["ran", "moved"]);
}

fn deep_stacks_close_iteratively() {
    let count = Cell::new(0);
    let mut stack = ExitStack::new();
    for _ in 0..100_000 {
        stack.callback(|| count.set(count.get() + 1));
    }
    stack.close().unwrap();
    assert_eq!(count.get(), 100_000);
}

fn send_stack_runs_on_another_thread() {
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stack = SendExitStack::new();
    for _ in 0..3 {
        let count = std::sync::Arc::clone(&count);
        stack.callback(move || {
            count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        });
    }
    std::thread::spawn(move || drop(stack)).join().unwrap();
    assert_eq!(count.load(std::sync::atomic::Ordering::Relaxed), 3);
}

fn guards_and_defer() {
    let log = Log::default();
    {
        defer!(push(&log, "defer"));
        let _on_success = Guard::new(When::Success, |o| push(&log, format!("on success {o}")));
        let _on_panic = Guard::new(When::Panic, |_| push(&log, "on panic: never"));
        Defer::new(|| push(&log, "cancelled")).cancel();
        Defer::new(|| push(&log, "run early")).run();
    }
    assert_eq!(taken(&log), ["run early", "on success success", "defer"]);
}

#[exitstack::scope]
fn scoped(log: &Log, fail: bool, hand_over: bool) -> Result<u8, String> {
    defer!(on_error: push(log, "defer on error"));
    let _always = cleanup!(push(log, "cleanup! always"));
    #[cleanup(on_failure)]
    fn roll_back(outcome: Outcome) {
        push(log, format!("#[cleanup] on failure: {outcome}"));
    }
    if hand_over {
        pop_all!();
    }
    if fail { Err("failed".into()) } else { Ok(1) }
}

fn scope_macro_sees_err_returns() {
    let log = Log::default();
    assert_eq!(scoped(&log, true, false), Err("failed".into()));
    assert_eq!(
        taken(&log),
        [
            "#[cleanup] on failure: error",
            "cleanup! always",
            "defer on error"
        ]
    );
    assert_eq!(scoped(&log, false, false), Ok(1));
    assert_eq!(taken(&log), ["cleanup! always"]);
    assert_eq!(scoped(&log, true, true), Err("failed".into()));
    assert!(taken(&log).is_empty(), "pop_all!() cancelled all three");
}

/// The scenarios that do not panic, and must behave as with `panic=unwind`.
const SCENARIOS: &[(&str, fn())] = &[
    (
        "LIFO across every kind of entry",
        lifo_across_every_kind_of_entry,
    ),
    (
        "errors collected in execution order",
        errors_are_collected_in_execution_order,
    ),
    (
        "scope: body error primary",
        scope_body_error_is_primary_and_cleanup_errors_do_not_vanish,
    ),
    ("keys, cancel_all, pop_all", keys_cancel_all_and_pop_all),
    ("100,000 entries", deep_stacks_close_iteratively),
    (
        "SendExitStack on a thread",
        send_stack_runs_on_another_thread,
    ),
    ("guards and defer!", guards_and_defer),
    ("#[exitstack::scope]", scope_macro_sees_err_returns),
];

fn cleanup_that_panics(n: u32) {
    println!("ran #{n}");
    assert!(n != 2, "cleanup #{n} panicked");
}

/// Panic scenarios: each registers cleanups #1, #2 (panics), #3, so #3 runs
/// first and #1 would run last.
fn panic_scenario(name: &str) {
    match name {
        "close" => {
            let mut stack = ExitStack::new();
            for n in 1..=3 {
                stack.callback(move || cleanup_that_panics(n));
            }
            let _ = stack.close();
        }
        "drop" => {
            let stack = ExitStack::new();
            for n in 1..=3 {
                stack.callback(move || cleanup_that_panics(n));
            }
        }
        "guards" => {
            defer!(cleanup_that_panics(1));
            defer!(cleanup_that_panics(2));
            defer!(cleanup_that_panics(3));
        }
        "body" => {
            let stack = ExitStack::new();
            stack.callback(|| println!("ran #1"));
            defer!(println!("ran #2"));
            panic!("body panicked");
        }
        _ => unreachable!("no panic scenario {name}"),
    }
    println!("returned");
}

/// Runs a panic scenario in a child: it must die by `SIGABRT` right at the
/// panic, with the panic message on stderr and only the cleanups that ran
/// before it on stdout.
fn assert_aborts(name: &str, ran_before: &[&str], message: &str) {
    let out = Command::new(std::env::current_exe().unwrap())
        .arg(name)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        assert_eq!(
            out.status.signal(),
            Some(6),
            "{name}: {}\n{stderr}",
            out.status
        );
    }
    assert!(!out.status.success(), "{name}: {}", out.status);
    assert_eq!(stdout.lines().collect::<Vec<_>>(), ran_before, "{name}");
    assert!(stderr.contains(message), "{name}: {stderr}");
}

fn main() {
    if cfg!(panic = "unwind") {
        eprintln!("build with -C panic=abort: scripts/panic-abort.sh");
        std::process::exit(2);
    }
    if let Some(name) = std::env::args().nth(1) {
        panic_scenario(&name);
        return;
    }
    for (name, scenario) in SCENARIOS {
        scenario();
        println!("ok: {name}");
    }
    // The panic: the process ends there. The cleanups not yet run never run,
    // neither do the outer ones; `Outcome::Panic` is never observed.
    assert_aborts("close", &["ran #3", "ran #2"], "cleanup #2 panicked");
    assert_aborts("drop", &["ran #3", "ran #2"], "cleanup #2 panicked");
    assert_aborts("guards", &["ran #3", "ran #2"], "cleanup #2 panicked");
    assert_aborts("body", &[], "body panicked");
    println!("ok: a panic aborts at once (4 scenarios)");
    println!(
        "panic=abort: {} scenarios passed, 4 panic scenarios aborted as documented",
        SCENARIOS.len()
    );
}
