//! Model-based tests: random programs of operations on several stacks of
//! all four kinds (`ExitStack`, `SendExitStack`, `AsyncExitStack`,
//! `SendAsyncExitStack`) and on guards (`Defer`, `Guard`), run for real and
//! against a plain reference model (a `Vec` of pending entries per stack),
//! and compared event by event.
//!
//! What is compared, for every program:
//!
//! * the exact order in which entries ran and in which what they captured
//!   was dropped (every entry holds a drop-logging token), so LIFO order,
//!   exactly-once runs and exactly-once drops, also of cancelled entries;
//! * the `Outcome` each exit callback, exit context, guard and asynchronous
//!   exit saw (policy 8: after a failed cleanup, the rest see `Error`);
//! * what every operation returned: the errors of `close()` and `aclose()`
//!   in execution order, `CancelError` variants, the result of `scope`, how
//!   many times an `aclose()` future returned `Pending`;
//! * the panic payload that escaped each operation (payloads are distinct
//!   per entry, so "the first panic, resumed after all ran" is checked);
//! * the number of pending entries of every live stack after each step.
//!
//! The operations (`RawOp`): register a `callback`, `push`, `try_callback`
//! (failing or not), `enter_context` of a drop-logging value or of a `Defer`
//! or `Guard`, `enter_exit_context` (failing or not), or a callback that
//! makes a fresh stack of its own — each may panic with its own payload; on
//! the asynchronous stacks also `push_async_callback`, `push_async_exit`,
//! `try_push_async_callback` and `enter_async_context` (entered or not), whose
//! futures return `Pending` a given number of times, then may fail or
//! panic; register many at once (past the inline slots, with boxed
//! payloads); `cancel` a key chosen among all keys so far (pending, already
//! run, cancelled, retired, another stack's or a forgotten stack's);
//! `cancel_all`; `pop_all` (the popped stack becomes another stack of the
//! program); `close`, `close_with(outcome)`; `aclose()` or
//! `aclose_with(outcome)` polled a given number of times, then driven to
//! completion, dropped part-way or `mem::forget`-ed; drop, also while a
//! panic unwinds; `mem::forget`; `scope` (the async one for the async
//! stacks) whose body returns `Ok`, `Err` or panics; move a stack into
//! another one (as a context, or as a callback that closes it); move a
//! stack into or out of a `Box`, or convert it (`SendExitStack` into
//! `ExitStack`, `ExitStack` or `SendAsyncExitStack` into `AsyncExitStack`);
//! make a `Defer` or `Guard` and drop it (also while unwinding), forget,
//! cancel or run it.
//!
//! An interrupted `aclose()` is modelled exactly: the entries it took ran
//! (the one in progress was started: it is dropped with a dropped future,
//! leaked with a forgotten one), the entries it had not reached stay
//! registered and run later, and every key issued before its first poll is
//! refused with `NotPending` from then on. What is leaked (a forgotten
//! stack's entries, recursively, a forgotten guard, the entry in progress
//! of a forgotten `aclose()`) never runs and is never dropped.
//!
//! A program that fails shrinks to a short one; its `Debug` prints it as
//! Rust-like code, one step per line, followed by the raw operations to
//! paste into a regression test (see `regressions` at the end).
//!
//! The random run happens in a child process: stacks that are dropped with
//! failing entries report their discarded errors on standard error in debug
//! builds (and async stacks dropped with async entries say they skipped
//! them), which would otherwise flood the test output. The parent checks
//! that nothing else was printed there. `PROPTEST_CASES` sets the number of
//! programs (10,000 by default, 40 under Miri, where the run is in-process).
//! Futures are polled by a minimal executor over `Waker::noop()`, so Miri
//! runs all of it. Forgetting leaks memory on purpose: under Miri this test
//! runs with `-Zmiri-ignore-leaks` (`scripts/miri.sh`). Built with
//! `panic = "abort"` (nightly, `scripts/panic-abort.sh`), the programs keep
//! every operation but never panic.

mod common;

use std::any::Any;
use std::cell::RefCell;
use std::error::Error;
use std::fmt::{self, Write as _};
use std::panic::{self, AssertUnwindSafe};
use std::pin::{Pin, pin};
use std::task::{Context as TaskContext, Poll, Waker};

use common::child;
use exitstack::{
    AsyncExitContext, AsyncExitStack, CancelError, CleanupError, Defer, EntryKey, ExitContext,
    ExitStack, Guard, Outcome, SendAsyncExitStack, SendExitStack, When,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRunner};

// ---------------------------------------------------------------------------
// Programs
// ---------------------------------------------------------------------------

/// What an operation registers. `#n` in the printed program is the entry's
/// id: its panic payload is `Boom::Entry(n)` and its error `Failed(n)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    /// `callback`: logs `Ran(n, None)`.
    Callback { panics: bool },
    /// `push`: logs `Ran(n, Some(outcome))`.
    Push { panics: bool },
    /// `try_callback`: logs `Ran(n, None)`, then fails with `Failed(n)`.
    TryCallback { fails: bool, panics: bool },
    /// `enter_context` of a value that logs `Dropped(n)` when dropped, and
    /// may panic there (in a drop that `close`, `cancel_all` or a stack's
    /// drop runs, never in one run by the unwinder).
    Context { drop_panics: bool },
    /// `enter_exit_context`: `exit` logs `Ran(n, Some(outcome))`.
    ExitContext { fails: bool, panics: bool },
    /// `callback` that makes a fresh stack with a `push` on it and drops it:
    /// the fresh stack's scope ends normally, so the push sees `Success`
    /// even when the callback runs while the thread unwinds (scopeguard#43).
    Fresh,
    /// `enter_context(Defer::new(..))` (or, as a `RawOp::Guard`, a guard of
    /// its own): its closure logs `Ran(n, None)` whenever the guard is
    /// dropped, also by `cancel_all`. A panic from it is discarded while the
    /// thread unwinds.
    Defer { panics: bool },
    /// `enter_context(Guard::new(when, ..))`: logs `Ran(n, Some(outcome))`
    /// when dropped if `when` matches the outcome the guard sees: `Panic`
    /// while the thread unwinds, else `Success` — never the stack's own
    /// outcome. (`When::Error` needs a `Scope`: not generated.)
    Guard { when: When, panics: bool },
    /// `push_async_callback`: its future logs `Ran(n, None)` when first
    /// polled, returns `Pending` `pendings` times, then completes.
    AsyncCallback { pendings: u8, panics: bool },
    /// `push_async_exit`: logs `Ran(n, Some(outcome))`, like the above.
    AsyncExit { pendings: u8, panics: bool },
    /// `try_push_async_callback`: logs `Ran(n, None)`, and may fail at the end.
    TryAsync {
        pendings: u8,
        fails: bool,
        panics: bool,
    },
    /// `enter_async_context`, its `enter` awaited or the future dropped
    /// (then the context's `exit` never runs): `exit` logs
    /// `Ran(n, Some(outcome))`, like the above.
    AsyncContext {
        entered: bool,
        pendings: u8,
        fails: bool,
        panics: bool,
    },
}

impl Entry {
    /// Whether the registration returns an `EntryKey`.
    fn keyed(self) -> bool {
        !matches!(
            self,
            Entry::Context { .. }
                | Entry::ExitContext { .. }
                | Entry::Defer { .. }
                | Entry::Guard { .. }
                | Entry::AsyncContext { .. }
        )
    }

    /// Whether only the asynchronous stacks take it.
    fn is_async(self) -> bool {
        matches!(
            self,
            Entry::AsyncCallback { .. }
                | Entry::AsyncExit { .. }
                | Entry::TryAsync { .. }
                | Entry::AsyncContext { .. }
        )
    }
}

/// How a stack moved into another one is held there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum How {
    /// `outer.enter_context(inner)`: the inner stack is dropped when the
    /// outer one runs or discards the entry.
    Drop,
    /// `outer.callback(move || inner.close())` (for an async inner stack
    /// `block_on(inner.aclose())`): keyed, and cancellable.
    Close,
}

/// How the body of `scope` ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Body {
    ReturnsOk,
    ReturnsErr,
    Panics,
}

/// What becomes of an `aclose()` future after its first polls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Then {
    /// Polled until it completes.
    Finish,
    /// Dropped, unless it completed within its polls.
    Drop,
    /// `mem::forget`-ed, unless it completed within its polls.
    Forget,
}

/// What becomes of a guard of its own (`RawOp::Guard`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GuardEnd {
    Drop,
    DropUnwinding,
    Forget,
    Cancel,
    Run,
}

/// One generated operation. Stacks live in six slots, like variables:
/// slots 0 and 1 hold `ExitStack`s, 2 and 3 `SendExitStack`s, 4 an
/// `AsyncExitStack`, 5 a `SendAsyncExitStack` (until moved or converted).
/// An operation on an empty slot first makes a new stack there. A slot
/// selector is taken modulo 6; a key selector counts back from the newest
/// key (0 is the last one handed out). Operations that cannot apply (no key
/// yet, nesting or popping a stack into its own slot, a non-`Send` stack
/// into a `Send` one, an async entry or `aclose` on a synchronous stack,
/// `close` on an async one) are skipped. So removing one operation hardly
/// changes what the others mean, and failures shrink well.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RawOp {
    Register {
        stack: u8,
        entry: Entry,
    },
    /// `count` plain callbacks at once (a stack of more than 8 entries
    /// leaves the inline slots; chunks start at 8, 24, 56, ...); `big` ones
    /// capture 64 over-aligned bytes, which are stored boxed.
    Fill {
        stack: u8,
        count: u8,
        big: bool,
    },
    Cancel {
        stack: u8,
        key: u8,
    },
    CancelAll {
        stack: u8,
    },
    /// The popped stack goes to slot `into`, whose stack is dropped first.
    PopAll {
        stack: u8,
        into: u8,
    },
    Close {
        stack: u8,
        with: Option<Outcome>,
    },
    /// `aclose()` (or `aclose_with`), polled until it completes or returned
    /// `Pending` `polls` times, then `then`.
    AClose {
        stack: u8,
        with: Option<Outcome>,
        polls: u8,
        then: Then,
    },
    Drop {
        stack: u8,
    },
    DropUnwinding {
        stack: u8,
    },
    Forget {
        stack: u8,
    },
    Scope {
        stack: u8,
        body: Body,
    },
    Nest {
        outer: u8,
        inner: u8,
        how: How,
    },
    /// Moves a stack: into a `Box`, out of it, or converts it (see `Kind`).
    /// (The harness keeps stacks in a `Vec`, which moves them all when it
    /// grows.)
    Move {
        stack: u8,
    },
    /// A `Defer` or `Guard` (`guard` is `Entry::Defer` or `Entry::Guard`)
    /// of its own, ended at once.
    Guard {
        guard: Entry,
        end: GuardEnd,
    },
}

const SLOTS: u8 = 6;

/// How a live stack is held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Plain,
    Boxed,
    Send,
    Async,
    SendAsync,
}

impl Kind {
    /// The kind of a new stack in slot `at`.
    fn of_slot(at: usize) -> Kind {
        match at {
            0 | 1 => Kind::Plain,
            2 | 3 => Kind::Send,
            4 => Kind::Async,
            _ => Kind::SendAsync,
        }
    }

    fn is_async(self) -> bool {
        matches!(self, Kind::Async | Kind::SendAsync)
    }

    fn is_send(self) -> bool {
        matches!(self, Kind::Send | Kind::SendAsync)
    }

    /// Where `Move` takes a stack: into a `Box` and out of it into an
    /// `AsyncExitStack`; `Send` stacks into their local counterparts; an
    /// `AsyncExitStack` through `black_box`.
    fn moved(self) -> Kind {
        match self {
            Kind::Plain => Kind::Boxed,
            Kind::Send => Kind::Plain,
            Kind::Boxed | Kind::Async | Kind::SendAsync => Kind::Async,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Plain | Kind::Boxed => "ExitStack",
            Kind::Send => "SendExitStack",
            Kind::Async => "AsyncExitStack",
            Kind::SendAsync => "SendAsyncExitStack",
        }
    }
}

/// A resolved operation: stacks are named by creation (`s0`, `s1`, ...),
/// entries by id (`#0`, ...), keys by issue order (`k0`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    New {
        stack: usize,
        kind: Kind,
    },
    Register {
        stack: usize,
        id: usize,
        entry: Entry,
        key: Option<usize>,
    },
    /// Entries `#first..#first + count`, keys `k{key}..`.
    Fill {
        stack: usize,
        first: usize,
        count: usize,
        big: bool,
        key: usize,
    },
    Cancel {
        stack: usize,
        key: usize,
    },
    CancelAll {
        stack: usize,
    },
    PopAll {
        stack: usize,
        into: usize,
    },
    Close {
        stack: usize,
        with: Option<Outcome>,
    },
    AClose {
        stack: usize,
        with: Option<Outcome>,
        polls: usize,
        then: Then,
    },
    Drop {
        stack: usize,
    },
    DropUnwinding {
        stack: usize,
    },
    Forget {
        stack: usize,
    },
    Scope {
        stack: usize,
        kind: Kind,
        body: Body,
    },
    Nest {
        outer: usize,
        inner: usize,
        inner_async: bool,
        id: usize,
        how: How,
        key: Option<usize>,
    },
    Move {
        stack: usize,
        from: Kind,
        to: Kind,
    },
    Guard {
        id: usize,
        guard: Entry,
        end: GuardEnd,
    },
}

