//! One `#[inline(never)]` function per way of writing the same cleanup.
//! `scripts/instructions.sh` runs this program once per form under
//! `valgrind --tool=callgrind` and subtracts the run of an empty function:
//! the difference, divided by the number of calls, is the exact cost of the
//! form in instructions (unlike time, it does not depend on what else the
//! machine is doing).
//!
//! `cargo bench --bench instructions` runs every form once, as a smoke test.

use std::cell::Cell;
use std::hint::black_box;

use exitstack::{cleanup, defer};

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

fn main() {
    let selected = std::env::args().nth(1);
    for &(name, form) in FORMS {
        if selected.as_deref().is_some_and(|s| s != name) {
            continue;
        }
        let counter = Cell::new(0);
        let calls = if selected.is_some() { CALLS } else { 1 };
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
