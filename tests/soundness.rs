//! Soundness regressions of the asynchronous stacks that need no runtime,
//! no child process and leak nothing, so that Miri (Stacked and Tree
//! Borrows) runs them: an `aclose()` interrupted part-way leaves no key that
//! can name another entry (issue 9), and policy 8 holds across `.await`s.
//! The generic cases (a panic caught out of `close()` or `cancel_all()`)
//! are `policy9_*` in `tests/stack_policies.rs`, on every stack type; the
//! leaking ones (`mem::forget`) are in `tests/forget.rs`.

mod common;

use std::cell::RefCell;
use std::pin::pin;
use std::task::Poll;

use common::{PendingOnce, poll_once};
use exitstack::{AsyncExitStack, CancelError, Outcome, SendAsyncExitStack};

/// An `aclose()` future dropped part-way: the entry it took is dropped
/// unfinished, the rest stay registered and run when the stack drops, and
/// no key issued before it cancels a new entry that reuses a freed slot.
#[test]
fn a_key_issued_before_an_interrupted_aclose_never_cancels_a_new_entry() {
    let log = RefCell::new(Vec::new());
    let mut stack = AsyncExitStack::new();
    let below = stack.callback(|| log.borrow_mut().push("below"));
    let old = stack.push_async_callback(async || {
        PendingOnce(false).await;
        log.borrow_mut().push("async done");
    });
    let ((), reports) = common::reports::capture(|| {
        let close = pin!(stack.aclose());
        assert!(poll_once(close).is_pending());
    });
    // The entry in progress when `aclose` was cut: reported, once.
    assert_eq!(reports, [common::reports::ASYNC_INTERRUPTED]);
    assert_eq!(stack.len(), 1, "the entry not reached stays registered");
    let value = stack.enter_context(vec![1, 2, 3]);
    assert_eq!(stack.cancel(&old), Err(CancelError::NotPending));
    assert_eq!(stack.cancel(&below), Err(CancelError::NotPending));
    value.push(4);
    assert_eq!(*value, [1, 2, 3, 4]);
    drop(stack);
    assert_eq!(*log.borrow(), ["below"]);
}

/// The same on the `Send` stack, with the slot reused past the inline ones.
#[test]
fn a_key_issued_before_an_interrupted_aclose_of_a_deep_stack_is_refused() {
    let mut stack = SendAsyncExitStack::new();
    let keys: Vec<_> = (0..20).map(|_| stack.callback(|| ())).collect();
    let old = stack.push_async_callback(async || PendingOnce(false).await);
    let ((), reports) = common::reports::capture(|| {
        let close = pin!(stack.aclose());
        assert!(poll_once(close).is_pending());
    });
    // The entry in progress when `aclose` was cut: reported, once.
    assert_eq!(reports, [common::reports::ASYNC_INTERRUPTED]);
    let values: Vec<_> = (0..3).map(|n| stack.enter_context(vec![n])).collect();
    for key in keys.iter().chain([&old]) {
        assert_eq!(stack.cancel(key), Err(CancelError::NotPending));
    }
    for (n, value) in values.into_iter().enumerate() {
        assert_eq!(*value, [n]);
    }
}

/// A fallible async cleanup that fails is an error for the ones after it,
/// synchronous and asynchronous alike.
#[test]
fn a_failed_async_cleanup_is_an_error_for_the_later_ones() {
    let seen = RefCell::new(Vec::new());
    let mut stack = AsyncExitStack::new();
    stack.push(|outcome| seen.borrow_mut().push(outcome));
    stack.push_async_exit(async |outcome| seen.borrow_mut().push(outcome));
    stack.try_push_async_exit(async |outcome| {
        assert_eq!(outcome, Outcome::Success);
        Err::<(), _>("async commit failed")
    });
    let Poll::Ready(result) = poll_once(pin!(stack.aclose())) else {
        panic!("nothing is pending")
    };
    assert_eq!(
        result.unwrap_err().to_string(),
        "cleanup failed: async commit failed"
    );
    assert_eq!(*seen.borrow(), [Outcome::Error, Outcome::Error]);
}

