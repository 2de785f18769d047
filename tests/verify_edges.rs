//! Adversarial edges the model does not generate: cleanups that reach back
//! into their own stack from a `Drop` (re-entrancy through `&self`), panic
//! payloads and cleanup errors whose own `Drop` or `Display` panics. Those
//! that could abort run in a child process; the rest run in-process (and
//! under Miri, see `scripts/miri.sh`).

mod common;

use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

use common::DropCounter;
use exitstack::{CancelError, EntryKey, ExitStack};

type Log = Rc<RefCell<Vec<String>>>;

thread_local! {
    static EXPECTING_PANICS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, expecting it to panic, and returns the payload as a string.
/// The panics it makes are silent; any other panic (a failed assertion)
/// is reported as usual.
fn panic_message(f: impl FnOnce()) -> String {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !EXPECTING_PANICS.with(std::cell::Cell::get) {
                default(info);
            }
        }));
    });
    EXPECTING_PANICS.with(|e| e.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    EXPECTING_PANICS.with(|e| e.set(false));
    let payload = result.expect_err("expected a panic");
    payload
        .downcast_ref::<&str>()
        .map(ToString::to_string)
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .expect("payload is a string")
}

/// Captured by an entry: when dropped (the entry cancelled), it cancels
/// `sibling` and registers `more` entries on the same stack, through an
/// `Rc` — registration and `cancel` take `&self`, so this compiles.
struct ReachesBack {
    stack: Rc<ExitStack<'static>>,
    sibling: EntryKey,
    own: Option<EntryKey>,
    more: usize,
    log: Log,
}

impl Drop for ReachesBack {
    fn drop(&mut self) {
        let sibling = self.stack.cancel(&self.sibling);
        let own = self.own.map(|own| self.stack.cancel(&own));
        self.log
            .borrow_mut()
            .push(format!("in drop: sibling {sibling:?}, own {own:?}"));
        for n in 0..self.more {
            let log = Rc::clone(&self.log);
            self.stack
                .callback(move || log.borrow_mut().push(format!("registered in drop {n}")));
        }
    }
}

#[test]
fn a_cancelled_entrys_drop_may_cancel_and_register_on_the_same_stack() {
    let log = Log::default();
    let stack = Rc::new(ExitStack::new());
    let first = Rc::clone(&log);
    stack.callback(move || first.borrow_mut().push("first registered".into()));
    let sibling_log = Rc::clone(&log);
    let sibling = stack.callback(move || sibling_log.borrow_mut().push("sibling ran".into()));
    // 30 entries from inside the drop: the stack grows past its inline
    // slots and allocates chunks while `cancel` is on the call stack.
    let reaches_back = ReachesBack {
        stack: Rc::clone(&stack),
        sibling,
        own: None,
        more: 30,
        log: Rc::clone(&log),
    };
    let key = stack.callback(move || drop(reaches_back));
    assert_eq!(stack.len(), 3);

    assert_eq!(stack.cancel(&key), Ok(()));
    assert_eq!(stack.cancel(&key), Err(CancelError::NotPending));
    assert_eq!(stack.cancel(&sibling), Err(CancelError::NotPending));
    assert_eq!(stack.len(), 31, "the first entry and the 30 new ones");
    assert_eq!(Rc::strong_count(&stack), 1, "the capture was dropped once");

    let mut stack = Rc::into_inner(stack).unwrap();
    stack.close().unwrap();
    let mut want = vec!["in drop: sibling Ok(()), own None".to_string()];
    want.extend((0..30).rev().map(|n| format!("registered in drop {n}")));
    want.push("first registered".into());
    assert_eq!(*log.borrow(), want);
}

#[test]
fn cancelling_an_entry_from_its_own_captures_drop_is_refused_not_repeated() {
    let log = Log::default();
    let drops = DropCounter::default();
    let stack = Rc::new(ExitStack::new());
    let sibling = stack.callback(|| ());
    // The entry's key is known only after registering it: a second entry
    // holds the `ReachesBack` that names the first one.
    let token = drops.token();
    let target = stack.callback(move || drop(token));
    let reaches_back = ReachesBack {
        stack: Rc::clone(&stack),
        sibling,
        own: Some(target),
        more: 0,
        log: Rc::clone(&log),
    };
    let outer = stack.callback(move || drop(reaches_back));
    stack.cancel(&outer).unwrap();
    assert_eq!(
        *log.borrow(),
        ["in drop: sibling Ok(()), own Some(Ok(()))"],
        "the drop cancelled both others"
    );
    assert_eq!(drops.drops(), 1);
    assert!(stack.is_empty());
    assert_eq!(stack.cancel(&target), Err(CancelError::NotPending));
}

