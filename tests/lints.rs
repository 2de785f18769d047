//! Every macro form, compiled under the strictest lints a user may set: the
//! expansions must not warn in user code. CI also runs clippy (pedantic, as
//! denied here) on this file.
#![deny(warnings, clippy::pedantic, unused_qualifications)]
#![deny(rust_2018_idioms, unused_results, unreachable_pub)]

use std::cell::{Cell, RefCell};
use std::fmt::Display;

use exitstack::{ExitStack, Outcome, SendExitStack, cleanup, defer};

type Log = RefCell<Vec<&'static str>>;

fn push(log: &Log, entry: &'static str) {
    log.borrow_mut().push(entry);
}

#[derive(Debug)]
struct Failed;

fn check(ok: bool) -> Result<u8, Failed> {
    if ok { Ok(1) } else { Err(Failed) }
}

/// `defer!` in every form, in a plain function.
fn defer_forms(log: &Log) {
    defer!(push(log, "plain"));
    defer! { push(log, "braced"); }
    defer!(always: push(log, "always"));
    defer!(on_success: push(log, "on success"));
    defer!(on_panic: push(log, "on panic"));
    exitstack::defer!(push(log, "qualified"));
}

/// `defer!(v => ..)` in every form outside a scope, with a body that only
/// reads the value, one that mutates it, and one that consumes it.
fn value_forms(log: &Log) -> usize {
    let read = vec![1_u8];
    let mutated = String::new();
    let consumed = vec!["consumed"];
    let unused = 0_u8;
    defer!(read => push(log, if read.is_empty() { "empty" } else { "read" }));
    defer!(always: mutated => {
        mutated.push('!');
        assert!(!mutated.is_empty());
    });
    defer!(on_success: consumed => log.borrow_mut().extend(consumed));
    defer!(on_panic: unused => push(log, "unused"));
    exitstack::defer!(unused => assert_eq!(*unused, 0));
    mutated.push('a');
    read.len() + mutated.len()
}

/// `#[cleanup]` in every form, outside a scope.
fn cleanup_forms(log: &Log) {
    let counter = Cell::new(0);
    #[cleanup]
    fn plain() {
        push(log, "plain");
    }
    #[cleanup(always)]
    fn outcome(outcome: Outcome) {
        if outcome == Outcome::Success {
            counter.set(counter.get() + 1);
        }
    }
    #[cleanup(on_success)]
    fn cancelled() {
        push(log, "cancelled");
    }
    #[cleanup(on_panic)]
    fn on_panic(_: Outcome) {
        push(log, "on panic");
    }
    #[exitstack::cleanup]
    fn qualified() {
        push(log, "qualified");
    }
    cancelled.cancel();
    plain.run();
}

fn stack_forms(log: &Log) -> usize {
    let stack = ExitStack::new();
    #[cleanup(stack = stack)]
    fn callback() {
        push(log, "callback");
    }
    #[cleanup(stack = &stack, on_error)]
    fn push_error(outcome: Outcome) {
        assert_eq!(outcome, Outcome::Error);
    }
    #[cleanup(on_failure, stack = stack)]
    fn push_failure() {
        push(log, "failure");
    }
    stack.cancel(&callback).unwrap();
    let send = SendExitStack::new();
    let owned = String::from("moved");
    #[cleanup(move, stack = send)]
    fn moved() {
        drop(owned);
    }
    send.len() + stack.len()
}

/// Every form that needs `#[exitstack::scope]`, and every way to return.
#[exitstack::scope]
fn scope_forms(log: &Log, choice: u8) -> Result<u8, Failed> {
    defer!(push(log, "defer"));
    defer! { push(log, "braced"); }
    defer!(on_error: push(log, "on error"));
    defer!(on_failure: push(log, "on failure"));
    defer!(on_success: push(log, "on success"));
    let value = 0_u8;
    defer!(value => assert_eq!(value, 0));
    defer!(on_error: value => assert!(*value < 1));
    defer!(on_failure: value => drop(value));
    defer!(on_success: value => push(log, if ***value == 0 { "zero" } else { "other" }));
    let guard = cleanup!(push(log, "cleanup!"));
    let _always = cleanup!(always: push(log, "always"));
    let _on_success = cleanup!(on_success: push(log, "on success"));
    let _on_error = cleanup!(on_error: push(log, "on error"));
    let _on_panic = cleanup!(on_panic: push(log, "on panic"));
    let _on_failure = cleanup!(on_failure: push(log, "on failure"));
    #[cleanup(on_error)]
    fn roll_back() {
        push(log, "roll back");
    }
    #[cleanup(on_failure)]
    fn report(outcome: Outcome) {
        assert!(outcome.is_failure());
    }
    #[cleanup]
    let closure = || push(log, "closure");
    #[cleanup(on_success)]
    let sees = |outcome: Outcome| assert_eq!(outcome, Outcome::Success);
    guard.cancel();
    let helper = || -> Result<u8, Failed> {
        defer!(push(log, "in closure"));
        check(true)
    };
    let value = helper()? + check(choice != 1)?;
    if choice == 2 {
        return Err(Failed);
    }
    if choice == 3 {
        pop_all!();
    }
    match choice {
        4 => Err(Failed),
        5 => 'block: {
            if value > 0 {
                break 'block Ok(value);
            }
            Ok(0)
        }
        6 => loop {
            if log.borrow().len() > 1 {
                break check(false);
            }
            push(log, "loop");
        },
        _ => Ok(value),
    }
}

#[exitstack::scope]
fn returns_unit(log: &Log) {
    defer!(on_success: push(log, "unit"));
}

