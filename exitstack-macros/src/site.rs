//! Where a cleanup is written, as far as the macros can tell: what its
//! implicit stack can observe.

use std::fmt;

use proc_macro2::{Ident, TokenStream};

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
pub(crate) fn at(tokens: &TokenStream, span: proc_macro2::Span) -> TokenStream {
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
