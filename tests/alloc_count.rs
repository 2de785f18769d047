//! Heap allocations of `ExitStack`, counted by a global allocator. Counts are
//! per thread (tests run in parallel), and deterministic.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;

use exitstack::ExitStack;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the counter is a const-initialised
// thread-local `Cell` without a destructor, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded from the caller.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded from the caller.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap allocations (and reallocations) made on this thread by `f`.
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

/// Registers `n` callbacks that capture three words each, then closes.
fn register_and_run(n: usize) -> usize {
    let (a, b, c) = (Cell::new(0_usize), Cell::new(0_usize), Cell::new(0_usize));
    let count = allocations(|| {
        let mut stack = ExitStack::new();
        for _ in 0..n {
            let (a, b, c) = (&a, &b, &c);
            stack.callback(move || {
                a.set(a.get() + 1);
                b.set(b.get() + 1);
                c.set(c.get() + 1);
            });
        }
        stack.close().unwrap();
    });
    assert_eq!(a.get() + b.get() + c.get(), 3 * n, "every callback ran");
    count
}

#[test]
fn eight_small_callbacks_make_no_heap_allocation() {
    assert_eq!(register_and_run(8), 0);
}

#[test]
fn a_thousand_small_callbacks_make_at_most_twenty_allocations() {
    let count = register_and_run(1000);
    // 7 chunks (8, 16, ..., 512 slots) and 2 growths of the chunk list.
    assert!(count <= 20, "{count} allocations");
    assert_eq!(count, 9);
}

#[test]
fn reusing_a_stack_after_close_allocates_nothing_more() {
    let (a, b) = (Cell::new(0), Cell::new(0));
    let mut stack = ExitStack::new();
    for _ in 0..100 {
        stack.callback(|| a.set(a.get() + 1));
    }
    stack.close().unwrap();
    let count = allocations(|| {
        for _ in 0..100 {
            stack.callback(|| b.set(b.get() + 1));
        }
        stack.close().unwrap();
    });
    assert_eq!((count, b.get()), (0, 100));
}

#[test]
fn enter_context_of_small_values_does_not_allocate_per_entry() {
    let count = allocations(|| {
        let stack = ExitStack::new();
        for i in 0..8_u64 {
            let value = stack.enter_context([i; 3]);
            value[0] += 1;
        }
        drop(black_box(stack));
    });
    assert_eq!(count, 0);
}

#[test]
fn push_and_try_callback_of_small_closures_do_not_allocate() {
    let seen = Cell::new(0);
    let count = allocations(|| {
        let mut stack = ExitStack::new();
        stack.push(|_| seen.set(seen.get() + 1));
        stack.try_callback(|| {
            seen.set(seen.get() + 1);
            Ok::<(), std::io::Error>(())
        });
        stack.close().unwrap();
    });
    assert_eq!((count, seen.get()), (0, 2));
}

#[test]
fn a_closure_larger_than_three_words_is_boxed_once() {
    let big = [1_u64; 8];
    let count = allocations(|| {
        let stack = ExitStack::new();
        stack.callback(move || {
            black_box(big);
        });
    });
    assert_eq!(count, 1);
}

/// Value guards live in the local that holds them: made, used through
/// `DerefMut`, run, defused or disarmed, they never touch the heap.
#[test]
fn value_guards_never_allocate() {
    let sum = Cell::new(0_u64);
    let count = allocations(|| {
        let watch = exitstack::ErrorWatch::new();
        {
            let mut a = exitstack::guard([1_u64; 4], |a| sum.set(sum.get() + a[0]));
            a[0] += 1;
            let mut b = exitstack::guard_on_success(10_u64, |b| sum.set(sum.get() + b));
            *b += 1;
            let _c = exitstack::guard_on_unwind(100_u64, |c| sum.set(sum.get() + c));
            let _d = exitstack::guard_on_error(&watch, 1000_u64, |d| sum.set(sum.get() + d));
            let _e = exitstack::guard_with_outcome(0_u64, |_, _| sum.set(sum.get() + 1));
            let f = exitstack::guard(5_u64, |_| sum.set(0));
            black_box(exitstack::ScopeGuard::into_inner(f));
            let g = 7_u64;
            exitstack::defer!(g => sum.set(sum.get() + g));
            *g += 1;
            watch.mark_error();
        }
    });
    assert_eq!(count, 0);
    assert_eq!(sum.get(), 2 + 11 + 1000 + 1 + 8);
}