/// A generated program: `ops`, resolved into steps (which make the stacks
/// as they are first used), followed by dropping every stack still in a
/// slot, in creation order.
#[derive(Clone)]
struct Program {
    ops: Vec<RawOp>,
}

impl Program {
    fn steps(&self) -> Vec<Step> {
        resolve(&self.ops)
    }
}

/// Turns generated operations into concrete steps.
#[derive(Default)]
struct Resolver {
    /// Per slot: the stack's name and kind.
    slots: [Option<(usize, Kind)>; SLOTS as usize],
    steps: Vec<Step>,
    stacks: usize,
    ids: usize,
    keys: usize,
}

impl Resolver {
    /// The kind of the stack in `slot`, or of the one it would make.
    fn kind(&self, slot: u8) -> Kind {
        let at = usize::from(slot % SLOTS);
        self.slots[at].map_or(Kind::of_slot(at), |(_, kind)| kind)
    }

    /// The stack in `slot`, made first if the slot is empty.
    fn stack(&mut self, slot: u8) -> (usize, Kind) {
        let at = usize::from(slot % SLOTS);
        if self.slots[at].is_none() {
            let kind = Kind::of_slot(at);
            self.steps.push(Step::New {
                stack: self.stacks,
                kind,
            });
            self.slots[at] = Some((self.stacks, kind));
            self.stacks += 1;
        }
        self.slots[at].unwrap()
    }

    /// Empties `slot`, which the caller made sure holds a stack.
    fn vacate(&mut self, slot: u8) -> usize {
        self.slots[usize::from(slot % SLOTS)].take().unwrap().0
    }

    fn key(&mut self, keyed: bool) -> Option<usize> {
        keyed.then(|| {
            self.keys += 1;
            self.keys - 1
        })
    }

    fn id(&mut self) -> usize {
        self.ids += 1;
        self.ids - 1
    }

    #[allow(clippy::too_many_lines, reason = "one arm per kind of step")]
    fn op(&mut self, op: RawOp) -> Option<Step> {
        let step = match op {
            RawOp::Register { stack, entry } => {
                if entry.is_async() && !self.kind(stack).is_async() {
                    return None;
                }
                Step::Register {
                    stack: self.stack(stack).0,
                    id: self.id(),
                    entry,
                    key: self.key(entry.keyed()),
                }
            }
            RawOp::Fill { stack, count, big } => {
                let count = usize::from(count);
                let step = Step::Fill {
                    stack: self.stack(stack).0,
                    first: self.ids,
                    count,
                    big,
                    key: self.keys,
                };
                self.ids += count;
                self.keys += count;
                step
            }
            RawOp::Cancel { stack, key } => {
                if self.keys == 0 {
                    return None;
                }
                Step::Cancel {
                    stack: self.stack(stack).0,
                    key: self.keys - 1 - usize::from(key) % self.keys,
                }
            }
            RawOp::CancelAll { stack } => Step::CancelAll {
                stack: self.stack(stack).0,
            },
            RawOp::PopAll { stack, into } => {
                if stack % SLOTS == into % SLOTS {
                    return None;
                }
                let (from, kind) = self.stack(stack);
                if self.slots[usize::from(into % SLOTS)].is_some() {
                    let occupant = self.vacate(into);
                    self.steps.push(Step::Drop { stack: occupant });
                }
                let kind = if kind == Kind::Boxed {
                    Kind::Plain
                } else {
                    kind
                };
                self.slots[usize::from(into % SLOTS)] = Some((self.stacks, kind));
                self.stacks += 1;
                Step::PopAll {
                    stack: from,
                    into: self.stacks - 1,
                }
            }
            RawOp::Close { stack, with } => {
                if self.kind(stack).is_async() {
                    return None;
                }
                Step::Close {
                    stack: self.stack(stack).0,
                    with,
                }
            }
            RawOp::AClose {
                stack,
                with,
                polls,
                then,
            } => {
                if !self.kind(stack).is_async() {
                    return None;
                }
                Step::AClose {
                    stack: self.stack(stack).0,
                    with,
                    polls: usize::from(polls),
                    then,
                }
            }
            RawOp::Drop { stack } => {
                self.stack(stack);
                Step::Drop {
                    stack: self.vacate(stack),
                }
            }
            RawOp::DropUnwinding { stack } => {
                self.stack(stack);
                Step::DropUnwinding {
                    stack: self.vacate(stack),
                }
            }
            RawOp::Forget { stack } => {
                self.stack(stack);
                Step::Forget {
                    stack: self.vacate(stack),
                }
            }
            RawOp::Scope { stack, body } => {
                let kind = self.stack(stack).1;
                Step::Scope {
                    stack: self.vacate(stack),
                    kind,
                    body,
                }
            }
            RawOp::Nest { outer, inner, how } => {
                if outer % SLOTS == inner % SLOTS
                    || (self.kind(outer).is_send() && !self.kind(inner).is_send())
                {
                    return None;
                }
                let outer = self.stack(outer).0;
                let inner_async = self.stack(inner).1.is_async();
                Step::Nest {
                    outer,
                    inner: self.vacate(inner),
                    inner_async,
                    id: self.id(),
                    how,
                    key: self.key(how == How::Close),
                }
            }
            RawOp::Move { stack } => {
                let (name, from) = self.stack(stack);
                let to = from.moved();
                self.slots[usize::from(stack % SLOTS)] = Some((name, to));
                Step::Move {
                    stack: name,
                    from,
                    to,
                }
            }
            RawOp::Guard { guard, end } => Step::Guard {
                id: self.id(),
                guard,
                end,
            },
        };
        Some(step)
    }
}

/// The steps of `ops`, then a `drop` of every stack still in a slot.
fn resolve(ops: &[RawOp]) -> Vec<Step> {
    let mut resolver = Resolver::default();
    for &op in ops {
        if let Some(step) = resolver.op(op) {
            resolver.steps.push(step);
        }
    }
    let mut left: Vec<usize> = resolver
        .slots
        .iter()
        .flatten()
        .map(|&(name, _)| name)
        .collect();
    left.sort_unstable();
    resolver
        .steps
        .extend(left.into_iter().map(|stack| Step::Drop { stack }));
    resolver.steps
}

/// `text` if `on`.
fn flag(on: bool, text: &'static str) -> &'static str {
    if on { text } else { "" }
}

/// How an async entry's future waits, as printed.
fn pending(pendings: u8) -> String {
    if pendings == 0 {
        String::new()
    } else {
        format!(" pending {pendings}x")
    }
}

/// The registration of `entry` as `#id`, without the stack (`callback(#3)`).
fn registration(entry: Entry, id: usize) -> String {
    match entry {
        Entry::Callback { panics } => format!("callback(#{id}{})", flag(panics, " panics")),
        Entry::Push { panics } => format!("push(#{id}{})", flag(panics, " panics")),
        Entry::TryCallback { fails, panics } => format!(
            "try_callback(#{id}{}{})",
            flag(fails, " fails"),
            flag(panics, " panics")
        ),
        Entry::Context { drop_panics } => {
            format!("enter_context(#{id}{})", flag(drop_panics, " drop panics"))
        }
        Entry::ExitContext { fails, panics } => format!(
            "enter_exit_context(#{id}{}{})",
            flag(fails, " fails"),
            flag(panics, " panics")
        ),
        Entry::Fresh => format!("callback(#{id}: a fresh stack with a push)"),
        Entry::Defer { panics } => {
            format!(
                "enter_context(Defer::new(#{id}{}))",
                flag(panics, " panics")
            )
        }
        Entry::Guard { when, panics } => format!(
            "enter_context(Guard::new(When::{when:?}, #{id}{}))",
            flag(panics, " panics")
        ),
        Entry::AsyncCallback { pendings, panics } => format!(
            "push_async_callback(#{id}{}{})",
            pending(pendings),
            flag(panics, " panics")
        ),
        Entry::AsyncExit { pendings, panics } => format!(
            "push_async_exit(#{id}{}{})",
            pending(pendings),
            flag(panics, " panics")
        ),
        Entry::TryAsync {
            pendings,
            fails,
            panics,
        } => format!(
            "try_push_async_callback(#{id}{}{}{})",
            pending(pendings),
            flag(fails, " fails"),
            flag(panics, " panics")
        ),
        Entry::AsyncContext {
            entered,
            pendings,
            fails,
            panics,
        } => format!(
            "enter_async_context(#{id}{}{}{}){}",
            pending(pendings),
            flag(fails, " fails"),
            flag(panics, " panics"),
            if entered { ".await" } else { " (not awaited)" }
        ),
    }
}

impl fmt::Display for Step {
    #[allow(clippy::too_many_lines, reason = "one arm per kind of step")]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let closer = |with: Option<Outcome>, name: &str| match with {
            None => format!("{name}()"),
            Some(outcome) => format!("{name}_with(Outcome::{outcome:?})"),
        };
        match *self {
            Step::New { stack, kind } => write!(f, "let s{stack} = {}::new();", kind.name()),
            Step::Register {
                stack,
                id,
                entry,
                key,
            } => {
                if let Some(key) = key {
                    write!(f, "let k{key} = ")?;
                }
                write!(f, "s{stack}.{};", registration(entry, id))
            }
            Step::Fill {
                stack,
                first,
                count,
                big,
                key,
            } => write!(
                f,
                "let [k{key}..=k{}] = [#{first}..=#{}].map(|#| s{stack}.callback(#{}));",
                key + count - 1,
                first + count - 1,
                flag(big, " capturing 64 aligned bytes")
            ),
            Step::Cancel { stack, key } => write!(f, "s{stack}.cancel(&k{key});"),
            Step::CancelAll { stack } => write!(f, "s{stack}.cancel_all();"),
            Step::PopAll { stack, into } => write!(f, "let s{into} = s{stack}.pop_all();"),
            Step::Close { stack, with } => write!(f, "s{stack}.{};", closer(with, "close")),
            Step::AClose {
                stack,
                with,
                polls,
                then,
            } => {
                let call = closer(with, "aclose");
                match then {
                    Then::Finish => write!(f, "block_on(s{stack}.{call});"),
                    Then::Drop => write!(
                        f,
                        "let f = s{stack}.{call}; poll(f) until Pending {polls}x; drop(f);"
                    ),
                    Then::Forget => write!(
                        f,
                        "let f = s{stack}.{call}; poll(f) until Pending {polls}x; mem::forget(f);"
                    ),
                }
            }
            Step::Drop { stack } => write!(f, "drop(s{stack});"),
            Step::DropUnwinding { stack } => {
                write!(f, "drop(s{stack}) while unwinding from a panic;")
            }
            Step::Forget { stack } => write!(f, "mem::forget(s{stack});"),
            Step::Scope { stack, kind, body } => {
                let body = match body {
                    Body::ReturnsOk => "Ok(())",
                    Body::ReturnsErr => "Err(body error)",
                    Body::Panics => "panic!()",
                };
                if kind.is_async() {
                    write!(
                        f,
                        "block_on({}::scope(async |s| {{ swap(s, &mut s{stack}); {body} }}));",
                        kind.name()
                    )
                } else {
                    write!(
                        f,
                        "{}::scope(|s| {{ swap(s, &mut s{stack}); {body} }});",
                        kind.name()
                    )
                }
            }
            Step::Nest {
                outer,
                inner,
                id,
                how: How::Drop,
                ..
            } => write!(f, "s{outer}.enter_context(#{id}: s{inner});"),
            Step::Nest {
                outer,
                inner,
                inner_async,
                id,
                how: How::Close,
                key,
            } => write!(
                f,
                "let k{} = s{outer}.callback(#{id}: move || {});",
                key.unwrap_or(usize::MAX),
                if inner_async {
                    format!("block_on(s{inner}.aclose())")
                } else {
                    format!("s{inner}.close()")
                }
            ),
            Step::Move { stack, from, to } => match (from, to) {
                (_, Kind::Boxed) => write!(f, "let s{stack} = Box::new(s{stack});"),
                (Kind::Boxed, _) => write!(f, "let s{stack}: {} = (*s{stack}).into();", to.name()),
                (Kind::Async, _) => write!(f, "let s{stack} = black_box(s{stack});"),
                _ => write!(f, "let s{stack}: {} = s{stack}.into();", to.name()),
            },
            Step::Guard { id, guard, end } => {
                match guard {
                    Entry::Defer { panics } => {
                        write!(f, "let g = Defer::new(#{id}{}); ", flag(panics, " panics"))
                    }
                    Entry::Guard { when, panics } => write!(
                        f,
                        "let g = Guard::new(When::{when:?}, #{id}{}); ",
                        flag(panics, " panics")
                    ),
                    other => write!(f, "let g = {other:?}; "),
                }?;
                f.write_str(match end {
                    GuardEnd::Drop => "drop(g);",
                    GuardEnd::DropUnwinding => "drop(g) while unwinding from a panic;",
                    GuardEnd::Forget => "mem::forget(g);",
                    GuardEnd::Cancel => "g.cancel();",
                    GuardEnd::Run => "g.run();",
                })
            }
        }
    }
}

