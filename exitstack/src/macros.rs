//! `macro_rules!` macros: they work without the `macros` feature.

/// Runs code when the enclosing block ends, whatever the outcome: Go's and
/// Zig's `defer`, in Rust's drop order.
///
/// `defer! { body }` is a `let` of a hidden local guard (a [`Defer`]), so
/// several `defer!`s in one block run in reverse order (LIFO), interleaved
/// with the block's other locals exactly as their declarations are: a
/// `defer!` written after `let file = ...;` runs before `file` is dropped.
/// The body runs on every way out of the block: falling off its end,
/// `return`, `break`, `?`, and a panic unwinding through it. It captures
/// what it uses by reference, like a non-`move` closure.
///
/// ```
/// use std::cell::RefCell;
/// use exitstack::defer;
///
/// let log = RefCell::new(Vec::new());
/// {
///     defer! { log.borrow_mut().push("first registered, runs last") }
///     defer!(log.borrow_mut().push("second registered, runs first"));
///     log.borrow_mut().push("body");
/// }
/// assert_eq!(
///     *log.borrow(),
///     ["body", "second registered, runs first", "first registered, runs last"],
/// );
/// ```
///
/// # When it runs
///
/// A condition before the body restricts it to some outcomes (see [`When`]):
///
/// | form | runs when the block ends |
/// |---|---|
/// | `defer!(body)`, `defer!(always: body)` | in every case |
/// | `defer!(on_success: body)` | without a panic (see below) |
/// | `defer!(on_panic: body)` | by a panic that started inside it |
/// | `defer!(on_error: body)` | only in an `#[exitstack::scope]` fn: by returning an `Err` |
/// | `defer!(on_failure: body)` | only in an `#[exitstack::scope]` fn: by an `Err` or a panic |
///
/// ```
/// use std::cell::RefCell;
/// use exitstack::defer;
///
/// let log = RefCell::new(Vec::new());
/// let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
///     defer!(on_success: log.borrow_mut().push("commit"));
///     defer!(on_panic: log.borrow_mut().push("roll back"));
///     panic!("disk full");
/// }));
/// assert!(result.is_err());
/// assert_eq!(*log.borrow(), ["roll back"]);
/// ```
///
/// A plain block cannot see the `Err` a function returns, so outside
/// `#[exitstack::scope]`, *success* means "no panic" — an `Err` return counts
/// as success — and `on_error` and `on_failure` are compile errors rather than
/// cleanups that silently never (or only sometimes) run:
///
/// ```compile_fail
/// fn save() -> Result<(), String> {
///     exitstack::defer!(on_error: println!("rolling back"));
///     Err("disk full".to_owned())
/// }
/// ```
///
/// In a function under `#[exitstack::scope]` (feature `macros`), every
/// `defer!` is tied to the function's scope instead: `on_success` no longer
/// runs when the function returns an `Err`, `on_error` and `on_failure` work,
/// and `pop_all!()` cancels it.
///
/// # Async cleanups
///
/// In an `async fn` under `#[exitstack::scope]`, `defer!` also takes one
/// `async` block — `defer!(async { ... })`, `defer!(on_error: async move
/// { ... })` — awaited after the function's body is done, on every way out
/// of it. It may borrow the function's arguments; anything else it uses, it
/// must own (`async move`). The `#[exitstack::scope]` docs tell the whole
/// story (order, `Send`, a future dropped part-way). Anywhere else, an async
/// body is a compile error: a destructor cannot await.
///
/// ```compile_fail
/// async fn save() {
///     exitstack::defer!(async { println!("closed") }); // error: needs `#[exitstack::scope]`
/// }
/// ```
///
/// # Notes
///
/// * The body is a sequence of statements of type `()`, as in a function
///   returning nothing; `return` in it leaves the body early.
/// * A panic in the body while the thread is already unwinding is discarded
///   instead of aborting the process (see [`Defer`]).
/// * `defer!` declares a local, so it is a statement: write it where a `let`
///   could go.
/// * Need the guard itself, to cancel or run it early? Use
///   [`Defer::new`] or [`Guard::new`], or `#[exitstack::cleanup]` on a
///   block-local `fn`, which names it.
///
/// [`Defer`]: crate::Defer
/// [`When`]: crate::When
/// [`Defer::new`]: crate::Defer::new
/// [`Guard::new`]: crate::Guard::new
#[macro_export]
macro_rules! defer {
    (async $($body:tt)*) => {
        ::core::compile_error! {
            "`defer!(async ...)` works only in an `#[exitstack::scope] async fn`, which awaits \
             it when the body ends: a destructor cannot await"
        }
    };
    ($when:ident : async $($body:tt)*) => {
        ::core::compile_error! {
            ::core::concat!(
                "`defer!(", ::core::stringify!($when), ": async ...)` works only in an \
                 `#[exitstack::scope] async fn`, which awaits it when the body ends: a destructor \
                 cannot await"
            )
        }
    };
    (always: $($body:tt)*) => {
        let __exitstack_guard = $crate::__private::Defer::new(|| { $($body)* });
    };
    (on_success: $($body:tt)*) => {
        let __exitstack_guard = $crate::__private::Guard::new(
            $crate::__private::When::Success,
            |_| { $($body)* },
        );
    };
    (on_panic: $($body:tt)*) => {
        let __exitstack_guard = $crate::__private::Guard::new(
            $crate::__private::When::Panic,
            |_| { $($body)* },
        );
    };
    (on_error: $($body:tt)*) => {
        ::core::compile_error! {
            "`defer!(on_error: ...)` needs `#[exitstack::scope]` on the enclosing function: \
             without it, returning an `Err` cannot be observed"
        }
    };
    (on_failure: $($body:tt)*) => {
        ::core::compile_error! {
            "`defer!(on_failure: ...)` needs `#[exitstack::scope]` on the enclosing function \
             to see an `Err` return; for panics only, write `defer!(on_panic: ...)`"
        }
    };
    ($when:ident : $($body:tt)*) => {
        ::core::compile_error! {
            ::core::concat!(
                "unknown `defer!` condition `", ::core::stringify!($when),
                "`: expected `always`, `on_success`, `on_panic`, `on_error` or `on_failure`"
            )
        }
    };
    ($($body:tt)*) => {
        let __exitstack_guard = $crate::__private::Defer::new(|| { $($body)* });
    };
}
