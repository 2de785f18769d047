//! `mem::forget` is safe: whatever is leaked, no later safe call may reach
//! freed memory, and nothing of what was forgotten runs. These tests leak
//! on purpose, so Miri runs them with its leak check off
//! (`scripts/miri.sh`).

mod common;

use std::cell::Cell;
use std::mem;
use std::task::{Context, Waker};

use common::PendingOnce;
use exitstack::{AsyncExitStack, CancelError, Defer, ExitStack, Guard, When};

/// The leaked-`aclose` repro of issue 9: an async callback that is
/// `Pending` once; `aclose()` polled once and forgotten; a value entered
/// into the slot it freed; the old key must not drop that value (it used to:
/// "pointer is dangling" under Miri, a double free natively).
#[test]
fn a_key_issued_before_a_leaked_aclose_never_cancels_a_new_entry() {
    let ran = Cell::new(false);
    let mut stack = AsyncExitStack::new();
    let old = stack.push_async_callback(async || {
        PendingOnce(false).await;
        ran.set(true);
    });
    let mut close = Box::pin(stack.aclose());
    let poll = close.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    assert!(poll.is_pending());
    mem::forget(close);
    let value = stack.enter_context(vec![1, 2, 3]);
    assert_eq!(stack.cancel(&old), Err(CancelError::NotPending));
    value.push(4);
    assert_eq!(*value, [1, 2, 3, 4]);
    drop(stack);
    assert!(!ran.get(), "the leaked entry never completes");
}

/// A forgotten stack runs nothing, and its keys are foreign to the stack
/// that takes its place.
#[test]
fn a_forgotten_stack_runs_nothing_and_its_keys_stay_foreign() {
    let ran = Cell::new(0);
    let stack = ExitStack::new();
    let key = stack.callback(|| ran.set(ran.get() + 1));
    mem::forget(stack);
    let stack = ExitStack::new();
    stack.callback(|| ran.set(ran.get() + 10));
    assert_eq!(stack.cancel(&key), Err(CancelError::ForeignKey));
    drop(stack);
    assert_eq!(ran.get(), 10);
}

/// A stack forgotten after `pop_all`: the popped one keeps the keys.
#[test]
fn keys_follow_pop_all_even_when_the_source_is_forgotten() {
    let ran = Cell::new(0);
    let mut stack = ExitStack::new();
    let key = stack.callback(|| ran.set(ran.get() + 1));
    let popped = stack.pop_all();
    mem::forget(stack);
    assert_eq!(popped.cancel(&key), Ok(()));
    drop(popped);
    assert_eq!(ran.get(), 0);
}

/// Forgotten guards never run.
#[test]
fn forgotten_guards_never_run() {
    let ran = Cell::new(0);
    mem::forget(Defer::new(|| ran.set(ran.get() + 1)));
    mem::forget(Guard::new(When::Always, |_| ran.set(ran.get() + 1)));
    assert_eq!(ran.get(), 0);
}

/// A handed-off future that is forgotten (a spawner that leaks it): nothing
/// of the stack runs or is freed afterwards, and nothing is freed twice.
#[test]
fn a_forgotten_hand_off_runs_nothing_more() {
    let ran = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stack = exitstack::SendAsyncExitStack::with_spawner(mem::forget);
    let below = ran.clone();
    stack.callback(move || {
        below.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    let counted = ran.clone();
    stack.push_async_callback(async move || {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    drop(stack);
    assert_eq!(ran.load(std::sync::atomic::Ordering::SeqCst), 0);
}
