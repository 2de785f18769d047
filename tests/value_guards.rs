//! Value guards: `guard(value, |value| ..)` and its variants, `ScopeGuard`,
//! `defer!(v => ..)`. The first module ports scopeguard's own tests and doc
//! examples; the rest cover what exitstack adds or does differently.

mod common;

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};

use common::{DropCounter, panic_message, quiet_panics};
use exitstack::{
    ErrorWatch, ExitStack, Guard, Outcome, ScopeGuard, When, defer, guard, guard_on_error,
    guard_on_failure, guard_on_success, guard_on_unwind, guard_with_outcome,
};

/// scopeguard 1.2.0's tests (`src/lib.rs`, `mod tests`) and doc examples
/// (`src/lib.rs`, `examples/readme.rs`), by bluss and contributors
/// (MIT OR Apache-2.0), rewritten for exitstack: `scopeguard::` became
/// `exitstack::`, and its `defer_on_success!` / `defer_on_unwind!` became
/// `defer!(on_success: ..)` / `defer!(on_panic: ..)`. The assertions are
/// scopeguard's.
mod ported_from_scopeguard {
    use std::mem::ManuallyDrop;
    use std::ptr;

    use super::*;

    #[test]
    fn test_defer() {
        let drops = Cell::new(0);
        defer!(drops.set(1000));
        assert_eq!(drops.get(), 0);
    }

    #[test]
    fn test_defer_success_1() {
        let drops = Cell::new(0);
        {
            defer!(on_success: drops.set(1));
            assert_eq!(drops.get(), 0);
        }
        assert_eq!(drops.get(), 1);
    }

    #[test]
    fn test_defer_success_2() {
        quiet_panics();
        let drops = Cell::new(0);
        let _ = catch_unwind(AssertUnwindSafe(|| {
            defer!(on_success: drops.set(1));
            panic!("failure")
        }));
        assert_eq!(drops.get(), 0);
    }

    #[test]
    fn test_defer_unwind_1() {
        quiet_panics();
        let drops = Cell::new(0);
        let _ = catch_unwind(AssertUnwindSafe(|| {
            defer!(on_panic: drops.set(1));
            assert_eq!(drops.get(), 0);
            panic!("failure")
        }));
        assert_eq!(drops.get(), 1);
    }

    #[test]
    fn test_defer_unwind_2() {
        let drops = Cell::new(0);
        {
            defer!(on_panic: drops.set(1));
        }
        assert_eq!(drops.get(), 0);
    }

    #[test]
    fn test_only_dropped_by_closure_when_run() {
        let value_drops = Cell::new(0);
        let value = guard((), |()| value_drops.set(1 + value_drops.get()));
        let closure_drops = Cell::new(0);
        let guard = guard(value, |_| closure_drops.set(1 + closure_drops.get()));
        assert_eq!(value_drops.get(), 0);
        assert_eq!(closure_drops.get(), 0);
        drop(guard);
        assert_eq!(value_drops.get(), 1);
        assert_eq!(closure_drops.get(), 1);
    }

    #[test]
    fn test_dropped_once_when_not_run() {
        let value_drops = Cell::new(0);
        let value = guard((), |()| value_drops.set(1 + value_drops.get()));
        let captured_drops = Cell::new(0);
        let captured = guard((), |()| captured_drops.set(1 + captured_drops.get()));
        let closure_drops = Cell::new(0);
        let guard = guard_on_unwind(value, |value| {
            drop(value);
            drop(captured);
            closure_drops.set(1 + closure_drops.get());
        });
        assert_eq!(value_drops.get(), 0);
        assert_eq!(captured_drops.get(), 0);
        assert_eq!(closure_drops.get(), 0);
        drop(guard);
        assert_eq!(value_drops.get(), 1);
        assert_eq!(captured_drops.get(), 1);
        assert_eq!(closure_drops.get(), 0);
    }

    #[test]
    fn test_into_inner() {
        let dropped = Cell::new(false);
        let value = guard(42, |_| dropped.set(true));
        let guard = guard(value, |_| dropped.set(true));
        let inner = ScopeGuard::into_inner(guard);
        assert!(!dropped.get());
        assert_eq!(*inner, 42);
    }