/// An `aclose` cut short (a timeout) that had seen a failure and a panic:
/// the next `aclose` carries on from it — the entries left see the
/// outcome reached, the error is returned, the panic resumes. Nothing the
/// first one saw is lost. (Found by review: the second `aclose` returned
/// `Ok(())` and the entry left saw `Success`.)
#[test]
fn an_interrupted_aclose_hands_its_failures_to_the_next_one() {
    std::panic::set_hook(Box::new(|_| {}));
    let seen = RefCell::new(Vec::new());
    let mut stack = AsyncExitStack::new();
    stack.push(|outcome| seen.borrow_mut().push(outcome));
    stack.push_async_callback(async || PendingOnce(false).await);
    stack.callback(|| panic!("a cleanup panicked"));
    stack.try_callback(|| Err("the commit failed"));
    let ((), reports) = common::reports::capture(|| {
        let close = pin!(stack.aclose());
        assert!(poll_once(close).is_pending(), "cut short while awaiting");
    });
    // The entry in progress when `aclose` was cut: reported, once.
    assert_eq!(reports, [common::reports::ASYNC_INTERRUPTED]);
    assert!(seen.borrow().is_empty());
    let (caught, reports) = common::reports::capture(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut close = pin!(stack.aclose());
            loop {
                if let Poll::Ready(result) = poll_once(close.as_mut()) {
                    break result;
                }
            }
        }))
    });
    // The panic wins; the error is reported, not lost silently.
    assert_eq!(
        reports,
        ["exitstack: cleanup error discarded (a panic is unwinding): the commit failed"]
    );
    let payload = caught.expect_err("the first panic resumes");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"a cleanup panicked"));
    assert_eq!(*seen.borrow(), [Outcome::Panic]);
    assert!(stack.is_empty());
}

/// The same, the second close returning the error when nothing panicked.
#[test]
fn an_interrupted_aclose_hands_its_errors_to_the_next_one() {
    let seen = RefCell::new(Vec::new());
    let mut stack = AsyncExitStack::new();
    stack.push(|outcome| seen.borrow_mut().push(outcome));
    stack.push_async_callback(async || PendingOnce(false).await);
    stack.try_callback(|| Err("the commit failed"));
    let ((), reports) = common::reports::capture(|| {
        let close = pin!(stack.aclose());
        assert!(poll_once(close).is_pending());
    });
    // The entry in progress when `aclose` was cut: reported, once.
    assert_eq!(reports, [common::reports::ASYNC_INTERRUPTED]);
    let mut close = pin!(stack.aclose());
    let result = loop {
        if let Poll::Ready(result) = poll_once(close.as_mut()) {
            break result;
        }
    };
    assert_eq!(
        result.unwrap_err().to_string(),
        "cleanup failed: the commit failed"
    );
    assert_eq!(*seen.borrow(), [Outcome::Error]);
}

/// A stack dropped after an interrupted `aclose`: the entries left run with
/// the outcome reached.
#[test]
fn a_stack_dropped_after_an_interrupted_aclose_keeps_its_outcome() {
    let seen = RefCell::new(Vec::new());
    let mut stack = AsyncExitStack::new();
    stack.push(|outcome| seen.borrow_mut().push(outcome));
    stack.push_async_callback(async || PendingOnce(false).await);
    stack.try_callback(|| Err("the commit failed"));
    let ((), reports) = common::reports::capture(|| {
        let close = pin!(stack.aclose());
        assert!(poll_once(close).is_pending());
    });
    // The entry in progress when `aclose` was cut: reported, once.
    assert_eq!(reports, [common::reports::ASYNC_INTERRUPTED]);
    let ((), reports) = common::reports::capture(|| drop(stack));
    assert_eq!(*seen.borrow(), [Outcome::Error]);
    assert_eq!(
        reports,
        [
            "exitstack: cleanup error discarded (AsyncExitStack dropped after an interrupted \
          aclose()): the commit failed"
        ]
    );
}