impl fmt::Debug for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "program {{")?;
        for (n, step) in self.steps().iter().enumerate() {
            writeln!(f, "    /* step {n:>2} */ {step}")?;
        }
        writeln!(f, "}}")?;
        write!(f, "raw ops (for a regression test): {:?}", self.ops)
    }
}
// ---------------------------------------------------------------------------
// Observations
// ---------------------------------------------------------------------------

/// A panic payload. Every panic of a program carries a distinct one.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Boom {
    /// Entry `#n` panicked.
    Entry(usize),
    /// Step `n` started a panic to drop a stack while unwinding.
    Unwind(usize),
    /// The body of the scope of step `n` panicked.
    Body(usize),
    /// Not a payload the program made: the original payload was lost.
    Foreign(String),
}

/// The error of a failing entry `#n`.
#[derive(Debug)]
struct Failed(usize);

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "entry #{} failed", self.0)
    }
}

impl Error for Failed {}

/// What `ExitStack::scope` returned, its `exitstack::ScopeError` as ids.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ScopeError {
    /// The body's own error (the body of step `n`), with the cleanup errors
    /// beside it (entry ids in execution order; empty if none failed).
    Body(usize, Vec<usize>),
    /// The cleanup errors of a body that succeeded.
    Cleanup(Vec<usize>),
}

/// The body's error in `exitstack::ScopeError::Body`: the body of step `n`.
#[derive(Debug)]
struct BodyFailed(usize);

impl From<exitstack::ScopeError<BodyFailed>> for ScopeError {
    fn from(error: exitstack::ScopeError<BodyFailed>) -> Self {
        match error {
            exitstack::ScopeError::Body { error, cleanup } => {
                ScopeError::Body(error.0, cleanup.as_ref().map(error_ids).unwrap_or_default())
            }
            exitstack::ScopeError::Cleanup(cleanup) => ScopeError::Cleanup(error_ids(&cleanup)),
        }
    }
}

/// What one step returned.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Obs {
    Done,
    Cancel(Result<(), CancelError>),
    /// `close()`: the ids of the failed entries, in execution order.
    Closed(Result<(), Vec<usize>>),
    /// An `aclose()` future returned `Pending` `pendings` times, then ended.
    AClose {
        pendings: usize,
        end: AEnd,
    },
    Scope(Result<(), ScopeError>),
    Panicked(Boom),
}

/// How an `aclose()` future ended.
#[derive(Clone, Debug, PartialEq, Eq)]
enum AEnd {
    /// Completed: the ids of the failed entries, in execution order.
    Closed(Result<(), Vec<usize>>),
    /// The poll that completed it panicked.
    Panicked(Boom),
    /// Dropped or forgotten while `Pending` (or before its first poll).
    Interrupted,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Event {
    /// Entry `#n` ran; exit callbacks and exit contexts report the outcome.
    Ran(usize, Option<Outcome>),
    /// What entry `#n` captured (or the context value) was dropped.
    Dropped(usize),
    /// `s.close()` inside the callback of entry `#n` returned this.
    InnerClosed(usize, Result<(), Vec<usize>>),
    /// Step `step` returned `obs`; then the live stacks had `pending`
    /// entries each, as `(stack, len())`.
    Step {
        step: usize,
        obs: Obs,
        pending: Vec<(usize, usize)>,
    },
}

fn error_ids(error: &CleanupError) -> Vec<usize> {
    error
        .iter()
        .map(|e| e.downcast_ref::<Failed>().map_or(usize::MAX, |f| f.0))
        .collect()
}

fn boom_of(payload: Box<dyn Any + Send>) -> Boom {
    match payload.downcast::<Boom>() {
        Ok(boom) => *boom,
        Err(other) => Boom::Foreign(
            other
                .downcast_ref::<&str>()
                .map(ToString::to_string)
                .or_else(|| other.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a payload of another type".into()),
        ),
    }
}

fn boom(boom: Boom) -> ! {
    panic::panic_any(boom)
}

/// Silences the panics a program makes (their payload is a `Boom`); any
/// other panic, such as a failed check, is reported as usual.
fn quiet_booms() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<Boom>().is_none() {
                default(info);
            }
        }));
    });
}

// ---------------------------------------------------------------------------
// The real thing
// ---------------------------------------------------------------------------

thread_local! {
    static LOG: RefCell<Vec<Event>> = const { RefCell::new(Vec::new()) };
}

fn log(event: Event) {
    LOG.with(|log| log.borrow_mut().push(event));
}

/// Held by every entry: logs `Dropped(n)` when what the entry captured is
/// dropped.
struct Token(usize);

impl Drop for Token {
    fn drop(&mut self) {
        log(Event::Dropped(self.0));
    }
}

/// A capture too large and too aligned to be stored in place.
#[repr(align(64))]
struct Big([u64; 8]);

/// An `enter_context` value.
struct Ctx {
    id: usize,
    drop_panics: bool,
}

impl Drop for Ctx {
    fn drop(&mut self) {
        log(Event::Dropped(self.id));
        if self.drop_panics {
            boom(Boom::Entry(self.id));
        }
    }
}

/// An `enter_exit_context` value.
struct ExitCtx {
    token: Token,
    fails: bool,
    panics: bool,
}

impl ExitContext for ExitCtx {
    type Error = Failed;
    fn exit(self, outcome: Outcome) -> Result<(), Failed> {
        let id = self.token.0;
        log(Event::Ran(id, Some(outcome)));
        if self.panics {
            boom(Boom::Entry(id));
        }
        if self.fails { Err(Failed(id)) } else { Ok(()) }
    }
}

/// Returns `Pending` (waking its waker) as many times as it was made with,
/// then `Ready`.
struct Pend(u8);

impl Future for Pend {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        if self.0 == 0 {
            return Poll::Ready(());
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// An `enter_async_context` value; its `enter` is the default (ready at
/// once).
struct AsyncCtx {
    token: Token,
    pendings: u8,
    fails: bool,
    panics: bool,
}

impl AsyncExitContext for AsyncCtx {
    type Error = Failed;
    async fn exit(self, outcome: Outcome) -> Result<(), Failed> {
        // A local, so that the token drops when the body ends or panics.
        let this = self;
        let id = this.token.0;
        log(Event::Ran(id, Some(outcome)));
        Pend(this.pendings).await;
        if this.panics {
            boom(Boom::Entry(id));
        }
        if this.fails { Err(Failed(id)) } else { Ok(()) }
    }
}

/// More polls than any program needs (a future still pending after them
/// is a bug, reported instead of hanging).
const POLL_LIMIT: usize = 100_000;

/// The executor: polls `future` on this thread with a waker that does
/// nothing, until it is ready (every future here makes progress on each
/// poll).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = TaskContext::from_waker(Waker::noop());
    for _ in 0..POLL_LIMIT {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
    panic!("a future is still pending after {POLL_LIMIT} polls")
}

/// Polls an `aclose()` future until it completes or has returned `Pending`
/// `polls` times; then, unless it completed, drives it to completion, drops
/// it, or forgets it, as `then` says. A panic out of a poll ends it.
fn drive_aclose(
    future: impl Future<Output = Result<(), CleanupError>>,
    polls: usize,
    then: Then,
) -> Obs {
    // Boxed, so that forgetting it leaks the future itself.
    let mut future = Box::pin(future);
    let mut cx = TaskContext::from_waker(Waker::noop());
    let mut pendings = 0;
    let end = loop {
        if then != Then::Finish && pendings == polls {
            if then == Then::Forget {
                std::mem::forget(future);
            } else {
                drop(future);
            }
            break AEnd::Interrupted;
        }
        assert!(pendings < POLL_LIMIT, "aclose() never completes");
        match panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx))) {
            Ok(Poll::Pending) => pendings += 1,
            Ok(Poll::Ready(closed)) => break AEnd::Closed(closed.map_err(|e| error_ids(&e))),
            Err(payload) => break AEnd::Panicked(boom_of(payload)),
        }
    };
    Obs::AClose { pendings, end }
}