    /// The crate docs' "Hello World".
    #[test]
    fn doc_hello_world() {
        fn f(said: &Cell<bool>) {
            let _guard = guard((), |()| said.set(true));
            // rest of the code here.
        }
        let said = Cell::new(false);
        f(&said);
        assert!(said.get());
    }

    /// The crate docs' `defer!` example.
    #[test]
    fn doc_defer() {
        // use a cell to observe drops during and after the scope guard is active
        let drop_counter = Cell::new(0);
        {
            // Create a scope guard using `defer!` for the current scope
            defer! {
                drop_counter.set(1 + drop_counter.get());
            }

            // Do regular operations here in the meantime.

            // Just before scope exit: it hasn't run yet.
            assert_eq!(drop_counter.get(), 0);

            // The following scope end is where the defer closure is called
        }
        assert_eq!(drop_counter.get(), 1);
    }

    /// A file that records what happened to it, instead of a real one.
    struct MockFile<'l>(&'l RefCell<Vec<&'static str>>);

    #[allow(
        clippy::unnecessary_wraps,
        reason = "the mock keeps the signatures of std::fs::File"
    )]
    impl MockFile<'_> {
        fn write_all(&self, _: &[u8]) -> std::io::Result<()> {
            self.0.borrow_mut().push("write");
            Ok(())
        }
        fn sync_all(&self) -> std::io::Result<()> {
            self.0.borrow_mut().push("sync");
            Ok(())
        }
    }

    /// "1. The guard owns a file" (crate docs) and `examples/readme.rs`.
    #[test]
    fn doc_the_guard_owns_a_file() {
        let log = RefCell::new(Vec::new());
        let try_main = || -> std::io::Result<()> {
            let f = MockFile(&log);
            let file = guard(f, |f| {
                // ensure we flush file at return or panic
                let _ = f.sync_all();
            });
            // Access the file through the scope guard itself
            file.write_all(b"test me\n")
        };
        try_main().unwrap();
        assert_eq!(*log.borrow(), ["write", "sync"]);
    }

    /// `examples/readme.rs`: `defer!` runs on a panic, too.
    #[test]
    fn readme_defer_runs_at_panic() {
        quiet_panics();
        let called = Cell::new(false);
        let f = || {
            defer! {
                called.set(true); // "Called at return or panic"
            }
            panic!();
        };
        assert!(catch_unwind(AssertUnwindSafe(f)).is_err());
        assert!(called.get());
    }

    // This function, just for this example, takes the first element and
    // inserts it into the assumed sorted tail of the vector.
    //
    // For optimization purposes we temporarily violate an invariant of the
    // Vec, that it owns all of its elements.
    //
    // We *must* use a scope guard to run this code safely. We are running
    // arbitrary user code (comparison operators) that may panic. The scope
    // guard ensures we restore the invariant after successful exit or
    // during unwinding from panic.
    fn insertion_sort_first<T>(v: &mut [T])
    where
        T: PartialOrd,
    {
        struct Hole<'a, T> {
            v: &'a mut [T],
            index: usize,
            value: ManuallyDrop<T>,
        }

        // SAFETY: `v[0]` is read out once and written back once, by the
        // guard, into the hole, on every way out (panics included); between
        // the two, the hole moves by swaps that keep every other element
        // owned exactly once, and nothing reads the hole.
        unsafe {
            // Create a moved-from location in the vector, a "hole".
            let value = ptr::read(&raw const v[0]);
            let hole = Hole {
                v,
                index: 0,
                value: ManuallyDrop::new(value),
            };

            // Use a scope guard with a value. At scope exit, plug the hole
            // so that the vector is fully initialized again. The scope guard
            // owns the hole, but we can access it through the guard.
            let mut hole_guard = guard(hole, |hole| {
                // plug the hole in the vector with the value that was taken out
                let index = hole.index;
                ptr::copy_nonoverlapping(&raw const *hole.value, &raw mut hole.v[index], 1);
            });

            // run algorithm that moves the hole in the vector here
            // move the hole until it's in a sorted position
            for i in 1..hole_guard.v.len() {
                if *hole_guard.value >= hole_guard.v[i] {
                    // move the element back and the hole forward
                    let index = hole_guard.index;
                    hole_guard.v.swap(index, index + 1);
                    hole_guard.index += 1;
                } else {
                    break;
                }
            }

            // When the scope exits here, the Vec becomes whole again!
        }
    }

    /// "2. The guard restores an invariant on scope exit" (crate docs).
    #[test]
    fn doc_the_guard_restores_an_invariant() {
        let string = String::from;
        let mut data = vec![string("c"), string("a"), string("b"), string("d")];
        insertion_sort_first(&mut data);
        assert_eq!(data, vec!["a", "b", "c", "d"]);
    }

    /// `guard_on_unwind`'s doc example: defuse a plain guard at the end.
    #[test]
    fn doc_guard_on_unwind_by_hand() {
        let ran = Cell::new(false);
        {
            let guard = guard((), |()| ran.set(true));

            // rest of the code here

            // we reached the end of scope without unwinding - defuse it
            ScopeGuard::into_inner(guard);
        }
        assert!(!ran.get());
    }

    /// `ScopeGuard::into_inner`'s doc example, both branches.
    #[test]
    fn doc_into_inner() {
        for conditional in [true, false] {
            let cleared = Cell::new(false);
            let mut guard = guard(Vec::new(), |mut v| {
                v.clear();
                cleared.set(true);
            });
            guard.push(1);

            if conditional {
                // a condition maybe makes us decide to
                // "defuse" the guard and get back its inner parts
                let value = ScopeGuard::into_inner(guard);
                assert_eq!(value, [1]);
            } else {
                // guard still exists in this branch
                drop(guard);
            }
            assert_eq!(cleared.get(), !conditional);
        }
    }
}

