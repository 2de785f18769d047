//! The entry storage: in-place and boxed payloads, chunks, keys across
//! slot reuse, and moves by `pop_all`. Run under Miri by `scripts/miri.sh`.
//!
//! Every stack type shares the storage; each test runs against all four
//! (`exit_stack::name`, `async_exit_stack::name`, ...), see
//! `common::harness`.

mod common;

use common::harness::{AnyStack, DropCounter, Log, StackOps, SyncCell, on_every_stack};
use common::{panic_message, quiet_panics};
use exitstack::{CancelError, Outcome};

on_every_stack! {
    stale_key_does_not_cancel_the_new_entry_that_reuses_its_slot,
    stale_key_after_cancel_all_is_not_pending,
    large_and_over_aligned_and_zero_sized_entries_run_in_order,
    contexts_in_inline_slots_and_in_chunks_stay_put_while_the_stack_grows,
    pop_all_moves_inline_and_chunked_entries_keeping_order_and_keys,
    cancel_in_a_chunk_and_len_accounting,
    entries_after_a_panicking_one_see_outcome_panic,
    reuse_after_many_cycles_does_not_leak_or_grow,
}

fn stale_key_does_not_cancel_the_new_entry_that_reuses_its_slot<S: AnyStack>() {
    let log = Log::new();
    let mut stack = S::new();
    let old = stack.callback(|| log.push("old"));
    stack.close().unwrap();
    stack.callback(|| log.push("new")); // same slot as `old`
    assert_eq!(stack.cancel(&old), Err(CancelError::NotPending));
    stack.close().unwrap();
    assert_eq!(log.entries(), ["old", "new"]);
}

fn stale_key_after_cancel_all_is_not_pending<S: AnyStack>() {
    let mut stack = S::new();
    let old = stack.callback(|| ());
    stack.cancel_all();
    let ran = SyncCell::new(false);
    stack.callback(|| ran.set(true));
    assert_eq!(stack.cancel(&old), Err(CancelError::NotPending));
    drop(stack);
    assert!(ran.get());
}

fn large_and_over_aligned_and_zero_sized_entries_run_in_order<S: AnyStack>() {
    #[repr(align(64))]
    struct Aligned(u8);
    fn zero_sized() {}
    let log = Log::new();
    {
        let stack = S::new();
        let big = [7_u64; 16]; // 128 bytes: boxed
        stack.callback(move || assert_eq!(big.iter().sum::<u64>(), 112));
        let aligned = Aligned(3);
        stack.callback(move || assert_eq!(aligned.0, 3));
        stack.callback(|| log.push("small"));
        stack.callback(zero_sized);
        let value = stack.enter_context([1_u8; 100]);
        value[99] = 2;
        let aligned_value = stack.enter_context(Aligned(9));
        assert_eq!(std::ptr::from_mut(aligned_value).addr() % 64, 0);
        stack.callback(|| log.push("last"));
    }
    assert_eq!(log.entries(), ["last", "small"]);
}

fn contexts_in_inline_slots_and_in_chunks_stay_put_while_the_stack_grows<S: AnyStack>() {
    let stack = S::new();
    let mut values = Vec::new();
    for i in 0..300_u32 {
        values.push(stack.enter_context(i));
        stack.callback(|| ());
    }
    for (i, value) in values.iter_mut().enumerate() {
        assert_eq!(**value as usize, i);
        **value += 1;
    }
    assert_eq!(*values[299], 300);
}

fn pop_all_moves_inline_and_chunked_entries_keeping_order_and_keys<S: AnyStack>() {
    let log = Log::new();
    let drops = DropCounter::default();
    let mut stack = S::new();
    let mut keys = Vec::new();
    for i in 0..40 {
        let token = drops.token();
        let log = &log;
        keys.push(stack.callback(move || {
            let _token = token;
            log.push(i);
        }));
    }
    let mut moved = stack.pop_all();
    // Cancel one inline and one chunked entry on the new stack.
    let key_35 = keys.swap_remove(35);
    let key_2 = keys.swap_remove(2);
    moved.cancel(&key_35).unwrap();
    moved.cancel(&key_2).unwrap();
    assert_eq!(moved.len(), 38);
    assert_eq!(drops.drops(), 2);
    // The emptied stack keeps working.
    stack.callback(|| log.push(100));
    stack.close().unwrap();
    moved.close().unwrap();
    let mut want: Vec<i32> = (0..40).rev().filter(|i| *i != 35 && *i != 2).collect();
    want.insert(0, 100);
    assert_eq!(log.entries(), want);
    assert_eq!(drops.drops(), 40);
}

fn cancel_in_a_chunk_and_len_accounting<S: AnyStack>() {
    let stack = S::new();
    let keys: Vec<_> = (0..100).map(|_| stack.callback(|| ())).collect();
    assert_eq!(stack.len(), 100);
    for key in keys.into_iter().skip(50) {
        stack.cancel(&key).unwrap();
    }
    assert_eq!(stack.len(), 50);
}

fn entries_after_a_panicking_one_see_outcome_panic<S: AnyStack>() {
    quiet_panics();
    let seen = Log::new();
    let mut stack = S::new();
    stack.push(|outcome| seen.push(outcome));
    stack.callback(|| panic!("cleanup panicked"));
    stack.push(|outcome| seen.push(outcome));
    assert_eq!(panic_message(|| drop(stack.close())), "cleanup panicked");
    assert_eq!(seen.entries(), [Outcome::Success, Outcome::Panic]);
}

fn reuse_after_many_cycles_does_not_leak_or_grow<S: AnyStack>() {
    let count = SyncCell::new(0);
    let mut stack = S::new();
    for _ in 0..50 {
        for _ in 0..20 {
            stack.callback(|| count.add_one());
        }
        stack.close().unwrap();
    }
    assert_eq!(count.get(), 1000);
}