/// The hand-off of a dropped `SendAsyncExitStack<'static>` to its spawner,
/// without a runtime: the spawner queues the future, and the test polls it
/// (or drops it part-way, or moves it to another thread), so that Miri
/// checks every path of the hand-off.
mod hand_off {
    use std::sync::{Arc, Mutex};

    use super::common::reports::{ASYNC_DROPPED, ASYNC_INTERRUPTED, capture};
    use super::common::{PendingOnce, poll_once};
    use exitstack::{HandOff, Outcome, SendAsyncExitStack};

    type Log = Arc<Mutex<Vec<String>>>;
    type Queue = Arc<Mutex<Vec<HandOff>>>;

    fn queued() -> (SendAsyncExitStack<'static>, Queue) {
        let queue = Queue::default();
        let into = queue.clone();
        let stack =
            SendAsyncExitStack::with_spawner(move |cleanups| into.lock().unwrap().push(cleanups));
        (stack, queue)
    }

    fn one(queue: &Queue) -> HandOff {
        let mut queue = queue.lock().unwrap();
        assert_eq!(queue.len(), 1, "one future per dropped stack");
        queue.pop().unwrap()
    }

    /// `sync a, async b (waits once), sync c, async d, sync e`: `e` runs at
    /// the drop, then `d c b a` in the handed-off future.
    fn five(stack: &SendAsyncExitStack<'static>, log: &Log) {
        let l = log.clone();
        stack.push(move |outcome| l.lock().unwrap().push(format!("a {outcome:?}")));
        let l = log.clone();
        stack.push_async_exit(async move |outcome| {
            PendingOnce(false).await;
            l.lock().unwrap().push(format!("b {outcome:?}"));
        });
        let l = log.clone();
        stack.push(move |outcome| l.lock().unwrap().push(format!("c {outcome:?}")));
        let l = log.clone();
        stack
            .push_async_exit(async move |outcome| l.lock().unwrap().push(format!("d {outcome:?}")));
        let l = log.clone();
        stack.push(move |outcome| l.lock().unwrap().push(format!("e {outcome:?}")));
    }

    fn taken(log: &Log) -> Vec<String> {
        std::mem::take(&mut *log.lock().unwrap())
    }

    static MACRO_QUEUE: Mutex<Vec<HandOff>> = Mutex::new(Vec::new());

    #[exitstack::scope(spawn = |cleanups| MACRO_QUEUE.lock().unwrap().push(cleanups))]
    async fn cancelled(log: Log) -> Result<(), String> {
        let rollback = log.clone();
        exitstack::defer!(on_error: async move { rollback.lock().unwrap().push("rollback".into()) });
        exitstack::defer!(on_success: async move { log.lock().unwrap().push("commit".into()) });
        PendingOnce(false).await;
        Ok(())
    }

    /// `#[exitstack::scope(spawn = ..)] async fn` dropped part-way: its
    /// async cleanups go to the spawner and see `Error`.
    #[test]
    fn a_cancelled_scope_fn_hands_its_cleanups_over() {
        let log = Log::default();
        {
            let future = std::pin::pin!(cancelled(log.clone()));
            assert!(poll_once(future).is_pending());
        }
        let mut future = MACRO_QUEUE.lock().unwrap().pop().expect("handed off");
        assert!(poll_once(future.as_mut()).is_ready());
        assert_eq!(taken(&log), ["rollback"]);
    }