// ---------------------------------------------------------------------
// The value API: what the body and the closure see.

#[test]
fn closure_gets_the_final_value_by_value() {
    let seen = RefCell::new(None);
    {
        let mut v = guard(Vec::new(), |v: Vec<i32>| *seen.borrow_mut() = Some(v));
        v.push(1);
        v.extend([2, 3]);
        v.retain(|x| *x != 2);
        assert_eq!(*v, [1, 3]);
        assert!(seen.borrow().is_none());
    }
    assert_eq!(*seen.borrow(), Some(vec![1, 3]));
}

#[test]
fn deref_and_deref_mut_coerce_to_the_value() {
    fn len(v: &[i32]) -> usize {
        v.len()
    }
    fn push(v: &mut Vec<i32>) {
        v.push(9);
    }
    let mut v = guard(vec![1], |_| {});
    push(&mut v);
    assert_eq!(len(&v), 2);
    let sum: i32 = v.iter().sum();
    assert_eq!(sum, 10);
    let mut collected = Vec::new();
    for x in &*v {
        collected.push(*x);
    }
    assert_eq!(collected, [1, 9]);
}

#[test]
fn into_inner_never_shadows_a_method_of_the_value() {
    struct HasIntoInner(&'static str);
    impl HasIntoInner {
        fn into_inner(self) -> &'static str {
            self.0
        }
    }
    let g = guard(HasIntoInner("the value's own"), |_| panic!("defused"));
    // `g.into_inner()` would be the value's method, through `Deref`... if
    // it took `&self`; `ScopeGuard::into_inner` is the guard's.
    let value = ScopeGuard::into_inner(g);
    assert_eq!(value.into_inner(), "the value's own");
}

#[test]
fn into_inner_drops_the_closure_once_and_runs_nothing() {
    let drops = DropCounter::default();
    let token = drops.token();
    let g = guard(5, move |_| {
        let _token = token;
        panic!("defused");
    });
    assert_eq!(ScopeGuard::into_inner(g), 5);
    assert_eq!(drops.drops(), 1);
}

#[test]
fn debug_shows_the_value_and_the_strategy() {
    let g = guard(vec![1, 2], |_| {});
    assert_eq!(
        format!("{g:?}"),
        "ScopeGuard { value: [1, 2], strategy: Always, .. }"
    );
    let s = guard_on_success("x", |_| {});
    assert_eq!(
        format!("{s:?}"),
        r#"ScopeGuard { value: "x", strategy: OnSuccess, .. }"#
    );
    let watch = ErrorWatch::new();
    let e = guard_on_error(&watch, 1, |_| {});
    assert_eq!(
        format!("{e:?}"),
        "ScopeGuard { value: 1, strategy: Conditional { when: Error, outcome: Success }, .. }"
    );
    ScopeGuard::into_inner(e);
}

