//! One `#[inline(never)]` function per way of writing the same cleanup.
//! `scripts/instructions.sh` runs this program once per form under
//! `valgrind --tool=callgrind` and subtracts the run of an empty function:
//! the difference, divided by the number of calls, is the exact cost of the
//! form in instructions (unlike time, it does not depend on what else the
//! machine is doing).
//!
//! The stack forms (`stack_*`, `vec_*`, `async_*`, `scale_*`) register and
//! run `n` cleanups per call; the script divides by the number of cleanups.
//! Their calls are fewer (`calls_for`), so that every form runs about as many
//! cleanups; the empty run subtracted is one of the same number of calls.
//!
//! `cargo bench --bench instructions` runs every form once, as a smoke test;
//! `instructions FORM [CALLS]` runs one form `CALLS` times (the script's way).

use std::cell::Cell;
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use exitstack::{AsyncExitStack, ExitStack, cleanup, defer};

const CALLS: u64 = 100_000;

#[inline]
fn bump(counter: &Cell<u64>) {
    counter.set(counter.get() + 1);
}

struct HandWritten<'c>(&'c Cell<u64>);

impl Drop for HandWritten<'_> {
    #[inline]
    fn drop(&mut self) {
        bump(self.0);
    }
}

#[inline(never)]
fn form_hand_written(counter: &Cell<u64>) {
    let _guard = HandWritten(counter);
}

#[inline(never)]
fn form_scopeguard_defer(counter: &Cell<u64>) {
    scopeguard::defer! { bump(counter) }
}

#[inline(never)]
fn form_defer_macro(counter: &Cell<u64>) {
    defer!(bump(counter));
}

/// A value guard: the counter is the guarded value, as `HandWritten` holds
/// it.
#[inline(never)]
fn form_scopeguard_guard(counter: &Cell<u64>) {
    let _guard = scopeguard::guard(counter, bump);
}

#[inline(never)]
fn form_value_guard(counter: &Cell<u64>) {
    let _guard = exitstack::guard(counter, bump);
}

#[inline(never)]
fn form_defer_value_macro(counter: &Cell<u64>) {
    defer!(counter => bump(counter));
}

#[inline(never)]
fn form_scopeguard_guard_on_success(counter: &Cell<u64>) {
    let _guard = scopeguard::guard_on_success(counter, bump);
}

/// Reads the panic state when made and when dropped (scopeguard#43);
/// scopeguard's reads it once, when dropped.
#[inline(never)]
fn form_value_guard_on_success(counter: &Cell<u64>) {
    let _guard = exitstack::guard_on_success(counter, bump);
}

#[inline(never)]
fn form_cleanup_attribute(counter: &Cell<u64>) {
    #[cleanup]
    fn release() {
        bump(counter);
    }
}

#[inline(never)]
#[exitstack::scope]
fn form_cleanup_macro(counter: &Cell<u64>) {
    let _guard = cleanup!(bump(counter));
}

/// Zig's `errdefer` by hand: a flag cleared on the success path.
#[inline(never)]
fn form_errdefer_hand_written(counter: &Cell<u64>, fail: bool) -> Result<(), ()> {
    struct OnError<'c> {
        counter: &'c Cell<u64>,
        armed: bool,
    }
    impl Drop for OnError<'_> {
        #[inline]
        fn drop(&mut self) {
            if self.armed {
                bump(self.counter);
            }
        }
    }
    let mut guard = OnError {
        counter,
        armed: true,
    };
    if fail {
        return Err(());
    }
    guard.armed = false;
    Ok(())
}

#[inline(never)]
#[exitstack::scope]
fn form_errdefer_scope(counter: &Cell<u64>, fail: bool) -> Result<(), ()> {
    defer!(on_error: bump(counter));
    if fail {
        return Err(());
    }
    Ok(())
}

#[inline(never)]
fn form_empty(_: &Cell<u64>) {}

