//! The cost of one cleanup, measured side by side in one run: a hand-written
//! `Drop` guard, `scopeguard`, this crate's guards and macros; `ExitStack`
//! against a typed `Vec` of hand-written guards and `Vec<Box<dyn
//! FnOnce()>>`; `AsyncExitStack` against `Vec<Pin<Box<dyn Future<Output =
//! ()>>>>`; and the scale workloads (100,000 entries, 1,000 stacks alive at
//! once). `scripts/bench-table.py` turns the medians into ratios. The
//! interleaved rounds of BENCHMARKS.md are `benches/instructions.rs`'s
//! `rounds` mode, on the same forms.
//!
//! Every cleanup does the same work: one increment of a black-boxed counter.

use std::cell::Cell;
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use exitstack::{AsyncExitStack, ExitStack, cleanup, defer};

/// The baseline: the guard a careful user writes by hand.
struct HandWritten<'c>(&'c Cell<u64>);

impl Drop for HandWritten<'_> {
    #[inline]
    fn drop(&mut self) {
        bump(self.0);
    }
}

#[inline]
fn bump(counter: &Cell<u64>) {
    counter.set(counter.get() + 1);
}

fn guards(c: &mut Criterion) {
    let counter = black_box(Cell::new(0));
    let counter = &counter;
    let mut group = c.benchmark_group("guard");
    group.throughput(Throughput::Elements(1));
    group.bench_function("hand_written", |b| {
        b.iter(|| {
            let _guard = HandWritten(black_box(counter));
        });
    });
    group.bench_function("scopeguard_defer", |b| {
        b.iter(|| {
            let counter = black_box(counter);
            scopeguard::defer! { bump(counter) }
        });
    });
    group.bench_function("exitstack_Defer", |b| {
        b.iter(|| {
            let counter = black_box(counter);
            let _guard = exitstack::Defer::new(|| bump(counter));
        });
    });
    group.bench_function("defer_macro", |b| {
        b.iter(|| {
            let counter = black_box(counter);
            defer!(bump(counter));
        });
    });
    group.bench_function("cleanup_attribute", |b| {
        b.iter(|| {
            let counter = black_box(counter);
            #[cleanup]
            fn release() {
                bump(counter);
            }
        });
    });
    group.bench_function("cleanup_macro", |b| {
        b.iter(|| in_scope(black_box(counter)));
    });
    group.bench_function("scopeguard_guard", |b| {
        b.iter(|| {
            let _guard = scopeguard::guard(black_box(counter), bump);
        });
    });
    group.bench_function("exitstack_guard", |b| {
        b.iter(|| {
            let _guard = exitstack::guard(black_box(counter), bump);
        });
    });
    group.bench_function("defer_value_macro", |b| {
        b.iter(|| {
            let counter = black_box(counter);
            defer!(counter => bump(counter));
        });
    });
    group.bench_function("scopeguard_guard_on_success", |b| {
        b.iter(|| {
            let _guard = scopeguard::guard_on_success(black_box(counter), bump);
        });
    });
    group.bench_function("exitstack_guard_on_success", |b| {
        b.iter(|| {
            let _guard = exitstack::guard_on_success(black_box(counter), bump);
        });
    });
    group.finish();
}

/// `cleanup!` exists only in `#[exitstack::scope]` functions.
#[inline]
#[exitstack::scope]
fn in_scope(counter: &Cell<u64>) {
    let _guard = cleanup!(bump(counter));
}