#[test]
fn a_guard_is_the_value_and_the_closure_nothing_more() {
    use std::mem::size_of_val;
    let counter = Cell::new(0_u64);
    let g = guard(&counter, |c| c.set(c.get() + 1));
    assert_eq!(size_of_val(&g), size_of::<&Cell<u64>>());
    let big = [0_u8; 24];
    let h = guard(big, move |b| assert_eq!(b, [0; 24]));
    assert_eq!(size_of_val(&h), 24);
}

#[test]
fn sync_with_a_closure_that_is_not() {
    fn assert_sync<T: Sync>(_: &T) {}
    let not_sync = Cell::new(0);
    let g = guard(5_u32, |_| not_sync.set(1)); // captures `&Cell`: `!Sync`
    assert_sync(&g);
    drop(g);
    assert_eq!(not_sync.get(), 1);
}

#[test]
fn guards_run_lifo_with_the_locals() {
    let log = RefCell::new(Vec::new());
    {
        let _a = guard("a", |name| log.borrow_mut().push(name));
        let _b = guard_on_success("b", |name| log.borrow_mut().push(name));
        let _c = guard("c", |name| log.borrow_mut().push(name));
    }
    assert_eq!(*log.borrow(), ["c", "b", "a"]);
}

// ---------------------------------------------------------------------
// Panics: policies where exitstack differs from scopeguard.

#[test]
fn a_panicking_closure_propagates_its_payload() {
    quiet_panics();
    let message = panic_message(|| {
        let _g = guard(1, |v| panic!("cleanup of {v} failed"));
    });
    assert_eq!(message, "cleanup of 1 failed");
}

/// scopeguard aborts here (a panic escaping a destructor during unwinding);
/// exitstack discards the second panic and the first one goes on.
#[test]
fn a_panic_in_the_closure_while_unwinding_is_discarded() {
    quiet_panics();
    let ran = Cell::new(false);
    let message = panic_message(|| {
        let _g = guard(&ran, |ran| {
            ran.set(true);
            panic!("second");
        });
        panic!("first");
    });
    assert_eq!(message, "first");
    assert!(ran.get());
}

#[test]
fn a_panicking_value_drop_of_an_unrun_guard_is_discarded_while_unwinding() {
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("value drop");
        }
    }
    quiet_panics();
    let closure_dropped = DropCounter::default();
    let token = closure_dropped.token();
    let message = panic_message(|| {
        let _g = guard_on_success(PanicsOnDrop, move |_| drop(token));
        panic!("first");
    });
    assert_eq!(message, "first");
    assert_eq!(closure_dropped.drops(), 1);
}

/// A value guard made in a `Drop` that runs during unwinding judges its own
/// scope, which ends normally: scopeguard#43.
#[test]
fn a_guard_made_while_unwinding_sees_success() {
    struct MakesGuards<'l>(&'l RefCell<Vec<&'static str>>);
    impl Drop for MakesGuards<'_> {
        fn drop(&mut self) {
            let log = self.0;
            let _s = guard_on_success("on_success ran", |m| log.borrow_mut().push(m));
            let _u = guard_on_unwind("on_unwind ran", |m| log.borrow_mut().push(m));
            let _o = guard_with_outcome((), |(), o| {
                log.borrow_mut().push(if o == Outcome::Success {
                    "saw success"
                } else {
                    "saw panic"
                });
            });
        }
    }
    quiet_panics();
    let log = RefCell::new(Vec::new());
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let _m = MakesGuards(&log);
        panic!("outer");
    }));
    assert_eq!(*log.borrow(), ["saw success", "on_success ran"]);
}

/// Counts its drops in a `Cell` it borrows: leaking it leaks no heap
/// memory, so Miri's leak check stays quiet about `mem::forget`.
struct CountsDrops<'c>(&'c Cell<u32>);