/// The typed baseline of the stacks: one guard type holding one closure type,
/// in a `Vec::new()`, popped in reverse (LIFO) — what a user writes for a
/// dynamic number of cleanups of one kind.
struct Guard<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> Drop for Guard<F> {
    #[inline]
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

#[inline(never)]
fn stack_exitstack(counter: &Cell<u64>, n: usize) {
    let stack = ExitStack::new();
    for _ in 0..n {
        let counter = black_box(counter);
        stack.callback(move || bump(counter));
    }
}

#[inline(never)]
fn stack_vec_guards(counter: &Cell<u64>, n: usize) {
    let mut guards = Vec::new();
    for _ in 0..n {
        let counter = black_box(counter);
        guards.push(Guard(Some(move || bump(counter))));
    }
    while let Some(guard) = guards.pop() {
        drop(guard);
    }
}

#[inline(never)]
fn stack_vec_box_dyn(counter: &Cell<u64>, n: usize) {
    let mut cleanups: Vec<Box<dyn FnOnce() + '_>> = Vec::new();
    for _ in 0..n {
        let counter = black_box(counter);
        cleanups.push(Box::new(move || bump(counter)));
    }
    while let Some(cleanup) = cleanups.pop() {
        cleanup();
    }
}

/// `pop_all` of a stack of `n`, then the moved stack closed.
#[inline(never)]
fn stack_pop_all(counter: &Cell<u64>, n: usize) {
    let mut stack = ExitStack::new();
    for _ in 0..n {
        let counter = black_box(counter);
        stack.callback(move || bump(counter));
    }
    let moved = black_box(stack.pop_all());
    drop(moved);
}

/// Registration and `cancel` of every other entry, then the drain.
#[inline(never)]
fn stack_cancel(counter: &Cell<u64>, n: usize) {
    let stack = ExitStack::new();
    for i in 0..n {
        let counter = black_box(counter);
        let key = stack.callback(move || bump(counter));
        if i % 2 == 1 {
            stack.cancel(&key).unwrap();
            bump(counter);
        }
    }
}

/// 1,000 stacks alive at once, `n / 1000` entries each, dropped together.
#[inline(never)]
fn scale_many_stacks(counter: &Cell<u64>, n: usize) {
    let stacks: Vec<ExitStack<'_>> = (0..1000).map(|_| ExitStack::new()).collect();
    for i in 0..n {
        let counter = black_box(counter);
        stacks[i % 1000].callback(move || bump(counter));
    }
    drop(black_box(stacks));
}

/// Polls a future to completion with a no-op waker (the small async
/// callbacks below never wait).
#[inline]
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

#[inline(never)]
fn async_exitstack(counter: &Cell<u64>, n: usize) {
    block_on(async {
        let mut stack = AsyncExitStack::new();
        for _ in 0..n {
            let counter = black_box(counter);
            stack.push_async_callback(async move || bump(counter));
        }
        stack.aclose().await.unwrap();
    });
}

#[inline(never)]
fn async_vec_pin_box(counter: &Cell<u64>, n: usize) {
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
}

/// The stack forms: a function of `n` and the `n`s it is measured at.
type StackForm = fn(&Cell<u64>, usize);

const STACK_FORMS: &[(&str, StackForm, &[usize])] = &[
    ("stack_exitstack", stack_exitstack, &[1, 8, 1000, 100_000]),
    ("stack_vec_guards", stack_vec_guards, &[1, 8, 1000, 100_000]),
    ("stack_vec_box_dyn", stack_vec_box_dyn, &[1, 8, 1000]),
    ("stack_pop_all", stack_pop_all, &[1, 8, 1000]),
    ("stack_cancel", stack_cancel, &[8, 1000, 100_000]),
    (
        "scale_many_stacks",
        scale_many_stacks,
        &[1000, 8000, 100_000],
    ),
    ("async_exitstack", async_exitstack, &[1, 8, 1000]),
    ("async_vec_pin_box", async_vec_pin_box, &[1, 8, 1000]),
];

/// Calls of a stack form of `n` entries: about `CALLS` cleanups in all.
fn calls_for(n: usize) -> u64 {
    (CALLS / n as u64).max(10)
}

/// Calls one form; the `bool` makes the errdefer forms fail.
type Form = fn(&Cell<u64>, bool);

/// The forms, by name. The errdefer forms fail on every other call.
const FORMS: &[(&str, Form)] = &[
    ("empty", |c, _| form_empty(c)),
    // The errdefer forms return a value, kept alive by `black_box`: their
    // baseline is this.
    ("empty_returning", |c, _| {
        form_empty(c);
        let _ = black_box(Ok::<(), ()>(()));
    }),
    ("hand_written", |c, _| form_hand_written(c)),
    ("scopeguard_defer", |c, _| form_scopeguard_defer(c)),
    ("defer_macro", |c, _| form_defer_macro(c)),
    ("scopeguard_guard", |c, _| form_scopeguard_guard(c)),
    ("value_guard", |c, _| form_value_guard(c)),
    ("defer_value_macro", |c, _| form_defer_value_macro(c)),
    ("scopeguard_guard_on_success", |c, _| {
        form_scopeguard_guard_on_success(c);
    }),
    ("value_guard_on_success", |c, _| {
        form_value_guard_on_success(c);
    }),
    ("cleanup_attribute", |c, _| form_cleanup_attribute(c)),
    ("cleanup_macro", |c, _| form_cleanup_macro(c)),
    ("errdefer_hand_written", |c, fail| {
        let _ = black_box(form_errdefer_hand_written(c, fail));
    }),
    ("errdefer_scope", |c, fail| {
        let _ = black_box(form_errdefer_scope(c, fail));
    }),
];

/// One timed form of the interleaved rounds: a name and a run of `n`
/// cleanups.
struct Timed {
    name: &'static str,
    n: usize,
    run: fn(&Cell<u64>, usize),
}

fn guard_hand_written(counter: &Cell<u64>, n: usize) {
    for _ in 0..n {
        form_hand_written(black_box(counter));
    }
}

fn guard_defer_macro(counter: &Cell<u64>, n: usize) {
    for _ in 0..n {
        form_defer_macro(black_box(counter));
    }
}

fn guard_value_guard(counter: &Cell<u64>, n: usize) {
    for _ in 0..n {
        form_value_guard(black_box(counter));
    }
}

const fn timed(name: &'static str, n: usize, run: fn(&Cell<u64>, usize)) -> Timed {
    Timed { name, n, run }
}

const GUARDS: &str = "typed Vec of hand-written guards";
const BOXED: &str = "Vec<Box<dyn FnOnce()>>";
const PINNED: &str = "Vec<Pin<Box<dyn Future<Output = ()>>>>";

/// The comparisons of BENCHMARKS.md: (form, baseline).
const COMPARISONS: &[(Timed, Timed)] = &[
    (
        timed("ExitStack", 1, stack_exitstack),
        timed(GUARDS, 1, stack_vec_guards),
    ),
    (
        timed("ExitStack", 8, stack_exitstack),
        timed(GUARDS, 8, stack_vec_guards),
    ),
    (
        timed("ExitStack", 1000, stack_exitstack),
        timed(GUARDS, 1000, stack_vec_guards),
    ),
    (
        timed("ExitStack", 100_000, stack_exitstack),
        timed(GUARDS, 100_000, stack_vec_guards),
    ),
    (
        timed("ExitStack", 1, stack_exitstack),
        timed(BOXED, 1, stack_vec_box_dyn),
    ),
    (
        timed("ExitStack", 8, stack_exitstack),
        timed(BOXED, 8, stack_vec_box_dyn),
    ),
    (
        timed("ExitStack", 1000, stack_exitstack),
        timed(BOXED, 1000, stack_vec_box_dyn),
    ),
    (
        timed("AsyncExitStack", 8, async_exitstack),
        timed(PINNED, 8, async_vec_pin_box),
    ),
    (
        timed("AsyncExitStack", 1000, async_exitstack),
        timed(PINNED, 1000, async_vec_pin_box),
    ),
    (
        timed("defer!", 1000, guard_defer_macro),
        timed("hand-written Drop guard", 1000, guard_hand_written),
    ),
    (
        timed("exitstack::guard", 1000, guard_value_guard),
        timed("hand-written Drop guard", 1000, guard_hand_written),
    ),
    (
        timed(
            "1,000 ExitStacks alive, 100 entries each",
            100_000,
            scale_many_stacks,
        ),
        timed("ExitStack", 100_000, stack_exitstack),
    ),
    (
        timed(
            "ExitStack, every other entry cancelled",
            100_000,
            stack_cancel,
        ),
        timed("ExitStack", 100_000, stack_exitstack),
    ),
    (
        timed("ExitStack, pop_all, then dropped", 1000, stack_pop_all),
        timed("ExitStack", 1000, stack_exitstack),
    ),
];

/// Rounds of the interleaved comparison (the median is reported).
const ROUNDS: usize = 21;

/// Nanoseconds per cleanup of `form`, run `reps` times.
fn time_per_cleanup(form: &Timed, reps: u64) -> f64 {
    let counter = Cell::new(0);
    let start = std::time::Instant::now();
    for _ in 0..reps {
        (form.run)(black_box(&counter), black_box(form.n));
    }
    let elapsed = start.elapsed();
    assert_eq!(counter.get(), reps * form.n as u64, "{}", form.name);
    #[allow(clippy::cast_precision_loss, reason = "far below 2^52")]
    let cleanups = (reps * form.n as u64) as f64;
    elapsed.as_secs_f64() * 1e9 / cleanups
}

/// Repetitions that make one measurement of `form` last about 2 ms.
fn calibrate(form: &Timed) -> u64 {
    let mut reps = 1;
    loop {
        let start = std::time::Instant::now();
        let counter = Cell::new(0);
        for _ in 0..reps {
            (form.run)(black_box(&counter), black_box(form.n));
        }
        if start.elapsed() >= std::time::Duration::from_millis(2) {
            return reps;
        }
        reps *= 2;
    }
}

fn median(values: &[f64]) -> f64 {
    let mut values = values.to_vec();
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// `ROUNDS` rounds; in each, every comparison measures its form and its
/// baseline back to back (in alternating order), so that both see the same
/// machine. A row reports the median of its per-round ratios, with the
/// lowest and highest.
fn rounds() {
    let reps: Vec<(u64, u64)> = COMPARISONS
        .iter()
        .map(|(form, base)| (calibrate(form), calibrate(base)))
        .collect();
    let mut ratios = vec![Vec::new(); COMPARISONS.len()];
    let mut times = vec![(Vec::new(), Vec::new()); COMPARISONS.len()];
    for round in 0..ROUNDS {
        for (i, (form, base)) in COMPARISONS.iter().enumerate() {
            let (a, b) = if round % 2 == 0 {
                let a = time_per_cleanup(form, reps[i].0);
                (a, time_per_cleanup(base, reps[i].1))
            } else {
                let b = time_per_cleanup(base, reps[i].1);
                (time_per_cleanup(form, reps[i].0), b)
            };
            ratios[i].push(b / a);
            times[i].0.push(a);
            times[i].1.push(b);
        }
    }
    println!(
        "| form | n | baseline | ns per cleanup, form / baseline (medians) \
         | baseline ÷ form, median of {ROUNDS} rounds (min–max) |"
    );
    println!("|---|---|---|---|---|");
    for (i, (form, base)) in COMPARISONS.iter().enumerate() {
        let low = ratios[i].iter().copied().fold(f64::INFINITY, f64::min);
        let high = ratios[i].iter().copied().fold(0.0, f64::max);
        println!(
            "| {} | {} | {} | {:.2} / {:.2} | {:.2}× ({:.2}–{:.2}) |",
            form.name,
            form.n,
            base.name,
            median(&times[i].0),
            median(&times[i].1),
            median(&ratios[i]),
            low,
            high,
        );
    }
}

fn main() {
    // `cargo bench` adds flags (`--bench`): only the other arguments count.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if args.first().is_some_and(|a| a == "rounds") {
        rounds();
        return;
    }
    let selected = args.first().cloned();
    let calls_arg = args.get(1).map(|c| c.parse::<u64>().expect("CALLS"));

    // `stack_exitstack/8`: a stack form and its `n`.
    if let Some((name, n)) = selected.as_deref().and_then(|s| s.split_once('/')) {
        let n: usize = n.parse().expect("n");
        let &(_, form, _) = STACK_FORMS
            .iter()
            .find(|(f, _, _)| *f == name)
            .expect("a stack form");
        let counter = Cell::new(0);
        let calls = calls_arg.unwrap_or_else(|| calls_for(n));
        for _ in 0..calls {
            form(black_box(&counter), black_box(n));
        }
        assert_eq!(counter.get(), calls * n as u64, "{name}/{n}");
        return;
    }
    if selected.is_none() {
        for &(name, form, ns) in STACK_FORMS {
            for &n in ns {
                let counter = Cell::new(0);
                form(&counter, n);
                assert_eq!(counter.get(), n as u64, "{name}/{n}");
            }
        }
    }
    for &(name, form) in FORMS {
        if selected.as_deref().is_some_and(|s| s != name) {
            continue;
        }
        let counter = Cell::new(0);
        let calls = if selected.is_some() {
            calls_arg.unwrap_or(CALLS)
        } else {
            1
        };
        for i in 0..calls {
            form(black_box(&counter), black_box(i % 2 == 0));
        }
        let expected = match name {
            "empty" | "empty_returning" => 0,
            "errdefer_hand_written" | "errdefer_scope" => calls.div_ceil(2),
            _ => calls,
        };
        assert_eq!(counter.get(), expected, "{name}");
    }
}