/// How the harness holds a stack.
enum Holder {
    Plain(ExitStack<'static>),
    Boxed(Box<ExitStack<'static>>),
    Send(SendExitStack<'static>),
    Async(AsyncExitStack<'static>),
    SendAsync(SendAsyncExitStack<'static>),
}

/// `$body` with `$s` bound to the stack inside `$holder`, whatever its kind
/// (the API every stack has).
macro_rules! on {
    ($holder:expr, $s:ident => $body:expr) => {
        match $holder {
            Holder::Plain($s) => $body,
            Holder::Boxed($s) => $body,
            Holder::Send($s) => $body,
            Holder::Async($s) => $body,
            Holder::SendAsync($s) => $body,
        }
    };
}

/// `$body` with `$s` bound to the stack inside `$holder`, an async one.
macro_rules! on_async {
    ($holder:expr, $s:ident => $body:expr) => {
        match $holder {
            Holder::Async($s) => $body,
            Holder::SendAsync($s) => $body,
            _ => unreachable!("resolve gives async operations to async stacks only"),
        }
    };
}

/// `$body` with `$s` bound to the stack inside `$holder`, a synchronous one.
macro_rules! on_sync {
    ($holder:expr, $s:ident => $body:expr) => {
        match $holder {
            Holder::Plain($s) => $body,
            Holder::Boxed($s) => $body,
            Holder::Send($s) => $body,
            _ => unreachable!("resolve gives close to synchronous stacks only"),
        }
    };
}

impl Holder {
    fn len(&self) -> usize {
        on!(self, s => s.len())
    }
}

/// A stack moved into another one, with the token of the entry it became.
/// Fields drop in order: the stack first (running its entries), then the
/// token.
struct Nested<S> {
    inner: S,
    token: Token,
}

trait Close {
    /// `close()`, or for an async stack `block_on(aclose())`.
    fn close_ids(&mut self) -> Result<(), Vec<usize>>;
}

impl Close for Holder {
    fn close_ids(&mut self) -> Result<(), Vec<usize>> {
        match self {
            Holder::Plain(s) => s.close(),
            Holder::Boxed(s) => s.close(),
            Holder::Send(s) => s.close(),
            Holder::Async(s) => block_on(s.aclose()),
            Holder::SendAsync(s) => block_on(s.aclose()),
        }
        .map_err(|e| error_ids(&e))
    }
}

impl Close for SendExitStack<'static> {
    fn close_ids(&mut self) -> Result<(), Vec<usize>> {
        self.close().map_err(|e| error_ids(&e))
    }
}

impl Close for SendAsyncExitStack<'static> {
    fn close_ids(&mut self) -> Result<(), Vec<usize>> {
        block_on(self.aclose()).map_err(|e| error_ids(&e))
    }
}

/// Registers the synchronous entry `id` on `$s` (any stack type; every
/// entry is `Send`). Closures hold a `Token` that drops when they are
/// consumed or dropped.
macro_rules! register {
    ($s:expr, $id:expr, $entry:expr) => {{
        let (s, id) = ($s, $id);
        match $entry {
            Entry::Callback { panics } => {
                let token = Token(id);
                Some(s.callback(move || {
                    let _token = token;
                    log(Event::Ran(id, None));
                    if panics {
                        boom(Boom::Entry(id));
                    }
                }))
            }
            Entry::Push { panics } => {
                let token = Token(id);
                Some(s.push(move |outcome| {
                    let _token = token;
                    log(Event::Ran(id, Some(outcome)));
                    if panics {
                        boom(Boom::Entry(id));
                    }
                }))
            }
            Entry::TryCallback { fails, panics } => {
                let token = Token(id);
                Some(s.try_callback(move || {
                    let _token = token;
                    log(Event::Ran(id, None));
                    if panics {
                        boom(Boom::Entry(id));
                    }
                    if fails { Err(Failed(id)) } else { Ok(()) }
                }))
            }
            Entry::Context { drop_panics } => {
                let value = s.enter_context(Ctx { id, drop_panics });
                assert_eq!(value.id, id, "enter_context hands back the value");
                None
            }
            Entry::ExitContext { fails, panics } => {
                let token = Token(id);
                let value = s.enter_exit_context(ExitCtx {
                    token,
                    fails,
                    panics,
                });
                assert_eq!(value.token.0, id, "enter_exit_context hands back the value");
                None
            }
            Entry::Fresh => {
                let token = Token(id);
                Some(s.callback(move || {
                    let _token = token;
                    let fresh = ExitStack::new();
                    fresh.push(move |outcome| log(Event::Ran(id, Some(outcome))));
                }))
            }
            Entry::Defer { panics } => {
                s.enter_context(make_defer(id, panics));
                None
            }
            Entry::Guard { when, panics } => {
                s.enter_context(make_guard(id, when, panics));
                None
            }
            Entry::AsyncCallback { .. }
            | Entry::AsyncExit { .. }
            | Entry::TryAsync { .. }
            | Entry::AsyncContext { .. } => unreachable!("register_async! registers these"),
        }
    }};
}

/// Registers the asynchronous entry `id` on the async stack `$s`. The
/// futures bind the token first, so that it drops when they end, panic, or
/// are dropped part-way.
macro_rules! register_async {
    ($s:expr, $id:expr, $entry:expr) => {{
        let (s, id) = ($s, $id);
        match $entry {
            Entry::AsyncCallback { pendings, panics } => {
                let token = Token(id);
                Some(s.push_async_callback(move || async move {
                    let _token = token;
                    log(Event::Ran(id, None));
                    Pend(pendings).await;
                    if panics {
                        boom(Boom::Entry(id));
                    }
                }))
            }
            Entry::AsyncExit { pendings, panics } => {
                let token = Token(id);
                Some(s.push_async_exit(move |outcome| async move {
                    let _token = token;
                    log(Event::Ran(id, Some(outcome)));
                    Pend(pendings).await;
                    if panics {
                        boom(Boom::Entry(id));
                    }
                }))
            }
            Entry::TryAsync {
                pendings,
                fails,
                panics,
            } => {
                let token = Token(id);
                Some(s.try_push_async_callback(move || async move {
                    let _token = token;
                    log(Event::Ran(id, None));
                    Pend(pendings).await;
                    if panics {
                        boom(Boom::Entry(id));
                    }
                    if fails { Err(Failed(id)) } else { Ok(()) }
                }))
            }
            Entry::AsyncContext {
                entered,
                pendings,
                fails,
                panics,
            } => {
                let entering = s.enter_async_context(AsyncCtx {
                    token: Token(id),
                    pendings,
                    fails,
                    panics,
                });
                if entered {
                    let Ok(value) = block_on(entering) else {
                        unreachable!("the default enter succeeds")
                    };
                    assert_eq!(
                        value.token.0, id,
                        "enter_async_context hands back the value"
                    );
                } else {
                    drop(entering);
                }
                None
            }
            _ => unreachable!("register! registers these"),
        }
    }};
}

/// The closure of `Entry::Defer`.
fn make_defer(id: usize, panics: bool) -> Defer<impl FnOnce() + Send> {
    let token = Token(id);
    Defer::new(move || {
        let _token = token;
        log(Event::Ran(id, None));
        if panics {
            boom(Boom::Entry(id));
        }
    })
}

/// The guard of `Entry::Guard`.
fn make_guard(id: usize, when: When, panics: bool) -> Guard<'static, impl FnOnce(Outcome) + Send> {
    let token = Token(id);
    Guard::new(when, move |outcome| {
        let _token = token;
        log(Event::Ran(id, Some(outcome)));
        if panics {
            boom(Boom::Entry(id));
        }
    })
}

/// Ends a guard of its own (`Step::Guard`).
fn end_guard<G>(guard: G, end: GuardEnd, step: usize, cancel: fn(G), run: fn(G)) -> Obs {
    match end {
        GuardEnd::Drop => caught(|| {
            drop(guard);
            Obs::Done
        }),
        GuardEnd::DropUnwinding => caught(|| {
            let _guard = guard;
            boom(Boom::Unwind(step));
        }),
        GuardEnd::Forget => {
            std::mem::forget(guard);
            Obs::Done
        }
        GuardEnd::Cancel => caught(|| {
            cancel(guard);
            Obs::Done
        }),
        GuardEnd::Run => caught(|| {
            run(guard);
            Obs::Done
        }),
    }
}

/// Moves `$nested` (a `Nested`) onto the stack `$s`.
macro_rules! nest {
    ($s:expr, $nested:expr, $how:expr) => {{
        let nested = $nested;
        match $how {
            How::Drop => {
                $s.enter_context(nested);
                None
            }
            How::Close => Some($s.callback(move || {
                let mut nested = nested;
                log(Event::Ran(nested.token.0, None));
                let closed = nested.inner.close_ids();
                log(Event::InnerClosed(nested.token.0, closed));
            })),
        }
    }};
}

/// Runs `f`, turning a panic into `Obs::Panicked` with its payload.
fn caught(f: impl FnOnce() -> Obs) -> Obs {
    panic::catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|payload| Obs::Panicked(boom_of(payload)))
}

fn scope_body(body: Body, step: usize) -> Result<(), BodyFailed> {
    match body {
        Body::ReturnsOk => Ok(()),
        Body::ReturnsErr => Err(BodyFailed(step)),
        Body::Panics => boom(Boom::Body(step)),
    }
}

/// `scope` over the entries of `holder` (for an async stack the async
/// `scope`, driven by `block_on`): they are swapped into the scope's fresh
/// stack (a move of the whole stack value).
fn scope_over(holder: Holder, body: Body, step: usize) -> Result<(), ScopeError> {
    let result = match holder {
        Holder::Send(mut taken) => SendExitStack::scope(|s| {
            std::mem::swap(s, &mut taken);
            scope_body(body, step)
        }),
        Holder::Plain(mut taken) => ExitStack::scope(|s| {
            std::mem::swap(s, &mut taken);
            scope_body(body, step)
        }),
        Holder::Boxed(mut taken) => ExitStack::scope(|s| {
            std::mem::swap(s, &mut *taken);
            scope_body(body, step)
        }),
        Holder::Async(mut taken) => block_on(AsyncExitStack::scope(
            async move |s: &mut AsyncExitStack<'static>| {
                std::mem::swap(s, &mut taken);
                scope_body(body, step)
            },
        )),
        Holder::SendAsync(mut taken) => block_on(SendAsyncExitStack::scope(
            async move |s: &mut SendAsyncExitStack<'static>| {
                std::mem::swap(s, &mut taken);
                scope_body(body, step)
            },
        )),
    };
    result.map_err(ScopeError::from)
}

/// Runs the steps on real stacks and returns what they logged.
#[allow(clippy::too_many_lines, reason = "one arm per kind of step")]
fn execute(steps: &[Step]) -> Vec<Event> {
    LOG.with(|log| log.borrow_mut().clear());
    let mut stacks: Vec<Option<Holder>> = Vec::new();
    let mut keys: Vec<EntryKey> = Vec::new();
    for (n, step) in steps.iter().enumerate() {
        let obs = match *step {
            Step::New { stack, kind } => {
                assert_eq!(stack, stacks.len());
                stacks.push(Some(match kind {
                    Kind::Plain => Holder::Plain(ExitStack::new()),
                    Kind::Boxed => Holder::Boxed(Box::default()),
                    Kind::Send => Holder::Send(SendExitStack::new()),
                    Kind::Async => Holder::Async(AsyncExitStack::new()),
                    Kind::SendAsync => Holder::SendAsync(SendAsyncExitStack::new()),
                }));
                Obs::Done
            }
            Step::Register {
                stack, id, entry, ..
            } => {
                let holder = stacks[stack].as_ref().unwrap();
                let key = if entry.is_async() {
                    on_async!(holder, s => register_async!(s, id, entry))
                } else {
                    on!(holder, s => register!(s, id, entry))
                };
                keys.extend(key);
                Obs::Done
            }
            Step::Fill {
                stack,
                first,
                count,
                big,
                ..
            } => {
                let holder = stacks[stack].as_ref().unwrap();
                for id in first..first + count {
                    let token = Token(id);
                    keys.push(if big {
                        let big = Big([id as u64; 8]);
                        on!(holder, s => s.callback(move || {
                            let _token = token;
                            assert_eq!(big.0[7], id as u64);
                            log(Event::Ran(id, None));
                        }))
                    } else {
                        on!(holder, s => s.callback(move || {
                            let _token = token;
                            log(Event::Ran(id, None));
                        }))
                    });
                }
                Obs::Done
            }
            Step::Cancel { stack, key } => {
                let holder = stacks[stack].as_ref().unwrap();
                caught(|| Obs::Cancel(on!(holder, s => s.cancel(&keys[key]))))
            }
            Step::CancelAll { stack } => {
                let holder = stacks[stack].as_mut().unwrap();
                caught(|| {
                    on!(holder, s => s.cancel_all());
                    Obs::Done
                })
            }
            Step::PopAll { stack, into } => {
                let popped = match stacks[stack].as_mut().unwrap() {
                    Holder::Plain(s) => Holder::Plain(s.pop_all()),
                    Holder::Boxed(s) => Holder::Plain(s.pop_all()),
                    Holder::Send(s) => Holder::Send(s.pop_all()),
                    Holder::Async(s) => Holder::Async(s.pop_all()),
                    Holder::SendAsync(s) => Holder::SendAsync(s.pop_all()),
                };
                assert_eq!(into, stacks.len());
                stacks.push(Some(popped));
                Obs::Done
            }
            Step::Close { stack, with } => {
                let holder = stacks[stack].as_mut().unwrap();
                caught(|| {
                    let closed = match with {
                        None => on_sync!(holder, s => s.close()),
                        Some(outcome) => on_sync!(holder, s => s.close_with(outcome)),
                    };
                    Obs::Closed(closed.map_err(|e| error_ids(&e)))
                })
            }
            Step::AClose {
                stack,
                with,
                polls,
                then,
            } => {
                let holder = stacks[stack].as_mut().unwrap();
                on_async!(holder, s => match with {
                    None => drive_aclose(s.aclose(), polls, then),
                    Some(outcome) => drive_aclose(s.aclose_with(outcome), polls, then),
                })
            }
            Step::Drop { stack } => {
                let holder = stacks[stack].take().unwrap();
                caught(|| {
                    drop(holder);
                    Obs::Done
                })
            }
            Step::DropUnwinding { stack } => {
                let holder = stacks[stack].take().unwrap();
                caught(|| {
                    let _holder = holder;
                    boom(Boom::Unwind(n));
                })
            }
            Step::Forget { stack } => {
                std::mem::forget(stacks[stack].take().unwrap());
                Obs::Done
            }
            Step::Scope { stack, body, .. } => {
                let holder = stacks[stack].take().unwrap();
                caught(|| Obs::Scope(scope_over(holder, body, n)))
            }
            Step::Nest {
                outer,
                inner,
                id,
                how,
                ..
            } => {
                let inner = stacks[inner].take().unwrap();
                let token = Token(id);
                let key = match (stacks[outer].as_ref().unwrap(), inner) {
                    (Holder::Send(s), Holder::Send(inner)) => {
                        nest!(s, Nested { inner, token }, how)
                    }
                    (Holder::Send(s), Holder::SendAsync(inner)) => {
                        nest!(s, Nested { inner, token }, how)
                    }
                    (Holder::SendAsync(s), Holder::Send(inner)) => {
                        nest!(s, Nested { inner, token }, how)
                    }
                    (Holder::SendAsync(s), Holder::SendAsync(inner)) => {
                        nest!(s, Nested { inner, token }, how)
                    }
                    (Holder::Send(_) | Holder::SendAsync(_), _) => {
                        unreachable!("resolve skips it")
                    }
                    (Holder::Plain(s), inner) => nest!(s, Nested { inner, token }, how),
                    (Holder::Boxed(s), inner) => nest!(s, Nested { inner, token }, how),
                    (Holder::Async(s), inner) => nest!(s, Nested { inner, token }, how),
                };
                keys.extend(key);
                Obs::Done
            }
            Step::Move { stack, to, .. } => {
                let moved = match (stacks[stack].take().unwrap(), to) {
                    (Holder::Plain(s), Kind::Boxed) => Holder::Boxed(Box::new(s)),
                    (Holder::Boxed(s), Kind::Async) => Holder::Async((*s).into()),
                    (Holder::Send(s), Kind::Plain) => Holder::Plain(s.into()),
                    (Holder::SendAsync(s), Kind::Async) => Holder::Async(s.into()),
                    (Holder::Async(s), Kind::Async) => Holder::Async(std::hint::black_box(s)),
                    _ => unreachable!("resolve moves as Kind::moved says"),
                };
                stacks[stack] = Some(moved);
                Obs::Done
            }
            Step::Guard { id, guard: g, end } => match g {
                Entry::Defer { panics } => {
                    end_guard(make_defer(id, panics), end, n, Defer::cancel, Defer::run)
                }
                Entry::Guard { when, panics } => end_guard(
                    make_guard(id, when, panics),
                    end,
                    n,
                    Guard::cancel,
                    Guard::run,
                ),
                _ => unreachable!("a guard step holds a guard"),
            },
        };
        let pending = stacks
            .iter()
            .enumerate()
            .filter_map(|(name, holder)| Some((name, holder.as_ref()?.len())))
            .collect();
        log(Event::Step {
            step: n,
            obs,
            pending,
        });
    }
    LOG.with(|log| std::mem::take(&mut *log.borrow_mut()))
}