impl Drop for CountsDrops<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// Leaking is safe: a forgotten guard runs nothing and drops nothing.
#[test]
fn forgotten_guards_run_nothing_and_drop_nothing() {
    let drops = Cell::new(0);
    let ran = Cell::new(false);
    let captured = CountsDrops(&drops);
    let g = guard(CountsDrops(&drops), |_| ran.set(true));
    let h = guard_on_unwind((), move |()| drop(captured));
    let watch = ErrorWatch::new();
    let e = guard_on_error(&watch, CountsDrops(&drops), |_| ran.set(true));
    watch.mark_error();
    std::mem::forget(g);
    std::mem::forget(h);
    std::mem::forget(e);
    assert!(!ran.get());
    assert_eq!(drops.get(), 0);
}

// ---------------------------------------------------------------------
// Outcome-aware value guards: `ErrorWatch`, `When`, `Outcome`.

const ALL: [When; 5] = [
    When::Always,
    When::Success,
    When::Error,
    When::Panic,
    When::Failure,
];

/// Ends the scope of `scope` with `outcome`.
fn end(watch: &ErrorWatch, outcome: Outcome) {
    match outcome {
        Outcome::Success => {}
        Outcome::Error => watch.mark_error(),
        Outcome::Panic => panic!("the scope panics"),
    }
}

/// A value guard and a `Guard` made with the same `When` and `ErrorWatch` agree
/// on every outcome, and the value guard's closure gets the final value.
#[test]
fn scoped_value_guards_agree_with_guard_on_every_cell() {
    quiet_panics();
    for when in ALL {
        for outcome in [Outcome::Success, Outcome::Error, Outcome::Panic] {
            let by_guard = Cell::new(None);
            let by_value = Cell::new(None);
            let by_outcome = Cell::new(None);
            let _ = catch_unwind(AssertUnwindSafe(|| {
                let watch = ErrorWatch::new();
                let _g = Guard::watching(&watch, when, |o| by_guard.set(Some(o)));
                let mut v = ScopeGuard::watching(&watch, when, 0, |v| by_value.set(Some(v)));
                *v += 1;
                let mut w = ScopeGuard::watching_with_outcome(&watch, when, 0, |w, o| {
                    by_outcome.set(Some((w, o)));
                });
                *w += 2;
                end(&watch, outcome);
            }));
            let expected = when.matches(outcome);
            assert_eq!(
                by_guard.get(),
                expected.then_some(outcome),
                "{when:?} {outcome:?}"
            );
            assert_eq!(
                by_value.get(),
                expected.then_some(1),
                "{when:?} {outcome:?}"
            );
            assert_eq!(
                by_outcome.get(),
                expected.then_some((2, outcome)),
                "{when:?} {outcome:?}"
            );
        }
    }
}

#[test]
fn guard_on_error_and_on_failure() {
    quiet_panics();
    for (outcome, on_error, on_failure) in [
        (Outcome::Success, None, None),
        (Outcome::Error, Some("e"), Some("f")),
        (Outcome::Panic, None, Some("f")),
    ] {
        let e = Cell::new(None);
        let f = Cell::new(None);
        let _ = catch_unwind(AssertUnwindSafe(|| {
            let watch = ErrorWatch::new();
            let _e = guard_on_error(&watch, "e", |v| e.set(Some(v)));
            let _f = guard_on_failure(&watch, "f", |v| f.set(Some(v)));
            end(&watch, outcome);
        }));
        assert_eq!((e.get(), f.get()), (on_error, on_failure), "{outcome:?}");
    }
}

#[test]
fn guard_with_outcome_sees_success_or_panic_without_a_scope() {
    quiet_panics();
    let seen = Cell::new(None);
    {
        let _g = guard_with_outcome(1, |v, o| seen.set(Some((v, o))));
    }
    assert_eq!(seen.get(), Some((1, Outcome::Success)));
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let _g = guard_with_outcome(2, |v, o| seen.set(Some((v, o))));
        panic!("boom");
    }));
    assert_eq!(seen.get(), Some((2, Outcome::Panic)));
}