/// Polls a future to completion with a no-op waker; the futures below never
/// wait, and `block_on` itself allocates nothing.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

/// Registers `n` async callbacks whose futures capture one reference (16
/// bytes: the reference and the state), then `aclose`s: the allocations of
/// the whole stack, registration and awaiting.
fn register_and_aclose(n: usize) -> usize {
    let seen = Cell::new(0_usize);
    let count = allocations(|| {
        block_on(async {
            let mut stack = exitstack::AsyncExitStack::new();
            for _ in 0..n {
                let seen = &seen;
                stack.push_async_callback(async move || seen.set(seen.get() + 1));
            }
            stack.aclose().await.unwrap();
        });
    });
    assert_eq!(seen.get(), n, "every callback ran");
    count
}

/// `aclose` awaits a small future (at most eight words, aligned to at most
/// a word) in place, in its own state: no allocation per async cleanup.
#[test]
fn eight_small_async_callbacks_make_no_heap_allocation() {
    assert_eq!(register_and_aclose(8), 0);
}

/// Beyond the inline slots, only the slot chunks allocate (as for the
/// synchronous callbacks): far below one allocation per entry.
#[test]
fn a_thousand_small_async_callbacks_allocate_only_slot_chunks() {
    assert_eq!(register_and_aclose(1000), register_and_run(1000));
    assert_eq!(register_and_aclose(1000), 9);
}

/// Every kind of async entry with a small future awaits it in place.
#[test]
fn small_async_exits_and_fallible_callbacks_do_not_allocate() {
    let seen = Cell::new(0);
    let count = allocations(|| {
        block_on(async {
            let mut stack = exitstack::AsyncExitStack::new();
            let seen = &seen;
            stack.push_async_exit(async move |_| seen.set(seen.get() + 1));
            stack.try_push_async_callback(async move || {
                seen.set(seen.get() + 1);
                Ok::<(), std::io::Error>(())
            });
            stack.try_push_async_exit(async move |_| {
                seen.set(seen.get() + 1);
                Ok::<(), std::io::Error>(())
            });
            stack.aclose().await.unwrap();
        });
    });
    assert_eq!((count, seen.get()), (0, 3));
}

/// A future larger than the slot (here 80 bytes held across an `.await`) is
/// boxed: one allocation for it.
#[test]
fn an_async_callback_future_larger_than_eight_words_is_boxed_once() {
    let seen = Cell::new(0_u64);
    let count = allocations(|| {
        block_on(async {
            let mut stack = exitstack::AsyncExitStack::new();
            let seen = &seen;
            stack.push_async_callback(async move || {
                let big = black_box([1_u64; 10]);
                std::future::ready(()).await;
                seen.set(seen.get() + big[9]);
            });
            stack.aclose().await.unwrap();
        });
    });
    assert_eq!((count, seen.get()), (1, 1));
}

/// A spawner costs a stack two allocations when it is given (the box the
/// stack keeps it in, and its `Arc`), and nothing per entry; closed by
/// `aclose`, nothing is handed off.
#[test]
fn a_spawner_costs_two_allocations_and_none_per_entry() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static SEEN: AtomicUsize = AtomicUsize::new(0);
    let count = allocations(|| {
        block_on(async {
            let mut stack = exitstack::SendAsyncExitStack::with_spawner(drop);
            for _ in 0..8 {
                stack.push_async_callback(async || {
                    SEEN.fetch_add(1, Ordering::Relaxed);
                });
            }
            stack.aclose().await.unwrap();
        });
    });
    assert_eq!(SEEN.load(Ordering::Relaxed), 8);
    assert_eq!(count, 2);
}
