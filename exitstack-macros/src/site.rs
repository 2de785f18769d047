//! Where a cleanup is written, as far as the macros can tell: what its
//! implicit stack can observe.

use std::cell::Cell;
use std::fmt;

use proc_macro2::{Ident, Span, TokenStream};

use crate::args::{Condition, When};

/// A scope of its own inside an `#[exitstack::scope]` fn: its `return` and
/// `?` are not the function's, so the function's scope does not observe it.
#[derive(Clone, Copy)]
pub(crate) enum Nested {
    Closure,
    AsyncBlock,
    ConstBlock,
    TryBlock,
    /// The code of a cleanup: itself a closure.
    Cleanup,
}

impl fmt::Display for Nested {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Nested::Closure => "a closure",
            Nested::AsyncBlock => "an async block",
            Nested::ConstBlock => "a const block",
            Nested::TryBlock => "a try block",
            Nested::Cleanup => "a cleanup",
        })
    }
}

/// The locals `#[exitstack::scope]` gives a function, which the expansions
/// in its body name.
pub(crate) struct Locals {
    /// The path of the runtime crate (`::exitstack`, or `crate = path`).
    pub(crate) krate: TokenStream,
    /// The `Scope`: marked when an error leaves the body.
    pub(crate) scope: Ident,
    /// The `Ret<R>`: the function's return type.
    pub(crate) ret: Ident,
    /// The implicit asynchronous stack (an `AsyncScope`): in an `async fn`
    /// whose body has async cleanups. `None` in any other function, where
    /// an async cleanup is an error.
    pub(crate) async_stack: Option<Ident>,
    /// Whether the implicit asynchronous stack is a `SendAsyncExitStack`
    /// (no `?Send`).
    pub(crate) send: bool,
    /// Whether the implicit asynchronous stack has a spawner (`spawn =
    /// ..`): its async cleanups may run after the function is gone.
    pub(crate) spawning: bool,
    /// The errors of the fallible cleanups (a `Failed<E>`), declared only
    /// if the body has one.
    pub(crate) failed: Ident,
    /// Where the first fallible cleanup of the body is written, once one
    /// was expanded: the function then declares `failed`, and the errors
    /// about its return type are reported there.
    pub(crate) fallible: Cell<Option<Span>>,
    /// What the return type is, as written.
    pub(crate) output: Output,
}

impl Locals {
    /// A fallible cleanup at `span` uses `failed`.
    pub(crate) fn uses_failed(&self, span: Span) -> Ident {
        if self.fallible.get().is_none() {
            self.fallible.set(Some(span));
        }
        let mut failed = self.failed.clone();
        failed.set_span(failed.span().located_at(span));
        failed
    }
}

/// The function's return type as far as its tokens tell: whether a fallible
/// cleanup's error can become its `Err`.
#[derive(Clone)]
pub(crate) enum Output {
    /// `()`, written or not.
    Unit,
    /// A type that is never a `Result` (`bool`, `Option<T>`, `&T`, ...).
    NotResult,
    /// A `Result` (by name: `Result<T, E>`, `io::Result<T>`), or a type the
    /// compiler decides about (an alias, a type parameter).
    Maybe,
}

impl Output {
    pub(crate) fn of(ty: Option<&syn::Type>) -> Self {
        use syn::Type;
        const NEVER_RESULTS: &[&str] = &[
            "bool",
            "char",
            "str",
            "String",
            "Option",
            "Vec",
            "Box",
            "Rc",
            "Arc",
            "Poll",
            "ControlFlow",
            "u8",
            "u16",
            "u32",
            "u64",
            "u128",
            "usize",
            "i8",
            "i16",
            "i32",
            "i64",
            "i128",
            "isize",
            "f32",
            "f64",
        ];
        let Some(ty) = ty else {
            return Output::Unit;
        };
        match ty {
            Type::Tuple(tuple) if tuple.elems.is_empty() => Output::Unit,
            Type::Paren(paren) => Output::of(Some(&paren.elem)),
            Type::Group(group) => Output::of(Some(&group.elem)),
            Type::Path(path)
                if path.qself.is_none()
                    && path.path.segments.last().is_some_and(|last| {
                        NEVER_RESULTS.iter().any(|name| last.ident == name)
                    }) =>
            {
                Output::NotResult
            }
            Type::Path(_) | Type::Macro(_) | Type::Verbatim(_) | Type::Infer(_) => Output::Maybe,
            _ => Output::NotResult,
        }
    }
}

pub(crate) enum Site<'a> {
    /// No enclosing `#[exitstack::scope]` fn: the standalone `#[cleanup]`.
    Standalone,
    /// The body of an `#[exitstack::scope]` fn.
    Scope(&'a Locals),
    /// A closure (or the like) inside one.
    Nested(Nested),
}