#[test]
fn scope_check_marks_the_error_a_value_guard_sees() {
    fn parse_all(
        inputs: &[&str],
        undone: &RefCell<Vec<u32>>,
    ) -> Result<(), std::num::ParseIntError> {
        let watch = ErrorWatch::new();
        let mut parsed = guard_on_error(&watch, Vec::new(), |parsed| *undone.borrow_mut() = parsed);
        for input in inputs {
            parsed.push(watch.check(input.parse())?);
        }
        Ok(())
    }
    let undone = RefCell::new(Vec::new());
    parse_all(&["1", "2"], &undone).unwrap();
    assert!(undone.borrow().is_empty());
    parse_all(&["1", "2", "x"], &undone).unwrap_err();
    assert_eq!(*undone.borrow(), [1, 2]);
}

#[test]
fn cancel_all_disarms_value_guards_and_drops_their_parts_once() {
    let drops = DropCounter::default();
    let ran = Cell::new(0);
    {
        let watch = ErrorWatch::new();
        let value = drops.token();
        let captured = drops.token();
        let _g = ScopeGuard::watching(&watch, When::Always, value, |_| {
            let _captured = captured;
            ran.set(ran.get() + 1);
        });
        watch.cancel_all();
        let _later = guard_on_error(&watch, (), |()| ran.set(ran.get() + 10));
        watch.mark_error();
    }
    assert_eq!(ran.get(), 10);
    assert_eq!(drops.drops(), 2);
}

#[test]
fn into_inner_on_conditional_guards() {
    let watch = ErrorWatch::new();
    let e = guard_on_error(&watch, String::from("kept"), |_| panic!("defused"));
    let w = ScopeGuard::watching_with_outcome(&watch, When::Always, 3, |_, _| panic!("defused"));
    watch.mark_error();
    assert_eq!(ScopeGuard::into_inner(e), "kept");
    assert_eq!(ScopeGuard::into_inner(w), 3);
}

// ---------------------------------------------------------------------
// Value guards in an `ExitStack`.

#[test]
fn enter_context_keeps_the_guard_and_its_deref() {
    let seen = RefCell::new(Vec::new());
    let mut stack = ExitStack::new();
    let names = stack.enter_context(guard(Vec::new(), |names| seen.borrow_mut().push(names)));
    names.push("a"); // `&mut ScopeGuard`, through `DerefMut`
    names.push("b");
    stack.callback(|| seen.borrow_mut().push(vec!["callback"]));
    stack.close().unwrap();
    assert_eq!(*seen.borrow(), [vec!["callback"], vec!["a", "b"]]);
}

/// Entered with `enter_context`, a value guard is a value the stack drops:
/// it judges the outcome itself (an `Err` the stack saw is not visible to
/// it). Entered with `enter_exit_context`, it sees the stack's outcome.
#[test]
fn which_outcome_a_value_guard_in_a_stack_sees() {
    let log = RefCell::new(Vec::new());
    let result = ExitStack::scope(|stack| {
        let _ = stack.enter_context(guard_with_outcome("dropped", |name, o| {
            log.borrow_mut().push((name, o));
        }));
        let _ = stack.enter_exit_context(guard_with_outcome("exited", |name, o| {
            log.borrow_mut().push((name, o));
        }));
        let _ = stack.enter_exit_context(guard_on_success("not on error", |name| {
            log.borrow_mut().push((name, Outcome::Success));
        }));
        Err::<(), _>("failed")
    });
    assert!(result.is_err());
    assert_eq!(
        *log.borrow(),
        [("exited", Outcome::Error), ("dropped", Outcome::Success)]
    );
}

#[test]
fn a_panic_in_the_stack_scope_reaches_both_entries() {
    quiet_panics();
    let log = RefCell::new(Vec::new());
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let _: Result<(), exitstack::ScopeError<String>> = ExitStack::scope(|stack| {
            let _ = stack.enter_context(guard_on_unwind("dropped", |n| log.borrow_mut().push(n)));
            let _ =
                stack.enter_exit_context(guard_on_unwind("exited", |n| log.borrow_mut().push(n)));
            panic!("body");
        });
    }));
    assert_eq!(*log.borrow(), ["exited", "dropped"]);
}

#[test]
fn a_guard_not_entered_still_defuses_beside_one_that_was() {
    let ran = Cell::new(0);
    {
        let stack = ExitStack::new();
        let _ = stack.enter_context(guard((), |()| ran.set(ran.get() + 1)));
        let kept = guard(7, |_| ran.set(ran.get() + 100));
        assert_eq!(ScopeGuard::into_inner(kept), 7);
    }
    assert_eq!(ran.get(), 1);
}

