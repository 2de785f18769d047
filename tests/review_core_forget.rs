//! Adversarial review of the core, the tests that leak on purpose (run
//! under Miri with `-Zmiri-ignore-leaks`).
#![allow(clippy::pedantic, clippy::len_zero, reason = "test code")]

mod common;

use std::cell::RefCell;
use std::pin::pin;

use exitstack::{AsyncExitStack, CancelError, ExitStack};

/// A stack forgotten mid-use (with chunks): its keys are foreign to every
/// stack made after, also one that reuses its memory.
#[test]
fn forgotten_stack_keys_stay_foreign() {
    let mut keys = Vec::new();
    for _ in 0..3 {
        let s = ExitStack::new();
        keys.extend((0..12).map(|_| s.callback(|| ())));
        std::mem::forget(s);
    }
    let s = ExitStack::new();
    let mine: Vec<_> = (0..12).map(|_| s.callback(|| ())).collect();
    for k in &keys {
        assert_eq!(s.cancel(k), Err(CancelError::ForeignKey));
    }
    for k in &mine {
        assert_eq!(s.cancel(k), Ok(()));
    }
}

/// An `aclose` future forgotten in the middle of an async entry: the keys
/// of the entries still pending are refused, the stack is reusable with
/// exact counts (cancelled slots below and in chunks), and every entry
/// that was not in progress runs exactly once, LIFO.
#[test]
fn forgotten_aclose_mid_drain_then_reuse() {
    let log = RefCell::new(Vec::new());
    let mut stack = AsyncExitStack::new();
    fn push<'l>(s: &AsyncExitStack<'l>, log: &'l RefCell<Vec<u32>>, i: u32) -> exitstack::EntryKey {
        s.callback(move || log.borrow_mut().push(i))
    }
    let low: Vec<_> = (0..12).map(|i| push(&stack, &log, i)).collect();
    stack.cancel(&low[3]).unwrap();
    stack.cancel(&low[10]).unwrap();
    {
        let log = &log;
        stack.push_async_callback(move || async move {
            log.borrow_mut().push(50);
            common::PendingOnce(false).await;
            log.borrow_mut().push(51);
        });
    }
    let high: Vec<_> = (60..64).map(|i| push(&stack, &log, i)).collect();
    stack.cancel(&high[1]).unwrap();
    assert_eq!(stack.len(), 12 - 2 + 1 + 3);
    {
        let mut fut = Box::pin(stack.aclose());
        assert!(common::poll_once(fut.as_mut()).is_pending());
        std::mem::forget(fut);
    }
    assert_eq!(*log.borrow(), [63, 62, 60, 50]);
    assert_eq!(stack.len(), 10);
    for k in low.iter().chain(&high) {
        assert_eq!(stack.cancel(k), Err(CancelError::NotPending));
    }
    let new: Vec<_> = (100..110).map(|i| push(&stack, &log, i)).collect();
    assert_eq!(stack.len(), 20);
    stack.cancel(&new[9]).unwrap();
    assert_eq!(stack.len(), 19);
    log.borrow_mut().clear();
    let mut fut = pin!(stack.aclose());
    assert!(common::poll_once(fut.as_mut()).is_ready());
    let mut expect: Vec<u32> = (100..109).rev().collect();
    expect.extend((0..12).rev().filter(|&i| i != 3 && i != 10));
    assert_eq!(*log.borrow(), expect);
}

/// A captured value whose `Drop` (run by `cancel`) registers on and
/// cancels on its own stack, reached through a leaked `&'static` stack,
/// across the chunk boundary, while a context's `&mut` is live: counts,
/// keys and the context stay right.
#[test]
fn cancel_reentered_from_a_captured_drop() {
    let stack: &'static ExitStack<'static> = Box::leak(Box::new(ExitStack::new()));
    let ctx = stack.enter_context(vec![1u8]);
    let victim = stack.callback(|| ());
    let other = stack.callback(|| ());
    struct Reenter {
        stack: &'static ExitStack<'static>,
        other: exitstack::EntryKey,
        pushed: &'static RefCell<Vec<exitstack::EntryKey>>,
    }
    impl Drop for Reenter {
        fn drop(&mut self) {
            assert_eq!(self.stack.cancel(&self.other), Ok(()));
            for _ in 0..10 {
                let k = self.stack.callback(|| ());
                self.pushed.borrow_mut().push(k);
            }
        }
    }
    let pushed: &'static RefCell<Vec<exitstack::EntryKey>> = Box::leak(Box::default());
    let r = Reenter {
        stack,
        other,
        pushed,
    };
    let me = stack.callback(move || drop(r));
    ctx.push(2);
    assert_eq!(stack.len(), 4);
    assert_eq!(stack.cancel(&me), Ok(()));
    assert_eq!(stack.cancel(&me), Err(CancelError::NotPending));
    assert_eq!(stack.cancel(&other), Err(CancelError::NotPending));
    assert_eq!(stack.len(), 2 + 10);
    ctx.push(3);
    for k in pushed.borrow().iter() {
        assert_eq!(stack.cancel(k), Ok(()));
    }
    assert_eq!(stack.cancel(&victim), Ok(()));
    assert_eq!(stack.len(), 1);
    assert_eq!(*ctx, [1, 2, 3]);
}
