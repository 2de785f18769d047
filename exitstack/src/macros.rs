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
/// | `defer!(v => body)`, `defer!(on_success: v => body)`, ... | as above, and `body` sees the final value of the local `v` (see *Cleanups that see the final value* below) |
/// | `defer!(try: expr)`, `defer!(try on_success: expr)`, ... | only in an `#[exitstack::scope]` fn: a fallible cleanup, whose error becomes the function's `Err` (see *Fallible cleanups* below) |
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
/// # Cleanups that see the final value: `defer!(v => ..)`
///
/// A `defer!` body borrows what it uses until the block ends, so the block
/// cannot change it afterwards:
///
/// ```compile_fail,E0502
/// use exitstack::defer;
///
/// let mut v = Vec::new();
/// defer!(println!("{v:?}"));
/// v.push(1); // error[E0502]: `v` is borrowed by the cleanup
/// ```
///
/// Name a local before `=>` and the cleanup takes it instead: `v` is moved
/// into a value guard ([`guard`]) and the name `v` is rebound to the guard,
/// which the rest of the block uses as it used the value (it derefs to it:
/// `v.push(..)`, `&v` and `&mut v` as arguments, `for x in &*v`). Where
/// the guard itself would be taken — `{v:?}` prints the guard, `v == x`
/// and `{v}` do not compile — write `*v`. When the block ends, the body
/// runs with `v` bound to the value as it is then, owned and mutable.
///
/// ```
/// use std::cell::RefCell;
/// use exitstack::defer;
///
/// fn total(v: &[i32]) -> i32 { v.iter().sum() }
///
/// let printed = RefCell::new(String::new());
/// {
///     let v = Vec::new(); // no `mut` needed: the guard is what changes
///     defer!(v => *printed.borrow_mut() = format!("{v:?}"));
///     v.push(1);
///     v.push(2);
///     assert_eq!(total(&v), 3);
/// }
/// assert_eq!(*printed.borrow(), "[1, 2]");
/// ```
///
/// The conditions work as above: `defer!(on_success: v => ..)`,
/// `defer!(on_panic: v => ..)` (these two need the `std` feature, as
/// [`guard_on_success`] does) and, in an `#[exitstack::scope]` fn,
/// `defer!(on_error: v => ..)` and `defer!(on_failure: v => ..)`. For a
/// field, give it a local name first; the block then uses that name:
///
/// ```
/// use exitstack::defer;
///
/// struct Account { name: String, undone: Vec<String> }
///
/// impl Account {
///     #[exitstack::scope]
///     fn rename(&mut self, new: &str) -> Result<(), String> {
///         let undone = &mut self.undone;
///         let name = &mut self.name;
///         let old = name.clone();
///         defer!(on_error: name => {
///             undone.push(std::mem::replace(name, old));
///         });
///         name.push_str(new); // `name` is the guard, over `&mut self.name`
///         if name.len() > 8 {
///             return Err("too long".to_owned());
///         }
///         Ok(())
///     }
/// }
///
/// let mut account = Account { name: "ann".into(), undone: Vec::new() };
/// account.rename("e").unwrap();
/// assert!(account.rename("-marie-louise").is_err());
/// assert_eq!(account.name, "anne");
/// assert_eq!(account.undone, ["anne-marie-louise"]);
/// ```
///
/// Outside the macro, [`guard`]`(&mut self.name, |name| ..)` does the same.
/// Two value forms on one local nest: the second guard owns the first, and
/// its body (which runs first) sees the first guard, derefing to the value.
///
/// # Fallible cleanups: `defer!(try: ..)`
///
/// In a function under `#[exitstack::scope]` that returns a `Result`,
/// `defer!(try: expr)` runs `expr`, a `Result<(), C>`, when the function's
/// body ends, and its error is not lost: if the body succeeded, the first
/// cleanup to fail makes the function return its error (`E::from(c)`, so
/// `sync_all`'s own `io::Error` for an `io::Result` function); if the body
/// failed, its error stays first and the cleanup errors are kept beside it,
/// in a [`ScopeError`](crate::ScopeError) converted into the function's
/// error type. The cleanups that run after a failed one see
/// [`Outcome::Error`](crate::Outcome::Error). The conditions go after `try`:
/// `defer!(try on_success: tx.commit())`.
///
/// ```
/// # if cfg!(miri) { return; } // a real file: not under Miri's isolation
/// use std::io::{self, Write};
/// use exitstack::{ScopeError, defer};
///
/// #[exitstack::scope]
/// fn save(file: &std::fs::File, data: &[u8]) -> io::Result<()> {
///     defer!(try: file.sync_all()); // its error becomes the function's
///     let mut writer = file; // `&File` writes, so the cleanup can share it
///     writer.write_all(data)
/// }
///
/// let path = std::env::temp_dir().join(format!("exitstack-doc-{}", std::process::id()));
/// let file = std::fs::File::create(&path).unwrap();
/// save(&file, b"saved").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"saved");
/// # std::fs::remove_file(&path).unwrap();
///
/// // What `sync_all` failing does, with a stand-in for it:
/// fn sync_all() -> io::Result<()> {
///     Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"))
/// }
///
/// #[exitstack::scope]
/// fn write(data: &[u8]) -> io::Result<usize> {
///     defer!(try: sync_all());
///     if data.is_empty() {
///         return Err(io::Error::new(io::ErrorKind::InvalidInput, "nothing to write"));
///     }
///     Ok(data.len())
/// }
///
/// // The body succeeded: the function returns the cleanup's error itself.
/// assert_eq!(write(b"data").unwrap_err().kind(), io::ErrorKind::StorageFull);
/// // The body failed: its error first, the cleanup's beside it.
/// let error = write(b"").unwrap_err();
/// assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
/// let scope = error.get_ref().unwrap().downcast_ref::<ScopeError<io::Error>>().unwrap();
/// assert_eq!(scope.body().unwrap().to_string(), "nothing to write");
/// assert_eq!(scope.cleanup().unwrap().first().to_string(), "disk full");
/// ```
///
/// The `#[exitstack::scope]` docs tell the whole story (the other forms,
/// what the error type needs, panics). Outside such a function nothing
/// could receive the error, so `defer!(try: ..)` is a compile error there:
/// register the cleanup on a stack with
/// [`ExitStack::try_callback`](crate::ExitStack::try_callback), whose
/// `close()` returns its error.
///
/// ```compile_fail
/// fn save(file: &std::fs::File) -> std::io::Result<()> {
///     exitstack::defer!(try: file.sync_all()); // error: needs `#[exitstack::scope]`
///     Ok(())
/// }
/// ```
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
/// * With `std`, a panic in the body while the thread is already unwinding
///   is discarded instead of aborting the process (see [`Defer`]); without
///   `std` it aborts, as in any destructor.
/// * `defer!` declares a local, so it is a statement: write it where a `let`
///   could go.
/// * Need the guard itself, to cancel or run it early? Use
///   [`Defer::new`] or [`Guard::new`], or `#[exitstack::cleanup]` on a
///   block-local `fn`, which names it.
///
/// [`Defer`]: crate::Defer
/// [`guard`]: crate::guard
/// [`guard_on_success`]: crate::guard_on_success
/// [`When`]: crate::When
/// [`Defer::new`]: crate::Defer::new
/// [`Guard::new`]: crate::Guard::new
#[macro_export]
macro_rules! defer {
    (try : $($body:tt)*) => {
        ::core::compile_error! {
            "`defer!(try: ...)` needs `#[exitstack::scope]` on the enclosing function, whose `Err` \
             its error becomes; outside one, register the cleanup on a stack with \
             `ExitStack::try_callback` (`close()` returns its error), or handle the error in the \
             cleanup"
        }
    };
    (try $when:ident : $($body:tt)*) => {
        ::core::compile_error! {
            ::core::concat!(
                "`defer!(try ", ::core::stringify!($when), ": ...)` needs `#[exitstack::scope]` on \
                 the enclosing function, whose `Err` its error becomes; outside one, register the \
                 cleanup on a stack with `ExitStack::try_push` (`close()` returns its error), or \
                 handle the error in the cleanup"
            )
        }
    };
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
    (always: $value:ident => $($body:tt)*) => {
        $crate::defer!($value => $($body)*);
    };
    (on_success: $value:ident => $($body:tt)*) => {
        #[allow(unused_mut, reason = "the body may only read the value")]
        let mut $value = $crate::__private::guard_on_success(
            $value,
            |#[allow(unused_mut, reason = "the cleanup may only read the value")] mut $value| { $($body)* },
        );
    };
    (on_panic: $value:ident => $($body:tt)*) => {
        #[allow(unused_mut, reason = "the body may only read the value")]
        let mut $value = $crate::__private::guard_on_unwind(
            $value,
            |#[allow(unused_mut, reason = "the cleanup may only read the value")] mut $value| { $($body)* },
        );
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
    ($value:ident => $($body:tt)*) => {
        #[allow(unused_mut, reason = "the body may only read the value")]
        let mut $value = $crate::__private::guard(
            $value,
            |#[allow(unused_mut, reason = "the cleanup may only read the value")] mut $value| { $($body)* },
        );
    };
    ($($body:tt)*) => {
        let __exitstack_guard = $crate::__private::Defer::new(|| { $($body)* });
    };
}