// ---------------------------------------------------------------------
// `defer!(v => ..)`: a cleanup declared up front that sees the final state.

#[test]
fn defer_value_form_sees_the_final_state() {
    fn total(v: &[i32]) -> i32 {
        v.iter().sum()
    }
    fn add(v: &mut Vec<i32>, x: i32) {
        v.push(x);
    }
    let seen = RefCell::new(Vec::new());
    {
        let v = Vec::new();
        defer!(v => seen.borrow_mut().extend(v));
        v.push(1); // `v` is the guard now: no E0502
        v.push(2);
        add(&mut v, 3);
        assert_eq!(total(&v), 6);
        for x in &*v {
            assert!(*x > 0);
        }
    }
    assert_eq!(*seen.borrow(), [1, 2, 3]);
}

#[test]
fn defer_value_form_may_mutate_and_consume_the_value() {
    let seen = Cell::new(0);
    {
        let counter = 10;
        defer!(counter => {
            counter += 1;
            seen.set(counter);
        });
        assert_eq!(*counter, 10);
    }
    assert_eq!(seen.get(), 11);
}

#[test]
fn defer_value_forms_with_conditions() {
    quiet_panics();
    let log = RefCell::new(Vec::new());
    {
        let a = String::from("always");
        let s = String::from("success");
        let p = String::from("panic");
        defer!(always: a => log.borrow_mut().push(a));
        defer!(on_success: s => log.borrow_mut().push(s));
        defer!(on_panic: p => log.borrow_mut().push(p));
    }
    assert_eq!(*log.borrow(), ["success", "always"]);
    log.borrow_mut().clear();
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let s = String::from("success");
        let p = String::from("panic");
        defer!(on_success: s => log.borrow_mut().push(s));
        defer!(on_panic: p => log.borrow_mut().push(p));
        s.push('!');
        p.push('!');
        panic!("boom");
    }));
    assert_eq!(*log.borrow(), ["panic!"]);
}

struct Account {
    name: String,
    log: RefCell<Vec<String>>,
}

impl Account {
    /// The issue's example: a cleanup that sees a field the body mutates.
    /// `guard(&mut self.name, ..)` gives the body the binding.
    fn rename(&mut self, log: &RefCell<Vec<String>>) {
        let mut name = guard(&mut self.name, |name| log.borrow_mut().push(name.clone()));
        name.push('!');
        name.push_str("?!");
    }

    /// In an `#[exitstack::scope]` method, the on-error form on a field:
    /// a `let` gives the field a local name for `defer!`.
    #[exitstack::scope]
    fn rename_or_undo(&mut self, fail: bool) -> Result<(), String> {
        let old = self.name.clone();
        let log = &self.log;
        let name = &mut self.name;
        defer!(on_error: name => {
            log.borrow_mut().push(format!("undo {name}"));
            *name = old;
        });
        name.push_str(" (renamed)");
        if fail {
            return Err("rename refused".to_owned());
        }
        Ok(())
    }
}

#[test]
fn a_field_through_self() {
    let mut account = Account {
        name: "ann".to_owned(),
        log: RefCell::new(Vec::new()),
    };
    let log = RefCell::new(Vec::new());
    account.rename(&log);
    assert_eq!(*log.borrow(), ["ann!?!"]);
    assert_eq!(account.name, "ann!?!");

    account.rename_or_undo(false).unwrap();
    assert_eq!(account.name, "ann!?! (renamed)");
    assert!(account.log.borrow().is_empty());
    account.rename_or_undo(true).unwrap_err();
    assert_eq!(account.name, "ann!?! (renamed)");
    assert_eq!(*account.log.borrow(), ["undo ann!?! (renamed) (renamed)"]);
}