/// The typed baseline of the stacks: one guard type holding one closure
/// type, in a `Vec::new()`, popped in reverse (LIFO).
struct Guard<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> Drop for Guard<F> {
    #[inline]
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

/// The stack workloads: `n` small cleanups (each captures one reference)
/// registered, then run in LIFO order when the container is dropped.
fn stacks(c: &mut Criterion) {
    let counter = black_box(Cell::new(0));
    let counter = &counter;
    for n in [1_usize, 8, 1000, 100_000] {
        let mut group = c.benchmark_group(format!("stack_{n}"));
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::new("vec_guards", n), |b| {
            b.iter(|| {
                let mut guards = Vec::new();
                for _ in 0..n {
                    let counter = black_box(counter);
                    guards.push(Guard(Some(move || bump(counter))));
                }
                while let Some(guard) = guards.pop() {
                    drop(guard);
                }
            });
        });
        group.bench_function(BenchmarkId::new("exitstack", n), |b| {
            b.iter(|| {
                let stack = ExitStack::new();
                for _ in 0..n {
                    let counter = black_box(counter);
                    stack.callback(move || bump(counter));
                }
            });
        });
        group.bench_function(BenchmarkId::new("vec_box_dyn", n), |b| {
            b.iter(|| {
                let mut stack: Vec<Box<dyn FnOnce()>> = Vec::new();
                for _ in 0..n {
                    let counter = black_box(counter);
                    stack.push(Box::new(move || bump(counter)));
                }
                while let Some(cleanup) = stack.pop() {
                    cleanup();
                }
            });
        });
        group.finish();
    }
}

/// 1,000 stacks alive at once, 100 entries each, registered round-robin:
/// the cost per cleanup beside one stack of as many entries (`stack_100000`).
fn many_stacks(c: &mut Criterion) {
    let counter = black_box(Cell::new(0));
    let counter = &counter;
    let mut group = c.benchmark_group("many_stacks_1000x100");
    group.throughput(Throughput::Elements(100_000));
    group.bench_function("exitstack", |b| {
        b.iter(|| {
            let stacks: Vec<ExitStack<'_>> = (0..1000).map(|_| ExitStack::new()).collect();
            for i in 0..100_000 {
                let counter = black_box(counter);
                stacks[i % 1000].callback(move || bump(counter));
            }
            drop(black_box(stacks));
        });
    });
    group.finish();
}

/// Polls a future to completion with a no-op waker (the small async
/// callbacks below never wait).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

/// 8 small async callbacks registered and awaited.
fn async_stacks(c: &mut Criterion) {
    let counter = black_box(Cell::new(0));
    let counter = &counter;
    let n = 8;
    let mut group = c.benchmark_group("async_8");
    group.throughput(Throughput::Elements(n));
    group.bench_function("async_exitstack", |b| {
        b.iter(|| {
            block_on(async {
                let mut stack = AsyncExitStack::new();
                for _ in 0..n {
                    let counter = black_box(counter);
                    stack.push_async_callback(async move || bump(counter));
                }
                stack.aclose().await.unwrap();
            });
        });
    });
    group.bench_function("vec_pin_box_future", |b| {
        b.iter(|| {
            block_on(async {
                let mut cleanups: Vec<Pin<Box<dyn Future<Output = ()> + '_>>> = Vec::new();
                for _ in 0..n {
                    let counter = black_box(counter);
                    cleanups.push(Box::pin(async move { bump(counter) }));
                }
                while let Some(cleanup) = cleanups.pop() {
                    cleanup.await;
                }
            });
        });
    });
    group.finish();
}

/// Closures that capture more than 64 bytes: boxed by both stacks.
fn large(c: &mut Criterion) {
    let counter = black_box(Cell::new(0));
    let counter = &counter;
    let n = 8;
    let mut group = c.benchmark_group("large_8");
    group.throughput(Throughput::Elements(n));
    group.bench_function("exitstack", |b| {
        b.iter(|| {
            let stack = ExitStack::new();
            for _ in 0..n {
                let payload = black_box([1_u64; 10]);
                stack.callback(move || counter.set(counter.get() + payload[9]));
            }
        });
    });
    group.bench_function("vec_box_dyn", |b| {
        b.iter(|| {
            let mut stack: Vec<Box<dyn FnOnce()>> = Vec::new();
            for _ in 0..n {
                let payload = black_box([1_u64; 10]);
                stack.push(Box::new(move || counter.set(counter.get() + payload[9])));
            }
            while let Some(cleanup) = stack.pop() {
                cleanup();
            }
        });
    });
    group.finish();
}

criterion_group!(benches, guards, stacks, many_stacks, async_stacks, large);
criterion_main!(benches);