// ---------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------

/// A stack in the model: its pending entries, in registration order; its
/// identity (what its keys name; `pop_all` hands it to the new stack) and
/// epoch (bumped whenever it starts emptying itself: keys of an older
/// epoch are refused); whether it is an async stack (closed with `aclose`
/// when nested with `How::Close`).
#[derive(Default)]
struct MStack {
    ident: u64,
    epoch: u64,
    entries: Vec<usize>,
    is_async: bool,
    /// What an `aclose()` dropped part-way left to the stack.
    carried: Option<Carried>,
}

/// What closing an async stack has seen so far: the outcome its next
/// entries see, the errors, the first panic. An `aclose()` dropped part-way
/// leaves it to the stack; the next `aclose()` (or the async `scope` the
/// stack is swapped into) carries on from it, and a drop runs the entries
/// left with its outcome and resumes its panic.
#[derive(Clone)]
struct Carried {
    outcome: Outcome,
    errors: Vec<usize>,
    first: Option<Boom>,
}

impl Carried {
    /// A close with `outcome`, carrying on from `carried` (its outcome made
    /// no better: `Panic` over `Error` over `Success`).
    fn resume(carried: Option<Carried>, outcome: Outcome) -> Carried {
        let Some(mut carried) = carried else {
            return Carried {
                outcome,
                errors: Vec::new(),
                first: None,
            };
        };
        carried.outcome = worst(carried.outcome, outcome);
        carried
    }

    fn result(self) -> Result<Vec<usize>, Boom> {
        self.first.map_or(Ok(self.errors), Err)
    }
}

fn worst(a: Outcome, b: Outcome) -> Outcome {
    match (a, b) {
        (Outcome::Panic, _) | (_, Outcome::Panic) => Outcome::Panic,
        (Outcome::Error, _) | (_, Outcome::Error) => Outcome::Error,
        _ => Outcome::Success,
    }
}

enum What {
    Plain(Entry),
    Nested(Option<MStack>, How),
}

struct MEntry {
    what: What,
    pending: bool,
}

/// How an interrupted `aclose()` future ends: after it returned `Pending`
/// this many times, it is dropped, or forgotten.
#[derive(Clone, Copy)]
struct Stop {
    after: usize,
    forget: bool,
}

#[derive(Default)]
struct Model {
    stacks: Vec<Option<MStack>>,
    entries: Vec<MEntry>,
    /// Per key: its entry, and the identity and epoch of the stack it was
    /// issued by.
    keys: Vec<(usize, u64, u64)>,
    idents: u64,
    events: Vec<Event>,
    /// Entries leaked: never run nor dropped after they were.
    leaked: Vec<usize>,
}

/// What an async entry's future does when awaited: the `Ran` it logs (if
/// it runs), how many times it returns `Pending`, whether it fails or
/// panics at the end.
struct Awaited {
    ran: Option<Event>,
    pendings: u8,
    fails: bool,
    panics: bool,
}

impl Awaited {
    fn of(id: usize, entry: Entry, outcome: Outcome) -> Option<Awaited> {
        let (ran, pendings, fails, panics) = match entry {
            Entry::AsyncCallback { pendings, panics } => (Some(None), pendings, false, panics),
            Entry::AsyncExit { pendings, panics } => (Some(Some(outcome)), pendings, false, panics),
            Entry::TryAsync {
                pendings,
                fails,
                panics,
            } => (Some(None), pendings, fails, panics),
            // Not entered: dropped without its `exit`.
            Entry::AsyncContext { entered: false, .. } => (None, 0, false, false),
            Entry::AsyncContext {
                entered: true,
                pendings,
                fails,
                panics,
            } => (Some(Some(outcome)), pendings, fails, panics),
            _ => return None,
        };
        Some(Awaited {
            ran: ran.map(|seen| Event::Ran(id, seen)),
            pendings,
            fails,
            panics,
        })
    }
}

impl Model {
    fn fresh_ident(&mut self) -> u64 {
        self.idents += 1;
        self.idents
    }

    fn stack(&mut self, name: usize) -> &mut MStack {
        self.stacks[name].as_mut().unwrap()
    }

    fn log(&mut self, event: Event) {
        self.events.push(event);
    }

    /// A guard (`Entry::Defer` or `Entry::Guard`) `id` is dropped; it
    /// runs if it is a `Defer` or its `When` matches the outcome it sees:
    /// `Panic` while the thread unwinds (it was made while nothing did),
    /// else `Success`. A panic from it is discarded while unwinding.
    fn guard_dropped(&mut self, id: usize, guard: Entry, unwinding: bool) -> Result<(), Boom> {
        let (runs, seen, panics) = match guard {
            Entry::Defer { panics } => (true, None, panics),
            Entry::Guard { when, panics } => {
                let outcome = if unwinding {
                    Outcome::Panic
                } else {
                    Outcome::Success
                };
                (when.matches(outcome), Some(outcome), panics)
            }
            _ => unreachable!("not a guard"),
        };
        self.entries[id].pending = false;
        if runs {
            self.log(Event::Ran(id, seen));
        }
        self.log(Event::Dropped(id));
        if runs && panics && !unwinding {
            Err(Boom::Entry(id))
        } else {
            Ok(())
        }
    }

    /// Entry `id` runs with `outcome` in a synchronous drain (`close`, a
    /// stack's drop) or as a synchronous entry of `aclose`; `unwinding` is
    /// whether the thread is. An async entry is dropped without running.
    /// Returns its error, or its panic.
    fn run(&mut self, id: usize, outcome: Outcome, unwinding: bool) -> Result<Option<usize>, Boom> {
        self.entries[id].pending = false;
        let what = match &mut self.entries[id].what {
            What::Plain(entry) => What::Plain(*entry),
            What::Nested(inner, how) => What::Nested(inner.take(), *how),
        };
        let panics_if = |panics: bool| {
            if panics {
                Err(Boom::Entry(id))
            } else {
                Ok(None)
            }
        };
        match what {
            What::Plain(Entry::Callback { panics }) => {
                self.log(Event::Ran(id, None));
                self.log(Event::Dropped(id));
                panics_if(panics)
            }
            What::Plain(Entry::Push { panics }) => {
                self.log(Event::Ran(id, Some(outcome)));
                self.log(Event::Dropped(id));
                panics_if(panics)
            }
            What::Plain(Entry::TryCallback { fails, panics }) => {
                self.log(Event::Ran(id, None));
                self.log(Event::Dropped(id));
                panics_if(panics).map(|_| fails.then_some(id))
            }
            What::Plain(Entry::Context { drop_panics }) => {
                self.log(Event::Dropped(id));
                panics_if(drop_panics)
            }
            What::Plain(Entry::ExitContext { fails, panics }) => {
                self.log(Event::Ran(id, Some(outcome)));
                self.log(Event::Dropped(id));
                panics_if(panics).map(|_| fails.then_some(id))
            }
            What::Plain(Entry::Fresh) => {
                self.log(Event::Ran(id, Some(Outcome::Success)));
                self.log(Event::Dropped(id));
                Ok(None)
            }
            What::Plain(guard @ (Entry::Defer { .. } | Entry::Guard { .. })) => {
                self.guard_dropped(id, guard, unwinding).map(|()| None)
            }
            What::Plain(
                Entry::AsyncCallback { .. }
                | Entry::AsyncExit { .. }
                | Entry::TryAsync { .. }
                | Entry::AsyncContext { .. },
            ) => {
                self.log(Event::Dropped(id));
                Ok(None)
            }
            What::Nested(inner, How::Drop) => {
                let dropped = self.drop_stack(inner.unwrap(), unwinding);
                self.log(Event::Dropped(id));
                dropped.map(|()| None)
            }
            What::Nested(inner, How::Close) => {
                self.log(Event::Ran(id, None));
                let inner = inner.unwrap();
                let closed = if inner.is_async {
                    self.aclose_all(inner.entries, inner.carried, Outcome::Success, unwinding)
                } else {
                    self.close(inner.entries, Outcome::Success, unwinding)
                };
                if let Ok(errors) = &closed {
                    let result = if errors.is_empty() {
                        Ok(())
                    } else {
                        Err(errors.clone())
                    };
                    self.log(Event::InnerClosed(id, result));
                }
                // The emptied inner stack, then the token.
                self.log(Event::Dropped(id));
                closed.map(|_| None)
            }
        }
    }

    /// Entry `id` is dropped without running (`cancel`, `cancel_all`) —
    /// which for a guard is what runs it.
    fn discard(&mut self, id: usize, unwinding: bool) -> Result<(), Boom> {
        self.entries[id].pending = false;
        let result = match &mut self.entries[id].what {
            What::Plain(guard @ (Entry::Defer { .. } | Entry::Guard { .. })) => {
                let guard = *guard;
                return self.guard_dropped(id, guard, unwinding);
            }
            What::Plain(Entry::Context { drop_panics: true }) => Err(Boom::Entry(id)),
            What::Plain(_) => Ok(()),
            What::Nested(inner, _) => {
                let inner = inner.take().unwrap();
                self.drop_stack(inner, unwinding)
            }
        };
        self.log(Event::Dropped(id));
        result
    }

    /// A forgotten stack: none of its entries (nor those of the stacks
    /// nested in it) ever runs or drops.
    fn leak(&mut self, stack: MStack) {
        for id in stack.entries {
            self.entries[id].pending = false;
            self.leaked.push(id);
            if let What::Nested(inner, _) = &mut self.entries[id].what {
                let inner = inner.take().unwrap();
                self.leak(inner);
            }
        }
    }

    /// `close_with(outcome)`: every entry runs, last first; after a panic
    /// the rest see `Panic`, after an error (with no panic) `Error` (policy
    /// 8). Returns the errors in execution order, or the
    /// first panic — unless the thread was already unwinding when `close`
    /// was called: then every panic is discarded (none may leave a
    /// destructor), and the errors are returned; the entries after a
    /// discarded panic still see `Panic`. The entries after a panic run
    /// while it unwinds.
    fn close(
        &mut self,
        entries: Vec<usize>,
        outcome: Outcome,
        unwinding: bool,
    ) -> Result<Vec<usize>, Boom> {
        let mut errors = Vec::new();
        let mut first = None;
        let mut outcome = outcome;
        for id in entries.into_iter().rev() {
            if first.is_some() {
                let _ = self.run(id, Outcome::Panic, true);
                continue;
            }
            match self.run(id, outcome, unwinding) {
                Ok(Some(error)) => {
                    errors.push(error);
                    if outcome == Outcome::Success {
                        outcome = Outcome::Error;
                    }
                }
                Ok(None) => {}
                // Discarded, but still a panic for the entries after it.
                Err(_) if unwinding => outcome = Outcome::Panic,
                Err(payload) => first = Some(payload),
            }
        }
        first.map_or(Ok(errors), Err)
    }

    /// `aclose_with(outcome)` driven to completion: as `close`, but async
    /// entries are awaited, and every entry runs under `catch_unwind`, so
    /// the entries after a panic see `Panic` without the thread unwinding.
    fn aclose_all(
        &mut self,
        mut entries: Vec<usize>,
        carried: Option<Carried>,
        outcome: Outcome,
        unwinding: bool,
    ) -> Result<Vec<usize>, Boom> {
        let state = Carried::resume(carried, outcome);
        let (_, mut state, interrupted) = self.adrain(&mut entries, state, unwinding, None);
        assert!(!interrupted);
        if unwinding {
            // Finished while the thread unwinds: the panic is discarded.
            state.first = None;
        }
        state.result()
    }

    /// The loop of `aclose_with(outcome)` over `entries` (last first), each
    /// one taken out before it starts. An async entry logs `Ran` in the poll
    /// that starts it, then makes the `aclose()` future return `Pending` as
    /// many times as it was made with. With `stop`, the future is dropped or
    /// forgotten once it returned `Pending` `stop.after` times: the entry
    /// in progress is then dropped or leaked, and the ones not reached stay
    /// in `entries`. Starts from `state`; returns how many times the future
    /// returned `Pending`, what it had seen, and whether it was interrupted.
    fn adrain(
        &mut self,
        entries: &mut Vec<usize>,
        state: Carried,
        unwinding: bool,
        stop: Option<Stop>,
    ) -> (usize, Carried, bool) {
        let mut pendings = 0;
        let Carried {
            mut outcome,
            mut errors,
            mut first,
        } = state;
        while let Some(id) = entries.pop() {
            let awaited = match &self.entries[id].what {
                What::Plain(entry) => Awaited::of(id, *entry, outcome),
                What::Nested(..) => None,
            };
            let result = match awaited {
                None => self.run(id, outcome, unwinding),
                Some(awaited) => {
                    self.entries[id].pending = false;
                    if let Some(ran) = awaited.ran {
                        self.log(ran);
                    }
                    for _ in 0..awaited.pendings {
                        pendings += 1;
                        if let Some(stop) = stop.filter(|stop| stop.after == pendings) {
                            if stop.forget {
                                self.leaked.push(id);
                            } else {
                                self.log(Event::Dropped(id));
                            }
                            let state = Carried {
                                outcome,
                                errors,
                                first,
                            };
                            return (pendings, state, true);
                        }
                    }
                    self.log(Event::Dropped(id));
                    if awaited.panics {
                        Err(Boom::Entry(id))
                    } else {
                        Ok(awaited.fails.then_some(id))
                    }
                }
            };
            match result {
                Ok(Some(error)) => {
                    errors.push(error);
                    if outcome == Outcome::Success {
                        outcome = Outcome::Error;
                    }
                }
                Ok(None) => {}
                Err(payload) => {
                    outcome = Outcome::Panic;
                    first.get_or_insert(payload);
                }
            }
        }
        let state = Carried {
            outcome,
            errors,
            first,
        };
        (pendings, state, false)
    }