#[exitstack::scope]
fn in_a_scope(input: &str, log: &RefCell<Vec<String>>) -> Result<u32, std::num::ParseIntError> {
    let attempts = Vec::new();
    let steps = 0;
    let stored = String::new();
    let tried = Vec::new();
    defer!(on_error: attempts => log.borrow_mut().push(format!("error after {attempts:?}")));
    defer!(on_failure: steps => log.borrow_mut().push(format!("failure after {steps} steps")));
    defer!(on_success: stored => log.borrow_mut().push(format!("success: {stored}")));
    defer!(tried => log.borrow_mut().push(format!("always after {tried:?}")));
    attempts.push("parse");
    tried.push(input.to_owned());
    *steps += 1;
    let value = input.parse::<u32>()?;
    attempts.push("store");
    *steps += 1;
    stored.push_str(input);
    Ok(value)
}

#[test]
fn defer_value_forms_in_a_scope_fn() {
    let log = RefCell::new(Vec::new());
    assert_eq!(in_a_scope("7", &log).unwrap(), 7);
    assert_eq!(*log.borrow(), [r#"always after ["7"]"#, "success: 7"]);
    log.borrow_mut().clear();
    in_a_scope("seven", &log).unwrap_err();
    assert_eq!(
        *log.borrow(),
        [
            r#"always after ["seven"]"#,
            "failure after 1 steps",
            r#"error after ["parse"]"#,
        ]
    );
}

/// Two value forms on one local nest: the second guard owns the first, so
/// its closure sees the first guard (and the value through `Deref`), and
/// runs first; then the first guard's closure gets the value.
#[test]
fn value_forms_on_one_local_nest() {
    let log = RefCell::new(Vec::new());
    {
        let v = vec![1];
        defer!(v => log.borrow_mut().push(format!("inner sees {v:?}")));
        defer!(v => log.borrow_mut().push(format!("outer sees {} items", v.len())));
        v.push(2);
    }
    assert_eq!(*log.borrow(), ["outer sees 2 items", "inner sees [1, 2]"]);
}

#[exitstack::scope]
fn with_pop_all(fail: bool, log: &RefCell<Vec<String>>) -> Result<(), String> {
    let created = vec!["volume"];
    defer!(created => log.borrow_mut().push(format!("delete {created:?}")));
    if fail {
        return Err("attach failed".to_owned());
    }
    pop_all!();
    Ok(())
}

#[test]
fn pop_all_cancels_a_value_form() {
    let log = RefCell::new(Vec::new());
    with_pop_all(false, &log).unwrap();
    assert!(log.borrow().is_empty());
    with_pop_all(true, &log).unwrap_err();
    assert_eq!(*log.borrow(), [r#"delete ["volume"]"#]);
}

#[exitstack::scope]
async fn in_an_async_scope(fail: bool, log: &RefCell<Vec<String>>) -> Result<(), String> {
    let sent = Vec::new();
    defer!(on_error: sent => log.borrow_mut().push(format!("resend {sent:?}")));
    sent.push("hello");
    std::future::ready(()).await;
    if fail {
        return Err("connection reset".to_owned());
    }
    Ok(())
}

/// The value form in an `async fn` under `#[exitstack::scope]`: a
/// synchronous cleanup, tied to the function's scope like any `defer!`.
#[test]
fn defer_value_form_in_an_async_scope_fn() {
    use common::harness::block_on;
    let log = RefCell::new(Vec::new());
    block_on(in_an_async_scope(false, &log)).unwrap();
    assert!(log.borrow().is_empty());
    block_on(in_an_async_scope(true, &log)).unwrap_err();
    assert_eq!(*log.borrow(), [r#"resend ["hello"]"#]);
}

/// Found by review: a value guard entered with `enter_exit_context` ran its
/// cleanup on `cancel_all` (its drop is its cleanup). Cancelled, it is
/// disarmed, as by `into_inner`; the value is still dropped.
#[test]
fn cancel_all_disarms_a_value_guard_entered_as_an_exit_context() {
    use std::cell::Cell;
    let ran = Cell::new(0);
    let drops = DropCounter::default();
    let mut stack = ExitStack::new();
    stack.enter_exit_context(guard(drops.token(), |_| ran.set(ran.get() + 1)));
    stack.enter_exit_context(guard_with_outcome((), |(), _| {
        ran.set(ran.get() + 10);
    }));
    stack.callback(|| ran.set(ran.get() + 100));
    stack.cancel_all();
    drop(stack);
    assert_eq!(ran.get(), 0);
    assert_eq!(drops.drops(), 1);
}