    #[test]
    fn polled_to_the_end_it_runs_every_entry_once_in_lifo_order() {
        let log = Log::default();
        let (stack, queue) = queued();
        five(&stack, &log);
        drop(stack);
        assert_eq!(taken(&log), ["e Error"]);
        let mut future = one(&queue);
        assert!(poll_once(future.as_mut()).is_pending(), "`b` waits once");
        assert_eq!(taken(&log), ["d Error", "c Error"]);
        assert!(poll_once(future.as_mut()).is_ready());
        assert_eq!(taken(&log), ["b Error", "a Error"]);
    }

    #[test]
    fn moved_to_another_thread_it_runs_there() {
        let log = Log::default();
        let (stack, queue) = queued();
        five(&stack, &log);
        drop(stack);
        let mut future = one(&queue);
        std::thread::spawn(move || while poll_once(future.as_mut()).is_pending() {})
            .join()
            .unwrap();
        assert_eq!(
            taken(&log),
            ["e Error", "d Error", "c Error", "b Error", "a Error"]
        );
    }

    #[test]
    fn dropped_unpolled_the_sync_entries_run_and_the_async_ones_are_reported() {
        let log = Log::default();
        let (stack, queue) = queued();
        five(&stack, &log);
        drop(stack);
        let ((), reports) = capture(|| drop(one(&queue)));
        assert_eq!(taken(&log), ["e Error", "c Error", "a Error"]);
        assert_eq!(reports, [ASYNC_DROPPED; 2]);
    }

    #[test]
    fn dropped_part_way_the_entry_in_progress_stops_and_the_rest_run_as_on_a_drop() {
        let log = Log::default();
        let (stack, queue) = queued();
        five(&stack, &log);
        drop(stack);
        let mut future = one(&queue);
        assert!(poll_once(future.as_mut()).is_pending());
        let ((), reports) = capture(|| drop(future));
        assert_eq!(taken(&log), ["e Error", "d Error", "c Error", "a Error"]);
        assert_eq!(reports, [ASYNC_INTERRUPTED]);
    }

    #[test]
    fn a_panicking_cleanup_does_not_stop_the_others_and_resumes_at_the_end() {
        super::common::quiet_panics();
        let log = Log::default();
        let (stack, queue) = queued();
        let l = log.clone();
        stack.push_async_exit(async move |outcome| {
            l.lock().unwrap().push(format!("last {outcome:?}"));
        });
        stack.push_async_callback(async || panic!("the cleanup panicked"));
        drop(stack);
        let mut future = one(&queue);
        let polled =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll_once(future.as_mut())));
        let payload = polled.expect_err("the panic resumes in the spawner's task");
        assert_eq!(
            payload.downcast_ref::<&str>(),
            Some(&"the cleanup panicked")
        );
        assert_eq!(taken(&log), ["last Panic"]);
        drop(future);
    }

    #[test]
    fn a_stack_dropped_while_a_panic_unwinds_hands_its_cleanups_over_seeing_panic() {
        super::common::quiet_panics();
        let log = Log::default();
        let (stack, queue) = queued();
        let l = log.clone();
        stack.push_async_exit(async move |outcome| l.lock().unwrap().push(format!("{outcome:?}")));
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _stack = stack;
            panic!("the body panicked");
        }));
        assert!(unwound.is_err());
        let mut future = one(&queue);
        assert!(poll_once(future.as_mut()).is_ready());
        assert_eq!(taken(&log), ["Panic"]);
    }

    #[test]
    fn a_panic_of_an_entry_run_at_the_drop_resumes_after_the_hand_off() {
        super::common::quiet_panics();
        let log = Log::default();
        let (stack, queue) = queued();
        let l = log.clone();
        stack.push_async_exit(async move |outcome| l.lock().unwrap().push(format!("{outcome:?}")));
        stack.callback(|| panic!("the newest entry panicked"));
        let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(stack)));
        assert!(dropped.is_err());
        // Handed off all the same, and the entries below see the panic.
        let mut future = one(&queue);
        assert!(poll_once(future.as_mut()).is_ready());
        assert_eq!(taken(&log), [format!("{:?}", Outcome::Panic)]);
    }
}