impl Site<'_> {
    /// The function's locals, where cleanups are tied to its scope.
    pub(crate) fn scope(&self) -> Option<&Locals> {
        match self {
            Site::Scope(locals) => Some(locals),
            Site::Standalone | Site::Nested(_) => None,
        }
    }

    /// The error for `form` (an `on_error` / `on_failure` cleanup, written
    /// as the user wrote it) where no `Err` return can be observed.
    pub(crate) fn needs_scope_error(&self, condition: Condition, form: &str) -> syn::Error {
        let message = match self {
            Site::Scope(_) => unreachable!("a scope observes errors"),
            Site::Standalone => {
                let mut message = format!(
                    "`{form}` needs `#[exitstack::scope]` on the enclosing function: \
                     without it, returning an `Err` cannot be observed"
                );
                if condition.when == When::Failure {
                    message.push_str("; for panics only, write `on_panic`");
                }
                message
            }
            Site::Nested(nested) => format!(
                "`{form}` cannot see the function's `Err` from inside {nested}, which is a scope \
                 of its own that `#[exitstack::scope]` does not observe: move the cleanup out of \
                 it, or move its code into an `#[exitstack::scope]` fn (if an attribute written \
                 above `#[exitstack::scope]` wrapped the body, write `#[exitstack::scope]` above \
                 it instead)"
            ),
        };
        syn::Error::new(condition.span, message)
    }
}

/// Why a fallible cleanup (`form`, as the user wrote it, at `span`) cannot
/// be one where it is written, if it cannot: outside an `#[exitstack::scope]`
/// fn (the standalone `#[cleanup] fn`), inside a scope of its own, or in a
/// function that does not return a `Result`.
pub(crate) fn fallible_error(site: &Site<'_>, form: &str, span: Span) -> Option<syn::Error> {
    let message = match site {
        Site::Standalone => format!(
            "a cleanup outside an `#[exitstack::scope]` fn cannot return an error: nothing \
             receives it. In the body of an `#[exitstack::scope]` fn, `{form}` is a fallible \
             cleanup whose error becomes the function's `Err` (as `defer!(try: expr)` is); \
             outside one, register it on a stack with `#[cleanup(stack = stack)]` (as \
             `ExitStack::try_callback` does: `close()` returns its error), or handle the error in \
             the cleanup"
        ),
        Site::Nested(nested) => format!(
            "`{form}` cannot make its error the function's `Err` from inside {nested}, which is a \
             scope of its own that `#[exitstack::scope]` does not observe: write it in the body of \
             the function, or handle the error in the cleanup"
        ),
        Site::Scope(locals) => match &locals.output {
            Output::Maybe => return None,
            Output::Unit => format!(
                "`{form}` makes its error the function's `Err`, and this function returns nothing: \
                 make it return `Result<T, E>`, or handle the error in the cleanup \
                 (`if let Err(error) = ... {{ ... }}`)"
            ),
            Output::NotResult => format!(
                "`{form}` makes its error the function's `Err`, and this function does not return \
                 a `Result`: make it return `Result<T, E>`, or handle the error in the cleanup \
                 (`if let Err(error) = ... {{ ... }}`)"
            ),
        },
    };
    Some(syn::Error::new(span, message))
}

/// A fallible cleanup (`form`) that runs only on a panic: its error could
/// never be returned (the function returns nothing when it panics).
pub(crate) fn fallible_on_panic(condition: Condition, form: &str) -> Option<syn::Error> {
    (condition.when == When::Panic).then(|| {
        syn::Error::new(
            condition.span,
            format!(
                "`{form}` runs only when the function panics, and then returns nothing that its \
                 error could go into: handle the error in the cleanup, and remove `try`"
            ),
        )
    })
}

/// Whether `path` names the macro `name` of exitstack: bare (`defer`, as
/// imported), `exitstack::name`, or `<crate>::name` for the path of
/// `crate = path`. The body is rewritten before names are resolved, so in
/// an `#[exitstack::scope]` fn these always mean exitstack's.
pub(crate) fn names(path: &syn::Path, name: &str, krate: Option<&syn::Path>) -> bool {
    let Some((last, prefix)) =
        path.segments
            .iter()
            .collect::<Vec<_>>()
            .split_last()
            .map(|(last, prefix)| {
                (
                    last.ident.clone(),
                    prefix
                        .iter()
                        .map(|s| s.ident.to_string())
                        .collect::<Vec<_>>(),
                )
            })
    else {
        return false;
    };
    if last != name {
        return false;
    }
    if prefix.is_empty() {
        return path.leading_colon.is_none();
    }
    if prefix == ["exitstack"] {
        return true;
    }
    krate.is_some_and(|krate| {
        let krate: Vec<_> = krate.segments.iter().map(|s| s.ident.to_string()).collect();
        krate == prefix
    })
}

/// `tokens` reported at `span` (their hygiene kept): for the crate path
/// and the generated locals inside code whose errors belong on a user
/// token.
pub(crate) fn at(tokens: &TokenStream, span: Span) -> TokenStream {
    tokens
        .clone()
        .into_iter()
        .map(|mut token| {
            if let proc_macro2::TokenTree::Group(group) = &mut token {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), at(&group.stream(), span));
                inner.set_span(group.span().located_at(span));
                *group = inner;
            } else {
                token.set_span(token.span().located_at(span));
            }
            token
        })
        .collect()
}