    /// A stack's `Drop`: while the thread unwinds, its entries see `Panic`
    /// (every stack of a program is made while nothing unwinds) and their
    /// panics are discarded; otherwise it closes, discarding the errors.
    /// Async entries are dropped without running.
    fn drop_stack(&mut self, stack: MStack, unwinding: bool) -> Result<(), Boom> {
        if let Some(carried) = stack.carried {
            // After an interrupted `aclose()`: the entries left run with the
            // outcome it reached (and the drop's own), the errors are
            // discarded, its first panic resumes unless the thread unwinds.
            let baseline = if unwinding {
                Outcome::Panic
            } else {
                Outcome::Success
            };
            let outcome = worst(baseline, carried.outcome);
            let closed = self.close(stack.entries, outcome, unwinding);
            if unwinding {
                return Ok(());
            }
            return carried.first.map_or(closed.map(drop), Err);
        }
        if unwinding {
            for id in stack.entries.into_iter().rev() {
                let _ = self.run(id, Outcome::Panic, true);
            }
            return Ok(());
        }
        self.close(stack.entries, Outcome::Success, false).map(drop)
    }

    fn cancel_all(&mut self, entries: Vec<usize>) -> Result<(), Boom> {
        let mut first = None;
        for id in entries.into_iter().rev() {
            let dropped = self.discard(id, first.is_some());
            if first.is_none() {
                first = dropped.err();
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// The step `AClose`.
    fn aclose_step(&mut self, stack: usize, outcome: Outcome, polls: usize, then: Then) -> Obs {
        let stop = match then {
            Then::Finish => None,
            Then::Drop => Some(Stop {
                after: polls,
                forget: false,
            }),
            Then::Forget => Some(Stop {
                after: polls,
                forget: true,
            }),
        };
        if polls == 0 && stop.is_some() {
            // Never polled: an `async fn` does nothing before its first poll.
            return Obs::AClose {
                pendings: 0,
                end: AEnd::Interrupted,
            };
        }
        // The first poll takes the first entry, and retires every key.
        self.stack(stack).epoch += 1;
        let mut entries = std::mem::take(&mut self.stack(stack).entries);
        let state = Carried::resume(self.stack(stack).carried.take(), outcome);
        let (pendings, state, interrupted) = self.adrain(&mut entries, state, false, stop);
        self.stack(stack).entries = entries;
        if interrupted {
            // Dropped: the stack keeps what it saw. Forgotten: lost with it.
            if !stop.is_some_and(|stop| stop.forget) {
                self.stack(stack).carried = Some(state);
            }
            return Obs::AClose {
                pendings,
                end: AEnd::Interrupted,
            };
        }
        let end = match state.result() {
            Ok(errors) if errors.is_empty() => AEnd::Closed(Ok(())),
            Ok(errors) => AEnd::Closed(Err(errors)),
            Err(payload) => AEnd::Panicked(payload),
        };
        Obs::AClose { pendings, end }
    }

    /// The step `Guard`: a guard of its own, ended at once.
    fn guard_step(&mut self, n: usize, id: usize, guard: Entry, end: GuardEnd) -> Obs {
        assert_eq!(id, self.entries.len());
        self.entries.push(MEntry {
            what: What::Plain(guard),
            pending: false,
        });
        let panicked = |result: Result<(), Boom>| result.map_or_else(Obs::Panicked, |()| Obs::Done);
        match end {
            GuardEnd::Drop => panicked(self.guard_dropped(id, guard, false)),
            GuardEnd::DropUnwinding => {
                self.guard_dropped(id, guard, true).unwrap();
                Obs::Panicked(Boom::Unwind(n))
            }
            GuardEnd::Forget => {
                self.leaked.push(id);
                Obs::Done
            }
            GuardEnd::Cancel => {
                self.log(Event::Dropped(id));
                Obs::Done
            }
            GuardEnd::Run => {
                // Whatever its `When`, with the outcome known so far.
                let (seen, panics) = match guard {
                    Entry::Defer { panics } => (None, panics),
                    Entry::Guard { panics, .. } => (Some(Outcome::Success), panics),
                    _ => unreachable!("not a guard"),
                };
                self.log(Event::Ran(id, seen));
                self.log(Event::Dropped(id));
                if panics {
                    Obs::Panicked(Boom::Entry(id))
                } else {
                    Obs::Done
                }
            }
        }
    }

    #[allow(clippy::too_many_lines, reason = "one arm per kind of step")]
    fn step(&mut self, n: usize, step: Step) -> Obs {
        let panicked = |result: Result<(), Boom>| result.map_or_else(Obs::Panicked, |()| Obs::Done);
        match step {
            Step::New { kind, .. } => {
                let ident = self.fresh_ident();
                self.stacks.push(Some(MStack {
                    ident,
                    epoch: 0,
                    entries: Vec::new(),
                    is_async: kind.is_async(),
                    carried: None,
                }));
                Obs::Done
            }
            Step::Register {
                stack,
                id,
                entry,
                key,
            } => {
                assert_eq!(id, self.entries.len());
                self.entries.push(MEntry {
                    what: What::Plain(entry),
                    pending: true,
                });
                let (ident, epoch) = (self.stack(stack).ident, self.stack(stack).epoch);
                self.stack(stack).entries.push(id);
                if key.is_some() {
                    self.keys.push((id, ident, epoch));
                }
                Obs::Done
            }
            Step::Fill {
                stack,
                first,
                count,
                ..
            } => {
                for id in first..first + count {
                    self.step(
                        n,
                        Step::Register {
                            stack,
                            id,
                            entry: Entry::Callback { panics: false },
                            key: Some(id),
                        },
                    );
                }
                Obs::Done
            }
            Step::Cancel { stack, key } => {
                let (id, ident, epoch) = self.keys[key];
                if ident != self.stack(stack).ident {
                    return Obs::Cancel(Err(CancelError::ForeignKey));
                }
                if epoch != self.stack(stack).epoch || !self.entries[id].pending {
                    return Obs::Cancel(Err(CancelError::NotPending));
                }
                let entries = &mut self.stack(stack).entries;
                let at = entries
                    .iter()
                    .position(|&e| e == id)
                    .expect("a pending entry is on its key's stack");
                entries.remove(at);
                match self.discard(id, false) {
                    Ok(()) => Obs::Cancel(Ok(())),
                    Err(payload) => Obs::Panicked(payload),
                }
            }
            Step::CancelAll { stack } => {
                self.stack(stack).epoch += 1;
                let entries = std::mem::take(&mut self.stack(stack).entries);
                panicked(self.cancel_all(entries))
            }
            Step::PopAll { stack, into } => {
                assert_eq!(into, self.stacks.len());
                let fresh = self.fresh_ident();
                let from = self.stack(stack);
                let popped = MStack {
                    ident: std::mem::replace(&mut from.ident, fresh),
                    epoch: from.epoch,
                    entries: std::mem::take(&mut from.entries),
                    is_async: from.is_async,
                    carried: None,
                };
                self.stacks.push(Some(popped));
                Obs::Done
            }
            Step::Close { stack, with } => {
                self.stack(stack).epoch += 1;
                let entries = std::mem::take(&mut self.stack(stack).entries);
                match self.close(entries, with.unwrap_or(Outcome::Success), false) {
                    Ok(errors) if errors.is_empty() => Obs::Closed(Ok(())),
                    Ok(errors) => Obs::Closed(Err(errors)),
                    Err(payload) => Obs::Panicked(payload),
                }
            }
            Step::AClose {
                stack,
                with,
                polls,
                then,
            } => self.aclose_step(stack, with.unwrap_or(Outcome::Success), polls, then),
            Step::Drop { stack } => {
                let stack = self.stacks[stack].take().unwrap();
                panicked(self.drop_stack(stack, false))
            }
            Step::DropUnwinding { stack } => {
                let stack = self.stacks[stack].take().unwrap();
                self.drop_stack(stack, true).unwrap();
                Obs::Panicked(Boom::Unwind(n))
            }
            Step::Forget { stack } => {
                let stack = self.stacks[stack].take().unwrap();
                self.leak(stack);
                Obs::Done
            }
            Step::Scope { stack, kind, body } => {
                let stack = self.stacks[stack].take().unwrap();
                let closed = match (kind.is_async(), body) {
                    // The body's panic unwinds through the stack's drop.
                    (false, Body::Panics) => {
                        self.drop_stack(stack, true).unwrap();
                        return Obs::Panicked(Boom::Body(n));
                    }
                    (false, Body::ReturnsOk) => self.close(stack.entries, Outcome::Success, false),
                    (false, Body::ReturnsErr) => self.close(stack.entries, Outcome::Error, false),
                    // The async scope catches the body's panic, awaits the
                    // entries with `Panic`, discards their panics and resumes
                    // the body's.
                    (true, Body::Panics) => {
                        let _ =
                            self.aclose_all(stack.entries, stack.carried, Outcome::Panic, false);
                        return Obs::Panicked(Boom::Body(n));
                    }
                    (true, Body::ReturnsOk) => {
                        self.aclose_all(stack.entries, stack.carried, Outcome::Success, false)
                    }
                    (true, Body::ReturnsErr) => {
                        self.aclose_all(stack.entries, stack.carried, Outcome::Error, false)
                    }
                };
                match (body, closed) {
                    (_, Err(payload)) => Obs::Panicked(payload),
                    (Body::ReturnsErr, Ok(errors)) => Obs::Scope(Err(ScopeError::Body(n, errors))),
                    (_, Ok(errors)) if errors.is_empty() => Obs::Scope(Ok(())),
                    (_, Ok(errors)) => Obs::Scope(Err(ScopeError::Cleanup(errors))),
                }
            }
            Step::Nest {
                outer,
                inner,
                id,
                how,
                key,
                ..
            } => {
                assert_eq!(id, self.entries.len());
                let inner = self.stacks[inner].take().unwrap();
                self.entries.push(MEntry {
                    what: What::Nested(Some(inner), how),
                    pending: true,
                });
                let (ident, epoch) = (self.stack(outer).ident, self.stack(outer).epoch);
                self.stack(outer).entries.push(id);
                if key.is_some() {
                    self.keys.push((id, ident, epoch));
                }
                Obs::Done
            }
            Step::Move { stack, to, .. } => {
                self.stack(stack).is_async = to.is_async();
                Obs::Done
            }
            Step::Guard { id, guard, end } => self.guard_step(n, id, guard, end),
        }
    }

    /// What the steps must log, and the entries they leak.
    fn expect(steps: &[Step]) -> (Vec<Event>, Vec<usize>) {
        let mut model = Model::default();
        for (n, &step) in steps.iter().enumerate() {
            let obs = model.step(n, step);
            let pending = model
                .stacks
                .iter()
                .enumerate()
                .filter_map(|(name, stack)| Some((name, stack.as_ref()?.entries.len())))
                .collect();
            model.log(Event::Step {
                step: n,
                obs,
                pending,
            });
        }
        (model.events, model.leaked)
    }
}

// ---------------------------------------------------------------------------
// Checking
// ---------------------------------------------------------------------------

/// Properties that hold whatever the model says (but for what it says was
/// leaked): every entry's captures are dropped exactly once — never, if
/// leaked —, it ran at most once and before that drop.
fn check_invariants(steps: &[Step], events: &[Event], leaked: &[usize]) -> Result<(), String> {
    let entries = steps
        .iter()
        .map(|s| match s {
            Step::Register { .. } | Step::Nest { .. } | Step::Guard { .. } => 1,
            Step::Fill { count, .. } => *count,
            _ => 0,
        })
        .sum();
    let mut ran = vec![0; entries];
    let mut dropped = vec![0; entries];
    for (at, event) in events.iter().enumerate() {
        match *event {
            Event::Ran(id, _) => {
                ran[id] += 1;
                if dropped[id] > 0 {
                    return Err(format!("#{id} ran after it was dropped (event {at})"));
                }
            }
            Event::Dropped(id) => dropped[id] += 1,
            _ => {}
        }
    }
    for id in 0..entries {
        let drops = usize::from(!leaked.contains(&id));
        if dropped[id] != drops || ran[id] > 1 {
            return Err(format!(
                "#{id} ran {} times and was dropped {} times (leaked: {})",
                ran[id],
                dropped[id],
                drops == 0
            ));
        }
    }
    Ok(())
}

fn check(steps: &[Step]) -> Result<(), String> {
    expect_only_model_reports();
    let (expected, leaked) = Model::expect(steps);
    let actual = execute(steps);
    if let Some(at) =
        (0..expected.len().max(actual.len())).find(|&i| expected.get(i) != actual.get(i))
    {
        let show = |events: &[Event]| {
            let mut out = String::new();
            for (i, event) in events.iter().enumerate() {
                let mark = if i == at { "=> " } else { "   " };
                let _ = writeln!(out, "{mark}{i:>3}: {event:?}");
            }
            out
        };
        return Err(format!(
            "the stacks and the model differ at event {at}: model {:?}, real {:?}\n\
             model log:\n{}real log:\n{}",
            expected.get(at),
            actual.get(at),
            show(&expected),
            show(&actual),
        ));
    }
    check_invariants(steps, &actual, &leaked)
}
// ---------------------------------------------------------------------------
// Strategies and the random run
// ---------------------------------------------------------------------------

fn entry() -> impl Strategy<Value = Entry> {
    let panics = || prop::bool::weighted(0.12);
    let fails = || prop::bool::weighted(0.3);
    prop_oneof![
        3 => panics().prop_map(|panics| Entry::Callback { panics }),
        3 => panics().prop_map(|panics| Entry::Push { panics }),
        2 => (fails(), panics()).prop_map(|(fails, panics)| Entry::TryCallback { fails, panics }),
        2 => panics().prop_map(|drop_panics| Entry::Context { drop_panics }),
        2 => (fails(), panics()).prop_map(|(fails, panics)| Entry::ExitContext { fails, panics }),
        1 => Just(Entry::Fresh),
        1 => guard(),
    ]
}

/// A `Defer` or a `Guard` (as an entry or a guard of its own).
fn guard() -> impl Strategy<Value = Entry> {
    let panics = || prop::bool::weighted(0.12);
    // Not `Failure` (nor `Error`): `Guard::new` refuses what needs an
    // `ErrorWatch`.
    let when = prop_oneof![Just(When::Always), Just(When::Success), Just(When::Panic)];
    prop_oneof![
        panics().prop_map(|panics| Entry::Defer { panics }),
        (when, panics()).prop_map(|(when, panics)| Entry::Guard { when, panics }),
    ]
}

/// An entry only the async stacks take.
fn async_entry() -> impl Strategy<Value = Entry> {
    let panics = || prop::bool::weighted(0.12);
    let fails = || prop::bool::weighted(0.3);
    let pendings = || prop_oneof![2 => Just(0_u8), 3 => 1..4_u8];
    prop_oneof![
        1 => (pendings(), panics()).prop_map(|(pendings, panics)| Entry::AsyncCallback { pendings, panics }),
        2 => (pendings(), panics()).prop_map(|(pendings, panics)| Entry::AsyncExit { pendings, panics }),
        2 => (pendings(), fails(), panics()).prop_map(|(pendings, fails, panics)| Entry::TryAsync { pendings, fails, panics }),
        1 => (prop::bool::weighted(0.8), pendings(), fails(), panics()).prop_map(
            |(entered, pendings, fails, panics)| Entry::AsyncContext { entered, pendings, fails, panics }
        ),
    ]
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        Just(Outcome::Success),
        Just(Outcome::Error),
        Just(Outcome::Panic)
    ]
}

fn op() -> impl Strategy<Value = RawOp> {
    let slot = || 0..SLOTS;
    let body = prop_oneof![
        Just(Body::ReturnsOk),
        Just(Body::ReturnsErr),
        Just(Body::Panics)
    ];
    let how = prop_oneof![Just(How::Drop), Just(How::Close)];
    let async_slot = || 4..SLOTS;
    let then = prop_oneof![Just(Then::Finish), Just(Then::Drop), Just(Then::Forget)];
    let end = prop_oneof![
        Just(GuardEnd::Drop),
        Just(GuardEnd::DropUnwinding),
        Just(GuardEnd::Forget),
        Just(GuardEnd::Cancel),
        Just(GuardEnd::Run)
    ];
    prop_oneof![
        14 => (slot(), entry()).prop_map(|(stack, entry)| RawOp::Register { stack, entry }),
        6 => (async_slot(), async_entry()).prop_map(|(stack, entry)| RawOp::Register { stack, entry }),
        3 => (async_slot(), prop::option::of(outcome()), 0..5_u8, then)
            .prop_map(|(stack, with, polls, then)| RawOp::AClose { stack, with, polls, then }),
        1 => slot().prop_map(|stack| RawOp::Forget { stack }),
        1 => (guard(), end).prop_map(|(guard, end)| RawOp::Guard { guard, end }),
        1 => (slot(), 1..40_u8, any::<bool>()).prop_map(|(stack, count, big)| RawOp::Fill { stack, count, big }),
        3 => (slot(), 0..8_u8).prop_map(|(stack, key)| RawOp::Cancel { stack, key }),
        1 => slot().prop_map(|stack| RawOp::CancelAll { stack }),
        2 => (slot(), slot()).prop_map(|(stack, into)| RawOp::PopAll { stack, into }),
        2 => (slot(), prop::option::of(outcome())).prop_map(|(stack, with)| RawOp::Close { stack, with }),
        1 => slot().prop_map(|stack| RawOp::Drop { stack }),
        1 => slot().prop_map(|stack| RawOp::DropUnwinding { stack }),
        1 => (slot(), body).prop_map(|(stack, body)| RawOp::Scope { stack, body }),
        2 => (slot(), slot(), how).prop_map(|(outer, inner, how)| RawOp::Nest { outer, inner, how }),
        1 => slot().prop_map(|stack| RawOp::Move { stack }),
    ]
}

/// Built with `-C panic=abort` (`scripts/panic-abort.sh`, on nightly), a
/// panic ends the process: programs then keep every other operation but
/// never panic, and check that everything else behaves the same.
fn without_panics(op: RawOp) -> RawOp {
    let entry = |entry| match entry {
        Entry::Callback { .. } => Entry::Callback { panics: false },
        Entry::Push { .. } => Entry::Push { panics: false },
        Entry::TryCallback { fails, .. } => Entry::TryCallback {
            fails,
            panics: false,
        },
        Entry::Context { .. } => Entry::Context { drop_panics: false },
        Entry::ExitContext { fails, .. } => Entry::ExitContext {
            fails,
            panics: false,
        },
        Entry::Fresh => Entry::Fresh,
        Entry::Defer { .. } => Entry::Defer { panics: false },
        Entry::Guard { when, .. } => Entry::Guard {
            when,
            panics: false,
        },
        Entry::AsyncCallback { pendings, .. } => Entry::AsyncCallback {
            pendings,
            panics: false,
        },
        Entry::AsyncExit { pendings, .. } => Entry::AsyncExit {
            pendings,
            panics: false,
        },
        Entry::TryAsync {
            pendings, fails, ..
        } => Entry::TryAsync {
            pendings,
            fails,
            panics: false,
        },
        Entry::AsyncContext {
            entered,
            pendings,
            fails,
            ..
        } => Entry::AsyncContext {
            entered,
            pendings,
            fails,
            panics: false,
        },
    };
    match op {
        RawOp::Register { stack, entry: e } => RawOp::Register {
            stack,
            entry: entry(e),
        },
        RawOp::Guard { guard, end } => RawOp::Guard {
            guard: entry(guard),
            end: if end == GuardEnd::DropUnwinding {
                GuardEnd::Drop
            } else {
                end
            },
        },
        RawOp::DropUnwinding { stack } => RawOp::Drop { stack },
        RawOp::Scope {
            stack,
            body: Body::Panics,
        } => RawOp::Scope {
            stack,
            body: Body::ReturnsErr,
        },
        other => other,
    }
}

/// `op` with its `mem::forget`s turned into drops: for the leak check
/// (`scripts/leaks.sh`, with `EXITSTACK_MODEL_NO_FORGET` set), where a leak
/// on purpose would hide a real one.
fn without_forgets(op: RawOp) -> RawOp {
    match op {
        RawOp::Forget { stack } => RawOp::Drop { stack },
        RawOp::AClose {
            stack,
            with,
            polls,
            then: Then::Forget,
        } => RawOp::AClose {
            stack,
            with,
            polls,
            then: Then::Drop,
        },
        RawOp::Guard {
            guard,
            end: GuardEnd::Forget,
        } => RawOp::Guard {
            guard,
            end: GuardEnd::Drop,
        },
        other => other,
    }
}

fn program() -> impl Strategy<Value = Program> {
    let no_forget = std::env::var_os("EXITSTACK_MODEL_NO_FORGET").is_some();
    let op = op().prop_map(move |op| {
        let op = if no_forget { without_forgets(op) } else { op };
        if cfg!(panic = "abort") {
            without_panics(op)
        } else {
            op
        }
    });
    prop::collection::vec(op, 0..32).prop_map(|ops| Program { ops })
}

/// Cases per run: `PROPTEST_CASES`, else 10,000 (Miri: 40).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(if cfg!(miri) { 40 } else { 10_000 })
}

fn run_random_programs() {
    quiet_booms();
    expect_only_model_reports();
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        // Every alternative of a `prop_oneof!` before the one picked gets a
        // runner of its own (for shrinking) with a fresh RNG: XorShift makes
        // those cheap, and generation twice as fast as with ChaCha.
        rng_algorithm: RngAlgorithm::XorShift,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let started = std::time::Instant::now();
    match runner.run(&program(), |program| {
        check(&program.steps()).map_err(TestCaseError::fail)
    }) {
        Ok(()) => println!(
            "model: {} random programs matched in {:.1?}",
            cases(),
            started.elapsed()
        ),
        Err(TestError::Fail(reason, program)) => {
            panic!("a program disagrees with the model (shrunk):\n{program:?}\n{reason}")
        }
        Err(TestError::Abort(reason)) => panic!("proptest aborted: {reason}"),
    }
    let unexpected = UNEXPECTED_REPORTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    assert!(unexpected.is_empty(), "unexpected reports: {unexpected:#?}");
}

#[test]
#[ignore = "a child process: its parent test runs it"]
fn child_random_programs() {
    child::enter("child_random_programs");
    run_random_programs();
}

/// The reports the random programs may make, through the crate's hook: a
/// discarded cleanup error (a stack dropped with failing entries, or while
/// a panic unwinds) of one of the model's entries, or an async entry
/// dropped unrun (an async stack dropped without `aclose`). Anything else
/// is kept, and fails the run.
fn expect_only_model_reports() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        exitstack::set_report_hook(|report| {
            let expected = match report {
                exitstack::Report::ErrorDiscarded { error, .. } => {
                    error.to_string().starts_with("entry #")
                }
                exitstack::Report::AsyncCleanupDropped
                | exitstack::Report::AsyncCleanupInterrupted => true,
                _ => false,
            };
            if !expected {
                UNEXPECTED_REPORTS
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(report.to_string());
            }
        });
    });
}