#[exitstack::scope]
fn returns_option(log: &Log, value: Option<u8>) -> Option<u8> {
    defer!(on_success: push(log, "option"));
    Some(value? + 1)
}

#[exitstack::scope]
fn returns_impl_trait(log: &Log) -> impl Display {
    defer!(push(log, "impl trait"));
    "displayed"
}

#[exitstack::scope]
fn generic<T: Default + Display>(log: &Log) -> Result<T, Failed> {
    defer!(on_error: push(log, "generic"));
    Ok(T::default())
}

#[exitstack::scope]
#[allow(clippy::unused_async, reason = "the form is under test, not the await")]
async fn asynchronous(log: &Log) -> Result<u8, Failed> {
    defer!(on_error: push(log, "async"));
    check(true)
}

/// Every async form, in an `async fn` whose future is `Send`.
#[exitstack::scope]
async fn async_forms(log: &std::sync::Mutex<Vec<&'static str>>, choice: u8) -> Result<u8, Failed> {
    defer!(async { log.lock().unwrap().push("async") });
    defer! { async move { assert!(choice < 10) } }
    defer!(always: async {});
    defer!(on_success: async {});
    defer!(on_error: async { log.lock().unwrap().push("async on error") });
    defer!(on_panic: async {});
    defer!(on_failure: async {});
    exitstack::defer!(async {});
    defer!(on_error: log.lock().unwrap().push("sync on error"));
    let handle = cleanup!(async {});
    let _kept = cleanup!(on_failure: async {});
    handle.cancel();
    let value = check(choice != 1)?;
    if choice == 2 {
        return Err(Failed);
    }
    if choice == 3 {
        pop_all!();
    }
    std::future::ready(()).await;
    match choice {
        4 => Err(Failed),
        _ => Ok(value),
    }
}

#[exitstack::scope(?Send)]
async fn async_not_send(log: std::rc::Rc<Log>) {
    defer!(async move { push(&log, "not send") });
}

#[exitstack::scope]
async fn async_unit(log: &std::sync::Mutex<Vec<&'static str>>) {
    defer!(async { log.lock().unwrap().push("unit") });
}

#[exitstack::scope]
async fn async_impl_trait() -> impl Display {
    defer!(async {});
    "displayed"
}

/// Every fallible form (`try`), sync and async.
#[exitstack::scope]
fn fallible_forms(log: &Log, fail: bool) -> std::io::Result<u8> {
    let sync = |name: &'static str| {
        push(log, name);
        if fail {
            Err(std::io::Error::other(name))
        } else {
            Ok(())
        }
    };
    defer!(try: sync("try"));
    defer!(try on_success: sync("try on success"));
    defer!(try on_error: { sync("try on error")?; Ok::<(), std::io::Error>(()) });
    #[cleanup]
    fn flush() -> std::io::Result<()> {
        sync("fn")
    }
    #[cleanup(on_failure)]
    fn report(outcome: Outcome) -> Result<(), std::io::Error> {
        assert_ne!(outcome, Outcome::Success);
        Ok(())
    }
    #[cleanup]
    let closure = || -> std::io::Result<()> { sync("let") };
    let guard = cleanup!(try: sync("guard"));
    guard.cancel();
    Ok(1)
}

#[exitstack::scope]
async fn async_fallible(
    log: &std::sync::Mutex<Vec<&'static str>>,
    fail: bool,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    defer!(try: async { if fail { Err("async") } else { Ok(()) } });
    defer!(try on_error: async move { log.lock().map(drop).map_err(|_| "poisoned") });
    let handle = cleanup!(try: async { Ok::<_, std::fmt::Error>(()) });
    handle.cancel();
    defer!(try: if fail { Err("sync") } else { Ok(()) });
    std::future::ready(()).await;
    Ok(())
}

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

struct Service {
    log: Log,
}

impl Service {
    #[exitstack::scope]
    fn by_ref(&self) -> Result<(), Failed> {
        defer!(on_error: push(&self.log, "by ref"));
        check(true).map(drop)
    }

    #[exitstack::scope]
    fn by_mut(&mut self) -> Result<(), Failed> {
        defer!(on_error: push(&self.log, "by mut"));
        Ok(())
    }
}

#[test]
fn every_form_compiles_and_runs() {
    let log = Log::default();
    defer_forms(&log);
    assert_eq!(value_forms(&log), 2);
    cleanup_forms(&log);
    assert_eq!(stack_forms(&log), 3);
    for choice in 0..=7 {
        drop(scope_forms(&log, choice));
    }
    returns_unit(&log);
    assert_eq!(returns_option(&log, Some(1)), Some(2));
    assert_eq!(returns_impl_trait(&log).to_string(), "displayed");
    assert_eq!(generic::<u8>(&log).unwrap(), 0);
    drop(asynchronous(&log));
    let sync_log = std::sync::Mutex::default();
    for choice in 0..=5 {
        drop(block_on(async_forms(&sync_log, choice)));
    }
    block_on(async_not_send(std::rc::Rc::default()));
    block_on(async_unit(&sync_log));
    assert_eq!(block_on(async_impl_trait()).to_string(), "displayed");
    assert!(!sync_log.lock().unwrap().is_empty());
    let mut service = Service {
        log: Log::default(),
    };
    assert_eq!(fallible_forms(&log, false).unwrap(), 1);
    assert!(fallible_forms(&log, true).is_err());
    block_on(async_fallible(&sync_log, false)).unwrap();
    assert!(block_on(async_fallible(&sync_log, true)).is_err());
    service.by_ref().unwrap();
    service.by_mut().unwrap();
    assert!(!log.borrow().is_empty());
}
