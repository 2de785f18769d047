//! The cost of one cleanup, measured side by side in one run: a hand-written
//! `Drop` guard, `scopeguard`, this crate's guards and macros, `ExitStack`,
//! and `Vec<Box<dyn FnOnce()>>`. `scripts/bench-table.py` turns the medians
//! into the ratios in BENCHMARKS.md.
//!
//! Every cleanup does the same work: one increment of a black-boxed counter.

use std::cell::Cell;
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use exitstack::{ExitStack, cleanup, defer};

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

/// The stack workloads: `n` small cleanups (capturing one to three words)
/// registered, then run in LIFO order when the container is dropped.
fn stacks(c: &mut Criterion) {
    let counter = black_box(Cell::new(0));
    let counter = &counter;
    for n in [1_usize, 8, 1000] {
        let mut group = c.benchmark_group(format!("stack_{n}"));
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::new("hand_written", n), |b| match n {
            // One hand-written guard per cleanup, as a user would write them:
            // locals for a fixed count, a `Vec` (popped, to keep LIFO) for
            // a dynamic one.
            1 => b.iter(|| {
                let _guard = HandWritten(black_box(counter));
            }),
            8 => b.iter(|| {
                let _guards = [(); 8].map(|()| HandWritten(black_box(counter)));
            }),
            _ => b.iter(|| {
                let mut guards = Vec::with_capacity(n);
                for _ in 0..n {
                    guards.push(HandWritten(black_box(counter)));
                }
                while guards.pop().is_some() {}
            }),
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

criterion_group!(benches, guards, stacks, large);
criterion_main!(benches);