static UNEXPECTED_REPORTS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

#[test]
fn random_programs_match_the_model() {
    if cfg!(miri) {
        // Miri cannot spawn the child: run here, noise and all.
        run_random_programs();
        return;
    }
    let out = child::run("child_random_programs", "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The child prints nothing on standard error: its reports go to the
    // hook.
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "status {:?}\n{stdout}\n{stderr}",
        out.status,
    );
    assert!(stdout.contains("random programs matched"), "{stdout}");
}

// ---------------------------------------------------------------------------
// Fixed programs: the model's own sanity, and regressions
// ---------------------------------------------------------------------------

fn check_ops(ops: &[RawOp]) {
    quiet_booms();
    let program = Program { ops: ops.to_vec() };
    if let Err(reason) = check(&program.steps()) {
        panic!("{program:?}\n{reason}");
    }
}

/// The model itself, checked by hand on one program that uses most kinds
/// of step: if this fails, suspect the model before the stacks.
#[test]
#[cfg_attr(panic = "abort", ignore = "panics on purpose")]
fn the_model_agrees_with_hand_written_expectations() {
    use Entry::{Callback, Context, ExitContext, Push, TryCallback};
    use Event::{Dropped, Ran};
    use RawOp::{Close, Nest, PopAll, Register};
    let ops = [
        Register {
            stack: 0,
            entry: Callback { panics: false },
        },
        Register {
            stack: 0,
            entry: TryCallback {
                fails: true,
                panics: false,
            },
        },
        Register {
            stack: 2,
            entry: Push { panics: true },
        },
        Register {
            stack: 2,
            entry: ExitContext {
                fails: true,
                panics: false,
            },
        },
        Nest {
            outer: 0,
            inner: 2,
            how: How::Drop,
        },
        Register {
            stack: 0,
            entry: Context { drop_panics: false },
        },
        PopAll { stack: 0, into: 1 },
        Close {
            stack: 1,
            with: Some(Outcome::Error),
        },
    ];
    let steps = resolve(&ops);
    let printed: Vec<String> = steps.iter().map(ToString::to_string).collect();
    assert_eq!(
        printed,
        [
            "let s0 = ExitStack::new();",
            "let k0 = s0.callback(#0);",
            "let k1 = s0.try_callback(#1 fails);",
            "let s1 = SendExitStack::new();",
            "let k2 = s1.push(#2 panics);",
            "s1.enter_exit_context(#3 fails);",
            "s0.enter_context(#4: s1);",
            "s0.enter_context(#5);",
            "let s2 = s0.pop_all();",
            "s2.close_with(Outcome::Error);",
            "drop(s0);",
            "drop(s2);",
        ]
    );
    let (expected, _) = Model::expect(&steps);
    let runs: Vec<&Event> = expected
        .iter()
        .filter(|e| !matches!(e, Event::Step { .. }))
        .collect();
    assert_eq!(
        runs,
        [
            // s2.close_with(Error): #5 first; then s1 is dropped while
            // nothing unwinds, so its entries see Success until #3 fails
            // (policy 8: #2 sees Error), and #2's panic leaves its drop;
            // everything after that sees Panic.
            &Dropped(5),
            &Ran(3, Some(Outcome::Success)),
            &Dropped(3),
            &Ran(2, Some(Outcome::Error)),
            &Dropped(2),
            &Dropped(4),
            &Ran(1, None),
            &Dropped(1),
            &Ran(0, None),
            &Dropped(0),
        ]
    );
    let close = expected.iter().find_map(|e| match e {
        Event::Step { step: 9, obs, .. } => Some(obs.clone()),
        _ => None,
    });
    assert_eq!(close, Some(Obs::Panicked(Boom::Entry(2))));
    check_ops(&ops);
}