/// A panic payload whose own `Drop` panics.
///
/// The crate contains that second panic and leaks *its* payload rather
/// than risk dropping it (documented in `unwind::discard`). Here that
/// payload is zero-sized, so it owns no allocation, and the leak checkers
/// (`scripts/miri.sh`, `scripts/leaks.sh`) still see every other leak.
struct PanickyPayload;

/// The payload of the panic in `PanickyPayload`'s `Drop`.
struct DropPanicked;

impl Drop for PanickyPayload {
    fn drop(&mut self) {
        panic::panic_any(DropPanicked);
    }
}

#[test]
fn a_discarded_payload_whose_drop_panics_is_contained() {
    let ran = DropCounter::default();
    let mut stack = ExitStack::new();
    let token = ran.token();
    stack.callback(move || drop(token));
    stack.callback(|| panic::panic_any(PanickyPayload)); // second panic: discarded
    stack.callback(|| panic!("first"));
    assert_eq!(panic_message(|| drop(stack.close())), "first");
    assert_eq!(ran.drops(), 1, "the entry after both panics ran");

    let message = panic_message(|| {
        let stack = ExitStack::new();
        stack.callback(|| panic::panic_any(PanickyPayload)); // while unwinding
        panic!("original");
    });
    assert_eq!(message, "original");
}

/// A cleanup error whose `Drop` panics (with `panics_on_drop`) or whose
/// `Display` panics (with `panics_on_display`).
#[derive(Debug)]
struct Hostile {
    panics_on_drop: bool,
    panics_on_display: bool,
}

impl fmt::Display for Hostile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        assert!(!self.panics_on_display, "the error's display panicked");
        f.write_str("hostile error")
    }
}

impl Error for Hostile {}

impl Drop for Hostile {
    fn drop(&mut self) {
        assert!(!self.panics_on_drop, "the error's drop panicked");
    }
}

fn hostile(panics_on_drop: bool, panics_on_display: bool) -> Result<(), Hostile> {
    Err(Hostile {
        panics_on_drop,
        panics_on_display,
    })
}

/// Scenarios that could abort, each in a child process (Miri cannot spawn
/// one, so they are compiled out there).
#[cfg(not(miri))]
mod in_child_processes {
    use super::*;
    use common::child;

    /// Scenarios that may abort, run by `child_process_edges` in a child.
    fn edge(name: &str) {
        match name {
            // A stack dropped while unwinding discards its errors: dropping
            // one that panics must not abort.
            "error_drop_panics_while_unwinding" => {
                let stack = ExitStack::new();
                stack.try_callback(|| hostile(true, false));
                panic!("original");
            }
            // `close()`: the error of the first entry is collected, then the
            // second panics; the collected errors are dropped during unwinding.
            "error_drop_panics_after_a_later_entry_panicked" => {
                let mut stack = ExitStack::new();
                stack.callback(|| panic!("original"));
                stack.try_callback(|| hostile(true, false));
                let _ = stack.close();
            }
            // Debug builds print discarded errors: a `Display` that panics,
            // while unwinding, must not abort either.
            "error_display_panics_while_unwinding" => {
                let stack = ExitStack::new();
                stack.try_callback(|| hostile(false, true));
                panic!("original");
            }
            // The same with a payload whose drop panics: already contained.
            "payload_drop_panics_while_unwinding" => {
                let stack = ExitStack::new();
                stack.callback(|| panic::panic_any(PanickyPayload));
                panic!("original");
            }
            _ => unreachable!("no edge {name}"),
        }
    }

    #[test]
    #[ignore = "a child process: its parent test runs it"]
    fn child_process_edges() {
        let name = child::enter("in_child_processes::child_process_edges");
        println!("surfaced: {}", panic_message(|| edge(&name)));
    }

    /// Runs `edge(name)` in a child; it must exit normally, the original panic
    /// having surfaced.
    fn assert_no_abort(name: &str) {
        let out = child::run("in_child_processes::child_process_edges", name);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {} (a signal is an abort)\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("surfaced: original"), "{name}: {stdout}");
    }

    #[test]
    fn payload_whose_drop_panics_while_unwinding_does_not_abort() {
        assert_no_abort("payload_drop_panics_while_unwinding");
    }

    /// Regression: the error used to be dropped unguarded while unwinding.
    #[test]
    fn error_whose_drop_panics_in_a_stack_dropped_while_unwinding_does_not_abort() {
        assert_no_abort("error_drop_panics_while_unwinding");
    }

    /// Regression: the errors collected before the panic used to be dropped
    /// by the unwinding itself.
    #[test]
    fn error_whose_drop_panics_when_a_later_entry_panics_in_close_does_not_abort() {
        assert_no_abort("error_drop_panics_after_a_later_entry_panicked");
    }

    /// Regression: debug builds used to format the error unguarded.
    #[test]
    fn error_whose_display_panics_in_a_stack_dropped_while_unwinding_does_not_abort() {
        assert_no_abort("error_display_panics_while_unwinding");
    }
}