/// The events of the model for `ops` but the steps' own, and what step
/// `n` returned.
fn model_runs(ops: &[RawOp]) -> (Vec<Event>, Vec<Obs>) {
    let (events, _) = Model::expect(&resolve(ops));
    let mut runs = Vec::new();
    let mut obs = Vec::new();
    for event in events {
        match event {
            Event::Step { obs: o, .. } => obs.push(o),
            other => runs.push(other),
        }
    }
    (runs, obs)
}

/// The use-after-free that the epoch fixed, by hand: an `aclose()` polled
/// once takes the async entry #1 (its future pending), and is forgotten
/// (or dropped); a new value #2 takes #1's slot. The stale key of #1 — and
/// that of #0, never reached, still pending — are refused with
/// `NotPending`, and #2 is dropped once, when its stack is; #0 runs then.
/// With the future forgotten, #1 is never dropped.
#[test]
fn the_model_agrees_on_an_interrupted_aclose_and_its_stale_keys() {
    use Entry::{AsyncCallback, Callback, Context};
    use Event::{Dropped, Ran};
    use RawOp::{AClose, Cancel, Register};
    for then in [Then::Forget, Then::Drop] {
        let ops = [
            Register {
                stack: 4,
                entry: Callback { panics: false },
            },
            Register {
                stack: 4,
                entry: AsyncCallback {
                    pendings: 1,
                    panics: false,
                },
            },
            AClose {
                stack: 4,
                with: None,
                polls: 1,
                then,
            },
            Register {
                stack: 4,
                entry: Context { drop_panics: false },
            },
            Cancel { stack: 4, key: 0 }, // k1, #1's: its slot now holds #2
            Cancel { stack: 4, key: 1 }, // k0, #0's: pending, but retired
        ];
        let printed: Vec<String> = resolve(&ops).iter().map(ToString::to_string).collect();
        assert_eq!(
            printed[3],
            format!(
                "let f = s0.aclose(); poll(f) until Pending 1x; {};",
                if then == Then::Forget {
                    "mem::forget(f)"
                } else {
                    "drop(f)"
                }
            )
        );
        let (runs, obs) = model_runs(&ops);
        let mut expected = vec![Ran(1, None)];
        if then == Then::Drop {
            expected.push(Dropped(1));
        }
        expected.extend([Dropped(2), Ran(0, None), Dropped(0)]);
        assert_eq!(runs, expected);
        assert_eq!(
            obs[3],
            Obs::AClose {
                pendings: 1,
                end: AEnd::Interrupted
            }
        );
        assert_eq!(obs[5], Obs::Cancel(Err(CancelError::NotPending)));
        assert_eq!(obs[6], Obs::Cancel(Err(CancelError::NotPending)));
        check_ops(&ops);
    }
}

/// Policy 8 on the async drain, by hand: after an async cleanup failed
/// (after its future was pending twice), the entries after it see `Error`
/// — sync and async ones, and a nested async stack closed by a callback
/// (`aclose` there starts from `Success` again) — and a guard entered as a
/// context sees `Success` (its own outcome, not the stack's). A
/// `close_with(Error)` is not changed by errors; after a panic, `Panic`.
#[test]
fn the_model_agrees_on_policy_8_in_aclose() {
    use Entry::{AsyncExit, Guard, Push, TryAsync};
    use Event::{Dropped, InnerClosed, Ran};
    use RawOp::{AClose, Nest, Register};
    let ops = [
        Register {
            stack: 5,
            entry: AsyncExit {
                pendings: 0,
                panics: false,
            },
        },
        Nest {
            outer: 4,
            inner: 5,
            how: How::Close,
        },
        Register {
            stack: 4,
            entry: Guard {
                when: When::Always,
                panics: false,
            },
        },
        Register {
            stack: 4,
            entry: AsyncExit {
                pendings: 1,
                panics: false,
            },
        },
        Register {
            stack: 4,
            entry: Push { panics: false },
        },
        Register {
            stack: 4,
            entry: TryAsync {
                pendings: 2,
                fails: true,
                panics: false,
            },
        },
        AClose {
            stack: 4,
            with: None,
            polls: 0,
            then: Then::Finish,
        },
    ];
    let (runs, obs) = model_runs(&ops);
    let error = Some(Outcome::Error);
    assert_eq!(
        runs,
        [
            Ran(5, None),
            Dropped(5),
            Ran(4, error),
            Dropped(4),
            Ran(3, error),
            Dropped(3),
            Ran(2, Some(Outcome::Success)),
            Dropped(2),
            Ran(1, None),
            Ran(0, Some(Outcome::Success)),
            Dropped(0),
            InnerClosed(1, Ok(())),
            Dropped(1),
        ]
    );
    assert_eq!(
        obs.iter()
            .find(|o| matches!(o, Obs::AClose { .. }))
            .unwrap(),
        &Obs::AClose {
            pendings: 3,
            end: AEnd::Closed(Err(vec![5]))
        }
    );
    check_ops(&ops);
}

/// Programs that pin the edges of the model: each was a shrunk failure of a
/// draft of the model or is a case worth keeping fixed.
mod regressions {
    use super::*;
    use Entry::{Callback, Context, Fresh, Push, TryCallback};
    use RawOp::{
        AClose, Cancel, CancelAll, Close, Drop, DropUnwinding, Forget, Move, Nest, PopAll,
        Register, Scope,
    };

    #[test]
    fn keys_follow_pop_all_and_refuse_ran_and_foreign_entries() {
        check_ops(&[
            Register {
                stack: 0,
                entry: Callback { panics: false },
            },
            Register {
                stack: 0,
                entry: Push { panics: false },
            },
            PopAll { stack: 0, into: 1 },
            Cancel { stack: 0, key: 1 }, // k0, now on s1: foreign to s0
            Cancel { stack: 1, key: 1 }, // k0 on s1: cancelled
            Cancel { stack: 1, key: 1 }, // again: not pending
            Close {
                stack: 1,
                with: None,
            },
            Cancel { stack: 1, key: 0 }, // k1 ran: not pending
            Register {
                stack: 0,
                entry: Callback { panics: false },
            },
            Cancel { stack: 1, key: 0 }, // k2 is s0's: foreign to s1
        ]);
    }

    #[test]
    #[cfg_attr(panic = "abort", ignore = "panics on purpose")]
    fn stack_dropped_while_unwinding_runs_nested_stacks_with_panic_and_fresh_ones_with_success() {
        check_ops(&[
            Register {
                stack: 1,
                entry: Push { panics: true },
            },
            Register {
                stack: 1,
                entry: Fresh,
            },
            Nest {
                outer: 0,
                inner: 1,
                how: How::Close,
            },
            Register {
                stack: 0,
                entry: Context { drop_panics: true },
            },
            DropUnwinding { stack: 0 },
        ]);
    }

    #[test]
    #[cfg_attr(panic = "abort", ignore = "panics on purpose")]
    fn cancelling_a_nested_stack_runs_its_entries_and_a_panic_escapes_cancel() {
        check_ops(&[
            Register {
                stack: 2,
                entry: TryCallback {
                    fails: true,
                    panics: true,
                },
            },
            Register {
                stack: 2,
                entry: Push { panics: false },
            },
            Nest {
                outer: 0,
                inner: 2,
                how: How::Close,
            },
            Cancel { stack: 0, key: 0 },
            CancelAll { stack: 0 },
        ]);
    }

    #[test]
    #[cfg_attr(panic = "abort", ignore = "panics on purpose")]
    fn scope_over_moved_stacks_with_each_body() {
        check_ops(&[
            Register {
                stack: 2,
                entry: TryCallback {
                    fails: true,
                    panics: false,
                },
            },
            Move { stack: 2 },
            Move { stack: 2 },
            Scope {
                stack: 2,
                body: Body::ReturnsOk,
            },
            Register {
                stack: 0,
                entry: Push { panics: false },
            },
            Register {
                stack: 0,
                entry: TryCallback {
                    fails: true,
                    panics: false,
                },
            },
            Scope {
                stack: 0,
                body: Body::ReturnsErr,
            },
            Register {
                stack: 0,
                entry: Push { panics: true },
            },
            Register {
                stack: 0,
                entry: Push { panics: false },
            },
            Scope {
                stack: 0,
                body: Body::Panics,
            },
            Register {
                stack: 0,
                entry: Callback { panics: true },
            },
            Register {
                stack: 0,
                entry: Callback { panics: true },
            },
            Drop { stack: 0 },
        ]);
    }

    /// A forgotten stack runs and drops nothing, nor does the stack nested
    /// in it or the guard entered in it; its keys are foreign to every other
    /// stack, also to the new one in its slot. A forgotten guard does
    /// nothing either; a cancelled one drops its closure unrun.
    #[test]
    fn forgotten_stacks_and_guards_run_nothing_and_their_keys_are_foreign() {
        check_ops(&[
            Register {
                stack: 2,
                entry: Push { panics: false },
            },
            Nest {
                outer: 0,
                inner: 2,
                how: How::Drop,
            },
            Register {
                stack: 0,
                entry: Entry::Defer { panics: false },
            },
            Register {
                stack: 0,
                entry: Callback { panics: false },
            },
            Forget { stack: 0 },
            Cancel { stack: 1, key: 0 }, // k1, of the forgotten s1, on a new s2
            Register {
                stack: 0,
                entry: Callback { panics: false },
            },
            Cancel { stack: 0, key: 1 }, // k1 again, on s3 in s1's slot: foreign
            Cancel { stack: 0, key: 0 }, // k2, s3's own
            RawOp::Guard {
                guard: Entry::Guard {
                    when: When::Always,
                    panics: false,
                },
                end: GuardEnd::Forget,
            },
            RawOp::Guard {
                guard: Entry::Defer { panics: false },
                end: GuardEnd::Cancel,
            },
        ]);
    }

    /// The async scope catches its body's panic and awaits the entries with
    /// `Panic`, not unwinding: a nested stack dropped there sees `Success`,
    /// and a guard `Success`; the body's panic is resumed, the entries'
    /// discarded. A stack forgotten after an interrupted `aclose` leaks the
    /// entries it still held.
    #[test]
    #[cfg_attr(panic = "abort", ignore = "panics on purpose")]
    fn async_scope_with_a_panicking_body_runs_its_entries_without_unwinding() {
        check_ops(&[
            Register {
                stack: 1,
                entry: Push { panics: false },
            },
            Nest {
                outer: 4,
                inner: 1,
                how: How::Drop,
            },
            Register {
                stack: 4,
                entry: Entry::Guard {
                    when: When::Success,
                    panics: true,
                },
            },
            Register {
                stack: 4,
                entry: Entry::TryAsync {
                    pendings: 2,
                    fails: true,
                    panics: true,
                },
            },
            Scope {
                stack: 4,
                body: Body::Panics,
            },
            Register {
                stack: 5,
                entry: Callback { panics: false },
            },
            Register {
                stack: 5,
                entry: Entry::AsyncExit {
                    pendings: 3,
                    panics: false,
                },
            },
            Register {
                stack: 5,
                entry: Entry::AsyncContext {
                    entered: true,
                    pendings: 1,
                    fails: false,
                    panics: false,
                },
            },
            AClose {
                stack: 5,
                with: Some(Outcome::Error),
                polls: 2,
                then: Then::Forget,
            },
            Forget { stack: 5 },
        ]);
    }
}
